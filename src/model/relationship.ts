// Straight from the modules that define them: the schema compiler (and CEL with it) is not loaded to parse a tuple.
import { ELLIPSIS } from '../../schema-dsl/ir.js';

/** An object: a type and an id, `document:q3`. */
export interface ObjectRef {
  readonly type: string;
  readonly id: string;
}

/**
 * A subject: an object with an optional relation. `user:alice` has relation `...` (ELLIPSIS);
 * `group:eng#member` is a userset; id `*` is a wildcard over the type.
 */
export interface SubjectRef {
  readonly type: string;
  readonly id: string;
  readonly relation: string;
}

/** A caveat attached to a relationship: its name and the context written with it. */
export interface RelationshipCaveat {
  readonly name: string;
  readonly context: Readonly<Record<string, unknown>> | null;
}

/** A relation tuple: resource#relation@subject, optionally caveated and/or expiring. */
export interface Relationship {
  readonly resource: ObjectRef;
  readonly relation: string;
  readonly subject: SubjectRef;
  readonly caveat: RelationshipCaveat | null;
  readonly expiresAt: Date | null;
}

/** Largest caveat context, in bytes of JSON, one relationship may carry. */
export const MAX_RELATIONSHIP_CONTEXT_BYTES = 25_000;

/** The id that makes a subject a wildcard over its type. */
export const WILDCARD_ID = '*';

export { ELLIPSIS };

/** The identity of a relationship: everything but caveat and expiration. */
export function relationshipKey(r: Relationship): string {
  return `${r.resource.type}:${r.resource.id}#${r.relation}@${subjectKey(r.subject)}`;
}

/** A subject as text: `user:alice` or `group:eng#member`. */
export function subjectKey(s: SubjectRef): string {
  return s.relation === ELLIPSIS ? `${s.type}:${s.id}` : `${s.type}:${s.id}#${s.relation}`;
}

/** Builds a subject, defaulting the relation to `...`. */
export function subject(type: string, id: string, relation: string = ELLIPSIS): SubjectRef {
  return { type, id, relation };
}
