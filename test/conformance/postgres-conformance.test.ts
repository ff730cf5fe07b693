import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { PostgresDatastore } from '../../src/store/postgres/postgres-datastore.js';
import { conformanceDir } from '../helpers/conformance-dir.js';
import { freshDatabase } from '../helpers/postgres.js';
import { MIN_FILES, reportFolder, runFolder } from './run-files.js';
import { tenantStore } from '../helpers/tenant-store.js';

// Every conformance file, and our own cases, on the real PostgreSQL server: one tenant a document.
const url = await freshDatabase(t);
const ds = PostgresDatastore.postgres(url);
await ds.migrate();
t.teardown(() => ds.close());
let n = 0;
const store = () => tenantStore(ds, `doc_${n++}`);

t.test('the shared conformance files pass on PostgreSQL', async (t) => {
  const dir = conformanceDir();
  if (!existsSync(dir)) {
    if (process.env['WARDEN_REQUIRE_CONFORMANCE']) t.fail(`${dir} is missing`);
    else t.skip(`${dir} is absent: skipped`);
    return;
  }
  reportFolder(t, await runFolder(dir, { store }), MIN_FILES.shared);
});

t.test('our own cases pass on PostgreSQL', async (t) => {
  // fan-out.yaml's cross-check is some 40,000 Checks: it runs on the memory store (own-cases);
  // here its assertions and expected subjects do.
  reportFolder(t, await runFolder(fileURLToPath(new URL('./cases', import.meta.url)), { store, crossCheckExcept: ['fan-out.yaml'] }), MIN_FILES.own);
});
