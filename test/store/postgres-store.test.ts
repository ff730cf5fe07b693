import t from 'tap';
import { PostgresDatastore } from '../../src/store/postgres/postgres-datastore.js';
import { freshDatabase } from '../helpers/postgres.js';
import { storeConformance } from './store-conformance.js';
import { tenantStore } from '../helpers/tenant-store.js';
import { parseRelationship } from '../../src/model/relationship-syntax.js';

let now: Date | null = null;
const url = await freshDatabase(t);
const datastore = PostgresDatastore.postgres(url, { clock: () => now ?? new Date() });
await datastore.migrate();
t.teardown(() => datastore.close());
storeConformance(t, async () => ({
  datastore,
  store: await tenantStore(datastore, `tenant_${Math.random().toString(36).slice(2)}`),
  setNow: (d) => void (now = d),
}));

t.test('a bulk import refreshes the planner statistics, so reads use the indexes at once', async (t) => {
  const store = await tenantStore(datastore, 'bulk');
  const analyzed = async (): Promise<number> => {
    const pg = (await import('pg')).default;
    const c = new pg.Client({ connectionString: url });
    await c.connect();
    const r = await c.query("select analyze_count + autoanalyze_count as n from pg_stat_user_tables where relname = 'warden_relationships'");
    await c.end();
    return Number(r.rows[0]?.n ?? 0);
  };
  const before = await analyzed();
  await store.importRelationships(Array.from({ length: 100 }, (_, i) => parseRelationship(`doc:small${i}#viewer@user:u${i}`)));
  t.equal(await analyzed(), before, 'a small import does not');
  await store.importRelationships(Array.from({ length: 12_000 }, (_, i) => parseRelationship(`doc:d${i}#viewer@user:u${i % 500}`)));
  // The statistics collector reports asynchronously: give it a moment.
  let after = before;
  for (let i = 0; i < 20 && after === before; i++) {
    await new Promise((r) => setTimeout(r, 100));
    after = await analyzed();
  }
  t.ok(after > before, 'a large one does');
});
