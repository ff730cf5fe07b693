import { compileSchema } from '../../schema-dsl/index.js';
import type { Decision } from '../engine/condition.js';
import { Engine, type Snapshot } from '../engine/engine.js';
import { expandSubjects } from '../engine/expand/expand-subjects.js';
import type { ExpandNode } from '../engine/expand/expand-node.js';
import type { SubjectSet } from '../engine/subject-set.js';
import { WardenError } from '../errors/error-code.js';
import { ELLIPSIS, WILDCARD_ID, relationshipKey, subjectKey, type Relationship, type SubjectRef } from '../model/relationship.js';
import { TypeSystem } from '../schema/type-system.js';
import { createHash, randomUUID } from 'node:crypto';
import { MemoryStore } from '../store/memory/memory-store.js';
import type { Store } from '../store/store.js';
import type { ExpectedSubject, ValidationDocument } from './validation-file.js';

/** One thing a validation document expected that the engine did not answer. */
export interface Failure {
  /** What was checked: `assertTrue document:1#view@user:tom`, `LookupResources vs Check ...`. */
  readonly what: string;
  /** What the engine answered instead. */
  readonly got: string;
}

/** One check of a document, for reports that list each (JUnit): what was checked, and what the engine answered instead (null: it passed). */
export interface CheckCase {
  readonly what: string;
  readonly got: string | null;
}

/** The outcome of running one validation document. */
export interface DocumentReport {
  readonly index: number;
  readonly checks: number;
  readonly failures: readonly Failure[];
  /** Every check, in order, passed or not (with --cross-check, its failures each, or one passing case). */
  readonly cases: readonly CheckCase[];
  /** With `update`: each `validation` entry as the engine answers it, in the file's notation. */
  readonly validation?: Readonly<Record<string, readonly string[]>>;
}

/** Options for a run. */
export interface RunOptions {
  /** Also hold LookupResources, LookupSubjects and Expand to Check over every subject in the data. */
  readonly crossCheck?: boolean;
  readonly engine?: Engine;
  /**
   * Name each document's snapshot for the engine's check cache, so a cached engine caches: `true`
   * gives each run its own keys; a `namespace` gives a document the same key in every run that
   * uses it (from its schema and data), so a second run can be served by a warm shared cache.
   */
  readonly cache?: boolean | { readonly namespace: string };
  /** The store to load into; a fresh MemoryStore by default. */
  readonly store?: () => Store | Promise<Store>;
  /** Also compute each `validation` entry from the engine's answers (for `warden validate --update`). */
  readonly update?: boolean;
}

/** A subject with no relationship of its own, so that only wildcards can grant it anything. */
const NOBODY = 'conformance_nobody';

/** Loads a document into a fresh store and checks every assertion and expectation in it. */
export async function runDocument(doc: ValidationDocument, options: RunOptions = {}): Promise<DocumentReport> {
  const engine = options.engine ?? new Engine();
  const store = (await options.store?.()) ?? new MemoryStore();
  const failures: Failure[] = [];
  let checks = 0;
  const fail = (what: string, got: string): void => void failures.push({ what, got });
  /** The checks made, by label, in order; a failure under the same label marks one failed. */
  const labels: string[] = [];
  let crossChecked = false;
  const updated: Record<string, string[]> = {};
  const report = (): DocumentReport => {
    const named = new Set(labels);
    const cases: CheckCase[] = labels.map((what) => ({ what, got: failures.find((f) => f.what === what)?.got ?? null }));
    for (const f of failures) if (!named.has(f.what)) cases.push({ what: f.what, got: f.got });
    if (crossChecked && !failures.some((f) => !named.has(f.what))) cases.push({ what: 'cross-check: LookupResources, LookupSubjects and Expand agree with Check', got: null });
    return { index: doc.index, checks, failures, cases, ...(options.update ? { validation: updated } : {}) };
  };
  try {
    let schema: TypeSystem;
    try {
      schema = new TypeSystem(compileSchema(doc.schema));
    } catch (e) {
      fail('schema compiles', errorText(e));
      checks = 1;
      return report();
    }
    await store.writeSchema(doc.schema);
    // A relationship listed twice is written once, as it was last listed; any number are imported in one transaction.
    const updates = new Map<string, Relationship>();
    for (const [i, r] of doc.relationships.entries()) {
      try {
        schema.validateRelationship(r, `relationships[${i}]`);
      } catch (e) {
        fail(`relationship ${i + 1} fits the schema`, errorText(e));
        continue;
      }
      updates.set(relationshipKey(r), r);
    }
    const { revision } = await store.importRelationships(updates.values());
    const snap: Snapshot = { schema, reader: store.snapshot(revision), ...(options.cache ? { cacheKey: documentCacheKey(doc, options.cache) } : {}) };

    for (const { expect, assertion } of doc.assertions) {
      checks++;
      const label = `assert${expect[0]!.toUpperCase()}${expect.slice(1)} ${assertion.text}`;
      labels.push(label);
      try {
        const r = await engine.check(snap, assertion);
        const want = expect === 'true' ? 'has' : expect === 'false' ? 'no' : 'conditional';
        if (r.decision.kind !== want) fail(label, decisionText(r.decision));
      } catch (e) {
        fail(label, errorText(e));
      }
    }

    for (const [key, v] of doc.validation) {
      checks++;
      labels.push(`validation ${key}`);
      try {
        const tree = await engine.expand(snap, { resource: v.resource, permission: v.permission });
        if (options.update) updated[key] = expectedFromTree(tree);
        const got = describeExpected(v.expected, (type, relation) => expandSubjects(tree, type, relation));
        const want = v.expected.map((e) => e.text.replace(/\s+is\s+.*$/, '')).sort();
        if (JSON.stringify(got) !== JSON.stringify(want)) fail(`validation ${key}`, `[${got.join(', ')}], expected [${want.join(', ')}]`);
      } catch (e) {
        fail(`validation ${key}`, errorText(e));
      }
    }

    if (options.crossCheck) {
      checks += await crossCheck(engine, snap, doc, fail);
      crossChecked = true;
    }
    return report();
  } finally {
    await store.close();
  }
}

