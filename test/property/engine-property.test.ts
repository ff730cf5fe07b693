import fc from 'fast-check';
import t from 'tap';
import { compileSchema } from '../../schema-dsl/index.js';
import { randomUUID } from 'node:crypto';
import { RedisCheckCache } from '../../src/cache/redis-check-cache.js';
import { Engine, type Snapshot } from '../../src/engine/engine.js';
import type { Relationship } from '../../src/model/relationship.js';
import { TypeSystem } from '../../src/schema/type-system.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';

// The engine against a brute-force evaluator of the schema semantics, written here from the
// definitions and sharing no code with the engine: random permission expressions (unions,
// intersections, exclusions, arrows, `.all()`, `nil`) over relations with plain subjects,
// wildcards, subject sets (nested groups, cycles included), caveats with random contexts and
// expirations. A fixed seed in CI; WARDEN_PROPERTY_RUNS=N (and WARDEN_PROPERTY_SEED) for more.

type Expr =
  | { readonly k: 'rel'; readonly name: 'viewer' | 'editor' | 'banned' }
  | { readonly k: 'perm'; readonly index: number }
  | { readonly k: 'arrow'; readonly all: boolean }
  | { readonly k: 'nil' }
  | { readonly k: '+' | '&' | '-'; readonly l: Expr; readonly r: Expr };

/** A caveat on a relationship: none, or `flag` with its context (which may lack the parameter). */
type Cav = null | { readonly flag?: boolean };

interface Tuple {
  readonly resource: string;
  readonly relation: string;
  readonly subject: string;
  readonly cav: Cav;
  readonly expired: boolean | null;
}

const USERS = ['u1', 'u2', 'u3'];
const GROUPS = ['g1', 'g2', 'g3'];
const FOLDERS = ['f1', 'f2'];
const DOCS = ['d1', 'd2'];

function render(e: Expr): string {
  switch (e.k) {
    case 'rel':
      return e.name;
    case 'perm':
      return `perm${e.index}`;
    case 'arrow':
      return e.all ? 'parent.all(view)' : 'parent->view';
    case 'nil':
      return 'nil';
    default:
      return `(${render(e.l)}) ${e.k} (${render(e.r)})`;
  }
}

function schemaText(perms: readonly Expr[]): string {
  return `use expiration

caveat flagged(flag bool) {
  flag
}

definition user {}

definition group {
  relation member: user | user with flagged | group#member | group#member with flagged
}

definition folder {
  relation viewer: user | user with flagged | group#member
  relation parent: folder | folder with flagged
  permission view = viewer + parent->view
}

definition doc {
  relation viewer: user | user with flagged | user:* | group#member | group#member with flagged
  relation editor: user | user with flagged | group#member
  relation banned: user | user with flagged | group#member
  relation parent: folder | folder with flagged | folder with expiration
${perms.map((p, i) => `  permission perm${i} = ${render(p)}`).join('\n')}
}
`;
}

const exprOf = (earlier: number): fc.Arbitrary<Expr> =>
  fc.letrec<{ e: Expr }>((tie) => ({
    e: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.constantFrom<Expr>({ k: 'rel', name: 'viewer' }, { k: 'rel', name: 'editor' }, { k: 'rel', name: 'banned' }, { k: 'arrow', all: false }, { k: 'arrow', all: true }, { k: 'nil' }),
      ...(earlier ? [fc.integer({ min: 0, max: earlier - 1 }).map((index): Expr => ({ k: 'perm', index }))] : []),
      fc.record({ k: fc.constantFrom('+' as const, '&' as const, '-' as const), l: tie('e'), r: tie('e') }),
    ),
  })).e;

