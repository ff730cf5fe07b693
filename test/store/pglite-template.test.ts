import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { parseRelationship } from '../../src/model/relationship-syntax.js';
import { PostgresDatastore } from '../../src/store/postgres/postgres-datastore.js';
import { pgliteTemplate } from '../../src/store/postgres/pglite-template.js';

// A new embedded database starts from the template the build made (an initialised data directory)
// instead of running initdb in WASM; an existing one is opened as it is.

const root = mkdtempSync(join(tmpdir(), 'warden-template-'));

/** PostgreSQL's identifier of the database cluster in a (closed) directory, set once by initdb. */
async function clusterId(dir: string): Promise<string> {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite(dir);
  try {
    const r = await db.query<{ id: string }>('select system_identifier::text as id from pg_control_system()');
    return r.rows[0]!.id;
  } finally {
    await db.close();
  }
}

t.test('the build made a template for the installed PGlite', async (t) => {
  t.ok(pgliteTemplate(), 'npm run build writes it (dist/pglite-template-<version>.tar.gz)');
});

t.test('new databases start from the template; each is still a datastore of its own', async (t) => {
  const a = await PostgresDatastore.pglite(join(root, 'a'));
  const b = await PostgresDatastore.pglite(join(root, 'b'));
  const m = await PostgresDatastore.pglite('memory://');
  t.teardown(() => m.close());
  for (const ds of [a, b, m]) await ds.migrate();
  t.equal(new Set([a.id, b.id, m.id]).size, 3, 'each has its own datastore id (made by the migration), so no zookie passes between them');
  await a.close();
  await b.close();
  const [ia, ib] = [await clusterId(join(root, 'a')), await clusterId(join(root, 'b'))];
  t.equal(ia, ib, `one initdb behind both directories (cluster ${ia}): they came from the template`);
});

t.test('an existing database is opened as it is, never replaced by the template', async (t) => {
  const dir = join(root, 'kept');
  const first = await PostgresDatastore.pglite(dir);
  await first.migrate();
  await first.access.createTenant('t');
  await first.store('t').write([{ operation: 'touch', relationship: parseRelationship('doc:a#viewer@user:ann') }]);
  const id = first.id;
  await first.close();
  const again = await PostgresDatastore.pglite(dir);
  t.teardown(() => again.close());
  await again.assertMigrated();
  t.equal(again.id, id);
  const s = again.store('t');
  t.equal((await s.snapshot(await s.headRevision()).query({ resourceType: 'doc' })).length, 1, 'its relationships are there');
});
