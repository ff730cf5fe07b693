import pg from 'pg';
import t from 'tap';
import { parseRelationship } from '../../src/model/relationship-syntax.js';
import { PostgresDatastore } from '../../src/store/postgres/postgres-datastore.js';
import { freshDatabase } from '../helpers/postgres.js';
import { tenantStore } from '../helpers/tenant-store.js';

const touch = (s: string) => ({ operation: 'touch' as const, relationship: parseRelationship(s) });

t.test('a write may hold the writer lock only so long: past it, it is rolled back whole', async (t) => {
  const ds = await PostgresDatastore.pglite('memory://', { locks: { maxLockMs: 1 } });
  await ds.migrate();
  t.teardown(() => ds.close());
  const store = await tenantStore(ds, 'big');
  const updates = Array.from({ length: 1000 }, (_, i) => touch(`doc:d${i}#viewer@user:u${i}`));
  await t.rejects(store.write(updates), { code: 'UNAVAILABLE', message: /writer lock|time limit/ });
  t.same(await store.snapshot(await store.headRevision()).query({ resourceType: 'doc' }), [], 'nothing of it was written');
});

t.test('a write waits for the writer lock only so long', async (t) => {
  const url = await freshDatabase(t);
  const ds = PostgresDatastore.postgres(url, { locks: { lockWaitMs: 200 } });
  t.teardown(() => ds.close());
  await ds.migrate();
  const store = await tenantStore(ds, 'waiting');
  // Another session holds the writer lock (as a stuck writer would).
  const holder = new pg.Client({ connectionString: url });
  await holder.connect();
  t.teardown(() => holder.end());
  await holder.query('begin');
  await holder.query('select pg_advisory_xact_lock($1)', [0x77617264]);
  const started = Date.now();
  await t.rejects(store.write([touch('doc:a#viewer@user:ann')]), { code: 'UNAVAILABLE', message: /held the writer lock for more than 200 ms/ });
  t.ok(Date.now() - started < 5000, 'it gave up instead of waiting on');
  await holder.query('rollback');
  await t.resolves(store.write([touch('doc:a#viewer@user:ann')]), 'and writes go through once the lock is free');
});
