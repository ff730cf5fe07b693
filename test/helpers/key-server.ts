import type { Test } from 'tap';
import { keyAuthenticate } from '../../src/server/auth.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import type { Datastore } from '../../src/store/datastore.js';
import { MemoryDatastore } from '../../src/store/memory/memory-datastore.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import { freshDatabase } from './postgres.js';

/** The datastores end-to-end tests of keyed features run on: memory, and a fresh PostgreSQL database. */
export const KEYED_DATASTORES: readonly (readonly [string, (t: Test) => Promise<Datastore>])[] = [
  ['memory', async () => new MemoryDatastore()],
  ['PostgreSQL', async (t: Test) => openDatastore(await freshDatabase(t))],
];

/** A migrated datastore and a real server on port 0 authenticating by API key (no key cache), both closed when the test ends. */
export async function keyedServer(t: Test, open: (t: Test) => Promise<Datastore>): Promise<{ ds: Datastore; server: RunningServer; address: string }> {
  const ds = await open(t);
  await ds.migrate();
  const server = await startServer({ datastore: ds, authenticate: keyAuthenticate(ds.access, { cacheMs: 0 }), log: () => {} }, '127.0.0.1:0');
  t.teardown(async () => {
    await server.shutdown(500);
    await ds.close();
  });
  return { ds, server, address: `127.0.0.1:${server.port}` };
}