const cav: fc.Arbitrary<Cav> = fc.constantFrom<Cav>(null, {}, { flag: true }, { flag: false });
const pick = (xs: readonly string[]) => fc.constantFrom(...xs);
const tuple: fc.Arbitrary<Tuple> = fc.oneof<fc.Arbitrary<Tuple>[]>(
  fc.record({ resource: pick(GROUPS).map((g) => `group:${g}`), relation: fc.constant('member'), subject: pick(USERS).map((u) => `user:${u}`), cav, expired: fc.constant(null) }),
  fc.record({ resource: pick(GROUPS).map((g) => `group:${g}`), relation: fc.constant('member'), subject: pick(GROUPS).map((g) => `group:${g}#member`), cav, expired: fc.constant(null) }),
  fc.record({ resource: pick(FOLDERS).map((f) => `folder:${f}`), relation: fc.constant('viewer'), subject: pick(USERS).map((u) => `user:${u}`), cav, expired: fc.constant(null) }),
  fc.record({ resource: pick(FOLDERS).map((f) => `folder:${f}`), relation: fc.constant('viewer'), subject: pick(GROUPS).map((g) => `group:${g}#member`), cav: fc.constant(null), expired: fc.constant(null) }),
  fc.record({ resource: pick(FOLDERS).map((f) => `folder:${f}`), relation: fc.constant('parent'), subject: pick(FOLDERS).map((f) => `folder:${f}`), cav, expired: fc.constant(null) }),
  fc.record({ resource: pick(DOCS).map((d) => `doc:${d}`), relation: fc.constant('viewer'), subject: pick([...USERS.map((u) => `user:${u}`), 'user:*']), cav, expired: fc.constant(null) }).map((x) => (x.subject === 'user:*' ? { ...x, cav: null } : x)),
  fc.record({ resource: pick(DOCS).map((d) => `doc:${d}`), relation: fc.constant('viewer'), subject: pick(GROUPS).map((g) => `group:${g}#member`), cav, expired: fc.constant(null) }),
  fc.record({ resource: pick(DOCS).map((d) => `doc:${d}`), relation: fc.constantFrom('editor', 'banned'), subject: pick(USERS).map((u) => `user:${u}`), cav, expired: fc.constant(null) }),
  fc.record({ resource: pick(DOCS).map((d) => `doc:${d}`), relation: fc.constantFrom('editor', 'banned'), subject: pick(GROUPS).map((g) => `group:${g}#member`), cav: fc.constant(null), expired: fc.constant(null) }),
  // Weighted: caveated arrows are where engines go wrong.
  { arbitrary: fc.record({ resource: pick(DOCS).map((d) => `doc:${d}`), relation: fc.constant('parent'), subject: pick(FOLDERS).map((f) => `folder:${f}`), cav, expired: fc.constant(null) }), weight: 4 },
  fc.record({ resource: pick(DOCS).map((d) => `doc:${d}`), relation: fc.constant('parent'), subject: pick(FOLDERS).map((f) => `folder:${f}`), cav: fc.constant(null), expired: fc.boolean() }),
);

/** One relationship per key, as a store keeps them (the last written wins). */
function dedupe(tuples: readonly Tuple[]): Tuple[] {
  const byKey = new Map<string, Tuple>();
  for (const x of tuples) byKey.set(`${x.resource}#${x.relation}@${x.subject}`, x);
  return [...byKey.values()];
}

const PAST = new Date('2020-01-01T00:00:00Z');
const FUTURE = new Date('2300-01-01T00:00:00Z');

function toRelationship(x: Tuple): Relationship {
  const [rt, rid] = x.resource.split(':') as [string, string];
  const [subj, srel] = x.subject.split('#') as [string, string | undefined];
  const [st, sid] = subj.split(':') as [string, string];
  return {
    resource: { type: rt, id: rid },
    relation: x.relation,
    subject: { type: st, id: sid, relation: srel ?? '...' },
    caveat: x.cav ? { name: 'flagged', context: x.cav.flag === undefined ? null : { flag: x.cav.flag } } : null,
    expiresAt: x.expired === null ? null : x.expired ? PAST : FUTURE,
  };
}

/**
 * The brute force: is user `u` in `type:id#rel`, for one value `X` of the request's `flag`?
 * Plain recursion over the definitions; an object met again on its own path counts as not a
 * member (the least fixed point: a cycle alone grants nothing). Exclusions occur only in doc
 * permissions, which no cycle passes through, so that is exact.
 */