/**
 * A `validation` entry as the engine answers it: every plain subject (and wildcard) that has the
 * permission, each with the relations that list it (`[user:tom] is <doc:1#viewer>`), `[...]` when
 * caveated, a wildcard with its exclusions, sorted.
 */
function expectedFromTree(tree: ExpandNode): string[] {
  const reasons = new Map<string, Set<string>>();
  const types = new Set<string>();
  const walk = (n: ExpandNode): void => {
    // What an exclusion subtracts, or an intersection's later sides narrow by, grants nothing itself.
    if (n.kind === 'exclusion' || n.kind === 'intersection') return walk(n.children[0]!);
    if (n.kind !== 'leaf') return n.children.forEach(walk);
    for (const s of n.subjects) {
      if (s.subject.relation !== ELLIPSIS) continue;
      types.add(s.subject.type);
      const key = `${s.subject.type}:${s.subject.id}`;
      if (!reasons.has(key)) reasons.set(key, new Set());
      reasons.get(key)!.add(`<${n.resource.type}:${n.resource.id}#${n.relation}>`);
    }
  };
  walk(tree);
  const out: string[] = [];
  for (const type of [...types].sort()) {
    out.push(
      ...subjectSetLines(type, ELLIPSIS, expandSubjects(tree, type, ELLIPSIS), (id) => {
        const r = reasons.get(`${type}:${id}`);
        return r ? ` is ${[...r].sort().join('/')}` : '';
      }),
    );
  }
  return out.sort();
}

/** A document's snapshot name for the check cache (see `RunOptions.cache`). */
function documentCacheKey(doc: ValidationDocument, cache: true | { readonly namespace: string }): string {
  if (cache === true) return `conformance-${randomUUID()}`;
  const h = createHash('sha256').update(doc.schema).update('\u0000').update(JSON.stringify(doc.relationships)).digest('hex');
  return `conformance-${cache.namespace}-${h.slice(0, 32)}`;
}

/** Renders what the engine's subject set holds, in the notation of `validation` entries, for the types the expectation names. */
function describeExpected(
  expected: readonly ExpectedSubject[],
  subjectsOf: (type: string, relation: string) => SubjectSet,
): string[] {
  const shapes = new Map<string, { type: string; relation: string }>();
  for (const e of expected) shapes.set(`${e.subject.type}#${e.subject.relation}`, { type: e.subject.type, relation: e.subject.relation });
  const out: string[] = [];
  for (const { type, relation } of shapes.values()) out.push(...subjectSetLines(type, relation, subjectsOf(type, relation)));
  return out.sort();
}

/**
 * A subject set in the notation of `validation` entries: the wildcard with its exclusions
 * (`[user:* - {user:x}]`), then each member, `[...]` marking a caveated one; `is` adds what
 * follows each (` is <doc:1#viewer>`).
 */
function subjectSetLines(type: string, relation: string, set: SubjectSet, is: (id: string) => string = () => ''): string[] {
  const out: string[] = [];
  const mark = (c: { op: string }): string => (c.op === 'true' ? '' : '[...]');
  const excluded = [...set.members].filter(([, c]) => c.op === 'false').map(([id]) => `${type}:${id}`).sort();
  if (set.wildcard.op !== 'false') out.push(`[${type}:*${mark(set.wildcard)}${excluded.length ? ` - {${excluded.join(', ')}}` : ''}]${is(WILDCARD_ID)}`);
  for (const [id, c] of set.members) if (c.op !== 'false') out.push(`[${subjectKey({ type, id, relation })}${mark(c)}]${is(id)}`);
  return out;
}

/**
 * Holds the other APIs to Check, as SpiceDB's own harness does: for every subject in the data and
 * every permission of every type, LookupResources must return exactly what Check grants,
 * LookupSubjects and Expand must agree with Check for every object.
 */
