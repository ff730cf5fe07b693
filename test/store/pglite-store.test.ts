import t from 'tap';
import { PostgresDatastore } from '../../src/store/postgres/postgres-datastore.js';
import { storeConformance } from './store-conformance.js';
import { tenantStore } from '../helpers/tenant-store.js';

let now: Date | null = null;
const datastore = await PostgresDatastore.pglite('memory://', { clock: () => now ?? new Date() });
await datastore.migrate();
t.teardown(() => datastore.close());
storeConformance(t, async () => ({
  datastore,
  store: await tenantStore(datastore, `tenant_${Math.random().toString(36).slice(2)}`),
  setNow: (d) => void (now = d),
}));
