import t from 'tap';
import { compileSchema } from '../../schema-dsl/index.js';
import { RevisionPicker } from '../../src/consistency/consistency.js';
import { decodeZookie, encodeZookie } from '../../src/consistency/zookie.js';
import { Engine } from '../../src/engine/engine.js';
import { parseRelationship } from '../../src/model/relationship-syntax.js';
import { subject } from '../../src/model/relationship.js';
import { TypeSystem } from '../../src/schema/type-system.js';
import type { Datastore } from '../../src/store/datastore.js';
import { MemoryDatastore } from '../../src/store/memory/memory-datastore.js';
import { PostgresDatastore } from '../../src/store/postgres/postgres-datastore.js';
import { compareRevisions, type Revision } from '../../src/store/store.js';
import { freshDatabase } from '../helpers/postgres.js';

const SCHEMA = new TypeSystem(
  compileSchema(`definition user {}
definition folder { relation viewer: user  permission view = viewer }
definition document { relation parent: folder  permission view = parent->view }`),
);
const touch = (s: string) => ({ operation: 'touch' as const, relationship: parseRelationship(s) });
const del = (s: string) => ({ operation: 'delete' as const, relationship: parseRelationship(s) });

t.test('zookies are opaque, versioned and bound to their datastore', async (t) => {
  const z = encodeZookie('ds-1', 'default', '42' as Revision);
  t.match(z, /^[A-Za-z0-9_-]+$/);
  t.equal(decodeZookie(z, 'ds-1', 'default'), '42');
  t.throws(() => decodeZookie(z, 'ds-2', 'default'), { code: 'INVALID_ARGUMENT', field: 'consistency.zookie', message: /another datastore/ });
  for (const bad of ['', 'not a zookie!', 'e30', Buffer.from('{"v":1,"d":"ds-1","r":"x"}').toString('base64url'), 'A'.repeat(600)]) {
    t.throws(() => decodeZookie(bad, 'ds-1', 'default'), { code: 'INVALID_ARGUMENT', message: /not a zookie this server issued/ }, JSON.stringify(bad.slice(0, 20)));
  }
  t.throws(() => decodeZookie(Buffer.from('{"v":9,"d":"ds-1","r":"1"}').toString('base64url'), 'ds-1', 'default'), { message: /version 9/ });
  // A zookie names its tenant: tenant B cannot read at (or probe the existence of) tenant A's revision with it.
  t.throws(() => decodeZookie(encodeZookie('ds-1', 'acme', '42' as Revision), 'ds-1', 'globex'), { code: 'INVALID_ARGUMENT', message: /another tenant/ });
});

for (const [name, open] of [
  ['memory', async () => new MemoryDatastore()],
  [
    'postgres',
    async (tt: Tap) => {
      const ds = PostgresDatastore.postgres(await freshDatabase(tt));
      await ds.migrate();
      return ds;
    },
  ],
] as [string, (t: Tap) => Promise<Datastore>][]) {
  t.test(`consistency modes on ${name}`, async (t) => {
    const ds = await open(t);
    t.teardown(() => ds.close());
    const store = ds.store('default');
    let now = Date.parse('2030-01-01T00:00:02Z');
    const picker = new RevisionPicker(store, ds.id, { quantizationMs: 5000, now: () => now });
    const r1 = await store.write([touch('folder:f#viewer@user:bob')]);
    const z1 = encodeZookie(ds.id, 'default', r1);
    const head = await store.headRevision();
    t.equal(await picker.pick({ mode: 'fully_consistent' }), head);
    const q = await picker.pick({ mode: 'minimize_latency' });
    t.ok(compareRevisions(q, head) <= 0, 'minimize_latency never reads past the head');
    const r2 = await store.write([touch('folder:g#viewer@user:bob')]);
    t.equal(await picker.pick({ mode: 'minimize_latency' }), q, 'the same quantized revision within a window');
    t.equal(await picker.pick({ mode: 'at_exact_snapshot', zookie: z1 }), r1);
    const fresh = await picker.pick({ mode: 'at_least_as_fresh', zookie: encodeZookie(ds.id, 'default', r2) });
    t.ok(compareRevisions(fresh, r2) >= 0, 'at_least_as_fresh is at least the zookie');
    await t.rejects(picker.pick({ mode: 'at_exact_snapshot', zookie: encodeZookie('elsewhere', 'default', r1) }), { code: 'INVALID_ARGUMENT' });
    await t.rejects(picker.pick({ mode: 'at_least_as_fresh', zookie: encodeZookie(ds.id, 'default', '99999999' as Revision) }), { code: 'INVALID_ARGUMENT' });
    now += 5000;
    // Quantized reads catch up once the window moves past the writes (clock skew aside).
    const later = Date.now() + 10_000;
    const realPicker = new RevisionPicker(store, ds.id, { quantizationMs: 5000, now: () => later });
    t.ok(compareRevisions(await realPicker.pick({ mode: 'minimize_latency' }), r2) >= 0);
    await new Promise((r) => setTimeout(r, 10));
    await store.write([touch('folder:h#viewer@user:bob')]);
    await ds.gc({ windowMs: 0 });
    await t.rejects(picker.pick({ mode: 'at_exact_snapshot', zookie: z1 }), { code: 'FAILED_PRECONDITION', message: /garbage-collected/ });
  });

  t.test(`the new-enemy problem cannot happen on ${name}`, async (t) => {
    const ds = await open(t);
    t.teardown(() => ds.close());
    const store = ds.store('default');
    const engine = new Engine();
    // A picker whose quantized revision is stale on purpose: it never moves.
    const picker = new RevisionPicker(store, ds.id, { quantizationMs: 3_600_000, now: () => 0 });
    await store.write([touch('folder:finance#viewer@user:bob'), touch('folder:finance#viewer@user:ann')]);
    const removed = await store.write([del('folder:finance#viewer@user:bob')]);
    const added = await store.write([touch('document:secret#parent@folder:finance')], { preconditions: [] });
    t.ok(compareRevisions(removed, added) < 0);
    const zookie = encodeZookie(ds.id, 'default', added);
    const revision = await picker.pick({ mode: 'at_least_as_fresh', zookie });
    const snap = { schema: SCHEMA, reader: store.snapshot(revision) };
    const q = { resource: { type: 'document', id: 'secret' }, permission: 'view' };
    t.equal((await engine.check(snap, { ...q, subject: subject('user', 'bob') })).decision.kind, 'no', 'bob never sees the secret');
    t.equal((await engine.check(snap, { ...q, subject: subject('user', 'ann') })).decision.kind, 'has', 'ann sees it: the read includes the write');
  });
}

type Tap = Parameters<Parameters<typeof t.test>[1]>[0];
