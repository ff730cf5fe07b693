import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { PostgresDatastore } from '../../src/store/postgres/postgres-datastore.js';
import { conformanceDir } from '../helpers/conformance-dir.js';
import { MIN_FILES, reportFolder, runFolder } from './run-files.js';
import { tenantStore } from '../helpers/tenant-store.js';

// Every conformance file, and our own cases, on PGlite, the embedded default: one tenant a document.
// Assertions and expected subjects only: the cross-API agreement is a property of the engine,
// held on the memory and PostgreSQL stores; over PGlite's WASM it would take minutes.
const ds = await PostgresDatastore.pglite('memory://');
await ds.migrate();
t.teardown(() => ds.close());
let n = 0;
const store = () => tenantStore(ds, `doc_${n++}`);

t.test('the shared conformance files pass on PGlite', async (t) => {
  const dir = conformanceDir();
  if (!existsSync(dir)) {
    if (process.env['WARDEN_REQUIRE_CONFORMANCE']) t.fail(`${dir} is missing`);
    else t.skip(`${dir} is absent: skipped`);
    return;
  }
  reportFolder(t, await runFolder(dir, { store, crossCheck: false }), MIN_FILES.shared);
});

t.test('our own cases pass on PGlite', async (t) => {
  reportFolder(t, await runFolder(fileURLToPath(new URL('./cases', import.meta.url)), { store, crossCheck: false }), MIN_FILES.own);
});
