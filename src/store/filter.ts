import { WardenError } from '../errors/error-code.js';
import type { Relationship } from '../model/relationship.js';
import type { RelationshipFilter } from './store.js';

/** Rejects filters a store cannot answer: empty lists, `subjectsAnyOf` mixed with single-subject fields. */
export function validateFilter(f: RelationshipFilter): void {
  if (f.resourceIds && !f.resourceIds.length) emptyList('resourceIds');
  if (f.resourceIdPrefix !== undefined) {
    if (!f.resourceIdPrefix) emptyList('resourceIdPrefix');
    if (f.resourceIds) throw new WardenError('INVALID_ARGUMENT', 'filter.resourceIdPrefix does not go with resourceIds', { field: 'filter.resourceIdPrefix' });
  }
  if (f.subjectIds && !f.subjectIds.length) emptyList('subjectIds');
  const any = f.subjectsAnyOf;
  if (any) {
    if (!any.length) emptyList('subjectsAnyOf');
    any.forEach((m, i) => m.ids && !m.ids.length && emptyList(`subjectsAnyOf[${i}].ids`));
    if (f.subjectType !== undefined || f.subjectIds || f.subjectRelation !== undefined) {
      throw new WardenError('INVALID_ARGUMENT', 'filter.subjectsAnyOf does not go with subjectType, subjectIds or subjectRelation', { field: 'filter.subjectsAnyOf' });
    }
  }
}

function emptyList(name: string): never {
  throw new WardenError('INVALID_ARGUMENT', `filter.${name} must not be empty`, { field: `filter.${name}` });
}

/**
 * A predicate for one filter, built once so a scan does not rebuild the id sets per row.
 * Expiration is not its business: callers judge that by their own clock.
 */
export function filterMatcher(f: RelationshipFilter): (r: Relationship) => boolean {
  const resourceIds = f.resourceIds && new Set(f.resourceIds);
  const subject = f.subjectsAnyOf
    ? anyOf(f.subjectsAnyOf.map(subjectMatcher))
    : f.subjectType === undefined && !f.subjectIds && f.subjectRelation === undefined
      ? () => true
      : subjectMatcher({ type: f.subjectType, ids: f.subjectIds, relation: f.subjectRelation });
  return (r) =>
    r.resource.type === f.resourceType &&
    (!resourceIds || resourceIds.has(r.resource.id)) &&
    (f.resourceIdPrefix === undefined || r.resource.id.startsWith(f.resourceIdPrefix)) &&
    (f.relation === undefined || r.relation === f.relation) &&
    subject(r);
}

function subjectMatcher(m: { type?: string | undefined; ids?: readonly string[] | undefined; relation?: string | undefined }): (r: Relationship) => boolean {
  const ids = m.ids && new Set(m.ids);
  return (r) => (m.type === undefined || r.subject.type === m.type) && (!ids || ids.has(r.subject.id)) && (m.relation === undefined || r.subject.relation === m.relation);
}

function anyOf(preds: readonly ((r: Relationship) => boolean)[]): (r: Relationship) => boolean {
  return (r) => preds.some((p) => p(r));
}
