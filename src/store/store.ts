import type { Relationship } from '../model/relationship.js';

/**
 * A point in a store's history. Opaque outside the store that issued it: compare and order
 * revisions only through that store. Every read names one; cache keys carry it.
 */
export type Revision = string & { readonly __revision: unique symbol };

/**
 * Selects relationships. `resourceType` is required; every other field narrows. `subjectRelation`
 * absent means any subject relation; `...` means plain subjects only. A list field matches any
 * of its values and must not be empty.
 */
export interface RelationshipFilter {
  readonly resourceType: string;
  readonly resourceIds?: readonly string[];
  readonly relation?: string;
  readonly subjectType?: string;
  readonly subjectIds?: readonly string[];
  readonly subjectRelation?: string;
}

/**
 * A consistent view of the store at one revision. Reads never see a write committed after the
 * revision, and never see a relationship that has expired by the store's clock.
 */
export interface SnapshotReader {
  readonly revision: Revision;
  /** Every live relationship matching the filter, in no promised order. */
  query(filter: RelationshipFilter): Promise<readonly Relationship[]>;
}

/** One change in a write: CREATE fails if the relationship exists, TOUCH upserts, DELETE removes. */
export interface RelationshipUpdate {
  readonly operation: 'create' | 'touch' | 'delete';
  readonly relationship: Relationship;
}

/** A versioned store of relationships and the schema. */
export interface Store {
  /** The newest committed revision. */
  headRevision(): Promise<Revision>;
  /** A reader at `revision`, which must have come from this store. */
  snapshot(revision: Revision): SnapshotReader;
  /** Applies all updates atomically as one new revision, or none of them; returns that revision. */
  write(updates: readonly RelationshipUpdate[]): Promise<Revision>;
  /** Stores a new schema version (the compiled text) and returns the revision it was written at. */
  writeSchema(text: string): Promise<Revision>;
  /** The schema text in force at a revision, or null if none was written yet. */
  readSchema(revision: Revision): Promise<string | null>;
  /** Releases connections and files. */
  close(): Promise<void>;
}
