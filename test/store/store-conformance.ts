import type { Test } from 'tap';
import { parseRelationship } from '../../src/model/relationship-syntax.js';
import type { Relationship } from '../../src/model/relationship.js';
import { formatRelationship } from '../../src/model/relationship-syntax.js';
import type { RelationshipUpdate, Store } from '../../src/store/store.js';

/** A store under test and the clock it judges expiration by. */
export interface StoreUnderTest {
  readonly store: Store;
  /** Moves the store's clock to this time. */
  setNow(d: Date): void;
}

const rel = (s: string): Relationship => parseRelationship(s);
const touch = (s: string): RelationshipUpdate => ({ operation: 'touch', relationship: rel(s) });
const create = (s: string): RelationshipUpdate => ({ operation: 'create', relationship: rel(s) });
const del = (s: string): RelationshipUpdate => ({ operation: 'delete', relationship: rel(s) });
const texts = (rs: readonly Relationship[]): string[] => rs.map(formatRelationship).sort();

/**
 * The store conformance suite: every backend runs it. `make` gives a fresh, empty store.
 */
export function storeConformance(t: Test, make: () => Promise<StoreUnderTest>): void {
  t.test('reads are snapshots at a revision', async (t) => {
    const { store } = await make();
    const r0 = await store.headRevision();
    const r1 = await store.write([touch('doc:a#viewer@user:tom'), touch('doc:a#viewer@user:ann')]);
    const r2 = await store.write([del('doc:a#viewer@user:tom'), touch('doc:b#viewer@user:tom')]);
    const q = { resourceType: 'doc', relation: 'viewer' };
    t.same(texts(await store.snapshot(r0).query(q)), []);
    t.same(texts(await store.snapshot(r1).query(q)), ['doc:a#viewer@user:ann', 'doc:a#viewer@user:tom']);
    t.same(texts(await store.snapshot(r2).query(q)), ['doc:a#viewer@user:ann', 'doc:b#viewer@user:tom']);
    t.equal(await store.headRevision(), r2);
    await store.close();
  });

  t.test('filters narrow by every field', async (t) => {
    const { store } = await make();
    const rev = await store.write(
      ['doc:a#viewer@user:tom', 'doc:a#viewer@group:eng#member', 'doc:a#owner@user:tom', 'doc:b#viewer@user:*', 'folder:a#viewer@user:tom'].map(touch),
    );
    const r = store.snapshot(rev);
    t.same(texts(await r.query({ resourceType: 'doc' })).length, 4);
    t.same(texts(await r.query({ resourceType: 'doc', resourceIds: ['a'], relation: 'viewer' })), ['doc:a#viewer@group:eng#member', 'doc:a#viewer@user:tom']);
    t.same(texts(await r.query({ resourceType: 'doc', relation: 'viewer', subjectType: 'user', subjectIds: ['tom', '*'] })), [
      'doc:a#viewer@user:tom',
      'doc:b#viewer@user:*',
    ]);
    t.same(texts(await r.query({ resourceType: 'doc', subjectType: 'group', subjectRelation: 'member' })), ['doc:a#viewer@group:eng#member']);
    t.same(texts(await r.query({ resourceType: 'doc', relation: 'viewer', subjectRelation: '...' })), ['doc:a#viewer@user:tom', 'doc:b#viewer@user:*']);
    t.same(texts(await r.query({ resourceType: 'doc', subjectType: 'user', subjectIds: ['tom'] })), ['doc:a#owner@user:tom', 'doc:a#viewer@user:tom']);
    await t.rejects(r.query({ resourceType: 'doc', resourceIds: [] }), { code: 'INVALID_ARGUMENT' });
    await store.close();
  });

  t.test('a write is all or nothing', async (t) => {
    const { store } = await make();
    const r1 = await store.write([create('doc:a#viewer@user:tom')]);
    await t.rejects(store.write([create('doc:b#viewer@user:ann'), create('doc:a#viewer@user:tom')]), { code: 'ALREADY_EXISTS' });
    await t.rejects(store.write([touch('doc:c#viewer@user:ann'), del('doc:c#viewer@user:ann')]), { code: 'INVALID_ARGUMENT' });
    t.equal(await store.headRevision(), r1, 'no revision was spent on the failed writes');
    t.same(texts(await store.snapshot(r1).query({ resourceType: 'doc' })), ['doc:a#viewer@user:tom']);
    await store.close();
  });

  t.test('touch replaces caveat and expiration', async (t) => {
    const { store } = await make();
    await store.write([touch('doc:a#viewer@user:tom[cav:{"x":1}]')]);
    const rev = await store.write([touch('doc:a#viewer@user:tom[cav:{"x":2}][expiration:2300-01-01T00:00:00Z]')]);
    t.same(texts(await store.snapshot(rev).query({ resourceType: 'doc' })), ['doc:a#viewer@user:tom[cav:{"x":2}][expiration:2300-01-01T00:00:00Z]']);
    await store.close();
  });

  t.test('expired relationships are as if absent, by the store clock', async (t) => {
    const { store, setNow } = await make();
    setNow(new Date('2030-01-01T00:00:00Z'));
    const rev = await store.write([touch('doc:a#viewer@user:tom[expiration:2030-06-01T00:00:00Z]'), touch('doc:a#viewer@user:ann')]);
    const q = { resourceType: 'doc', resourceIds: ['a'], relation: 'viewer' };
    t.same(texts(await store.snapshot(rev).query(q)).length, 2);
    setNow(new Date('2030-06-01T00:00:00Z'));
    t.same(texts(await store.snapshot(rev).query(q)), ['doc:a#viewer@user:ann']);
    await store.close();
  });

  t.test('schemas are versioned with revisions', async (t) => {
    const { store } = await make();
    const r0 = await store.headRevision();
    const r1 = await store.writeSchema('definition user {}');
    const r2 = await store.writeSchema('definition person {}');
    t.equal(await store.readSchema(r0), null);
    t.equal(await store.readSchema(r1), 'definition user {}');
    t.equal(await store.readSchema(r2), 'definition person {}');
    await store.close();
  });

  t.test('a revision from the future or elsewhere is refused', async (t) => {
    const { store } = await make();
    t.throws(() => store.snapshot('999999' as never), { code: 'INVALID_ARGUMENT' });
    t.throws(() => store.snapshot('not-a-revision' as never), { code: 'INVALID_ARGUMENT' });
    await store.close();
  });
}
