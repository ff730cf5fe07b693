import { WardenError } from '../errors/error-code.js';
import type { Relationship } from '../model/relationship.js';
import type { RelationshipFilter } from './store.js';

/** Rejects filters a store cannot answer: empty id lists. */
export function validateFilter(f: RelationshipFilter): void {
  for (const [name, list] of [
    ['resourceIds', f.resourceIds],
    ['subjectIds', f.subjectIds],
  ] as const) {
    if (list && !list.length) throw new WardenError('INVALID_ARGUMENT', `filter.${name} must not be empty`, { field: `filter.${name}` });
  }
}

/**
 * A predicate for one filter, built once so a scan does not rebuild the id sets per row.
 * Expiration is not its business: callers judge that by their own clock.
 */
export function filterMatcher(f: RelationshipFilter): (r: Relationship) => boolean {
  const resourceIds = f.resourceIds && new Set(f.resourceIds);
  const subjectIds = f.subjectIds && new Set(f.subjectIds);
  return (r) =>
    r.resource.type === f.resourceType &&
    (!resourceIds || resourceIds.has(r.resource.id)) &&
    (f.relation === undefined || r.relation === f.relation) &&
    (f.subjectType === undefined || r.subject.type === f.subjectType) &&
    (!subjectIds || subjectIds.has(r.subject.id)) &&
    (f.subjectRelation === undefined || r.subject.relation === f.subjectRelation);
}
