import type { Test } from 'tap';
import { WardenError } from '../../src/errors/error-code.js';
import { formatRelationship, parseRelationship } from '../../src/model/relationship-syntax.js';
import type { Relationship } from '../../src/model/relationship.js';
import type { Datastore } from '../../src/store/datastore.js';
import { exportRelationships } from '../../src/store/store-support.js';
import { tenantStore } from '../helpers/tenant-store.js';
import { compareRevisions, revisionOf, type RelationshipFilter, type RelationshipUpdate, type Revision, type Store } from '../../src/store/store.js';

/** A store under test, the datastore behind it, and the clock it judges expiration by. */
export interface StoreUnderTest {
  readonly datastore: Datastore;
  /** A fresh tenant's store, empty. */
  readonly store: Store;
  /** Moves the store's clock to this time (null: back to real time). */
  setNow(d: Date | null): void;
}

const rel = (s: string): Relationship => parseRelationship(s);
const touch = (s: string): RelationshipUpdate => ({ operation: 'touch', relationship: rel(s) });
const create = (s: string): RelationshipUpdate => ({ operation: 'create', relationship: rel(s) });
const del = (s: string): RelationshipUpdate => ({ operation: 'delete', relationship: rel(s) });
const texts = (rs: readonly Relationship[]): string[] => rs.map(formatRelationship).sort();

