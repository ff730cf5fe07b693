import { DEFINITION_NAME, OBJECT_ID, RELATION_NAME } from '../../schema-dsl/names.js';
import { invalidArgument } from '../errors/error-code.js';
import {
  ELLIPSIS,
  MAX_RELATIONSHIP_CONTEXT_BYTES,
  WILDCARD_ID,
  relationshipKey,
  type ObjectRef,
  type Relationship,
  type RelationshipCaveat,
  type SubjectRef,
} from './relationship.js';

/**
 * Parses `type:id#relation@subjecttype:subjectid[#subjectrelation][caveat[:{json}]][expiration:RFC3339]`.
 * Throws INVALID_ARGUMENT naming the text and what is wrong with it.
 */
export function parseRelationship(text: string, field = 'relationship'): Relationship {
  const s = text.trim();
  const at = s.indexOf('@');
  if (at < 0) throw bad(field, s, 'expected `resource#relation@subject`');
  const hash = s.lastIndexOf('#', at);
  if (hash < 0) throw bad(field, s, 'expected `#relation` before `@`');
  const resource = parseObject(s.slice(0, hash), field, s);
  const relation = s.slice(hash + 1, at);
  if (!RELATION_NAME.test(relation)) throw bad(field, s, `invalid relation \`${relation}\``);
  let rest = s.slice(at + 1);
  const bracket = rest.indexOf('[');
  const subjectText = bracket < 0 ? rest : rest.slice(0, bracket);
  rest = bracket < 0 ? '' : rest.slice(bracket);
  const subj = parseSubject(subjectText, field, s);
  let caveat: RelationshipCaveat | null = null;
  let expiresAt: Date | null = null;
  while (rest.length) {
    if (rest[0] !== '[') throw bad(field, s, `unexpected \`${rest}\` after the subject`);
    const { section, after } = readSection(rest, field, s);
    rest = after;
    const colon = section.indexOf(':');
    const name = colon < 0 ? section : section.slice(0, colon);
    const value = colon < 0 ? null : section.slice(colon + 1);
    if (name === 'expiration') {
      if (expiresAt) throw bad(field, s, 'expiration given twice');
      if (value === null) throw bad(field, s, 'expected `[expiration:RFC3339 time]`');
      expiresAt = parseTimestamp(value, field, s);
    } else {
      if (caveat) throw bad(field, s, 'only one caveat may be given');
      if (!DEFINITION_NAME.test(name)) throw bad(field, s, `invalid caveat name \`${name}\``);
      caveat = { name, context: value === null ? null : parseContext(value, field, s) };
    }
  }
  return { resource, relation, subject: subj, caveat, expiresAt };
}

/** Parses `type:id`. */
export function parseObject(text: string, field: string, whole = text): ObjectRef {
  const colon = text.indexOf(':');
  if (colon < 0) throw bad(field, whole, `expected \`type:id\`, found \`${text}\``);
  const type = text.slice(0, colon);
  const id = text.slice(colon + 1);
  if (!DEFINITION_NAME.test(type)) throw bad(field, whole, `invalid object type \`${type}\``);
  if (!OBJECT_ID.test(id)) throw bad(field, whole, `invalid object id \`${id}\``);
  return { type, id };
}

/** Parses `type:id`, `type:id#relation`, `type:id#...` or `type:*`. */
export function parseSubject(text: string, field: string, whole = text): SubjectRef {
  const hash = text.indexOf('#');
  const objText = hash < 0 ? text : text.slice(0, hash);
  const relation = hash < 0 ? ELLIPSIS : text.slice(hash + 1);
  const colon = objText.indexOf(':');
  if (colon >= 0 && objText.slice(colon + 1) === WILDCARD_ID) {
    const type = objText.slice(0, colon);
    if (!DEFINITION_NAME.test(type)) throw bad(field, whole, `invalid subject type \`${type}\``);
    if (relation !== ELLIPSIS) throw bad(field, whole, 'a wildcard subject cannot have a relation');
    return { type, id: WILDCARD_ID, relation };
  }
  const obj = parseObject(objText, field, whole);
  if (relation !== ELLIPSIS && !RELATION_NAME.test(relation)) throw bad(field, whole, `invalid subject relation \`${relation}\``);
  return { type: obj.type, id: obj.id, relation };
}

/** Prints a relationship in the syntax `parseRelationship` reads. */
export function formatRelationship(r: Relationship): string {
  let s = relationshipKey(r);
  if (r.caveat) s += `[${r.caveat.name}${r.caveat.context ? ':' + JSON.stringify(r.caveat.context) : ''}]`;
  if (r.expiresAt) s += `[expiration:${r.expiresAt.toISOString().replace('.000Z', 'Z')}]`;
  return s;
}

function bad(field: string, text: string, why: string): Error {
  const shown = text.length > 200 ? text.slice(0, 200) + '…' : text;
  return invalidArgument(field, `${why} in \`${shown}\``);
}

/** Reads one `[...]` section, skipping JSON strings and nested arrays so their `]` does not end it. */
function readSection(rest: string, field: string, whole: string): { section: string; after: string } {
  let inString = false;
  let depth = 0;
  for (let i = 1; i < rest.length; i++) {
    const c = rest[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === '[') depth++;
    else if (c === ']') {
      if (depth === 0) return { section: rest.slice(1, i), after: rest.slice(i + 1) };
      depth--;
    }
  }
  throw bad(field, whole, 'unterminated `[`');
}

function parseContext(json: string, field: string, whole: string): Record<string, unknown> {
  if (json.length > MAX_RELATIONSHIP_CONTEXT_BYTES) {
    throw bad(field, whole, `caveat context is larger than ${MAX_RELATIONSHIP_CONTEXT_BYTES} bytes`);
  }
  let v: unknown;
  try {
    v = JSON.parse(json);
  } catch {
    throw bad(field, whole, 'caveat context is not valid JSON');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(field, whole, 'caveat context must be a JSON object');
  return v as Record<string, unknown>;
}

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function parseTimestamp(text: string, field: string, whole: string): Date {
  const d = new Date(text);
  if (!RFC3339.test(text) || Number.isNaN(d.getTime())) throw bad(field, whole, `invalid RFC 3339 expiration \`${text}\``);
  return d;
}
