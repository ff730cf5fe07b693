import type { ColumnType, Generated } from 'kysely';

/** Datastore-wide facts: its identity (`datastore_id`) and the GC watermark (`gc_watermark`). */
export interface MetadataTable {
  key: string;
  value: string;
}

/** One row per committed transaction; its id is the revision. */
export interface TransactionsTable {
  id: Generated<string>;
  tenant: string;
  created_at: ColumnType<Date, never, never>;
  metadata: ColumnType<unknown, string | null, never> | null;
  schema_changed: ColumnType<boolean, boolean | undefined, never>;
}

/** Every version of every relationship: live from created_rev until deleted_rev (null: still live). */
export interface RelationshipsTable {
  tenant: string;
  resource_type: string;
  resource_id: string;
  relation: string;
  subject_type: string;
  subject_id: string;
  subject_relation: string;
  caveat_name: string | null;
  caveat_context: ColumnType<unknown, string | null, never> | null;
  expires_at: Date | null;
  created_rev: ColumnType<string, string, never>;
  deleted_rev: string | null;
}

/** Every schema version of every tenant. */
export interface SchemasTable {
  tenant: string;
  revision: string;
  text: string;
}

/** Tenants. */
export interface TenantsTable {
  name: string;
  created_at: ColumnType<Date, never, never>;
}

/** API keys: only the hash of each secret. */
export interface ApiKeysTable {
  id: string;
  tenant: string;
  scopes: string;
  description: string;
  hash: string;
  created_at: ColumnType<Date, Date | undefined, never>;
  revoked_at: Date | null;
}

/** The database as kysely sees it. */
export interface Database {
  warden_tenants: TenantsTable;
  warden_api_keys: ApiKeysTable;
  warden_metadata: MetadataTable;
  warden_transactions: TransactionsTable;
  warden_relationships: RelationshipsTable;
  warden_schemas: SchemasTable;
}
