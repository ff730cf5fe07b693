import type { Relationship } from '../model/relationship.js';

/**
 * A point in a store's history: the decimal number of the transaction that made it. Revisions of
 * one datastore are totally ordered (`compareRevisions`). Every read names one; cache keys carry it.
 */
export type Revision = string & { readonly __revision: unique symbol };

/** Orders two revisions of the same datastore. */
export function compareRevisions(a: Revision, b: Revision): number {
  const x = BigInt(a);
  const y = BigInt(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** A revision from its number. */
export function revisionOf(n: number | bigint | string): Revision {
  return String(n) as Revision;
}

/**
 * Selects relationships. `resourceType` is required; every other field narrows. `subjectRelation`
 * absent means any subject relation; `...` means plain subjects only. A list field matches any
 * of its values and must not be empty.
 */
export interface RelationshipFilter {
  readonly resourceType: string;
  readonly resourceIds?: readonly string[];
  /** Resources whose id starts with this (not with `resourceIds`; must not be empty). */
  readonly resourceIdPrefix?: string;
  readonly relation?: string;
  readonly subjectType?: string;
  readonly subjectIds?: readonly string[];
  readonly subjectRelation?: string;
  /**
   * Subjects to match, any one of them: a way to read a relation's direct subjects and its
   * subject sets in one query. Not with `subjectType`, `subjectIds` or `subjectRelation`; must
   * not be empty.
   */
  readonly subjectsAnyOf?: readonly SubjectMatch[];
}

/** Subjects of one type, narrowed by ids and by relation (absent: any; `...`: plain subjects). */
export interface SubjectMatch {
  readonly type: string;
  readonly ids?: readonly string[];
  readonly relation?: string;
}

/**
 * A consistent view of the store at one revision. Reads never see a write committed after the
 * revision, and never see a relationship that has expired by the store's clock.
 */
export interface SnapshotReader {
  readonly revision: Revision;
  /** Every live relationship matching the filter, in no promised order. */
  query(filter: RelationshipFilter): Promise<readonly Relationship[]>;
  /**
   * Several reads in one round trip, the answer to each filter at its index. Present only where
   * a round trip costs more than the reads (a database over the network); absent, read one by one.
   */
  readonly queryMany?: ((filters: readonly RelationshipFilter[]) => Promise<readonly (readonly Relationship[])[]>) | undefined;
  /**
   * The relationships matching the filter that the snapshot holds but that have expired by the
   * store's clock (until garbage collection removes them): for explaining why a check says no.
   */
  readonly queryExpired?: ((filter: RelationshipFilter) => Promise<readonly Relationship[]>) | undefined;
  /**
   * The same answer as `query`, returned at once, where the snapshot is held in memory; undefined
   * when it cannot be answered that way now (then `query`). Lets the engine's walk run without a
   * promise per read. Absent where every read goes to a database.
   */
  readonly querySync?: ((filter: RelationshipFilter) => readonly Relationship[] | undefined) | undefined;
}

/** One change in a write: CREATE fails if the relationship exists, TOUCH upserts, DELETE removes. */
export interface RelationshipUpdate {
  readonly operation: 'create' | 'touch' | 'delete';
  readonly relationship: Relationship;
}

/** A condition a write checks, inside its transaction, before applying anything. */
export interface Precondition {
  /** MUST_MATCH: some live relationship matches the filter; MUST_NOT_MATCH: none does. */
  readonly operation: 'must_match' | 'must_not_match';
  readonly filter: RelationshipFilter;
}

/** A schema version as stored: the compiled text and the revision it was written at. */
export interface StoredSchema {
  readonly text: string;
  readonly revision: Revision;
}

/**
 * Checks a change against the schema in force when it commits, inside the store's write
 * serialization, so no schema change can slip in between the check and the write. Throws to
 * refuse the change (nothing is written).
 */
export type SchemaGuard = (schema: StoredSchema | null) => void;

/** Options of a write. */
export interface WriteOptions {
  readonly preconditions?: readonly Precondition[];
  /** Recorded with the transaction and reported by the changelog (who wrote it, why). */
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** Validates the updates against the schema in force at commit. */
  readonly guard?: SchemaGuard;
}

/** Options of a delete by filter. */
export interface DeleteOptions {
  /** Delete at most this many. */
  readonly limit?: number;
  /** With a limit: delete up to it and report whether more remain, instead of failing. */
  readonly allowPartial?: boolean;
  /** Checked before anything is deleted, as a write's are. */
  readonly preconditions?: readonly Precondition[];
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** Reads the live relationships (current, not expired) inside a write's serialization, page by page. */
export type LivePages = (filter: RelationshipFilter, options: { limit: number; cursor?: string | null }) => Promise<ReadPage>;

/**
 * Checks a new schema against the stored one and the live relationships, inside the write
 * serialization (so no write can add a relationship the new schema would orphan meanwhile).
 * Throws to refuse the schema.
 */
export type SchemaChangeGuard = (current: StoredSchema | null, live: LivePages) => Promise<void>;

/** The most preconditions one write may carry (as SpiceDB). */
export const MAX_PRECONDITIONS = 1000;

/** What a delete by filter did. */
export interface DeleteResult {
  readonly revision: Revision;
  readonly deleted: number;
  /** With `allowPartial`, whether matching relationships remain beyond the limit. */
  readonly more: boolean;
}

/** One page of a read; `cursor` resumes right after it, null when nothing is left. */
export interface ReadPage {
  readonly relationships: readonly Relationship[];
  readonly cursor: string | null;
}

/** One committed transaction's changes, for the changelog (the base of Watch). */
export interface ChangeSet {
  readonly revision: Revision;
  readonly committedAt: Date;
  readonly metadata: Readonly<Record<string, unknown>> | null;
  /** TOUCH for a relationship written (created or replaced), DELETE for one removed. */
  readonly changes: readonly { readonly operation: 'touch' | 'delete'; readonly relationship: Relationship }[];
  /** True when the transaction wrote a new schema version. */
  readonly schemaChanged: boolean;
}

/** The most updates one write may carry, unless configured otherwise. */
export const DEFAULT_MAX_UPDATES = 1000;

/** A versioned store of relationships and the schema, for one tenant. */
export interface Store {
  /** The newest committed revision. */
  headRevision(): Promise<Revision>;
  /** The newest revision committed at or before `time` (the oldest retained one if none). */
  revisionAt(time: Date): Promise<Revision>;
  /**
   * Throws unless `revision` can still be read exactly: FAILED_PRECONDITION once garbage
   * collection has passed it, INVALID_ARGUMENT if it is newer than the head.
   */
  checkRevision(revision: Revision): Promise<void>;
  /** A reader at `revision`, which must have come from this store. */
  snapshot(revision: Revision): SnapshotReader;
  /**
   * Applies all updates atomically as one new revision, or none of them; returns that revision.
   * CREATE of a live relationship fails with ALREADY_EXISTS; a failed precondition with
   * FAILED_PRECONDITION; more than the configured number of updates or of preconditions, or one
   * relationship updated twice, with INVALID_ARGUMENT; a deleted tenant with NOT_FOUND.
   */
  write(updates: readonly RelationshipUpdate[], options?: WriteOptions): Promise<Revision>;
  /**
   * Deletes the live relationships matching a filter, at most `limit` of them. Past the limit it
   * fails with FAILED_PRECONDITION and deletes nothing, unless `allowPartial`. Preconditions are
   * checked as a write's are, in the same serialization: one that fails deletes nothing.
   */
  deleteByFilter(filter: RelationshipFilter, options?: DeleteOptions): Promise<DeleteResult>;
  /** One page of the relationships matching a filter at a revision, in key order. */
  readPage(revision: Revision, filter: RelationshipFilter, options: { limit: number; cursor?: string | null }): Promise<ReadPage>;
  /** How many relationships the tenant holds now (not deleted; expired ones not yet collected included): for quotas. */
  countRelationships(): Promise<number>;
  /**
   * Writes many relationships as one transaction; CREATE semantics (a live duplicate fails it).
   * The stream is read before the write serialization is entered (staged), so a slow client
   * holds no lock.
   */
  importRelationships(
    relationships: Iterable<Relationship> | AsyncIterable<Relationship>,
    options?: { metadata?: Readonly<Record<string, unknown>>; guard?: SchemaGuard },
  ): Promise<{ revision: Revision; count: number }>;
  /** The committed transactions after `after`, oldest first, at most `limit` of them. */
  changes(after: Revision, options?: { limit?: number }): Promise<readonly ChangeSet[]>;
  /** Stores a new schema version (the compiled text) and returns the revision it was written at. */
  writeSchema(text: string, options?: { guard?: SchemaChangeGuard }): Promise<Revision>;
  /** The schema in force at a revision and the revision it was written at, or null if none was written yet. */
  readSchema(revision: Revision): Promise<{ readonly text: string; readonly revision: Revision } | null>;
  /** Releases connections and files. */
  close(): Promise<void>;
}