/** The store conformance suite: every backend runs it. `make` gives a fresh, empty tenant store. */
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
    t.ok(compareRevisions(r1, r2) < 0, 'revisions increase');
    t.ok(compareRevisions(await store.headRevision(), r2) >= 0);
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
    // Any of several subjects: a relation's direct subjects and its subject sets in one read.
    t.same(
      texts(await r.query({ resourceType: 'doc', resourceIds: ['a', 'b'], relation: 'viewer', subjectsAnyOf: [{ type: 'user', ids: ['tom', '*'], relation: '...' }, { type: 'group', relation: 'member' }] })),
      ['doc:a#viewer@group:eng#member', 'doc:a#viewer@user:tom', 'doc:b#viewer@user:*'],
    );
    t.same(texts(await r.query({ resourceType: 'doc', relation: 'viewer', subjectsAnyOf: [{ type: 'group' }] })), ['doc:a#viewer@group:eng#member']);
    // Resource ids with long and short subject id lists (looked up differently in memory).
    const many = [...Array.from({ length: 30 }, (_, i) => `u${i}`), 'tom'];
    t.same(texts(await r.query({ resourceType: 'doc', resourceIds: ['a', 'b', 'a'], relation: 'viewer', subjectType: 'user', subjectIds: many })), ['doc:a#viewer@user:tom']);
    t.same(texts(await r.query({ resourceType: 'doc', resourceIds: ['a', 'b'], relation: 'viewer', subjectsAnyOf: [{ type: 'user', ids: many }, { type: 'user', ids: ['*'] }] })), [
      'doc:a#viewer@user:tom',
      'doc:b#viewer@user:*',
    ]);
    t.same(texts(await r.query({ resourceType: 'doc', resourceIds: ['a'], relation: 'viewer', subjectType: 'group', subjectIds: ['eng'], subjectRelation: '...' })), []);
    t.same(texts(await r.query({ resourceType: 'doc', subjectsAnyOf: [{ type: 'user', ids: ['nobody'] }] })), []);
    await t.rejects(r.query({ resourceType: 'doc', subjectsAnyOf: [] }), { code: 'INVALID_ARGUMENT' });
    await t.rejects(r.query({ resourceType: 'doc', subjectsAnyOf: [{ type: 'user', ids: [] }] }), { code: 'INVALID_ARGUMENT' });
    await t.rejects(r.query({ resourceType: 'doc', subjectType: 'user', subjectsAnyOf: [{ type: 'user' }] }), { code: 'INVALID_ARGUMENT', message: /does not go with/ });
  });

  t.test('several reads in one round trip (where the store offers it) answer as each read alone', async (t) => {
    const { store } = await make();
    const rev = await store.write(
      ['doc:a#viewer@user:tom', 'doc:a#viewer@group:eng#member', 'doc:a#owner@user:tom', 'doc:b#viewer@user:*', 'doc:b#parent@folder:f', 'folder:f#viewer@user:ann'].map(touch),
    );
    await store.write(['doc:a#owner@user:tom'].map((r) => ({ operation: 'delete' as const, relationship: parseRelationship(r) })));
    const r = store.snapshot(rev);
    if (!r.queryMany) {
      t.pass('this store reads one filter per call');
      return;
    }
    const filters: RelationshipFilter[] = [
      { resourceType: 'doc', resourceIds: ['a', 'b'], relation: 'viewer', subjectsAnyOf: [{ type: 'user', ids: ['tom', '*'], relation: '...' }, { type: 'group', relation: 'member' }] },
      { resourceType: 'doc', resourceIds: ['a'], relation: 'owner', subjectType: 'user', subjectIds: ['tom'], subjectRelation: '...' },
      { resourceType: 'doc', resourceIds: ['a', 'b'], relation: 'parent' },
      { resourceType: 'folder', resourceIds: ['f'], relation: 'viewer', subjectType: 'user', subjectIds: ['nobody'], subjectRelation: '...' },
      { resourceType: 'doc', resourceIds: ['a', 'b'], relation: 'viewer', subjectsAnyOf: [{ type: 'user', ids: ['tom', '*'], relation: '...' }, { type: 'group', relation: 'member' }] },
    ];
    const many = await r.queryMany(filters);
    t.equal(many.length, filters.length, 'an answer per filter');
    for (const [i, f] of filters.entries()) t.same(texts(many[i]!), texts(await r.query(f)), `filter ${i}`);
    t.same(texts(many[1]!), ['doc:a#owner@user:tom'], 'at the snapshot\'s revision (deleted later)');
    t.same(texts(many[3]!), []);
    t.same((await r.queryMany([filters[2]!])).map(texts), [['doc:b#parent@folder:f']], 'one filter');
    await t.rejects(r.queryMany([filters[0]!, { resourceType: 'doc', resourceIds: [] }]), { code: 'INVALID_ARGUMENT' });
  });

  t.test('a write is all or nothing', async (t) => {
    const { store } = await make();
    const r1 = await store.write([create('doc:a#viewer@user:tom')]);
    await t.rejects(store.write([create('doc:b#viewer@user:ann'), create('doc:a#viewer@user:tom')]), { code: 'ALREADY_EXISTS', message: /doc:a#viewer@user:tom/ });
    await t.rejects(store.write([touch('doc:c#viewer@user:ann'), del('doc:c#viewer@user:ann')]), { code: 'INVALID_ARGUMENT', field: 'updates[1]' });
    const tooMany = Array.from({ length: 1001 }, (_, i) => touch(`doc:x${i}#viewer@user:u`));
    await t.rejects(store.write(tooMany), { code: 'INVALID_ARGUMENT', message: /more than the limit of 1000/ });
    t.same(texts(await store.snapshot(await store.headRevision()).query({ resourceType: 'doc' })), ['doc:a#viewer@user:tom'], 'nothing of the failed writes');
    t.ok(r1);
  });

  t.test('preconditions are checked in the transaction', async (t) => {
    const { store } = await make();
    await store.write([touch('doc:a#owner@user:tom')]);
    const mustOwn = { operation: 'must_match' as const, filter: { resourceType: 'doc', resourceIds: ['a'], relation: 'owner', subjectType: 'user', subjectIds: ['tom'] } };
    const mustNotBan = { operation: 'must_not_match' as const, filter: { resourceType: 'doc', resourceIds: ['a'], relation: 'banned' } };
    const ok = await store.write([touch('doc:a#viewer@user:ann')], { preconditions: [mustOwn, mustNotBan] });
    t.ok(ok);
    await store.write([touch('doc:a#banned@user:bob')]);
    await t.rejects(store.write([touch('doc:a#viewer@user:cat')], { preconditions: [mustOwn, mustNotBan] }), {
      code: 'FAILED_PRECONDITION',
      field: 'preconditions[1]',
    });
    await t.rejects(store.write([touch('doc:a#viewer@user:cat')], { preconditions: [{ ...mustOwn, filter: { ...mustOwn.filter, subjectIds: ['zed'] } }] }), {
      code: 'FAILED_PRECONDITION',
      field: 'preconditions[0]',
    });
    const all = texts(await store.snapshot(await store.headRevision()).query({ resourceType: 'doc' }));
    t.notOk(all.includes('doc:a#viewer@user:cat'));
  });

  t.test('touch replaces caveat and expiration; create over an expired one succeeds', async (t) => {
    const { store, setNow } = await make();
    await store.write([touch('doc:a#viewer@user:tom[cav:{"x":1}]')]);
    const rev = await store.write([touch('doc:a#viewer@user:tom[cav:{"x":2}][expiration:2300-01-01T00:00:00Z]')]);
    t.same(texts(await store.snapshot(rev).query({ resourceType: 'doc' })), ['doc:a#viewer@user:tom[cav:{"x":2}][expiration:2300-01-01T00:00:00Z]']);
    setNow(new Date('2030-01-01T00:00:00Z'));
    try {
      await store.write([touch('doc:b#viewer@user:tom[expiration:2029-01-01T00:00:00Z]')]);
      const r = await store.write([create('doc:b#viewer@user:tom')]);
      t.same(texts(await store.snapshot(r).query({ resourceType: 'doc', resourceIds: ['b'], relation: 'viewer' })), ['doc:b#viewer@user:tom']);
    } finally {
      setNow(null);
    }
  });

  t.test('expired relationships are as if absent, by the store clock', async (t) => {
    const { store, setNow } = await make();
    setNow(new Date('2030-01-01T00:00:00Z'));
    try {
      const rev = await store.write([touch('doc:a#viewer@user:tom[expiration:2030-06-01T00:00:00Z]'), touch('doc:a#viewer@user:ann')]);
      const q = { resourceType: 'doc', resourceIds: ['a'], relation: 'viewer' };
      t.same(texts(await store.snapshot(rev).query(q)).length, 2);
      t.same(await store.snapshot(rev).queryExpired!(q), [], 'nothing has expired yet');
      setNow(new Date('2030-06-01T00:00:00Z'));
      t.same(texts(await store.snapshot(rev).query(q)), ['doc:a#viewer@user:ann']);
      // What an explanation shows as expired: the snapshot's relationships past their expiration.
      t.same(texts(await store.snapshot(rev).queryExpired!(q)), ['doc:a#viewer@user:tom[expiration:2030-06-01T00:00:00Z]']);
      t.same(texts(await store.snapshot(rev).queryExpired!({ ...q, subjectType: 'user', subjectIds: ['ann'] })), [], 'filtered like any read');
    } finally {
      setNow(null);
    }
  });

  t.test('delete by filter, with a limit and partial deletes', async (t) => {
    const { store } = await make();
    await store.write(Array.from({ length: 7 }, (_, i) => touch(`doc:a#viewer@user:u${i}`)).concat([touch('doc:a#owner@user:u0')]));
    const f = { resourceType: 'doc', resourceIds: ['a'], relation: 'viewer' };
    await t.rejects(store.deleteByFilter(f, { limit: 5 }), { code: 'FAILED_PRECONDITION', field: 'limit' });
    const r1 = await store.deleteByFilter(f, { limit: 5, allowPartial: true });
    t.match(r1, { deleted: 5, more: true });
    const r2 = await store.deleteByFilter(f, { limit: 5, allowPartial: true });
    t.match(r2, { deleted: 2, more: false });
    t.same(texts(await store.snapshot(r2.revision).query({ resourceType: 'doc' })), ['doc:a#owner@user:u0']);
    const r3 = await store.deleteByFilter({ resourceType: 'doc' });
    t.match(r3, { deleted: 1, more: false });
  });

  t.test('a resource id prefix narrows reads and deletes', async (t) => {
    const { store } = await make();
    const rev = await store.write([touch('doc:team-a/1#viewer@user:ann'), touch('doc:team-a/2#viewer@user:ann'), touch('doc:team-b/1#viewer@user:ann'), touch('doc:team#viewer@user:ann')]);
    const f = { resourceType: 'doc', resourceIdPrefix: 'team-a/' };
    t.same(texts(await store.snapshot(rev).query(f)), ['doc:team-a/1#viewer@user:ann', 'doc:team-a/2#viewer@user:ann']);
    t.same((await store.readPage(rev, f, { limit: 10 })).relationships.map((r) => r.resource.id), ['team-a/1', 'team-a/2']);
    t.match(await store.deleteByFilter({ resourceType: 'doc', resourceIdPrefix: 'team-' }), { deleted: 3 });
    await t.rejects(store.snapshot(rev).query({ resourceType: 'doc', resourceIdPrefix: '' }), { code: 'INVALID_ARGUMENT' });
    await t.rejects(store.snapshot(rev).query({ resourceType: 'doc', resourceIdPrefix: 'a', resourceIds: ['a'] }), { code: 'INVALID_ARGUMENT' });
  });

  t.test('delete by filter with preconditions: one that fails deletes nothing', async (t) => {
    const { store } = await make();
    const w = await store.write([touch('doc:a#viewer@user:ann'), touch('doc:a#viewer@user:bob'), touch('doc:lock#owner@user:ann')]);
    const f = { resourceType: 'doc', resourceIds: ['a'], relation: 'viewer' };
    await t.rejects(store.deleteByFilter(f, { preconditions: [{ operation: 'must_match', filter: { resourceType: 'doc', resourceIds: ['nope'] } }] }), {
      code: 'FAILED_PRECONDITION',
      field: 'preconditions[0]',
    });
    await t.rejects(store.deleteByFilter(f, { preconditions: [{ operation: 'must_not_match', filter: { resourceType: 'doc', resourceIds: ['lock'] } }] }), { code: 'FAILED_PRECONDITION' });
    t.equal(await store.headRevision(), w, 'nothing was deleted, no revision made');
    const r = await store.deleteByFilter(f, { preconditions: [{ operation: 'must_match', filter: { resourceType: 'doc', resourceIds: ['lock'] } }] });
    t.match(r, { deleted: 2, more: false });
    t.same(texts(await store.snapshot(r.revision).query({ resourceType: 'doc' })), ['doc:lock#owner@user:ann']);
  });

  t.test('reads page by cursor, resuming exactly where a page ended', async (t) => {
    const { store } = await make();
    const rels = Array.from({ length: 2500 }, (_, i) => rel(`doc:d${String(i).padStart(4, '0')}#viewer@user:u${i % 7}`));
    const { revision, count } = await store.importRelationships(rels);
    t.equal(count, 2500);
    await store.write([touch('doc:later#viewer@user:x')]);
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await store.readPage(revision, { resourceType: 'doc' }, { limit: 400, cursor });
      seen.push(...page.relationships.map(formatRelationship));
      cursor = page.cursor;
      pages++;
    } while (cursor);
    t.equal(pages, 7);
    t.equal(seen.length, 2500, 'no loss');
    t.equal(new Set(seen).size, 2500, 'no duplicates');
    t.same(seen, [...seen].sort(), 'in key order');
    t.notOk(seen.includes('doc:later#viewer@user:x'), 'the cursor reads one snapshot');
    const first = await store.readPage(revision, { resourceType: 'doc' }, { limit: 10 });
    await t.rejects(store.readPage(await store.headRevision(), { resourceType: 'doc' }, { limit: 10, cursor: first.cursor }), { code: 'INVALID_ARGUMENT', field: 'cursor' });
    await t.rejects(store.readPage(revision, { resourceType: 'doc' }, { limit: 10, cursor: 'garbage' }), { code: 'INVALID_ARGUMENT', field: 'cursor' });
    await t.rejects(store.importRelationships([rel('doc:d0001#viewer@user:u1')]), { code: 'ALREADY_EXISTS' });
    // An export interrupted after two pages resumes from its last cursor without loss or repeats.
    const exported: string[] = [];
    let resumeAt: string | null = null;
    for await (const page of exportRelationships(store, revision, { resourceType: 'doc' }, { pageSize: 300 })) {
      exported.push(...page.relationships.map(formatRelationship));
      resumeAt = page.cursor;
      if (exported.length >= 600) break;
    }
    for await (const page of exportRelationships(store, revision, { resourceType: 'doc' }, { pageSize: 300, cursor: resumeAt })) {
      exported.push(...page.relationships.map(formatRelationship));
    }
    t.same(exported, seen, 'export = the whole snapshot, once, in order');
  });

  t.test('an import keeps every value exactly: caveat context with tabs, newlines and backslashes, expiration, unicode', async (t) => {
    const { store } = await make();
    const awkward: Relationship = {
      resource: { type: 'doc', id: 'ünï-cødé' },
      relation: 'viewer',
      subject: { type: 'user', id: 'tab', relation: '...' },
      caveat: { name: 'c', context: { s: 'a\tb\nc\\d\re\\N', n: 1.5, nested: { list: ['\\t', null] } } },
      expiresAt: new Date('2300-01-02T03:04:05.678Z'),
    };
    const plain = rel('doc:p#viewer@group:eng#member');
    const { revision } = await store.importRelationships([awkward, plain]);
    const got = await store.snapshot(revision).query({ resourceType: 'doc' });
    const back = got.find((r) => r.resource.id === 'ünï-cødé');
    t.same(back, awkward, 'the awkward one, exactly');
    t.same(got.find((r) => r.resource.id === 'p'), plain);
  });

  t.test('the changelog lists committed changes in order, with metadata', async (t) => {
    const { store } = await make();
    const start = await store.headRevision();
    const r1 = await store.write([touch('doc:a#viewer@user:tom'), touch('doc:a#viewer@user:ann')], { metadata: { by: 'alice' } });
    const r2 = await store.write([del('doc:a#viewer@user:tom'), touch('doc:a#viewer@user:ann[cav:{"x":1}]')]);
    const r3 = await store.writeSchema('definition user {}');
    const changes = await store.changes(start);
    t.same(changes.map((c) => c.revision), [r1, r2, r3]);
    t.same(changes[0]!.metadata, { by: 'alice' });
    t.same(changes[0]!.changes.map((c) => `${c.operation} ${formatRelationship(c.relationship)}`).sort(), ['touch doc:a#viewer@user:ann', 'touch doc:a#viewer@user:tom']);
    t.same(changes[1]!.changes.map((c) => `${c.operation} ${formatRelationship(c.relationship)}`).sort(), [
      'delete doc:a#viewer@user:tom',
      'touch doc:a#viewer@user:ann[cav:{"x":1}]',
    ]);
    t.equal(changes[2]!.schemaChanged, true);
    t.same((await store.changes(r1, { limit: 1 })).map((c) => c.revision), [r2]);
  });

  t.test('schemas are versioned with revisions', async (t) => {
    const { store } = await make();
    const r0 = await store.headRevision();
    const r1 = await store.writeSchema('definition user {}');
    const r2 = await store.writeSchema('definition person {}');
    t.equal(await store.readSchema(r0), null);
    t.same(await store.readSchema(r1), { text: 'definition user {}', revision: r1 });
    t.same(await store.readSchema(r2), { text: 'definition person {}', revision: r2 });
    await store.write([touch('doc:a#viewer@user:tom')]);
    t.same(await store.readSchema(await store.headRevision()), { text: 'definition person {}', revision: r2 }, 'the version is the revision it was written at');
  });

  t.test('tenants do not see each other', async (t) => {
    const { datastore, store } = await make();
    const other = await tenantStore(datastore, `other_${Math.random().toString(36).slice(2)}`);
    const rev = await store.write([touch('doc:a#viewer@user:tom')]);
    await other.write([touch('doc:b#viewer@user:ann')]);
    const head = await other.headRevision();
    t.same(texts(await store.snapshot(await store.headRevision()).query({ resourceType: 'doc' })), ['doc:a#viewer@user:tom']);
    t.same(texts(await other.snapshot(head).query({ resourceType: 'doc' })), ['doc:b#viewer@user:ann']);
    t.same((await other.changes(rev)).flatMap((c) => c.changes.map((x) => formatRelationship(x.relationship))), ['doc:b#viewer@user:ann']);
  });

  t.test('a deleted tenant takes no more writes; made again under its name, it starts empty; the head never goes back', async (t) => {
    const { datastore, store } = await make();
    const name = `gone_${Math.random().toString(36).slice(2)}`;
    const doomed = await tenantStore(datastore, name);
    await doomed.writeSchema('definition user {}');
    await store.write([touch('doc:a#viewer@user:tom')]);
    const last = await doomed.write([touch('doc:b#viewer@user:ann')]);
    t.ok(compareRevisions(await store.headRevision(), last) >= 0, "another tenant's head includes the doomed tenant's last write");
    await datastore.access.deleteTenant(name);
    // A store held from before the deletion (a cached key's, say) cannot write into the void.
    await t.rejects(doomed.write([touch('doc:c#viewer@user:eve')]), { code: 'NOT_FOUND', message: /does not exist/ });
    await t.rejects(doomed.writeSchema('definition user {}'), { code: 'NOT_FOUND' });
    await t.rejects(doomed.importRelationships([rel('doc:d#viewer@user:eve')]), { code: 'NOT_FOUND' });
    await t.rejects(doomed.deleteByFilter({ resourceType: 'doc' }), { code: 'NOT_FOUND' });
    const head = await store.headRevision();
    t.ok(compareRevisions(head, last) >= 0, 'the head did not go back when the tenant was deleted');
    await t.resolves(store.checkRevision(last), "other tenants' zookies stay readable");
    const again = await tenantStore(datastore, name);
    const now = await again.headRevision();
    t.same(texts(await again.snapshot(now).query({ resourceType: 'doc' })), [], 'the new tenant of that name starts empty');
    t.equal(await again.readSchema(now), null, 'with no schema');
    t.same(await again.changes(revisionOf(0)).catch(() => []), [], 'and no history');
  });

  t.test('writes validate against the schema in force at commit, inside the write serialization', async (t) => {
    const { store } = await make();
    await t.rejects(store.write([touch('doc:a#viewer@user:tom')], { guard: (s) => {
      if (!s) throw new WardenError('FAILED_PRECONDITION', 'no schema seen');
    } }), { message: 'no schema seen' }, 'the guard sees the (missing) schema');
    const r1 = await store.writeSchema('definition one {}');
    let seen: unknown = null;
    await store.write([touch('doc:a#viewer@user:tom')], { guard: (s) => void (seen = s) });
    t.same(seen, { text: 'definition one {}', revision: r1 });
    await t.rejects(store.importRelationships([rel('doc:b#viewer@user:tom')], { guard: () => { throw new WardenError('FAILED_PRECONDITION', 'refused'); } }), { message: 'refused' });
    t.same(texts(await store.snapshot(await store.headRevision()).query({ resourceType: 'doc' })), ['doc:a#viewer@user:tom'], 'a refused import wrote nothing');
    // A schema change's guard reads the live relationships, page by page.
    const pages: string[][] = [];
    await store.write([touch('doc:b#viewer@user:ann'), touch('doc:c#viewer@user:bob')]);
    await store.writeSchema('definition two {}', {
      guard: async (current, live) => {
        t.same(current, { text: 'definition one {}', revision: r1 });
        let cursor: string | null = null;
        do {
          const page = await live({ resourceType: 'doc' }, { limit: 2, cursor });
          pages.push(texts(page.relationships));
          cursor = page.cursor;
        } while (cursor);
      },
    });
    t.same(pages.flat(), ['doc:a#viewer@user:tom', 'doc:b#viewer@user:ann', 'doc:c#viewer@user:bob']);
    await t.rejects(store.writeSchema('definition three {}', { guard: async () => { throw new WardenError('FAILED_PRECONDITION', 'orphans'); } }), { message: 'orphans' });
    t.equal((await store.readSchema(await store.headRevision()))?.text, 'definition two {}', 'a refused schema was not written');
  });

  t.test('a revision from the future or elsewhere is refused', async (t) => {
    const { store } = await make();
    await t.rejects(store.checkRevision('999999999' as Revision), { code: 'INVALID_ARGUMENT' });
    t.throws(() => store.snapshot('not-a-revision' as Revision), { code: 'INVALID_ARGUMENT' });
  });

  t.test('revisionAt finds the newest revision committed by a time', async (t) => {
    const { store } = await make();
    const r1 = await store.write([touch('doc:a#viewer@user:tom')]);
    await new Promise((r) => setTimeout(r, 20));
    const between = new Date();
    await new Promise((r) => setTimeout(r, 20));
    await store.write([touch('doc:b#viewer@user:tom')]);
    t.ok(compareRevisions(await store.revisionAt(between), r1) >= 0);
    t.ok(compareRevisions(await store.revisionAt(between), await store.headRevision()) < 0);
  });

  t.test('concurrent writers and readers: no reader at zookie Z misses a write acknowledged with Z', async (t) => {
    const { store } = await make();
    const acks: { revision: Revision; id: string }[] = [];
    const misses: string[] = [];
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; i < 15; i++) {
        const id = `w${w}_${i}`;
        const revision = await store.write([touch(`doc:${id}#viewer@user:u`)]);
        acks.push({ revision, id });
        const seen = await store.snapshot(revision).query({ resourceType: 'doc', resourceIds: [id], relation: 'viewer' });
        if (!seen.length) misses.push(`${id}@${revision}`);
      }
    };
    const reader = async (): Promise<void> => {
      for (let i = 0; i < 15; i++) {
        const head = await store.headRevision();
        const known = acks.filter((a) => compareRevisions(a.revision, head) <= 0);
        const rows = await store.snapshot(head).query({ resourceType: 'doc' });
        const ids = new Set(rows.map((r) => r.resource.id));
        for (const a of known) if (!ids.has(a.id)) misses.push(`reader at ${head} missed ${a.id}@${a.revision}`);
      }
    };
    await Promise.all([...Array.from({ length: 8 }, (_, w) => writer(w)), reader(), reader()]);
    t.same(misses, []);
    t.equal(new Set(acks.map((a) => a.revision)).size, acks.length, 'every write has its own revision');
    // Every acknowledged write is in every later snapshot.
    const sorted = [...acks].sort((a, b) => compareRevisions(a.revision, b.revision));
    const last = await store.snapshot(sorted[sorted.length - 1]!.revision).query({ resourceType: 'doc' });
    t.equal(last.length, acks.length);
  });

  t.test('garbage collection drops history, keeps the present', async (t) => {
    const { datastore, store } = await make();
    const r1 = await store.write([touch('doc:a#viewer@user:tom'), touch('doc:a#viewer@user:ann')]);
    await store.write([del('doc:a#viewer@user:tom')]);
    const r3 = await store.write([touch('doc:b#viewer@user:cat')]);
    await new Promise((r) => setTimeout(r, 10));
    const result = await datastore.gc({ windowMs: 0, batchSize: 1 });
    t.ok(result.removed >= 1, `${result.removed} rows removed`);
    t.ok(compareRevisions(result.watermark, r3) >= 0);
    await t.rejects(store.checkRevision(r1), { code: 'FAILED_PRECONDITION', message: /garbage-collected/ });
    const now = await store.headRevision();
    await store.checkRevision(now);
    t.same(texts(await store.snapshot(now).query({ resourceType: 'doc' })), ['doc:a#viewer@user:ann', 'doc:b#viewer@user:cat']);
    const again = await datastore.gc({ windowMs: 0 });
    t.equal(again.removed, 0, 'running it again (or on another server) is harmless');
  });
}
