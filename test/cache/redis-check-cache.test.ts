import { randomUUID } from 'node:crypto';
import t from 'tap';
import { decodeEntry, encodeEntry } from '../../src/cache/check-cache.js';
import { CircuitBreaker } from '../../src/cache/circuit-breaker.js';
import { RedisCheckCache } from '../../src/cache/redis-check-cache.js';
import { Engine, type Snapshot } from '../../src/engine/engine.js';
import { subject } from '../../src/model/relationship.js';
import { privateRedis, privateRedisUnavailable } from '../helpers/private-redis.js';
import { world } from '../helpers/world.js';

const SCHEMA = `definition user {}
definition group { relation member: user | group#member }
definition doc {
  relation viewer: user | group#member
  relation owner: user
  relation banned: user
  relation parent: doc
  permission edit = owner + parent->edit
  permission view = (viewer + edit + parent->view) - banned
}`;

/** A small organisation: nested groups, a doc tree, some bans. Deterministic. */
function organisation(): string[] {
  const rels: string[] = [];
  let seed = 7;
  const rand = (n: number): number => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  for (let g = 0; g < 8; g++) {
    for (let i = 0; i < 4; i++) rels.push(`group:g${g}#member@user:u${rand(30)}`);
    if (g > 0) rels.push(`group:g${g}#member@group:g${rand(g)}#member`);
  }
  for (let d = 0; d < 40; d++) {
    if (d > 0) rels.push(`doc:d${d}#parent@doc:d${rand(d)}`);
    if (rand(3) === 0) rels.push(`doc:d${d}#viewer@group:g${rand(8)}#member`);
    if (rand(4) === 0) rels.push(`doc:d${d}#owner@user:u${rand(30)}`);
    if (rand(6) === 0) rels.push(`doc:d${d}#banned@user:u${rand(30)}`);
    if (rand(5) === 0) rels.push(`doc:d${d}#viewer@user:u${rand(30)}`);
  }
  return [...new Set(rels)];
}

const REDIS_URL = process.env['WARDEN_TEST_REDIS_URL'] ?? 'redis://127.0.0.1:6379';
const user = (id: string) => subject('user', id);
const questions = (): { resource: { type: string; id: string }; permission: string; subject: ReturnType<typeof user> }[] => {
  const out = [];
  for (let d = 0; d < 40; d++) for (let u = 0; u < 30; u += 3) for (const permission of ['view', 'edit']) out.push({ resource: { type: 'doc', id: `d${d}` }, permission, subject: user(`u${u}`) });
  return out;
};

t.test('entries survive encoding; anything else decodes to nothing', async (t) => {
  const cases = [
    { depthLeft: 49, condition: { op: 'true' as const } },
    { depthLeft: 3, condition: { op: 'false' as const } },
    { depthLeft: 10, condition: { op: 'and' as const, children: [{ op: 'caveat' as const, name: 'ip', context: { a: 1 } }, { op: 'not' as const, child: { op: 'caveat' as const, name: 'x', context: null } }] } },
  ];
  for (const c of cases) t.same(decodeEntry(encodeEntry(c)), c);
  for (const bad of ['', 'T', '|T', '-1|T', 'x|T', '5|', '5|{', '5|{"op":"maybe"}', '5|{"op":"and","children":[]}', '5|[1]', '5|{"op":"caveat"}']) {
    t.equal(decodeEntry(bad), null, JSON.stringify(bad));
  }
});

t.test('the circuit breaker opens after failures in a row, probes once, and closes on success', async (t) => {
  let now = 0;
  const changes: string[] = [];
  const b = new CircuitBreaker({ failureThreshold: 3, openMs: 100, now: () => now, onChange: (s) => changes.push(s) });
  const fail = (): void => {
    now += 10;
    b.failure('x');
  };
  fail();
  b.success();
  fail();
  fail();
  t.equal(b.state, 'closed', 'failures must be in a row');
  b.failure('x');
  b.failure('x');
  t.equal(b.state, 'closed', 'failures at the same moment (a stall of this process) count as one');
  fail();
  t.equal(b.state, 'open');
  t.notOk(b.allow(), 'open: skipped');
  now += 100;
  t.ok(b.allow(), 'after the open time, one probe');
  t.notOk(b.allow(), 'only one');
  b.failure('still down');
  t.equal(b.state, 'open');
  now += 150;
  t.notOk(b.allow(), 'a failed probe doubles the open time');
  now += 50;
  t.ok(b.allow());
  b.success();
  t.equal(b.state, 'closed');
  t.same(changes, ['open', 'closed'], 'each change reported once; probes are not changes');
});

