import t from 'tap';
import { parseRelationship } from '../../src/model/relationship-syntax.js';
import { PostgresDatastore } from '../../src/store/postgres/postgres-datastore.js';
import type { Store } from '../../src/store/store.js';
import { privatePostgres, privatePostgresUnavailable } from '../helpers/private-postgres.js';

const why = privatePostgresUnavailable();
if (why) {
  t.skip(`server restart tests need a private PostgreSQL: ${why}`);
} else {
  const server = privatePostgres();
  t.teardown(() => server.destroy());
  const ds = PostgresDatastore.postgres(server.url, { poolSize: 4 });
  t.teardown(() => ds.close());
  await ds.migrate();
  const store = ds.store('default');
  const touch = (s: string) => ({ operation: 'touch' as const, relationship: parseRelationship(s) });

  /** Retries an operation that may meet connections the restart broke; the pool replaces them. */
  async function eventually<T>(fn: () => Promise<T>): Promise<T> {
    let last: unknown;
    for (let i = 0; i < 10; i++) {
      try {
        return await fn();
      } catch (e) {
        last = e;
        if ((e as { code?: string }).code !== 'UNAVAILABLE') throw e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw last;
  }

  const count = async (s: Store): Promise<number> => (await s.snapshot(await s.headRevision()).query({ resourceType: 'doc' })).length;

  t.test('acknowledged writes survive a restart of the server', async (t) => {
    const rev = await store.write([touch('doc:a#viewer@user:tom'), touch('doc:b#viewer@user:ann')]);
    server.restart();
    const rows = await eventually(() => store.snapshot(rev).query({ resourceType: 'doc' }));
    t.equal(rows.length, 2);
  });

  t.test('with the server stopped, operations fail UNAVAILABLE and recover on their own', async (t) => {
    server.stop();
    await t.rejects(store.headRevision(), { code: 'UNAVAILABLE', message: 'the datastore is unavailable; try again shortly' });
    await t.rejects(store.write([touch('doc:c#viewer@user:cat')]), { code: 'UNAVAILABLE' });
    server.start();
    await eventually(() => store.write([touch('doc:c#viewer@user:cat')]));
    t.equal(await count(store), 3, 'the failed write left nothing, the retried one landed once');
  });
}
