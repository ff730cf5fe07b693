import { invalidArgument } from '../../errors/error-code.js';
import { ELLIPSIS, type SubjectRef } from '../../model/relationship.js';
import { parseObject, parseRelationship, parseSubject } from '../../model/relationship-syntax.js';

/** Messages as the API's JSON gives them (snake case, as in the .proto). */
export interface ObjectMsg {
  object_type: string;
  object_id: string;
}
export interface SubjectMsg {
  object: ObjectMsg | null;
  optional_relation: string;
}
export interface RelationshipMsg {
  resource: ObjectMsg | null;
  relation: string;
  subject: SubjectMsg | null;
  optional_caveat?: { caveat_name: string; context: Record<string, unknown> | null } | null;
  optional_expires_at?: string | null;
}

/** `type:id` as an ObjectReference (the CLI's syntax; a bad one is INVALID_ARGUMENT naming the field). */
export function objectRef(text: string, field: string): ObjectMsg {
  const o = parseObject(text.trim(), field);
  return { object_type: o.type, object_id: o.id };
}

function subjectMessage(s: SubjectRef): SubjectMsg {
  return { object: { object_type: s.type, object_id: s.id }, optional_relation: s.relation === ELLIPSIS ? '' : s.relation };
}

/** `type:id[#relation]` as a SubjectReference. */
export function subjectRef(text: string, field: string): SubjectMsg {
  return subjectMessage(parseSubject(text.trim(), field));
}

/** `resource#relation@subject[caveat:{context}][expiration:time]` as a Relationship, as the gateway takes it. */
export function relationshipRef(text: string, field: string): RelationshipMsg {
  const r = parseRelationship(text, field);
  return {
    resource: { object_type: r.resource.type, object_id: r.resource.id },
    relation: r.relation,
    subject: subjectMessage(r.subject),
    ...(r.caveat ? { optional_caveat: { caveat_name: r.caveat.name, context: r.caveat.context } } : {}),
    ...(r.expiresAt ? { optional_expires_at: r.expiresAt.toISOString() } : {}),
  };
}

/** A JSON object typed into a text area (empty: none). */
export function jsonObject(text: string, field: string): Record<string, unknown> | null {
  if (!text.trim()) return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw invalidArgument(field, `not JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw invalidArgument(field, 'must be a JSON object, e.g. {"day": "tue"}');
  return v as Record<string, unknown>;
}

/** An object as text. */
export const objectText = (o: ObjectMsg | null | undefined): string => (o ? `${o.object_type}:${o.object_id}` : '?');

/** A subject as text. */
export const subjectText = (s: SubjectMsg | null | undefined): string => (s ? `${objectText(s.object)}${s.optional_relation ? `#${s.optional_relation}` : ''}` : '?');

/** A relationship as text, with its caveat and expiry. */
export function relationshipText(r: RelationshipMsg): string {
  const caveat = r.optional_caveat?.caveat_name ? `[${r.optional_caveat.caveat_name}${r.optional_caveat.context && Object.keys(r.optional_caveat.context).length ? `:${JSON.stringify(r.optional_caveat.context)}` : ''}]` : '';
  const expiry = r.optional_expires_at ? `[expiration:${r.optional_expires_at}]` : '';
  return `${objectText(r.resource)}#${r.relation}@${subjectText(r.subject)}${caveat}${expiry}`;
}

/** A Permissionship in words. */
export function answerText(p: string): string {
  switch (p) {
    case 'PERMISSIONSHIP_HAS_PERMISSION':
      return 'allowed';
    case 'PERMISSIONSHIP_CONDITIONAL_PERMISSION':
      return 'conditional';
    case 'PERMISSIONSHIP_NO_PERMISSION':
      return 'denied';
    default:
      return 'unknown';
  }
}
