import { WardenError } from '../../errors/error-code.js';
import { relationshipKey, type Relationship } from '../../model/relationship.js';
import { filterMatcher, validateFilter } from '../filter.js';
import type { RelationshipFilter, RelationshipUpdate, Revision, SnapshotReader, Store } from '../store.js';

/** A stored relationship version: alive from `created` up to (not including) `deleted`. */
interface Row {
  readonly rel: Relationship;
  readonly created: number;
  deleted: number;
}

/** Clock the store judges expiration by; tests may pass their own. */
export type Clock = () => Date;

/**
 * MemoryStore keeps every version of every relationship in memory, indexed by resource and by
 * subject, so reads at any past revision are exact snapshots. For tests and `warden validate`.
 */
export class MemoryStore implements Store {
  #head = 0;
  readonly #clock: Clock;
  /** Live and historical rows by `type:id#relation`. */
  readonly #byResource = new Map<string, Row[]>();
  /** Rows by `resourceType#relation@subjectType:subjectId`. */
  readonly #bySubject = new Map<string, Row[]>();
  /** Rows by resource type, for filters without ids. */
  readonly #byType = new Map<string, Row[]>();
  /** The live row of each relationship key. */
  readonly #live = new Map<string, Row>();
  readonly #schemas: { revision: number; text: string }[] = [];

  constructor(options: { clock?: Clock } = {}) {
    this.#clock = options.clock ?? (() => new Date());
  }

  async headRevision(): Promise<Revision> {
    return String(this.#head) as Revision;
  }

  snapshot(revision: Revision): SnapshotReader {
    const at = this.#parse(revision);
    return { revision, query: async (filter) => this.#query(filter, at) };
  }

  #parse(revision: Revision): number {
    const n = /^\d+$/.test(revision) ? Number(revision) : NaN;
    if (!Number.isSafeInteger(n) || n > this.#head) {
      throw new WardenError('INVALID_ARGUMENT', `revision \`${revision}\` is not one of this store's`, { field: 'revision' });
    }
    return n;
  }

  async write(updates: readonly RelationshipUpdate[]): Promise<Revision> {
    const seen = new Set<string>();
    for (const u of updates) {
      const key = relationshipKey(u.relationship);
      if (seen.has(key)) {
        throw new WardenError('INVALID_ARGUMENT', `updates: relationship \`${key}\` appears more than once`, { field: 'updates' });
      }
      seen.add(key);
      if (u.operation === 'create' && this.#live.has(key)) {
        throw new WardenError('ALREADY_EXISTS', `relationship \`${key}\` already exists`, { field: 'updates' });
      }
    }
    // Validation passed for every update, so applying cannot fail half way.
    const rev = this.#head + 1;
    for (const u of updates) {
      const key = relationshipKey(u.relationship);
      const old = this.#live.get(key);
      if (old) {
        old.deleted = rev;
        this.#live.delete(key);
      }
      if (u.operation !== 'delete') this.#insert(key, u.relationship, rev);
    }
    this.#head = rev;
    return String(rev) as Revision;
  }

  #insert(key: string, rel: Relationship, rev: number): void {
    const row: Row = { rel, created: rev, deleted: Infinity };
    this.#live.set(key, row);
    add(this.#byResource, `${rel.resource.type}:${rel.resource.id}#${rel.relation}`, row);
    add(this.#bySubject, `${rel.resource.type}#${rel.relation}@${rel.subject.type}:${rel.subject.id}`, row);
    add(this.#byType, rel.resource.type, row);
  }

  async writeSchema(text: string): Promise<Revision> {
    const rev = ++this.#head;
    this.#schemas.push({ revision: rev, text });
    return String(rev) as Revision;
  }

  async readSchema(revision: Revision): Promise<string | null> {
    const at = this.#parse(revision);
    let text: string | null = null;
    for (const s of this.#schemas) if (s.revision <= at) text = s.text;
    return text;
  }

  async close(): Promise<void> {}

  #query(f: RelationshipFilter, at: number): Relationship[] {
    validateFilter(f);
    let candidates: readonly Row[];
    if (f.resourceIds && f.relation !== undefined) {
      candidates = gather(this.#byResource, f.resourceIds.map((id) => `${f.resourceType}:${id}#${f.relation}`));
    } else if (f.subjectIds && f.subjectType !== undefined && f.relation !== undefined) {
      candidates = gather(this.#bySubject, f.subjectIds.map((id) => `${f.resourceType}#${f.relation}@${f.subjectType}:${id}`));
    } else {
      candidates = this.#byType.get(f.resourceType) ?? [];
    }
    const now = this.#clock().getTime();
    const matches = filterMatcher(f);
    const out: Relationship[] = [];
    for (const row of candidates) {
      if (row.created > at || row.deleted <= at) continue;
      const r = row.rel;
      if (r.expiresAt && r.expiresAt.getTime() <= now) continue;
      if (matches(r)) out.push(r);
    }
    return out;
  }
}

function add(m: Map<string, Row[]>, key: string, row: Row): void {
  const list = m.get(key);
  if (list) list.push(row);
  else m.set(key, [row]);
}

function gather(m: Map<string, Row[]>, keys: readonly string[]): readonly Row[] {
  if (keys.length === 1) return m.get(keys[0]!) ?? [];
  const out: Row[] = [];
  for (const k of new Set(keys)) {
    const rows = m.get(k);
    if (rows) for (const r of rows) out.push(r);
  }
  return out;
}
