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

/** Thrown for text that is not what a field wants; names the field. */
export class InputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

const OBJECT = /^([a-z][a-z0-9_/]*):([^#@\s]+)$/;
const SUBJECT = /^([a-z][a-z0-9_/]*):([^#@\s]+)(?:#([a-z][a-z0-9_]*))?$/;

/** `type:id` as an ObjectReference. */
export function objectRef(text: string, field: string): ObjectMsg {
  const m = OBJECT.exec(text.trim());
  if (!m) throw new InputError(field, `\`${text}\` is not an object: type:id (e.g. document:q3)`);
  return { object_type: m[1]!, object_id: m[2]! };
}

/** `type:id[#relation]` as a SubjectReference. */
export function subjectRef(text: string, field: string): SubjectMsg {
  const m = SUBJECT.exec(text.trim());
  if (!m) throw new InputError(field, `\`${text}\` is not a subject: type:id or type:id#relation (e.g. user:alice)`);
  return { object: { object_type: m[1]!, object_id: m[2]! }, optional_relation: m[3] ?? '' };
}

/** `resource#relation@subject` as a Relationship. */
export function relationshipRef(text: string, field: string): RelationshipMsg {
  const s = text.trim();
  const at = s.indexOf('@');
  const hash = at < 0 ? -1 : s.lastIndexOf('#', at);
  if (at < 0 || hash < 0) throw new InputError(field, `\`${text}\` is not a relationship: type:id#relation@type:id (e.g. document:q3#viewer@user:alice)`);
  const relation = s.slice(hash + 1, at);
  if (!/^[a-z][a-z0-9_]*$/.test(relation)) throw new InputError(field, `\`${relation}\` is not a relation name`);
  return { resource: objectRef(s.slice(0, hash), field), relation, subject: subjectRef(s.slice(at + 1), field) };
}

/** A JSON object typed into a text area (empty: none). */
export function jsonObject(text: string, field: string): Record<string, unknown> | null {
  if (!text.trim()) return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new InputError(field, `not JSON: ${(e as Error).message}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new InputError(field, 'must be a JSON object, e.g. {"day": "tue"}');
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
