import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { formatRelationship, parseRelationship } from '../../src/model/relationship-syntax.js';
import type { Relationship } from '../../src/model/relationship.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { PostgresDatastore } from '../../src/store/postgres/postgres-datastore.js';
import type { RelationshipFilter, RelationshipUpdate, Revision, Store } from '../../src/store/store.js';

// The embedded store answers snapshot reads from an in-memory copy of each tenant's
// relationships, kept in step with every write it commits. Here it is held to the memory store
// (the model): the same random writes, deletes and imports go to both, and every read at every
// revision so far must agree, served from memory.

const texts = (rs: readonly Relationship[]): string[] => rs.map(formatRelationship).sort();

const datastore = await PostgresDatastore.pglite('memory://');
await datastore.migrate();
t.teardown(() => datastore.close());

const FILTERS: RelationshipFilter[] = [
  { resourceType: 'doc' },
  { resourceType: 'doc', resourceIds: ['d0', 'd1', 'd2'], relation: 'viewer' },
  { resourceType: 'doc', relation: 'viewer', subjectType: 'user', subjectIds: ['u0', '*'] },
  { resourceType: 'doc', resourceIds: ['d3'], relation: 'viewer', subjectsAnyOf: [{ type: 'user', ids: ['u1'], relation: '...' }, { type: 'group', relation: 'member' }] },
  { resourceType: 'group', resourceIds: ['g0', 'g1'], relation: 'member' },
];

function random(seed: number): (n: number) => number {
  let s = seed;
  return (n) => ((s = (s * 1103515245 + 12345) % 2 ** 31), s % n);
}

function randomRel(rand: (n: number) => number): Relationship {
  const kind = rand(4);
  if (kind === 0) return parseRelationship(`group:g${rand(3)}#member@user:u${rand(4)}`);
  if (kind === 1) return parseRelationship(`doc:d${rand(5)}#viewer@group:g${rand(3)}#member`);
  if (kind === 2) return parseRelationship(`doc:d${rand(5)}#viewer@user:${rand(5) === 0 ? '*' : `u${rand(4)}`}`);
  return parseRelationship(`doc:d${rand(5)}#viewer@user:u${rand(4)}[expiration:${rand(2) ? '2000-01-01T00:00:00Z' : '2300-01-01T00:00:00Z'}]`);
}

t.test('reads from the in-memory index agree with the model at every revision, through writes, deletes and imports', async (t) => {
  await datastore.access.createTenant('model');
  const pg: Store = datastore.store('model');
  const model = new MemoryStore();
  const rand = random(20261127);
  const revisions: [Revision, Revision][] = [];
  await pg.writeSchema('definition user {}');
  // The first read loads the index in the background; until then reads go to SQL.
  await pg.snapshot(await pg.headRevision()).query({ resourceType: 'doc' });
  for (let i = 0; i < 100 && !datastore.memoryIndex!.loaded('model'); i++) await new Promise((r) => setTimeout(r, 10));
  t.ok(datastore.memoryIndex!.loaded('model'), 'the index loaded');
  const both = async <T>(op: (s: Store) => Promise<T>): Promise<void> => {
    let a: unknown;
    let b: unknown;
    try {
      a = await op(pg);
    } catch (e) {
      a = e;
    }
    try {
      b = await op(model);
    } catch (e) {
      b = e;
    }
    t.equal(a instanceof Error, b instanceof Error, `both succeed or both fail (${a instanceof Error ? (a as Error).message : ''} / ${b instanceof Error ? (b as Error).message : ''})`);
    revisions.push([await pg.headRevision(), await model.headRevision()]);
  };
  for (let step = 0; step < 60; step++) {
    const what = rand(10);
    if (what < 6) {
      const seen = new Set<string>();
      const updates: RelationshipUpdate[] = [];
      for (let k = 0; k < 1 + rand(4); k++) {
        const r = randomRel(rand);
        const key = formatRelationship({ ...r, expiresAt: null, caveat: null });
        if (seen.has(key)) continue;
        seen.add(key);
        updates.push({ operation: (['touch', 'touch', 'delete', 'create'] as const)[rand(4)]!, relationship: r });
      }
      await both((s) => s.write(updates));
    } else if (what < 8) {
      await both((s) => s.deleteByFilter({ resourceType: 'doc', resourceIds: [`d${rand(5)}`] }, { limit: 2, allowPartial: true }));
    } else {
      const seen = new Set<string>();
      const rels = Array.from({ length: 3 }, () => randomRel(rand)).filter((r) => {
        const key = formatRelationship({ ...r, expiresAt: null, caveat: null });
        return !seen.has(key) && seen.add(key);
      });
      await both((s) => s.importRelationships(rels));
    }
  }
  const before = datastore.memoryIndex!.reads;
  let compared = 0;
  for (const [a, b] of revisions) {
    for (const f of FILTERS) {
      t.same(texts(await pg.snapshot(a).query(f)), texts(await model.snapshot(b).query(f)), `at ${a}: ${JSON.stringify(f)}`);
      compared++;
    }
  }
  t.equal(datastore.memoryIndex!.reads - before, compared, `all ${compared} reads were answered from memory`);
});

