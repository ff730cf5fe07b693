import t from 'tap';
import { MemoryDatastore } from '../../src/store/memory/memory-datastore.js';
import { storeConformance } from './store-conformance.js';

let now: Date | null = null;
const datastore = new MemoryDatastore({ clock: () => now ?? new Date() });
storeConformance(t, async () => ({
  datastore,
  store: datastore.store(`tenant_${Math.random().toString(36).slice(2)}`),
  setNow: (d) => void (now = d),
}));
