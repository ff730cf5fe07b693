import { WardenError } from '../../errors/error-code.js';

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
  '53300', // too_many_connections
]);

/**
 * The relationship a unique violation of the live-relationship index names, from PostgreSQL's
 * detail (`Key (tenant, resource_type, ...)=(acme, doc, a, ...) already exists.`), or null. Ids and
 * names hold no `, `, so the values split cleanly.
 */
function existingRelationship(e: unknown): string | null {
  const { constraint, detail } = e as { constraint?: unknown; detail?: unknown };
  if (constraint !== 'warden_relationships_live' || typeof detail !== 'string') return null;
  const m = /^Key \(tenant, resource_type, resource_id, relation, subject_type, subject_id, subject_relation\)=\((.*)\) already exists\.?$/.exec(detail);
  const v = m?.[1]!.split(', ');
  if (!v || v.length !== 7) return null;
  const [, type, id, relation, subjectType, subjectId, subjectRelation] = v;
  return `${type}:${id}#${relation}@${subjectType}:${subjectId}${subjectRelation === '...' ? '' : `#${subjectRelation}`}`;
}

/**
 * Maps a driver error to Warden's: a lost or refused connection is UNAVAILABLE (retry later), a
 * unique violation ALREADY_EXISTS; anything else INTERNAL with a generic message and the driver's
 * error as the cause (logged, never shown to clients).
 */
export function mapDriverError(e: unknown): WardenError {
  if (e instanceof WardenError) return e;
  const err = e as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : '';
  const message = typeof err?.message === 'string' ? err.message : '';
  if (UNAVAILABLE_CODES.has(code) || /Connection terminated|connection timeout|Client has encountered a connection error|timeout exceeded when trying to connect/i.test(message)) {
    return new WardenError('UNAVAILABLE', 'the datastore is unavailable; try again shortly', { cause: e });
  }
  if (code === '23505') {
    const existing = existingRelationship(e);
    return new WardenError('ALREADY_EXISTS', existing ? `relationship \`${existing}\` already exists` : 'a relationship being created already exists', { cause: e, reason: 'ERROR_REASON_ATTEMPT_TO_RECREATE_RELATIONSHIP' });
  }
  if (code === '57014') {
    return new WardenError('UNAVAILABLE', 'the datastore statement ran past its time limit (a write may hold the writer lock only so long) and nothing was written', { cause: e });
  }
  // Text PostgreSQL cannot store (NUL, unpaired surrogates): the request's fault, not ours.
  if (code === '22P05' || code === '22021') {
    return new WardenError('INVALID_ARGUMENT', 'a value contains a character that cannot be stored (such as \\u0000)', { cause: e });
  }
  return new WardenError('INTERNAL', 'the datastore failed to answer', { cause: e });
}
