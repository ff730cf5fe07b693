import t from 'tap';
import { Engine, type Snapshot } from '../../src/engine/engine.js';
import { subject } from '../../src/model/relationship.js';
import { ORG_SCHEMA as ORG } from '../../bench/shapes.js';
import { world } from '../helpers/world.js';

// The work a check takes, locked in: subproblems computed (dispatches) and store reads, for the
// bench's org schema. A change that makes a check do more shows up here, in CI,
// not only in the bench. (Before reads were merged and memoized per request, `nobody` took 17
// reads, `boss` 10, `own` 8 and `ann` 5; before relations were read in place and groups from the
// subject's side, `nobody` took 13 dispatches and 9 reads.)

const DATA = [
  'group:g1#member@user:ann',
  'group:g2#member@group:g1#member',
  'org:o1#member@group:g2#member',
  'org:o1#admin@user:boss',
  'account:a1#parent@org:o1',
  'account:a1#owner@user:own',
  'resource:r1#parent@account:a1',
  'resource:r1#viewer@user:vic',
  'resource:r1#editor@group:g1#member',
  'resource:r2#parent@account:a1',
];

// who, answer, dispatches, reads
const CASES: [string, string, number, number][] = [
  ['vic', 'has', 1, 1], // resource#view: its own relations are read in place, not dispatched; one read finds vic
  ['ann', 'has', 2, 3], // viewer and editor read; ann's groups found from her side (g1, the one asked, at once)
  ['own', 'has', 3, 5], // through parent->manage: the parent read once, though edit and view both follow it
  ['boss', 'has', 4, 7], // on to the org's admins
  ['nobody', 'no', 6, 8], // every path walked; nobody's groups (none) in one read, shared by both group questions
];

t.test('dispatches and reads per check, org shape', async (t) => {
  const w = await world(ORG, DATA);
  const engine = new Engine();
  for (const [who, want, dispatches, reads] of CASES) {
    w.reads.length = 0;
    const r = await engine.check(w, { resource: { type: 'resource', id: 'r1' }, permission: 'view', subject: subject('user', who) });
    t.equal(r.decision.kind, want, `${who}: ${want}`);
    t.same(r.metadata, { dispatches, cachedDispatches: 0, reads }, `${who}: ${dispatches} dispatches, ${reads} reads`);
    t.equal(w.reads.length, reads, `${who}: the store saw ${reads} reads`);
  }
});

t.test('over a store held in memory, a check waits on no read: every one is answered at once', async (t) => {
  const w = await world(ORG, DATA);
  const engine = new Engine({ cacheBytes: 1 << 20 });
  for (const snap of [w, { ...w, cacheKey: 'k' }]) {
    for (const [who] of CASES) {
      w.reads.length = 0;
      w.waited.length = 0;
      await engine.check(snap, { resource: { type: 'resource', id: 'r1' }, permission: 'view', subject: subject('user', who) });
      t.ok(w.reads.length > 0 || snap !== w, `${who}: read`);
      t.same(w.waited, [], `${who}${snap === w ? '' : ' (through the check cache)'}: no read through the promise-returning query`);
    }
  }
});

t.test('with the check cache warm, a repeated check is one cached dispatch and no read', async (t) => {
  const w = await world(ORG, DATA);
  const engine = new Engine({ cacheBytes: 1 << 20 });
  const snap: Snapshot = { ...w, cacheKey: 'k' };
  const q = { resource: { type: 'resource', id: 'r1' }, permission: 'view', subject: subject('user', 'nobody') };
  t.same((await engine.check(snap, q)).metadata, { dispatches: 6, cachedDispatches: 0, reads: 8 });
  t.same((await engine.check(snap, q)).metadata, { dispatches: 0, cachedDispatches: 1, reads: 0 });
  // A sibling resource in the same account: its own relations are computed, the account's
  // subproblems (account:a1#manage and #view for this subject) come from the cache.
  const n = (await engine.check(snap, { ...q, resource: { type: 'resource', id: 'r2' } })).metadata;
  t.same(n, { dispatches: 2, cachedDispatches: 2, reads: 3 }, 'resource:r2: view and edit computed (viewer and editor read in place); the account cached');
});

// On a store where a round trip costs more than a read (PostgreSQL), a computation reads every
// relation of its objects it may need in one round trip (`queryMany`): a check takes one round
// trip per object it reaches (resource, account, org) and one for the subject's groups, where the
// reads above took one per relation (vic 1, ann 3, own 5, boss 7, nobody 8).
const BATCHED: [string, string, number][] = [
  ['vic', 'has', 1],
  ['ann', 'has', 2], // the resource's relations; ann's groups
  ['own', 'has', 3], // and the account's
  ['boss', 'has', 4], // and the org's
  ['nobody', 'no', 4],
];

t.test('round trips per check where the store reads several filters at once', async (t) => {
  const w = await world(ORG, DATA);
  const inner = w.reader;
  let trips = 0;
  const reader = { revision: inner.revision, query: (f: Parameters<typeof inner.query>[0]) => (trips++, inner.query(f)), queryMany: (fs: Parameters<typeof inner.query>[0][]) => (trips++, Promise.all(fs.map((f) => inner.query(f)))) };
  const engine = new Engine();
  const plain = new Engine();
  for (const [who, want, expected] of BATCHED) {
    trips = 0;
    const q = { resource: { type: 'resource', id: 'r1' }, permission: 'view', subject: subject('user', who) };
    const r = await engine.check({ ...w, reader }, q);
    t.equal(r.decision.kind, want, `${who}: ${want}`);
    t.equal((await plain.check(w, q)).decision.kind, want, `${who}: the same answer as one read at a time`);
    t.equal(trips, expected, `${who}: ${expected} round trips`);
    t.equal(r.metadata.reads, expected, `${who}: counted as ${expected} reads`);
  }
});

t.test('BatchCheck: resources the cache holds are answered before any walk; only the rest are walked', async (t) => {
  const w = await world(ORG, [...DATA, 'resource:r3#parent@account:a1', 'resource:r3#viewer@user:nobody']);
  const engine = new Engine({ cacheBytes: 1 << 20 });
  const snap: Snapshot = { ...w, cacheKey: 'batch' };
  const ask = (ids: string[]) => engine.checkMany(snap, { resourceType: 'resource', resourceIds: ids, permission: 'view', subject: subject('user', 'nobody') });
  const first = await ask(['r1', 'r2']);
  t.ok(w.reads.length > 0, `computed: ${w.reads.length} reads`);
  w.reads.length = 0;
  const again = await ask(['r1', 'r2']);
  t.same([...again].sort(), [...first].sort(), 'the same answers');
  t.equal(w.reads.length, 0, 'from the cache: no read');
  const mixed = await ask(['r2', 'r3', 'r1']);
  t.equal(mixed.get('r3')?.op, 'true', 'the new resource computed');
  t.equal(mixed.get('r1')?.op, 'false');
  t.ok(w.reads.every((f) => !f.resourceIds || !f.resourceIds.includes('r1')), 'and only it: r1 and r2 are not read again');
});
