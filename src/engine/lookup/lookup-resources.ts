import { WardenError } from '../../errors/error-code.js';
import { ELLIPSIS, WILDCARD_ID, type Relationship, type SubjectRef } from '../../model/relationship.js';
import type { Revision } from '../../store/store.js';
import { FALSE, type Condition } from '../condition.js';
import { InProgress, objectKey } from '../dispatch/dispatcher.js';
import type { Scope } from '../scope.js';

/** Candidates are verified with Check in batches of this many ids. */
export const VERIFY_BATCH = 500;

/** A LookupResources question: resources of `resourceType` on which `subject` has `permission`. */
export interface LookupResourcesProblem {
  readonly resourceType: string;
  readonly permission: string;
  readonly subject: SubjectRef;
  readonly revision: Revision;
}

/**
 * One verified batch of candidates: `offset` is how many candidates came before it in the walk's
 * order (always a multiple of VERIFY_BATCH), `found` the ones that have the permission, in
 * candidate order, with their conditions.
 */
export interface FoundBatch {
  readonly offset: number;
  readonly found: readonly (readonly [string, Condition])[];
}

/**
 * Finds the resources of a type on which a subject has a permission, streaming them as they are
 * found. It walks backwards from the subject along the schema's entrypoints (relations that admit
 * it, permissions that name those relations, arrows over them), level by level with one batched
 * read per entrypoint; every VERIFY_BATCH candidates it reaches are verified with one batched
 * Check (which settles intersections, exclusions and caveats exactly) and yielded.
 *
 * The walk's order is deterministic for a revision (reads are sorted), so `skip` resumes a
 * listing where another process left it: the first `skip` candidates (a multiple of
 * VERIFY_BATCH) are passed over without being verified. Memory is bounded by the objects
 * visited (max_lookup_visits) and one batch's memo, never by the results.
 */
export async function* lookupResources(newScope: () => Scope, p: LookupResourcesProblem, skip = 0): AsyncGenerator<FoundBatch> {
  const { schema, reader, limits } = newScope();
  const visited = new Set<string>();
  let frontier = new Map<string, { type: string; relation: string; ids: Set<string> }>();
  const add = (next: typeof frontier, type: string, id: string, relation: string): void => {
    const key = objectKey(type, id, relation);
    if (visited.has(key)) return;
    visited.add(key);
    if (visited.size > limits.maxLookupVisits) {
      throw new WardenError('RESOURCE_EXHAUSTED', 'the lookup visited more objects than the configured limit (max_lookup_visits)', {
        field: 'max_lookup_visits',
      });
    }
    const group = `${type}#${relation}`;
    let g = next.get(group);
    if (!g) next.set(group, (g = { type, relation, ids: new Set() }));
    g.ids.add(id);
  };
  const sorted = (tuples: readonly Relationship[]): Relationship[] => [...tuples].sort((a, b) => (a.resource.id < b.resource.id ? -1 : a.resource.id > b.resource.id ? 1 : 0));

  let seen = 0;
  let pending: string[] = [];
  const verify = async (): Promise<FoundBatch> => {
    const batch = pending;
    const offset = seen - batch.length;
    pending = [];
    // A fresh scope (and memo) a batch: a long listing's memory does not grow with its results.
    const a = await newScope().dispatcher.check({
      resourceType: p.resourceType,
      resourceIds: batch,
      relation: p.permission,
      subject: p.subject,
      revision: p.revision,
      depthLeft: limits.maxDepth,
      inProgress: InProgress.ROOT,
    });
    const found: (readonly [string, Condition])[] = [];
    for (const id of batch) {
      const c = a.results.get(id) ?? FALSE;
      if (c.op !== 'false') found.push([id, c]);
    }
    return { offset, found };
  };

  add(frontier, p.subject.type, p.subject.id, p.subject.relation);
  if (p.subject.relation === ELLIPSIS) {
    for (const e of schema.wildcardEntrypoints(p.subject.type)) {
      const tuples = await reader.query({
        resourceType: e.resourceType,
        relation: e.relation,
        subjectType: p.subject.type,
        subjectIds: [WILDCARD_ID],
        subjectRelation: ELLIPSIS,
      });
      for (const t of sorted(tuples)) add(frontier, e.resourceType, t.resource.id, e.relation);
    }
  }

  for (let level = 0; frontier.size; level++) {
    if (level > limits.maxDepth) {
      throw new WardenError('RESOURCE_EXHAUSTED', 'the maximum depth was exceeded while looking up resources (max_depth)', {
        field: 'max_depth',
        reason: 'ERROR_REASON_MAXIMUM_DEPTH_EXCEEDED',
      });
    }
    const next: typeof frontier = new Map();
    for (const { type, relation, ids } of frontier.values()) {
      const idList = [...ids];
      if (type === p.resourceType && relation === p.permission) {
        for (const id of idList) {
          if (seen++ < skip) continue;
          pending.push(id);
          if (pending.length >= VERIFY_BATCH) yield await verify();
        }
      }
      for (const e of schema.relationEntrypoints(type, relation)) {
        const tuples = await reader.query({
          resourceType: e.resourceType,
          relation: e.relation,
          subjectType: type,
          subjectIds: idList,
          subjectRelation: relation,
        });
        for (const t of sorted(tuples)) add(next, e.resourceType, t.resource.id, e.relation);
      }
      for (const perm of schema.computedEntrypoints(type, relation)) for (const id of idList) add(next, type, id, perm);
      for (const a of schema.arrowEntrypoints(type, relation)) {
        const tuples = await reader.query({ resourceType: a.resourceType, relation: a.tupleset, subjectType: type, subjectIds: idList });
        for (const t of sorted(tuples)) add(next, a.resourceType, t.resource.id, a.permission);
      }
    }
    frontier = next;
  }
  if (pending.length) yield await verify();
}
