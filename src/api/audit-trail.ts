import { relationshipKey, type Relationship } from '../model/relationship.js';
import { MAX_AUDIT_CHANGES, type AuditChange, type AuditLog } from '../store/audit.js';
import type { RelationshipFilter, Revision } from '../store/store.js';
import type { CallContext } from '../server/call.js';

/** A relationship change as the audit history lists it. */
export function relationshipChange(operation: string, r: Relationship): AuditChange {
  return { operation, target: relationshipKey(r) };
}

/** A delete by filter as the audit history lists it: the filter as a relationship pattern, `*` where it leaves a field open. */
export function filterChange(f: RelationshipFilter): AuditChange {
  const subject = `${f.subjectType ?? '*'}:${f.subjectIds?.join(',') ?? '*'}${f.subjectRelation && f.subjectRelation !== '...' ? `#${f.subjectRelation}` : ''}`;
  const id = f.resourceIds?.join(',') ?? (f.resourceIdPrefix !== undefined ? `${f.resourceIdPrefix}*` : '*');
  return { operation: 'delete-filter', target: `${f.resourceType}:${id}#${f.relation ?? '*'}@${subject}` };
}

/**
 * Records an audited call in the audit history, after its change committed: the acting key and
 * its tenant, the tenant acted on, the revision, the request's metadata and request id, and the
 * changes (the first MAX_AUDIT_CHANGES; `total` counts them all).
 */
export async function recordAudit(
  log: AuditLog,
  ctx: Pick<CallContext, 'actor' | 'requestId'>,
  entry: {
    method: string;
    tenant: string;
    revision: Revision | null;
    changes: readonly AuditChange[];
    total?: number;
    metadata?: Readonly<Record<string, unknown>> | null;
    /** Under impersonation, the person acting (`user:support_agent_7`). */
    actingAs?: string | null;
  },
): Promise<void> {
  const requestId = ctx.requestId?.();
  const metadata = entry.metadata || requestId ? { ...(entry.metadata ?? {}), ...(requestId ? { request_id: requestId } : {}) } : null;
  await log.record({
    tenant: entry.tenant,
    revision: entry.revision,
    actorKey: ctx.actor?.keyId ?? '',
    actorTenant: ctx.actor?.tenant ?? entry.tenant,
    actingAs: entry.actingAs ?? null,
    method: entry.method,
    metadata,
    changes: entry.changes.slice(0, MAX_AUDIT_CHANGES),
    changesTotal: entry.total ?? entry.changes.length,
  });
}

/** Records a key or tenant change (which has no revision): the method, the tenant it concerns, and the one change. */
export function recordAdminChange(log: AuditLog, ctx: Pick<CallContext, 'actor' | 'requestId'>, method: string, tenant: string, change: AuditChange): Promise<void> {
  return recordAudit(log, ctx, { method, tenant, revision: null, changes: [change] });
}