function bruteForce(perms: readonly Expr[], tuples: readonly Tuple[], X: boolean) {
  const live = tuples.filter((x) => x.expired !== true);
  const holds = (x: Tuple): boolean => (x.cav === null ? true : x.cav.flag ?? X);
  const edges = (resource: string, relation: string) => live.filter((x) => x.resource === resource && x.relation === relation && holds(x));
  const member = (obj: string, rel: string, u: string, path: ReadonlySet<string>): boolean => {
    const key = `${obj}#${rel}`;
    if (path.has(key)) return false;
    const p = new Set(path).add(key);
    const [type, id] = obj.split(':') as [string, string];
    if (type === 'folder' && rel === 'view') return member(obj, 'viewer', u, p) || edges(obj, 'parent').some((x) => member(x.subject, 'view', u, p));
    if (type === 'doc' && rel.startsWith('perm')) return expr(perms[Number(rel.slice(4))]!, id, u, p);
    return edges(obj, rel).some((x) => x.subject === `user:${u}` || x.subject === 'user:*' || (x.subject.includes('#') && member(x.subject.split('#')[0]!, x.subject.split('#')[1]!, u, p)));
  };
  const expr = (e: Expr, doc: string, u: string, p: ReadonlySet<string>): boolean => {
    switch (e.k) {
      case 'rel':
        return member(`doc:${doc}`, e.name, u, p);
      case 'perm':
        return member(`doc:${doc}`, `perm${e.index}`, u, p);
      case 'nil':
        return false;
      case 'arrow': {
        const parents = live.filter((x) => x.resource === `doc:${doc}` && x.relation === 'parent');
        const grants = (x: Tuple) => holds(x) && member(x.subject, 'view', u, p);
        return e.all ? parents.length > 0 && parents.every(grants) : parents.some(grants);
      }
      case '+':
        return expr(e.l, doc, u, p) || expr(e.r, doc, u, p);
      case '&':
        return expr(e.l, doc, u, p) && expr(e.r, doc, u, p);
      case '-':
        return expr(e.l, doc, u, p) && !expr(e.r, doc, u, p);
    }
  };
  return (doc: string, perm: string, u: string) => member(`doc:${doc}`, perm, u, new Set());
}

/** The brute force's decision for a request context: definite when both values of an unknown `flag` agree. */
function expected(perms: readonly Expr[], tuples: readonly Tuple[], context: { flag?: boolean }) {
  const worlds = context.flag === undefined ? [bruteForce(perms, tuples, true), bruteForce(perms, tuples, false)] : [bruteForce(perms, tuples, context.flag)];
  return (doc: string, perm: string, u: string): 'has' | 'no' | 'conditional' => {
    const vs = new Set(worlds.map((w) => w(doc, perm, u)));
    return vs.size === 2 ? 'conditional' : vs.has(true) ? 'has' : 'no';
  };
}

const scenario = fc
  .tuple(exprOf(0), exprOf(1), exprOf(2))
  .chain((perms) => fc.record({ perms: fc.constant(perms), tuples: fc.array(tuple, { maxLength: 30 }).map(dedupe) }));

const runs = Number(process.env['WARDEN_PROPERTY_RUNS'] ?? 400);
const seed = Number(process.env['WARDEN_PROPERTY_SEED'] ?? 20261127);

