import type { CallContext } from '../server/call.js';
import { validateTenantName } from '../store/access.js';
import type { AuditLog } from '../store/audit.js';
import { invalidArgument } from '../errors/error-code.js';
import { fromDate, jsonToStruct, toTypeName, type PbTimestamp } from './convert.js';

/** A Timestamp message as a Date (absent or zero: none). */
function date(t: PbTimestamp | null | undefined): Date | undefined {
  if (!t || (!Number(t.seconds) && !t.nanos)) return undefined;
  return new Date(Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6));
}

/** `type` or `type:id`, checked. */
function objectPattern(text: string, field: string): string {
  const [type, id, ...rest] = text.split(':');
  toTypeName(type ?? '', field);
  if (rest.length || id === '') throw invalidArgument(field, `expected \`type\` or \`type:id\`, got \`${text}\``);
  return text;
}

/** AuditService: one function per RPC (admin scope, checked by the call wrapper). */
export function auditService(audit: AuditLog) {
  return {
    async ListAuditEvents(
      req: {
        tenant: string;
        resource: string;
        subject: string;
        actor_key: string;
        since: PbTimestamp | null;
        until: PbTimestamp | null;
        from_revision: { token: string } | null;
        to_revision: { token: string } | null;
        limit: number;
        cursor: string;
      },
      { tenant }: CallContext,
    ) {
      if (req.tenant) validateTenantName(req.tenant, 'tenant');
      if (req.subject && !req.subject.includes(':')) throw invalidArgument('subject', `expected \`type:id\`, got \`${req.subject}\``);
      const since = date(req.since);
      const until = date(req.until);
      const page = await audit.query({
        tenant: req.tenant || tenant.name,
        ...(req.resource ? { resource: objectPattern(req.resource, 'resource') } : {}),
        ...(req.subject ? { subject: objectPattern(req.subject, 'subject') } : {}),
        ...(req.actor_key ? { actorKey: req.actor_key } : {}),
        ...(since ? { since } : {}),
        ...(until ? { until } : {}),
        ...(req.from_revision?.token ? { fromRevision: tenant.zookieRevision(req.from_revision.token, 'from_revision') } : {}),
        ...(req.to_revision?.token ? { toRevision: tenant.zookieRevision(req.to_revision.token, 'to_revision') } : {}),
        limit: req.limit || 100,
        cursor: req.cursor || null,
      });
      return {
        events: page.entries.map((e) => ({
          id: e.id,
          at: fromDate(e.at),
          tenant: e.tenant,
          revision: e.revision !== null && e.tenant === tenant.name ? tenant.zookie(e.revision) : null,
          actor_key: e.actorKey,
          actor_tenant: e.actorTenant,
          acting_as: e.actingAs ?? '',
          method: e.method,
          metadata: e.metadata ? jsonToStruct(e.metadata) : null,
          changes: e.changes.map((c) => ({ operation: c.operation, target: c.target })),
          changes_total: e.changesTotal,
        })),
        cursor: page.cursor ?? '',
      };
    },
  };
}
