import t from 'tap';
import { Engine, type Snapshot } from '../../src/engine/engine.js';
import { parseRelationship } from '../../src/model/relationship-syntax.js';
import { subject } from '../../src/model/relationship.js';
import { world } from '../helpers/world.js';

const SCHEMA = `definition user {}
definition group { relation member: user | group#member | user with expiration }
definition doc {
  relation viewer: user | group#member
  relation parent: doc
  permission view = viewer + parent->view
}
use expiration`;

const user = (id: string) => subject('user', id);
const doc = (id: string) => ({ type: 'doc', id });
const MB = 1 << 20;

t.test('a repeated check is answered from the shared cache, at the same snapshot only', async (t) => {
  const w = await world(SCHEMA, ['group:eng#member@user:ann', 'doc:a#viewer@group:eng#member', 'doc:b#parent@doc:a']);
  const engine = new Engine({ cacheBytes: 8 * MB });
  const snap: Snapshot = { ...w, cacheKey: 'ds\u0000t\u00001\u00001' };
  const q = { resource: doc('b'), permission: 'view', subject: user('ann') };
  t.equal((await engine.check(snap, q)).decision.kind, 'has');
  const first = w.reads.length;
  t.ok(first > 0);
  t.equal((await engine.check(snap, q)).decision.kind, 'has');
  t.equal(w.reads.length, first, 'the second time, no read at all');
  t.ok(engine.cacheStats!.hits >= 1, JSON.stringify(engine.cacheStats));
  // Subproblems are shared too: doc:a#view was cached while answering doc:b.
  await engine.check(snap, { resource: doc('a'), permission: 'view', subject: user('ann') });
  t.equal(w.reads.length, first, 'a subproblem of an earlier check is a hit');
  // Another snapshot (revision, schema version or tenant) shares nothing.
  await engine.check({ ...w, cacheKey: 'ds\u0000t\u00001\u00002' }, q);
  t.ok(w.reads.length > first, 'another revision computes afresh');
  // No key (a snapshot the API did not name), no cache.
  const before = w.reads.length;
  await engine.check(w, q);
  t.ok(w.reads.length > before, 'no cache key, no cache');
});

t.test('contextual relationships, expiring relationships and cycles are never served stale', async (t) => {
  const w = await world(SCHEMA, [
    'group:a#member@group:b#member',
    'group:b#member@group:a#member',
    'group:b#member@user:bob',
    'group:t#member@user:tim[expiration:2300-01-01T00:00:00Z]',
    'doc:c#viewer@group:a#member',
    'doc:e#viewer@group:t#member',
  ]);
  const engine = new Engine({ cacheBytes: 8 * MB });
  const plain = new Engine();
  const snap: Snapshot = { ...w, cacheKey: 'k' };
  const ask = (e: Engine, s: Snapshot, resource: string, who: string, extra: object = {}) => e.check(s, { resource: doc(resource), permission: 'view', subject: user(who), ...extra }).then((r) => r.decision.kind);
  // Contextual: the answer is this request's alone.
  const ctx = { contextualRelationships: [parseRelationship('doc:c#viewer@user:zed')] };
  t.equal(await ask(engine, snap, 'c', 'zed', ctx), 'has');
  t.equal(await ask(engine, snap, 'c', 'zed'), 'no', 'a contextual relationship did not leak into the cache');
  // Cycles: answers through the a <-> b cycle agree with an uncached engine, asked in any order.
  for (const who of ['bob', 'nobody', 'bob']) t.equal(await ask(engine, snap, 'c', who), await ask(plain, w, 'c', who), `cycle, ${who}`);
  // Expiring: read once per request, never stored.
  t.equal(await ask(engine, snap, 'e', 'tim'), 'has');
  const reads = w.reads.length;
  t.equal(await ask(engine, snap, 'e', 'tim'), 'has');
  t.ok(w.reads.length > reads, 'an answer that read an expiring relationship is computed again');
});

t.test('a cached answer is reused only where the request has the depth it was computed with', async (t) => {
  // doc:top <- parent <- ... a chain of 12 documents; the user views the last.
  const rels = ['doc:d0#viewer@user:deep'];
  for (let i = 1; i <= 12; i++) rels.push(`doc:d${i}#parent@doc:d${i - 1}`);
  const w = await world(SCHEMA, rels);
  const engine = new Engine({ cacheBytes: 8 * MB, limits: { maxDepth: 8 } });
  const plain = new Engine({ limits: { maxDepth: 8 } });
  const snap: Snapshot = { ...w, cacheKey: 'k' };
  // d5 is within reach from the top (and so cached with plenty of depth left) ...
  t.equal((await engine.check(snap, { resource: doc('d5'), permission: 'view', subject: user('deep') })).decision.kind, 'has');
  // ... but asking d12 reaches d5 with too little depth left: the uncached answer is an error, and so is the cached engine's.
  await t.rejects(plain.check(w, { resource: doc('d12'), permission: 'view', subject: user('deep') }), { code: 'RESOURCE_EXHAUSTED' });
  await t.rejects(engine.check(snap, { resource: doc('d12'), permission: 'view', subject: user('deep') }), { code: 'RESOURCE_EXHAUSTED' }, 'the cache does not hide the depth limit');
});