t.test('a second node answers from the shared Redis without reading the store', async (t) => {
  const w = await world(SCHEMA, organisation());
  const keyPrefix = `warden-test:${randomUUID()}:`;
  // A generous timeout: this test is about sharing, and a stalled test process must not turn a hit into a miss.
  const tiers = [new RedisCheckCache(REDIS_URL, { keyPrefix, timeoutMs: 2000 }), new RedisCheckCache(REDIS_URL, { keyPrefix, timeoutMs: 2000 })];
  t.teardown(() => Promise.all(tiers.map((x) => x.close())));
  t.ok(await tiers[0]!.ready(), `Redis answers at ${REDIS_URL}`);
  await tiers[1]!.ready();
  const plain = new Engine();
  const nodeA = new Engine({ cacheBytes: 1 << 20, sharedCache: tiers[0] });
  const nodeB = new Engine({ cacheBytes: 1 << 20, sharedCache: tiers[1] });
  const snap: Snapshot = { ...w, cacheKey: 'ds\u0000t\u00001\u00001' };
  const qs = questions();
  for (const q of qs) t.equal((await nodeA.check(snap, q)).decision.kind, (await plain.check(w, q)).decision.kind, 'node A agrees');
  await new Promise((r) => setTimeout(r, 100)); // stores are not awaited
  const reads = w.reads.length;
  let agree = 0;
  for (const q of qs) if ((await nodeB.check(snap, q)).decision.kind === (await plain.check(w, q)).decision.kind) agree++;
  t.equal(agree, qs.length, 'node B agrees on every question');
  // The plain engine read the store; node B must not have: count reads from node B alone.
  const plainOnly = new Engine();
  const before = w.reads.length;
  for (const q of qs) await plainOnly.check(w, q);
  const plainReads = w.reads.length - before;
  t.equal(reads + plainReads * 2, w.reads.length, 'node B made no store read: every answer came from Redis');
  const s = nodeB.cacheStats!.tiers['redis']!;
  t.equal(s.hits, qs.length, `node B: ${JSON.stringify(s)}`);
  t.equal(s.misses, 0);
  // Another revision shares nothing.
  const other = await nodeB.check({ ...w, cacheKey: 'ds\u0000t\u00001\u00002' }, qs[0]!);
  t.equal(other.decision.kind, (await plain.check(w, qs[0]!)).decision.kind);
  t.equal(nodeB.cacheStats!.tiers['redis']!.hits, qs.length, 'a new revision has no hit');
  t.ok(nodeB.cacheStats!.tiers['redis']!.misses > 0, 'a new revision misses');
});

t.test('garbage in Redis is never believed', async (t) => {
  const redis = await privateRedis();
  t.teardown(() => redis.destroy());
  const w = await world(SCHEMA, organisation());
  const tier = new RedisCheckCache(redis.url, { openMs: 50, timeoutMs: 2000 });
  t.teardown(() => tier.close());
  await tier.ready();
  const engine = new Engine({ sharedCache: tier });
  const plain = new Engine();
  const snap: Snapshot = { ...w, cacheKey: 'k' };
  const qs = questions().slice(0, 60);
  for (const q of qs) await engine.check(snap, q);
  await new Promise((r) => setTimeout(r, 100));
  // Every entry replaced with something that is not one (or is a lie in the wrong format).
  const keys = redis.cli('--scan', '--pattern', '*').split('\n').filter(Boolean);
  t.ok(keys.length > 20, `${keys.length} entries stored`);
  for (const [i, k] of keys.entries()) redis.cli('SET', k, ['garbage', '1|{"op":"nope"}', 'T', '7|'][i % 4]!);
  for (const q of qs) t.equal((await engine.check(snap, q)).decision.kind, (await plain.check(w, q)).decision.kind);
  const s = engine.cacheStats!.tiers['redis']!;
  t.ok((s.garbage as number) > 0, `garbage counted: ${JSON.stringify(s)}`);
  // Garbage is ignored and replaced by the answer computed instead (once the breaker lets stores
  // through again): within a few rounds none is left, and the replaced entries serve.
  let garbage = s.garbage;
  let round = 0;
  for (; round < 10; round++) {
    await new Promise((r) => setTimeout(r, 100));
    for (const q of qs) t.equal((await engine.check(snap, q)).decision.kind, (await plain.check(w, q)).decision.kind);
    const now = engine.cacheStats!.tiers['redis']!.garbage;
    if (now === garbage) break;
    garbage = now;
  }
  t.ok(round < 10, `no garbage left after ${round + 1} rounds`);
  // Garbage in a row may have opened the circuit (stores are skipped meanwhile): once it has
  // closed again, one round stores what is missing and the next is served.
  for (let i = 0; i < 300 && tier.state !== 'closed'; i++) await new Promise((r) => setTimeout(r, 50));
  for (const q of qs) await engine.check(snap, q);
  await new Promise((r) => setTimeout(r, 100));
  const before = engine.cacheStats!.tiers['redis']!.hits;
  for (const q of qs) await engine.check(snap, q);
  t.ok(engine.cacheStats!.tiers['redis']!.hits - before >= qs.length, `the replaced entries serve: ${JSON.stringify(engine.cacheStats!.tiers['redis'])}`);
});

