import t from 'tap';
import { MemoryDatastore } from '../../src/store/memory/memory-datastore.js';
import { storeConformance } from './store-conformance.js';
import { tenantStore } from '../helpers/tenant-store.js';

let now: Date | null = null;
const datastore = new MemoryDatastore({ clock: () => now ?? new Date() });
storeConformance(t, async () => ({
  datastore,
  store: await tenantStore(datastore, `tenant_${Math.random().toString(36).slice(2)}`),
  setNow: (d) => void (now = d),
}));
