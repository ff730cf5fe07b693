import t from 'tap';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { storeConformance } from './store-conformance.js';

storeConformance(t, async () => {
  let now = new Date();
  return { store: new MemoryStore({ clock: () => now }), setNow: (d) => void (now = d) };
});
