import { WardenError, invalidArgument } from '../errors/error-code.js';
import type { Revision } from './store.js';

/** One change an audited call made, as text: a relationship, a filter, a schema, a key, a tenant. */
export interface AuditChange {
  /** `create`, `touch`, `delete`, `delete-filter`, `import`, `schema`, `key-create`, `key-revoke`, `key-rotate`, `tenant-create`, `tenant-delete`, `check` (an impersonated read). */
  readonly operation: string;
  /** What it acted on: `document:q3#viewer@user:alice`, a filter, a key id, a tenant name. */
  readonly target: string;
}

/** One audited call: who (the acting key), for whom, when, at which revision, what it changed. */
export interface AuditEntry {
  /** Increasing with every entry of the datastore; the paging cursor. */
  readonly id: string;
  readonly at: Date;
  /** The tenant acted on. */
  readonly tenant: string;
  /** The revision the change committed at (null for key and tenant changes, which have none). */
  readonly revision: Revision | null;
  /** The acting key's id (empty without keys: insecure or testing mode) and the tenant it belongs to. */
  readonly actorKey: string;
  readonly actorTenant: string;
  /** Under impersonation, the person acting (`user:support_agent_7`); the subject acted for is in the changes. Null otherwise. */
  readonly actingAs: string | null;
  /** `RelationshipService.Write`, ... */
  readonly method: string;
  /** The request's metadata (Write's `metadata`) and its request id. */
  readonly metadata: Readonly<Record<string, unknown>> | null;
  /** The changes, at most MAX_AUDIT_CHANGES; `changesTotal` counts them all. */
  readonly changes: readonly AuditChange[];
  readonly changesTotal: number;
}

/** An entry before the log gives it an id and a time. */
export type AuditDraft = Omit<AuditEntry, 'id' | 'at'>;

/** The most changes an entry lists (an import of a million relationships is counted, not copied). */
export const MAX_AUDIT_CHANGES = 1000;

/** What to find: every field narrows; `resource` is a type or `type:id`, `subject` a `type:id`. */
export interface AuditQuery {
  readonly tenant: string;
  readonly resource?: string;
  readonly subject?: string;
  readonly actorKey?: string;
  readonly since?: Date;
  readonly until?: Date;
  readonly fromRevision?: Revision;
  readonly toRevision?: Revision;
  readonly limit: number;
  readonly cursor?: string | null;
}

/** A page of entries, oldest first; `cursor` continues after it, null at the end. */
export interface AuditPage {
  readonly entries: readonly AuditEntry[];
  readonly cursor: string | null;
}

/**
 * The audit history of a datastore: every write, schema change, key and tenant change, with the
 * acting key. Kept apart from the changelog, so its retention is its own (garbage collection of
 * old revisions does not touch it).
 */
export interface AuditLog {
  /** Records an entry (after the change it describes committed). */
  record(draft: AuditDraft): Promise<void>;
  /** Entries matching a query, oldest first, a page at a time. */
  query(q: AuditQuery): Promise<AuditPage>;
  /** Removes entries older than `before`; returns how many went. */
  prune(before: Date): Promise<number>;
}

/** The most entries one page returns. */
export const MAX_AUDIT_PAGE = 1000;

/** Checks a query's paging and ranges; returns the id after which to continue (0n from the start). */
export function auditQueryStart(q: AuditQuery): bigint {
  if (!Number.isInteger(q.limit) || q.limit < 1 || q.limit > MAX_AUDIT_PAGE) throw invalidArgument('limit', `must be from 1 to ${MAX_AUDIT_PAGE}`);
  if (q.since && q.until && q.since > q.until) throw invalidArgument('until', 'is before `since`');
  if (!q.cursor) return 0n;
  if (!/^\d{1,19}$/.test(q.cursor)) throw new WardenError('INVALID_ARGUMENT', 'the cursor is not one this log issued', { field: 'cursor' });
  return BigInt(q.cursor);
}

/**
 * The objects an entry's changes name, for finding it by resource or subject: each relationship's
 * resource (as its type and as `type:id`) and subject (as `type:id`).
 */
export function auditIndexTerms(changes: readonly AuditChange[]): { resources: string[]; subjects: string[] } {
  const resources = new Set<string>();
  const subjects = new Set<string>();
  for (const c of changes) {
    const m = /^([^:#@]+):([^#@]+)#[^@]+@([^:#@]+):([^#@[\s]+)/.exec(c.target);
    if (!m) continue;
    // A delete by filter names its fields as patterns: `*` for a field left open, ids joined by `,`.
    resources.add(m[1]!);
    for (const id of m[2]!.split(',')) if (id !== '*') resources.add(`${m[1]}:${id}`);
    if (m[3] !== '*') for (const id of m[4]!.split(',')) if (id !== '*') subjects.add(`${m[3]}:${id}`);
  }
  return { resources: [...resources], subjects: [...subjects] };
}

/** Does an entry match a query's filters (not its paging)? For logs that filter in memory. */
export function auditMatches(e: AuditEntry, q: AuditQuery): boolean {
  if (e.tenant !== q.tenant) return false;
  if (q.actorKey !== undefined && e.actorKey !== q.actorKey) return false;
  if (q.since && e.at < q.since) return false;
  if (q.until && e.at > q.until) return false;
  if (q.fromRevision !== undefined && (e.revision === null || BigInt(e.revision) < BigInt(q.fromRevision))) return false;
  if (q.toRevision !== undefined && (e.revision === null || BigInt(e.revision) > BigInt(q.toRevision))) return false;
  if (q.resource === undefined && q.subject === undefined) return true;
  const terms = auditIndexTerms(e.changes);
  return (q.resource === undefined || terms.resources.includes(q.resource)) && (q.subject === undefined || terms.subjects.includes(q.subject));
}

/** The audit log of the memory datastore. */
export class MemoryAuditLog implements AuditLog {
  readonly #entries: AuditEntry[] = [];
  #next = 1n;

  async record(draft: AuditDraft): Promise<void> {
    this.#entries.push({ ...draft, id: String(this.#next++), at: new Date() });
  }

  async query(q: AuditQuery): Promise<AuditPage> {
    const after = auditQueryStart(q);
    const out: AuditEntry[] = [];
    for (const e of this.#entries) {
      if (BigInt(e.id) <= after || !auditMatches(e, q)) continue;
      if (out.length === q.limit) return { entries: out, cursor: out[out.length - 1]!.id };
      out.push(e);
    }
    return { entries: out, cursor: null };
  }

  async prune(before: Date): Promise<number> {
    const n = this.#entries.length;
    const kept = this.#entries.filter((e) => e.at >= before);
    this.#entries.splice(0, n, ...kept);
    return n - kept.length;
  }
}
