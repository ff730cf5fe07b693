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

/** The columns of one relationship, wherever it is kept. */
export interface RelationshipColumns {
  resource_type: string;
  resource_id: string;
  relation: string;
  subject_type: string;
  subject_id: string;
  subject_relation: string;
  caveat_name: string | null;
  caveat_context: ColumnType<unknown, string | null, never> | null;
  expires_at: Date | null;
}

/** Every version of every relationship: live from created_rev until deleted_rev (null: still live). */
export interface RelationshipsTable extends RelationshipColumns {
  tenant: string;
  created_rev: ColumnType<string, string, never>;
  deleted_rev: string | null;
}

/** Every schema version of every tenant. */
export interface SchemasTable {
  tenant: string;
  revision: string;
  text: string;
}

/** Tenants. A tenant being deleted keeps its name (not free yet) until its data is gone. */
export interface TenantsTable {
  name: string;
  created_at: ColumnType<Date, never, never>;
  deleting: ColumnType<boolean, boolean | undefined, boolean>;
  settings: ColumnType<unknown, never, string>;
}

/** Relationships of imports in progress, staged outside the writer lock. */
export interface ImportStagingTable extends RelationshipColumns {
  import_id: string;
  staged_at: ColumnType<Date, never, never>;
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
  expires_at: Date | null;
  last_used_at: Date | null;
  resource_types: string | null;
  max_rate: number | null;
  max_in_flight: number | null;
}

/** The audit history (retention of its own, independent of garbage collection). */
export interface AuditTable {
  id: Generated<string>;
  tenant: string;
  at: ColumnType<Date, never, never>;
  revision: string | null;
  actor_key: string;
  actor_tenant: string;
  acting_as: string | null;
  method: string;
  metadata: ColumnType<unknown, string | null, never> | null;
  changes: ColumnType<unknown, string, never>;
  changes_total: number;
  resources: ColumnType<string[], string[], never>;
  subjects: ColumnType<string[], string[], never>;
}

/** Edge token signing keys (Ed25519 JWKs); see SigningKeyStore. */
export interface SigningKeysTable {
  kid: string;
  private_jwk: string;
  public_jwk: string;
  created_at: ColumnType<Date, never, never>;
  retires_at: Date | null;
}

/** The database as kysely sees it. */
export interface Database {
  warden_tenants: TenantsTable;
  warden_api_keys: ApiKeysTable;
  warden_metadata: MetadataTable;
  warden_transactions: TransactionsTable;
  warden_relationships: RelationshipsTable;
  warden_schemas: SchemasTable;
  warden_import_staging: ImportStagingTable;
  warden_audit: AuditTable;
  warden_signing_keys: SigningKeysTable;
}
