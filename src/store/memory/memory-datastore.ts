import { MemoryAuditLog } from '../audit.js';
import { MemorySigningKeys } from '../signing-keys.js';
import { randomUUID } from 'node:crypto';
import { revisionOf } from '../store.js';
import type { Datastore, GcResult } from '../datastore.js';
import { MemoryAccess } from './memory-access.js';
import { MemoryStore, type Clock, type RevisionCounter } from './memory-store.js';

/** A datastore in memory: one MemoryStore per tenant, nothing persisted. For tests and `validate`. */
export class MemoryDatastore implements Datastore {
  readonly id = randomUUID();
  readonly #stores = new Map<string, MemoryStore>();
  readonly access = new MemoryAccess((tenant) => this.#stores.delete(tenant));
  readonly audit = new MemoryAuditLog();
  readonly signingKeys = new MemorySigningKeys();
  readonly #options: { clock?: Clock; maxUpdates?: number; counter: RevisionCounter };

  constructor(options: { clock?: Clock; maxUpdates?: number } = {}) {
    this.#options = { ...options, counter: { head: 0 } };
  }

  store(tenant: string): MemoryStore {
    let s = this.#stores.get(tenant);
    if (!s) {
      // A store outlives its tenant only as a dead one: writes through it fail, and a tenant made
      // again under the same name gets a new, empty store.
      const store: MemoryStore = new MemoryStore({ ...this.#options, tenant, alive: () => this.access.exists(tenant) && this.#stores.get(tenant) === store });
      this.#stores.set(tenant, (s = store));
    }
    return s;
  }

  async migrate(): Promise<void> {}

  async assertMigrated(): Promise<void> {}

  async gc(options: { windowMs: number }): Promise<GcResult> {
    let removed = 0;
    let watermark = 0n;
    for (const s of this.#stores.values()) {
      const r = await s.gc(options);
      removed += r.removed;
      if (BigInt(r.watermark) > watermark) watermark = BigInt(r.watermark);
    }
    return { removed, watermark: revisionOf(watermark) };
  }

  async close(): Promise<void> {}
}
