import { parseAllDocuments } from 'yaml';
import { invalidArgument } from '../errors/error-code.js';
import { parseObject, parseRelationship, parseSubject } from '../model/relationship-syntax.js';
import type { ObjectRef, Relationship, SubjectRef } from '../model/relationship.js';

/** One assertion: does `subject` have `permission` on `resource` (with this caveat context)? */
export interface Assertion {
  readonly text: string;
  readonly resource: ObjectRef;
  readonly permission: string;
  readonly subject: SubjectRef;
  readonly context: Readonly<Record<string, unknown>>;
}

/** The answer an assertion expects. */
export type Expectation = 'true' | 'false' | 'caveated';

/** One expected subject of a `validation` entry: `[user:tom]`, `[user:tom[...]]`, `[user:* - {user:x}]`. */
export interface ExpectedSubject {
  readonly text: string;
  readonly subject: SubjectRef;
  readonly caveated: boolean;
  readonly excluded: readonly SubjectRef[];
}

/** One YAML document of a validation file. */
export interface ValidationDocument {
  readonly index: number;
  readonly schema: string;
  readonly relationships: readonly Relationship[];
  readonly assertions: readonly { readonly expect: Expectation; readonly assertion: Assertion }[];
  readonly validation: ReadonlyMap<string, { readonly resource: ObjectRef; readonly permission: string; readonly expected: readonly ExpectedSubject[] }>;
}

const ASSERTION_KEYS: Record<string, Expectation> = { assertTrue: 'true', assertFalse: 'false', assertCaveated: 'caveated' };

/** Parses a validation file (one or more YAML documents). Throws INVALID_ARGUMENT naming the place. */
export function parseValidationFile(text: string, name = 'file'): ValidationDocument[] {
  const docs = parseAllDocuments(text);
  const out: ValidationDocument[] = [];
  for (const [index, doc] of (Array.isArray(docs) ? docs : [docs]).entries()) {
    if (doc.errors.length) throw invalidArgument(`${name}[${index}]`, `invalid YAML: ${doc.errors[0]!.message}`);
    const v: unknown = doc.toJS();
    if (v === null || v === undefined) continue;
    if (typeof v !== 'object' || Array.isArray(v)) throw invalidArgument(`${name}[${index}]`, 'expected a mapping with `schema`');
    out.push(parseDocument(v as Record<string, unknown>, index, `${name}[${index}]`));
  }
  return out;
}

function parseDocument(v: Record<string, unknown>, index: number, where: string): ValidationDocument {
  const schema = v['schema'];
  if (typeof schema !== 'string') throw invalidArgument(`${where}.schema`, 'expected schema text');
  const relText = v['relationships'] ?? '';
  if (typeof relText !== 'string') throw invalidArgument(`${where}.relationships`, 'expected one relationship a line');
  const relationships = relText
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('//'))
    .map((l, i) => parseRelationship(l, `${where}.relationships[${i}]`));
  const assertions: { expect: Expectation; assertion: Assertion }[] = [];
  const a = v['assertions'];
  if (a !== null && a !== undefined) {
    if (typeof a !== 'object' || Array.isArray(a)) throw invalidArgument(`${where}.assertions`, 'expected assertTrue/assertFalse/assertCaveated');
    for (const [key, list] of Object.entries(a as Record<string, unknown>)) {
      const expect = ASSERTION_KEYS[key];
      if (!expect) throw invalidArgument(`${where}.assertions.${key}`, 'expected assertTrue, assertFalse or assertCaveated');
      if (list === null) continue;
      if (!Array.isArray(list)) throw invalidArgument(`${where}.assertions.${key}`, 'expected a list');
      list.forEach((item, i) => {
        if (typeof item !== 'string') throw invalidArgument(`${where}.assertions.${key}[${i}]`, 'expected a string');
        assertions.push({ expect, assertion: parseAssertion(item, `${where}.assertions.${key}[${i}]`) });
      });
    }
  }
  const validation = new Map<string, { resource: ObjectRef; permission: string; expected: ExpectedSubject[] }>();
  const val = v['validation'];
  if (val !== null && val !== undefined) {
    if (typeof val !== 'object' || Array.isArray(val)) throw invalidArgument(`${where}.validation`, 'expected a mapping');
    for (const [key, list] of Object.entries(val as Record<string, unknown>)) {
      const field = `${where}.validation.${key}`;
      const hash = key.lastIndexOf('#');
      if (hash < 0) throw invalidArgument(field, 'expected `type:id#permission`');
      const resource = parseObject(key.slice(0, hash), field);
      const items = list === null ? [] : list;
      if (!Array.isArray(items)) throw invalidArgument(field, 'expected a list of `[subject] is ...`');
      validation.set(key, {
        resource,
        permission: key.slice(hash + 1),
        expected: items.map((x, i) => parseExpectedSubject(String(x), `${field}[${i}]`)),
      });
    }
  }
  return { index, schema, relationships, assertions, validation };
}

/** Parses `resource:id#permission@subject:id[#relation][ with {json}]`. */
export function parseAssertion(text: string, field: string): Assertion {
  const w = text.indexOf(' with ');
  const core = (w < 0 ? text : text.slice(0, w)).trim();
  let context: Record<string, unknown> = {};
  if (w >= 0) {
    try {
      const parsed: unknown = JSON.parse(text.slice(w + 6));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      context = parsed as Record<string, unknown>;
    } catch {
      throw invalidArgument(field, `the context after \`with\` must be a JSON object in \`${text}\``);
    }
  }
  const at = core.indexOf('@');
  const hash = core.lastIndexOf('#', at);
  if (at < 0 || hash < 0) throw invalidArgument(field, `expected \`resource:id#permission@subject:id\` in \`${text}\``);
  return {
    text,
    resource: parseObject(core.slice(0, hash), field, text),
    permission: core.slice(hash + 1, at),
    subject: parseSubject(core.slice(at + 1), field, text),
    context,
  };
}

/** Parses `[user:tom] is ...`, `[user:tom[...]] is ...`, `[user:* - {user:a, user:b}] is ...`. */
export function parseExpectedSubject(text: string, field: string): ExpectedSubject {
  const t = text.trim();
  let close = -1;
  for (let i = 0, depth = 0; i < t.length; i++) {
    if (t[i] === '[') depth++;
    else if (t[i] === ']' && --depth === 0) {
      close = i;
      break;
    }
  }
  if (!t.startsWith('[') || close < 0 || !/^(\s+is\s+.*)?$/.test(t.slice(close + 1))) {
    throw invalidArgument(field, `expected \`[subject] is <path>\`, found \`${text}\``);
  }
  let body = t.slice(1, close);
  const caveated = body.endsWith('[...]');
  if (caveated) body = body.slice(0, -5);
  let excluded: SubjectRef[] = [];
  const minus = body.indexOf(' - {');
  if (minus >= 0) {
    excluded = body
      .slice(minus + 4, body.lastIndexOf('}'))
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean)
      .map((s) => parseSubject(s.replace(/\[\.\.\.\]$/, ''), field, text));
    body = body.slice(0, minus);
  }
  return { text, subject: parseSubject(body.trim(), field, text), caveated, excluded };
}
