import type { Datastore } from '../../src/store/datastore.js';
import type { Store } from '../../src/store/store.js';

/** A new tenant's store: the tenant is created first, as writes need a tenant that exists. */
export async function tenantStore(datastore: Datastore, tenant: string): Promise<Store> {
  await datastore.access.createTenant(tenant);
  return datastore.store(tenant);
}
