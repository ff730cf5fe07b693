import { status } from '@grpc/grpc-js';
import t from 'tap';
import { insecureAuthenticate, startServer } from '../../src/server/server.js';
import { PostgresDatastore } from '../../src/store/postgres/postgres-datastore.js';
import { apiClient, obj, subj } from '../helpers/api-client.js';
import { privatePostgres, privatePostgresUnavailable } from '../helpers/private-postgres.js';

const why = privatePostgresUnavailable();
if (why) {
  t.skip(`needs a private PostgreSQL: ${why}`);
} else {
  t.test('with PostgreSQL down, calls fail UNAVAILABLE without internals, and recover when it returns', async (t) => {
    const pg = privatePostgres();
    t.teardown(() => pg.destroy());
    const ds = PostgresDatastore.postgres(pg.url, { poolSize: 2 });
    await ds.migrate();
    const errors: unknown[] = [];
    const server = await startServer({ datastore: ds, authenticate: insecureAuthenticate(), quantizationMs: 0, log: (e) => errors.push(e) }, '127.0.0.1:0');
    const api = apiClient(`127.0.0.1:${server.port}`);
    t.teardown(async () => {
      api.close();
      await server.shutdown(500);
      await ds.close();
    });
    await api.schema.WriteSchema({ schema: 'definition user {}\ndefinition doc { relation viewer: user }' });
    const check = () => api.permission.Check({ resource: obj('doc:a'), permission: 'viewer', subject: subj('user:x') });
    t.equal((await check()).permissionship, 'PERMISSIONSHIP_NO_PERMISSION');
    pg.stop();
    const e: any = await check().catch((x) => x);
    t.equal(e?.code, status.UNAVAILABLE);
    t.equal(e?.details, 'the datastore is unavailable; try again shortly', 'no driver text or SQL');
    pg.start();
    let ok = false;
    for (let i = 0; i < 20 && !ok; i++) {
      ok = await check().then(() => true, () => false);
      if (!ok) await new Promise((r) => setTimeout(r, 200));
    }
    t.ok(ok, 'calls succeed again once the server is back');
    t.same(errors, [], 'nothing logged as internal');
  });
}