t.test('a deleted tenant takes its index with it; made again, it starts empty', async (t) => {
  await datastore.access.createTenant('gone');
  const s = datastore.store('gone');
  const rev = await s.write([{ operation: 'touch', relationship: parseRelationship('doc:a#viewer@user:ann') }]);
  await s.snapshot(rev).query({ resourceType: 'doc' });
  for (let i = 0; i < 100 && !datastore.memoryIndex!.loaded('gone'); i++) await new Promise((r) => setTimeout(r, 10));
  t.same(texts(await s.snapshot(rev).query({ resourceType: 'doc' })), ['doc:a#viewer@user:ann']);
  await datastore.access.deleteTenant('gone');
  t.notOk(datastore.memoryIndex!.loaded('gone'), 'the index went with the tenant');
  await datastore.access.createTenant('gone');
  const again = datastore.store('gone');
  const head = await again.headRevision();
  t.same(texts(await again.snapshot(head).query({ resourceType: 'doc' })), [], 'the new tenant is empty');
  for (let i = 0; i < 100 && !datastore.memoryIndex!.loaded('gone'); i++) await new Promise((r) => setTimeout(r, 10));
  t.same(texts(await again.snapshot(head).query({ resourceType: 'doc' })), [], 'and so is its index');
});

t.test('a tenant written to has its index loaded before anything reads it', async (t) => {
  await datastore.access.createTenant('written');
  const s = datastore.store('written');
  t.notOk(datastore.memoryIndex!.loaded('written'), 'nothing loaded before the write');
  const rev = await s.importRelationships([parseRelationship('doc:a#viewer@user:ann'), parseRelationship('doc:b#viewer@user:bob')]);
  for (let i = 0; i < 200 && !datastore.memoryIndex!.loaded('written'); i++) await new Promise((r) => setTimeout(r, 10));
  t.ok(datastore.memoryIndex!.loaded('written'), 'loaded after the import, with no read');
  const before = datastore.memoryIndex!.reads;
  const r = s.snapshot(rev.revision);
  t.same(texts(r.querySync!({ resourceType: 'doc', resourceIds: ['a'], relation: 'viewer' }) ?? []), ['doc:a#viewer@user:ann'], 'the first read is answered at once, from memory');
  t.equal(datastore.memoryIndex!.reads, before + 1);
});

t.test('warm: a restarted embedded store loads every tenant\'s index before a read asks', async (t) => {
  const dir = join(mkdtempSync(join(tmpdir(), 'warden-warm-')), 'data');
  const first = await PostgresDatastore.pglite(dir);
  await first.migrate();
  for (const tenant of ['t1', 't2']) {
    await first.access.createTenant(tenant);
    await first.store(tenant).write([{ operation: 'touch', relationship: parseRelationship(`doc:a#viewer@user:${tenant}`) }]);
  }
  await first.close();
  const again = await PostgresDatastore.pglite(dir);
  t.teardown(() => again.close());
  t.notOk(again.memoryIndex!.loaded('t1'), 'nothing loaded at open');
  again.warm();
  for (let i = 0; i < 300 && !(again.memoryIndex!.loaded('t1') && again.memoryIndex!.loaded('t2')); i++) await new Promise((r) => setTimeout(r, 10));
  t.ok(again.memoryIndex!.loaded('t1') && again.memoryIndex!.loaded('t2'), 'both tenants loaded, with no read');
  const s = again.store('t2');
  t.same(texts(s.snapshot(await s.headRevision()).querySync!({ resourceType: 'doc' }) ?? []), ['doc:a#viewer@user:t2']);
});
