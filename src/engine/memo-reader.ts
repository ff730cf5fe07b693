import type { Relationship } from '../model/relationship.js';
import type { RelationshipFilter, SnapshotReader } from '../store/store.js';

/** Reads one request's memo may hold; past that, reads go to the store unremembered. */
const MAX_MEMO_READS = 4096;

/**
 * The key of a read worth remembering, or null. Only reads of a relation with no subject filter
 * repeat within a request: an arrow's tupleset (`parent`) read for `parent->edit` and again for
 * `parent->view`. A read for one subject belongs to one subproblem, which the request's memo
 * already computes once; remembering it would only cost memory.
 */
function memoKey(f: RelationshipFilter): string | null {
  if (f.subjectType !== undefined || f.subjectIds || f.subjectRelation !== undefined || f.subjectsAnyOf || f.relation === undefined) return null;
  return `${f.resourceType}#${f.relation}@${f.resourceIds?.join('\u0000') ?? ''}`;
}

/**
 * A snapshot reader that remembers, for one request, the tupleset reads it has made: the same
 * read asked again (an arrow's `parent` read for `parent->edit` and again for `parent->view`) is
 * answered from memory, and reads in flight are shared. A snapshot never changes, so nothing goes stale;
 * it is bounded in reads. Counts the reads that reached the store.
 */
export class MemoReader implements SnapshotReader {
  readonly #inner: SnapshotReader;
  readonly #counts: { reads: number };
  #memo: Map<string, Promise<readonly Relationship[]>> | null = null;
  /** The earliest expiration among the relationships read (ms), or null: the answer may change then. */
  earliestExpiry: number | null = null;

  /** `counts.reads` is incremented for every read that goes to the store. */
  constructor(inner: SnapshotReader, counts: { reads: number }) {
    this.#inner = inner;
    this.#counts = counts;
  }

  #note = (rels: readonly Relationship[]): readonly Relationship[] => {
    for (const r of rels) {
      if (r.expiresAt === null) continue;
      const at = r.expiresAt.getTime();
      if (this.earliestExpiry === null || at < this.earliestExpiry) this.earliestExpiry = at;
    }
    return rels;
  };

  get revision(): SnapshotReader['revision'] {
    return this.#inner.revision;
  }

  query(filter: RelationshipFilter): Promise<readonly Relationship[]> {
    const key = memoKey(filter);
    if (key === null) {
      this.#counts.reads++;
      return this.#inner.query(filter).then(this.#note);
    }
    const memo = (this.#memo ??= new Map());
    const known = memo.get(key);
    if (known) return known;
    this.#counts.reads++;
    const p = this.#inner.query(filter).then(this.#note);
    // A failed read fails its request, so a remembered failure is never served to anyone else.
    if (memo.size < MAX_MEMO_READS) memo.set(key, p);
    return p;
  }
}
