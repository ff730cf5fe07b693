import type { AuditLog } from './audit.js';
import type { SigningKeyStore } from './signing-keys.js';
import type { AccessStore } from './access.js';
import type { Revision, Store } from './store.js';

/** What garbage collection removed, and the oldest revision still readable exactly. */
export interface GcResult {
  readonly removed: number;
  readonly watermark: Revision;
}

/**
 * A datastore: the database behind every tenant's Store. It owns connections, the schema
 * migrations, its identity (which zookies carry) and garbage collection.
 */
export interface Datastore {
  /** A stable, unique identity, so a zookie from another datastore is recognised and refused. */
  readonly id: string;
  /** The store of one tenant. Cheap: share the datastore's connections. */
  store(tenant: string): Store;
  /** Tenants and API keys. */
  readonly access: AccessStore;
  /** The audit history of every tenant's writes and of key and tenant changes. */
  readonly audit: AuditLog;
  /** The keys that sign edge tokens, shared by every server on the datastore. */
  readonly signingKeys: SigningKeyStore;
  /** Applies pending migrations. */
  migrate(): Promise<void>;
  /** Throws FAILED_PRECONDITION unless the database is migrated to exactly this version of Warden. */
  assertMigrated(): Promise<void>;
  /**
   * Removes versions deleted, and relationships expired, before the newest revision older than
   * `windowMs`, in batches of `batchSize`. Safe to run from several servers at once.
   */
  gc(options: { windowMs: number; batchSize?: number }): Promise<GcResult>;
  /**
   * Starts loading, in the background, what the datastore serves reads from memory (the embedded
   * store's index of each tenant), so the first requests after a start do not go to SQL while it
   * loads. Absent where nothing is held in memory.
   */
  warm?(): void;
  /** Connections of the datastore's pools (absent where there is no pool: memory, PGlite). */
  poolStats?(): readonly { readonly pool: string; readonly total: number; readonly idle: number; readonly waiting: number }[];
  close(): Promise<void>;
}

/** The tenant used until tenants arrive with the API. */
export const DEFAULT_TENANT = 'default';

/** The default garbage-collection window: 24 hours. */
export const DEFAULT_GC_WINDOW_MS = 24 * 60 * 60 * 1000;
