import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import t from 'tap';
import { parseRelationship } from '../../src/model/relationship-syntax.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import { PostgresDatastore } from '../../src/store/postgres/postgres-datastore.js';
import { freshDatabase } from '../helpers/postgres.js';
import { NODE, nodeArgs } from '../helpers/node-process.js';

const bin = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
const touch = (s: string) => ({ operation: 'touch' as const, relationship: parseRelationship(s) });

t.test('serving needs a migrated database, and no newer one', async (t) => {
  const url = await freshDatabase(t);
  const ds = PostgresDatastore.postgres(url);
  t.teardown(() => ds.close());
  await t.rejects(ds.assertMigrated(), { code: 'FAILED_PRECONDITION', message: /not migrated .* run `warden migrate` first/ });
  const r = spawnSync(NODE, nodeArgs(bin, 'migrate', '--datastore', url), { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /^migrated postgres:\/\/.* \(datastore [0-9a-f-]{36}\)$/m);
  await ds.assertMigrated();
  t.match(ds.id, /^[0-9a-f-]{36}$/);
  const again = spawnSync(NODE, nodeArgs(bin, 'migrate'), { encoding: 'utf8', env: { ...process.env, WARDEN_DATASTORE: url } });
  t.equal(again.status, 0, 'migrating twice is harmless; WARDEN_DATASTORE is read');
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  await c.query(`insert into warden_migration (name, timestamp) values ('9999_from_the_future', now()::text)`);
  await c.end();
  await t.rejects(ds.assertMigrated(), { code: 'FAILED_PRECONDITION', message: /migrated by a newer Warden .*9999_from_the_future/ });
});

t.test('PGlite keeps acknowledged writes across a restart of the process', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warden-pglite-'));
  const first = await openDatastore(`pglite:${dir}`);
  await first.migrate();
  const id = first.id;
  const rev = await first.store('default').write([touch('doc:a#viewer@user:tom')]);
  await first.store('default').writeSchema('definition user {}');
  await first.close();
  // A fresh process opens the same directory.
  const script = `
    const { openDatastore } = await import(${JSON.stringify(new URL('../../dist/src/store/open-datastore.js', import.meta.url).href)});
    const ds = await openDatastore(${JSON.stringify(`pglite:${dir}`)});
    await ds.assertMigrated();
    const s = ds.store('default');
    const rows = await s.snapshot(${JSON.stringify(rev)}).query({ resourceType: 'doc' });
    console.log(JSON.stringify({ id: ds.id, rows: rows.length, schema: (await s.readSchema(await s.headRevision()))?.text }));
    await ds.close();`;
  const r = spawnSync(NODE, nodeArgs('--input-type=module', '-e', script), { encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.same(JSON.parse(r.stdout), { id, rows: 1, schema: 'definition user {}' });
});

t.test('snapshot reads may go to a read replica (the same server stands in)', async (t) => {
  const url = await freshDatabase(t);
  const ds = PostgresDatastore.postgres(url, { readReplicaUrl: url });
  t.teardown(() => ds.close());
  await ds.migrate();
  const s = ds.store('default');
  const rev = await s.write([touch('doc:a#viewer@user:tom')]);
  t.equal((await s.snapshot(rev).query({ resourceType: 'doc' })).length, 1);
  t.equal((await s.readPage(rev, { resourceType: 'doc' }, { limit: 10 })).relationships.length, 1);
});

t.test('a datastore spec that is not one is refused', async (t) => {
  await t.rejects(openDatastore('mysql://x'), { code: 'INVALID_ARGUMENT', field: 'datastore' });
  await t.rejects(openDatastore('pglite:'), { code: 'INVALID_ARGUMENT' });
});
