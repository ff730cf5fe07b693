import { sql, type Kysely } from 'kysely';
import { auditIndexTerms, auditQueryStart, type AuditChange, type AuditDraft, type AuditEntry, type AuditLog, type AuditPage, type AuditQuery } from '../audit.js';
import { revisionOf } from '../store.js';
import type { Database } from './tables.js';

/** The audit history in the `warden_audit` table (PostgreSQL and PGlite). */
export class PostgresAuditLog implements AuditLog {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async record(d: AuditDraft): Promise<void> {
    const { resources, subjects } = auditIndexTerms(d.changes);
    await this.#db
      .insertInto('warden_audit')
      .values({
        tenant: d.tenant,
        revision: d.revision,
        actor_key: d.actorKey,
        actor_tenant: d.actorTenant,
        acting_as: d.actingAs,
        method: d.method,
        metadata: d.metadata ? JSON.stringify(d.metadata) : null,
        changes: JSON.stringify(d.changes),
        changes_total: d.changesTotal,
        resources,
        subjects,
      })
      .execute();
  }

  async query(q: AuditQuery): Promise<AuditPage> {
    const after = auditQueryStart(q);
    let s = this.#db.selectFrom('warden_audit').selectAll().where('tenant', '=', q.tenant).where('id', '>', String(after));
    if (q.actorKey !== undefined) s = s.where('actor_key', '=', q.actorKey);
    if (q.since) s = s.where('at', '>=', q.since);
    if (q.until) s = s.where('at', '<=', q.until);
    if (q.fromRevision !== undefined) s = s.where('revision', '>=', q.fromRevision);
    if (q.toRevision !== undefined) s = s.where('revision', '<=', q.toRevision);
    if (q.resource !== undefined) s = s.where(sql<boolean>`resources @> array[${q.resource}]::text[]`);
    if (q.subject !== undefined) s = s.where(sql<boolean>`subjects @> array[${q.subject}]::text[]`);
    const rows = await s.orderBy('id').limit(q.limit + 1).execute();
    const entries: AuditEntry[] = rows.slice(0, q.limit).map((r) => ({
      id: String(r.id),
      at: new Date(r.at),
      tenant: r.tenant,
      revision: r.revision === null ? null : revisionOf(String(r.revision)),
      actorKey: r.actor_key,
      actorTenant: r.actor_tenant,
      actingAs: r.acting_as,
      method: r.method,
      metadata: (r.metadata as Record<string, unknown> | null) ?? null,
      changes: r.changes as AuditChange[],
      changesTotal: r.changes_total,
    }));
    return { entries, cursor: rows.length > q.limit ? entries[entries.length - 1]!.id : null };
  }

  async prune(before: Date): Promise<number> {
    const r = await this.#db.deleteFrom('warden_audit').where('at', '<', before).executeTakeFirst();
    return Number(r.numDeletedRows);
  }
}
