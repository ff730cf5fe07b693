import { WardenError, invalidArgument } from '../errors/error-code.js';
import { relationshipKey, type Relationship } from '../model/relationship.js';
import { validateFilter } from './filter.js';
import { MAX_PRECONDITIONS, type ChangeSet, type Precondition, type RelationshipFilter, type RelationshipUpdate, type Revision, type Store } from './store.js';

/** The columns relationships are ordered by, in order: reads page through them. */
export type RelationshipSortKey = readonly [string, string, string, string, string, string];

/** A relationship's position in key order. */
export function sortKey(r: Relationship): RelationshipSortKey {
  return [r.resource.type, r.resource.id, r.relation, r.subject.type, r.subject.id, r.subject.relation];
}

/** Orders two sort keys (byte order; ids and names are ASCII). */
export function compareSortKeys(a: RelationshipSortKey, b: RelationshipSortKey): number {
  for (let i = 0; i < 6; i++) {
    if (a[i]! < b[i]!) return -1;
    if (a[i]! > b[i]!) return 1;
  }
  return 0;
}

/** A read cursor: the revision read at and the last key returned, opaque to clients. */
export function encodeCursor(revision: Revision, last: RelationshipSortKey): string {
  return Buffer.from(JSON.stringify([revision, ...last])).toString('base64url');
}

/** Decodes a cursor, checking it was made for the same revision. */
export function decodeCursor(cursor: string, revision: Revision): RelationshipSortKey {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidArgument('cursor', 'is not a cursor this server issued', 'ERROR_REASON_INVALID_CURSOR');
  }
  if (!Array.isArray(v) || v.length !== 7 || !v.every((x) => typeof x === 'string')) throw invalidArgument('cursor', 'is not a cursor this server issued', 'ERROR_REASON_INVALID_CURSOR');
  if (v[0] !== revision) throw invalidArgument('cursor', `was issued for revision ${String(v[0])}, not ${revision}: resume at the revision it came from`, 'ERROR_REASON_INVALID_CURSOR');
  return v.slice(1) as unknown as RelationshipSortKey;
}

/** The revision a cursor was issued at, so a read can resume on the same snapshot. */
export function cursorRevision(cursor: string): Revision {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalidArgument('cursor', 'is not a cursor this server issued', 'ERROR_REASON_INVALID_CURSOR');
  }
  if (!Array.isArray(v) || typeof v[0] !== 'string' || !/^\d{1,19}$/.test(v[0])) throw invalidArgument('cursor', 'is not a cursor this server issued', 'ERROR_REASON_INVALID_CURSOR');
  return v[0] as Revision;
}

/** Checks a write's updates and preconditions before any store work: counts, and no relationship twice. */
export function validateUpdates(updates: readonly RelationshipUpdate[], maxUpdates: number, preconditions: readonly Precondition[] = []): void {
  if (updates.length > maxUpdates) throw invalidArgument('updates', `${updates.length} updates, more than the limit of ${maxUpdates}`, 'ERROR_REASON_TOO_MANY_UPDATES_IN_REQUEST');
  if (preconditions.length > MAX_PRECONDITIONS) {
    throw invalidArgument('preconditions', `${preconditions.length} preconditions, more than the limit of ${MAX_PRECONDITIONS}`, 'ERROR_REASON_TOO_MANY_PRECONDITIONS_IN_REQUEST');
  }
  for (const p of preconditions) validateFilter(p.filter);
  const seen = new Set<string>();
  updates.forEach((u, i) => {
    const key = relationshipKey(u.relationship);
    if (seen.has(key)) throw invalidArgument(`updates[${i}]`, `relationship \`${key}\` is updated more than once in this write`);
    seen.add(key);
  });
}

/** The error for a CREATE of a relationship that exists. */
export function alreadyExists(r: Relationship): WardenError {
  return new WardenError('ALREADY_EXISTS', `relationship \`${relationshipKey(r)}\` already exists`, { field: 'updates', reason: 'ERROR_REASON_ATTEMPT_TO_RECREATE_RELATIONSHIP' });
}

/** The error for a precondition that did not hold. */
export function preconditionFailed(index: number, operation: 'must_match' | 'must_not_match'): WardenError {
  const what = operation === 'must_match' ? 'no relationship matches its filter' : 'a relationship matches its filter';
  return new WardenError('FAILED_PRECONDITION', `preconditions[${index}] (${operation.toUpperCase()}) failed: ${what}`, { field: `preconditions[${index}]`, reason: 'ERROR_REASON_WRITE_OR_DELETE_PRECONDITION_FAILURE' });
}

/** The error for a delete by filter that matched more than its limit. */
export function tooManyToDelete(limit: number): WardenError {
  return new WardenError('FAILED_PRECONDITION', `more than ${limit} relationships match the filter; raise the limit or allow a partial delete`, {
    field: 'limit',
    reason: 'ERROR_REASON_TOO_MANY_RELATIONSHIPS_FOR_TRANSACTIONAL_DELETE',
  });
}

/** Validates a page size. */
export function validateLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw invalidArgument('limit', 'must be a positive whole number');
}

/**
 * One transaction's changes from the rows it ended and the rows it started: a key both ended and
 * started was replaced (TOUCH); ended only, DELETE; started only, TOUCH.
 */
export function composeChanges(ended: readonly Relationship[], started: readonly Relationship[]): ChangeSet['changes'] {
  const startedKeys = new Set(started.map(relationshipKey));
  return [
    ...ended.filter((r) => !startedKeys.has(relationshipKey(r))).map((relationship) => ({ operation: 'delete' as const, relationship })),
    ...started.map((relationship) => ({ operation: 'touch' as const, relationship })),
  ];
}

/**
 * Streams every relationship matching a filter at one revision, page by page. Pass the cursor
 * of the last page seen to resume an interrupted export exactly where it stopped.
 */
export async function* exportRelationships(
  store: Pick<Store, 'readPage'>,
  revision: Revision,
  filter: RelationshipFilter,
  options: { pageSize?: number; cursor?: string | null } = {},
): AsyncGenerator<{ relationships: readonly Relationship[]; cursor: string | null }> {
  let cursor = options.cursor ?? null;
  do {
    const page = await store.readPage(revision, filter, { limit: options.pageSize ?? 1000, cursor });
    cursor = page.cursor;
    yield { relationships: page.relationships, cursor };
  } while (cursor);
}

/** The error for a write to a tenant that no longer exists (deleted while a key was still cached, say). */
export function tenantGone(tenant: string): WardenError {
  return new WardenError('NOT_FOUND', `tenant \`${tenant}\` does not exist (it was deleted); nothing was written`, { field: 'tenant' });
}
