import { WardenError } from '../../errors/error-code.js';
import { ELLIPSIS, WILDCARD_ID, type SubjectRef } from '../../model/relationship.js';
import type { Revision } from '../../store/store.js';
import { FALSE, type Condition } from '../condition.js';
import { InProgress, objectKey } from '../dispatch/dispatcher.js';
import type { Scope } from '../scope.js';

/** Candidates are verified with Check in batches of this many ids. */
const VERIFY_BATCH = 500;

/** A LookupResources question: resources of `resourceType` on which `subject` has `permission`. */
export interface LookupResourcesProblem {
  readonly resourceType: string;
  readonly permission: string;
  readonly subject: SubjectRef;
  readonly revision: Revision;
}

/**
 * Finds every resource of a type on which a subject has a permission. It walks backwards from
 * the subject along the schema's entrypoints (relations that admit it, permissions that name
 * those relations, arrows over them), level by level with one batched read per entrypoint,
 * collecting candidates; then it verifies the candidates with batched Checks, which settles
 * intersections, exclusions and caveats exactly.
 */
export async function lookupResources(scope: Scope, p: LookupResourcesProblem): Promise<Map<string, Condition>> {
  const { schema, reader, limits } = scope;
  const visited = new Set<string>();
  const candidates = new Set<string>();
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
      for (const t of tuples) add(frontier, e.resourceType, t.resource.id, e.relation);
    }
  }

  for (let level = 0; frontier.size; level++) {
    if (level > limits.maxDepth) {
      throw new WardenError('RESOURCE_EXHAUSTED', 'the maximum depth was exceeded while looking up resources (max_depth)', {
        field: 'max_depth',
      });
    }
    const next: typeof frontier = new Map();
    for (const { type, relation, ids } of frontier.values()) {
      const idList = [...ids];
      if (type === p.resourceType && relation === p.permission) for (const id of idList) candidates.add(id);
      for (const e of schema.relationEntrypoints(type, relation)) {
        const tuples = await reader.query({
          resourceType: e.resourceType,
          relation: e.relation,
          subjectType: type,
          subjectIds: idList,
          subjectRelation: relation,
        });
        for (const t of tuples) add(next, e.resourceType, t.resource.id, e.relation);
      }
      for (const perm of schema.computedEntrypoints(type, relation)) for (const id of idList) add(next, type, id, perm);
      for (const a of schema.arrowEntrypoints(type, relation)) {
        const tuples = await reader.query({ resourceType: a.resourceType, relation: a.tupleset, subjectType: type, subjectIds: idList });
        for (const t of tuples) add(next, a.resourceType, t.resource.id, a.permission);
      }
    }
    frontier = next;
  }

  const results = new Map<string, Condition>();
  const ids = [...candidates].sort();
  for (let i = 0; i < ids.length; i += VERIFY_BATCH) {
    const batch = ids.slice(i, i + VERIFY_BATCH);
    const a = await scope.dispatcher.check({
      resourceType: p.resourceType,
      resourceIds: batch,
      relation: p.permission,
      subject: p.subject,
      revision: p.revision,
      depthLeft: limits.maxDepth,
      inProgress: InProgress.ROOT,
    });
    for (const id of batch) {
      const c = a.results.get(id) ?? FALSE;
      if (c.op !== 'false') results.set(id, c);
    }
  }
  return results;
}
