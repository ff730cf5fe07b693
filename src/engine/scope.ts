import type { RelationshipFilter } from '../store/store.js';
import type { Relationship } from '../model/relationship.js';
import type { TypeSystem } from '../schema/type-system.js';
import { TRUE, caveatCondition, type Condition } from './condition.js';
import type { Memberships } from './check/memberships.js';
import type { Dispatcher } from './dispatch/dispatcher.js';
import type { MemoReader } from './memo-reader.js';

/** Limits every engine request runs under. */
export interface EngineLimits {
  /** Dispatch levels one request may nest (default 50). */
  readonly maxDepth: number;
  /** Nodes one Expand tree may hold (default 100,000). */
  readonly maxExpandNodes: number;
  /** Objects one LookupResources walk may visit (default 1,000,000). */
  readonly maxLookupVisits: number;
  /** Bytes of JSON the caveat context of one request may take (default 4 KiB). */
  readonly maxContextBytes: number;
  /** Estimated cost one caveat evaluation may take (default 1,000,000). */
  readonly maxCaveatCost: number;
}

/** The default limits. */
export const DEFAULT_LIMITS: EngineLimits = Object.freeze({
  maxDepth: 50,
  maxExpandNodes: 100_000,
  maxLookupVisits: 1_000_000,
  maxContextBytes: 4096,
  maxCaveatCost: 1_000_000,
});

/** The work one request did: subproblems computed, subproblems answered by the check cache, store reads. */
export interface RequestStats {
  dispatches: number;
  cachedDispatches: number;
  reads: number;
}

/** What a computation needs from its request: schema, snapshot, the top of the dispatcher chain, its counters. */
export interface Scope {
  readonly schema: TypeSystem;
  /** The request's reader: its read memo over the snapshot (`read` answers at once from a store in memory). */
  readonly reader: MemoReader;
  readonly dispatcher: Dispatcher;
  readonly limits: EngineLimits;
  readonly stats: RequestStats;
  /** The earliest expiration (ms) among the relationships the request has read, or null. */
  readonly earliestExpiry: () => number | null;
  /** The request's subject-side membership walks, shared by every subproblem. */
  readonly memberships: Memberships;
  /**
   * Reads several filters ahead in one round trip, for later reads to find; null where the store
   * reads one filter per call as cheaply (memory, the embedded store's index).
   */
  readonly prefetch: ((filters: readonly RelationshipFilter[]) => void) | null;
}

/** The condition a stored relationship contributes: its caveat, or TRUE. */
export function tupleCondition(r: Relationship): Condition {
  return r.caveat ? caveatCondition(r.caveat.name, r.caveat.context) : TRUE;
}