async function crossCheck(engine: Engine, snap: Snapshot, doc: ValidationDocument, fail: (what: string, got: string) => void): Promise<number> {
  const objects = new Map<string, Set<string>>();
  const subjects = new Map<string, SubjectRef>();
  const note = (type: string, id: string): void => {
    if (id === WILDCARD_ID) return;
    let s = objects.get(type);
    if (!s) objects.set(type, (s = new Set()));
    s.add(id);
  };
  for (const r of doc.relationships) {
    note(r.resource.type, r.resource.id);
    note(r.subject.type, r.subject.id);
    const s = r.subject.id === WILDCARD_ID ? { type: r.subject.type, id: NOBODY, relation: ELLIPSIS } : r.subject;
    subjects.set(subjectKey(s), s);
  }
  let checks = 0;
  const shapes = new Map<string, { type: string; relation: string; list: SubjectRef[] }>();
  for (const s of subjects.values()) {
    const k = `${s.type}#${s.relation}`;
    let g = shapes.get(k);
    if (!g) shapes.set(k, (g = { type: s.type, relation: s.relation, list: [] }));
    g.list.push(s);
  }
  for (const def of snap.schema.ir.definitions) {
    const ids = [...(objects.get(def.name) ?? [])].sort();
    for (const m of def.members) {
      // Check answers for every (object, subject), computed once and shared by the three comparisons.
      const answers = new Map<string, Decision | string>();
      const answer = async (id: string, s: SubjectRef): Promise<string> => {
        const key = `${id}@${subjectKey(s)}`;
        let a = answers.get(key);
        if (a === undefined) {
          try {
            a = (await engine.check(snap, { resource: { type: def.name, id }, permission: m.name, subject: s })).decision;
          } catch (e) {
            a = `error: ${errorText(e)}`;
          }
          answers.set(key, a);
        }
        return typeof a === 'string' ? a : a.kind;
      };
      // Every Check first, several at a time: on a real database each one waits on round trips.
      const subjectList = [...subjects.values()];
      const pairs = ids.flatMap((id) => subjectList.map((s) => [id, s] as const));
      await inParallel(pairs, 16, ([id, s]) => answer(id, s));
      await inParallel(subjectList, 8, async (s) => {
        checks++;
        const what = `LookupResources ${def.name}#${m.name} for ${subjectKey(s)} vs Check`;
        try {
          const found = new Map((await engine.lookupResources(snap, { resourceType: def.name, permission: m.name, subject: s })).map((r) => [r.id, r.decision.kind]));
          for (const id of new Set([...ids, ...found.keys()])) {
            const c = await answer(id, s);
            const l = found.get(id) ?? 'no';
            if (c !== l) fail(what, `${def.name}:${id}: LookupResources says ${l}, Check says ${c}`);
          }
        } catch (e) {
          fail(what, errorText(e));
        }
      });
      await inParallel(ids, 8, async (id) => {
        let tree;
        try {
          tree = await engine.expand(snap, { resource: { type: def.name, id }, permission: m.name });
        } catch (e) {
          fail(`Expand ${def.name}:${id}#${m.name}`, errorText(e));
        }
        for (const g of shapes.values()) {
          checks++;
          const what = `LookupSubjects ${def.name}:${id}#${m.name} for ${g.type}#${g.relation} vs Check`;
          try {
            const ls = await engine.lookupSubjects(snap, {
              resource: { type: def.name, id },
              permission: m.name,
              subjectType: g.type,
              subjectRelation: g.relation,
            });
            const listed = new Map(ls.subjects.map((s) => [s.id, s.decision.kind]));
            const excluded = new Set(ls.wildcard?.excluded ?? []);
            const expanded = tree ? expandSubjects(tree, g.type, g.relation) : null;
            for (const s of g.list) {
              const c = await answer(id, s);
              const l = listed.get(s.id) ?? (ls.wildcard && !excluded.has(s.id) ? ls.wildcard.decision.kind : 'no');
              if (c !== l) fail(what, `${subjectKey(s)}: LookupSubjects says ${l}, Check says ${c}`);
              if (expanded) {
                let ek: string;
                try {
                  ek = engine.decide(snap, expanded.get(s.id)).kind;
                } catch (e) {
                  ek = `error: ${errorText(e)}`;
                }
                if (ek !== c) fail(`Expand ${def.name}:${id}#${m.name} vs Check`, `${subjectKey(s)}: Expand says ${ek}, Check says ${c}`);
              }
            }
          } catch (e) {
            fail(what, errorText(e));
          }
        }
      });
    }
  }
  return checks;
}

function decisionText(d: Decision): string {
  return d.kind === 'conditional' ? `CONDITIONAL (missing ${d.missing.join(', ') || 'nothing'})` : d.kind === 'has' ? 'HAS' : 'NO';
}

function errorText(e: unknown): string {
  if (e instanceof WardenError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}

/** Runs `fn` over the items with at most `limit` in flight. */
async function inParallel<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) await fn(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