t.test(`the engine agrees with a brute-force evaluator (${runs} random schemas and data, seed ${seed})`, async (t) => {
  const engine = new Engine();
  // The same questions through an engine with the shared check cache, each asked twice (the
  // second answer served from the cache): it must answer exactly as the uncached one.
  const cached = new Engine({ cacheBytes: 16 << 20 });
  // And the first scenarios through Redis alone (no in-process tier, so every subproblem goes
  // there), on the Redis the suite runs beside, under keys of this run's own.
  const redis = new RedisCheckCache(process.env['WARDEN_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379', { keyPrefix: `warden-test:${randomUUID()}:`, timeoutMs: 2000 });
  t.teardown(() => redis.close());
  t.ok(await redis.ready(), 'Redis answers');
  const viaRedis = new Engine({ sharedCache: redis });
  const REDIS_SCENARIOS = 60;
  let scenarioNo = 0;
  let compared = 0;
  let imprecise = 0;
  await fc.assert(
    fc.asyncProperty(scenario, async ({ perms, tuples }) => {
      const schema = new TypeSystem(compileSchema(schemaText(perms)));
      const store = new MemoryStore();
      const rels = tuples.map(toRelationship);
      rels.forEach((r) => schema.validateRelationship(r));
      const { revision } = await store.importRelationships(rels);
      const snap: Snapshot = { schema, reader: store.snapshot(revision) };
      const keyed: Snapshot = { ...snap, cacheKey: `scenario-${scenarioNo++}` };
      // And over a reader that reads several filters in one round trip (as PostgreSQL does), so
      // computations read their objects' relations ahead.
      const plain = snap.reader;
      const batched: Snapshot = { schema, reader: { revision, query: (f) => plain.query(f), queryMany: (fs) => Promise.all(fs.map((f) => plain.query(f))) } };
      // And over a reader that answers every other read at once and the rest later, so one walk
      // mixes steps taken at once with steps that wait (the memory store answers every read at once).
      let flip = 0;
      const mixed: Snapshot = { schema, reader: { revision, query: (f) => plain.query(f), querySync: (f) => (flip++ % 2 ? plain.querySync!(f) : undefined) } };
      const engines = scenarioNo <= REDIS_SCENARIOS ? [cached, viaRedis] : [cached];
      for (const context of [{}, { flag: true }, { flag: false }]) {
        const want = expected(perms, tuples, context);
        for (const perm of ['viewer', 'editor', 'banned', 'perm0', 'perm1', 'perm2']) {
          for (const u of USERS) {
            const listed = new Map((await engine.lookupResources(snap, { resourceType: 'doc', permission: perm, subject: { type: 'user', id: u, relation: '...' }, context })).map((r) => [r.id, r.decision.kind]));
            for (const doc of DOCS) {
              const got = (await engine.check(snap, { resource: { type: 'doc', id: doc }, permission: perm, subject: { type: 'user', id: u, relation: '...' }, context })).decision.kind;
              const truth = want(doc, perm, u);
              compared++;
              const where = `doc:${doc}#${perm}@user:${u} with ${JSON.stringify(context)}`;
              // A definite answer must be the truth; an unknown truth must be answered conditional. (A
              // conditional answer whose caveats happen to cancel out is imprecise, not wrong.)
              if (got !== 'conditional' || truth === 'conditional') {
                if (got !== truth) throw new Error(`${where}: engine ${got}, brute force ${truth}`);
              } else imprecise++;
              if ((listed.get(doc) ?? 'no') !== got) throw new Error(`${where}: LookupResources ${listed.get(doc) ?? 'absent'}, Check ${got}`);
              const ahead = (await engine.check(batched, { resource: { type: 'doc', id: doc }, permission: perm, subject: { type: 'user', id: u, relation: '...' }, context })).decision.kind;
              if (ahead !== got) throw new Error(`${where}: reading ahead ${ahead}, one read at a time ${got}`);
              const halfway = (await engine.check(mixed, { resource: { type: 'doc', id: doc }, permission: perm, subject: { type: 'user', id: u, relation: '...' }, context })).decision.kind;
              if (halfway !== got) throw new Error(`${where}: half the reads waited ${halfway}, none did ${got}`);
              for (const e of engines) {
                for (const round of ['computed', 'from the cache']) {
                  const c = (await e.check(keyed, { resource: { type: 'doc', id: doc }, permission: perm, subject: { type: 'user', id: u, relation: '...' }, context })).decision.kind;
                  if (c !== got) throw new Error(`${where}: with the cache (${e === cached ? 'in-process' : 'Redis'}, ${round}) ${c}, without ${got}`);
                }
              }
            }
          }
        }
      }
    }),
    { numRuns: runs, seed, endOnFailure: true },
  );
  t.ok(compared >= runs * 50, `${compared} answers compared (${imprecise} conditional where the caveats cancel out)`);
  t.ok(cached.cacheStats!.hits > compared / 2, `the cache answered ${cached.cacheStats!.hits} subproblems`);
  const r = viaRedis.cacheStats!.tiers['redis']!;
  t.ok(r.hits > 1000 && r.errors === 0, `Redis answered ${r.hits} subproblems: ${JSON.stringify(r)}`);
});
