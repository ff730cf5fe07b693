import { invalidArgument } from '../errors/error-code.js';
import type { Datastore } from './datastore.js';
import type { LockLimits } from './postgres/write-lock.js';
import { MemoryDatastore } from './memory/memory-datastore.js';

/** Options for opening a datastore. */
export interface OpenDatastoreOptions {
  readonly readReplicaUrl?: string;
  readonly maxUpdates?: number;
  /** How long a write may wait for, and hold, the writer lock (SQL datastores). */
  readonly locks?: Partial<LockLimits>;
  /** PostgreSQL connections this process may hold (default 10). */
  readonly poolSize?: number;
}

/**
 * Opens a datastore from its spec: `memory`, `pglite:DIR` (or `pglite:memory://`), or a
 * `postgres://` / `postgresql://` URL. The Postgres drivers load only when asked for.
 */
export async function openDatastore(spec: string, options: OpenDatastoreOptions = {}): Promise<Datastore> {
  if (spec === 'memory') return new MemoryDatastore(options.maxUpdates !== undefined ? { maxUpdates: options.maxUpdates } : {});
  const { PostgresDatastore } = await import('./postgres/postgres-datastore.js');
  const common = { ...(options.maxUpdates !== undefined ? { maxUpdates: options.maxUpdates } : {}), ...(options.locks ? { locks: options.locks } : {}) };
  if (spec.startsWith('pglite:')) {
    const dir = spec.slice('pglite:'.length);
    if (!dir) throw invalidArgument('datastore', '`pglite:` needs a directory, e.g. `pglite:./warden-data`');
    return PostgresDatastore.pglite(dir, common);
  }
  if (/^postgres(ql)?:\/\//.test(spec)) {
    return PostgresDatastore.postgres(spec, {
      ...common,
      ...(options.readReplicaUrl ? { readReplicaUrl: options.readReplicaUrl } : {}),
      ...(options.poolSize !== undefined ? { poolSize: options.poolSize } : {}),
    });
  }
  throw invalidArgument('datastore', `\`${spec}\` is not a datastore: use \`memory\`, \`pglite:DIR\` or a \`postgres://\` URL`);
}