t.test('Redis down, slow, killed and restarted under load: every answer is right, and Redis comes back into use', async (t) => {
  const why = privateRedisUnavailable();
  if (why) return t.skip(why);
  const redis = await privateRedis();
  t.teardown(() => redis.destroy());
  const w = await world(SCHEMA, organisation());
  const changes: string[] = [];
  const tier = new RedisCheckCache(redis.url, { onStateChange: (s) => changes.push(s), openMs: 50, timeoutMs: 100 });
  t.teardown(() => tier.close());
  t.ok(await tier.ready());
  const engine = new Engine({ sharedCache: tier });
  const plain = new Engine();
  const qs = questions();
  const truth = new Map<number, string>();
  for (const [i, q] of qs.entries()) truth.set(i, (await plain.check(w, q)).decision.kind);
  const snap: Snapshot = { ...w, cacheKey: 'k' };
  let wrong = 0;
  let asked = 0;
  let stop = false;
  const load = async (n: number): Promise<void> => {
    for (let i = n; !stop; i = (i + 7) % qs.length) {
      const got = (await engine.check(snap, qs[i]!)).decision.kind;
      asked++;
      if (got !== truth.get(i)) wrong++;
      if (i % 5 === 0) await new Promise((r) => setImmediate(r));
    }
  };
  const loads = Array.from({ length: 8 }, (_, n) => load(n));
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  await sleep(500);
  const warm = engine.cacheStats!.tiers['redis']!.hits;
  t.ok(warm > 0, `warm: ${warm} hits`);
  // Slow: Redis blocks for 300 ms; calls time out, the breaker opens, checks go on from the store.
  redis.cli('DEBUG', 'SLEEP', '0.3');
  await sleep(300);
  // Killed.
  await redis.kill();
  await sleep(500);
  const down = { ...engine.cacheStats!.tiers['redis']! };
  t.equal(tier.state === 'closed', false, `Redis out of use while down (${tier.state})`);
  t.ok((down.errors as number) > 0 && (down.skipped as number) > 0, `failures counted, then skipped: ${JSON.stringify(down)}`);
  // Restarted (empty): the breaker's probe finds it, and it fills and serves again.
  await redis.start();
  for (let i = 0; i < 400 && (tier.state !== 'closed' || engine.cacheStats!.tiers['redis']!.hits <= down.hits); i++) await sleep(50);
  await sleep(300);
  stop = true;
  await Promise.all(loads);
  const after = engine.cacheStats!.tiers['redis']!;
  t.equal(wrong, 0, `${asked} checks under load, none wrong`);
  t.equal(tier.state, 'closed', 'back in use');
  t.ok(after.hits > down.hits, `hits after the restart: ${down.hits} -> ${after.hits}`);
  t.equal(changes[0], 'open');
  t.equal(changes.at(-1), 'closed');
  t.ok(changes.every((c, i) => i === 0 || c !== changes[i - 1]), `each change logged once: ${changes.join(' ')}`);
});

t.test('a Redis that was never there costs nothing but a counter', async (t) => {
  const w = await world(SCHEMA, organisation());
  const tier = new RedisCheckCache('redis://127.0.0.1:1', { openMs: 60_000 });
  t.teardown(() => tier.close());
  t.notOk(await tier.ready(200));
  const engine = new Engine({ cacheBytes: 1 << 20, sharedCache: tier });
  const plain = new Engine();
  for (const q of questions().slice(0, 100)) t.equal((await engine.check({ ...w, cacheKey: 'k' }, q)).decision.kind, (await plain.check(w, q)).decision.kind);
  t.equal(tier.state, 'open');
  t.ok(engine.cacheStats!.hits > 0, 'the in-process tier still works');
});

t.test('identical checks in flight at once share one walk', async (t) => {
  const w = await world(SCHEMA, organisation());
  const engine = new Engine({ cacheBytes: 1 << 20 });
  const q = questions()[200]!;
  // Over a store whose reads wait (a database): over one in memory a check is done before the next begins.
  const waiting = { ...w, reader: { revision: w.reader.revision, query: w.reader.query }, cacheKey: 'k' };
  const answers = await Promise.all(Array.from({ length: 20 }, () => engine.check(waiting, q)));
  t.equal(new Set(answers.map((a) => a.decision.kind)).size, 1);
  t.equal(engine.cacheStats!.shared, 19, '19 callers joined the first one');
  const reads = w.reads.length;
  const fresh = new Engine();
  const before = w.reads.length;
  await fresh.check(w, q);
  t.equal(reads, w.reads.length - before, 'the twenty checks read as much as one');
});
