import { sql, type Kysely, type Migration, type MigrationProvider } from 'kysely';

/**
 * The schema migrations, in order. Key columns use the "C" collation so that ordering and
 * comparison are byte-wise, the same as the memory store and the read cursor.
 */
const MIGRATIONS: Record<string, Migration> = {
  '0001_initial': {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const statement of [
        sql`create table warden_metadata (key text primary key, value text not null)`,
        sql`create table warden_transactions (
          id bigint generated always as identity primary key,
          tenant text not null,
          created_at timestamptz not null default clock_timestamp(),
          metadata jsonb,
          schema_changed boolean not null default false
        )`,
        sql`create index warden_transactions_created_at on warden_transactions (created_at)`,
        sql`create index warden_transactions_tenant on warden_transactions (tenant, id)`,
        sql`create table warden_relationships (
          tenant text collate "C" not null,
          resource_type text collate "C" not null,
          resource_id text collate "C" not null,
          relation text collate "C" not null,
          subject_type text collate "C" not null,
          subject_id text collate "C" not null,
          subject_relation text collate "C" not null,
          caveat_name text,
          caveat_context jsonb,
          expires_at timestamptz,
          created_rev bigint not null,
          deleted_rev bigint
        )`,
        // One live version per relationship; also the index for reads by resource.
        sql`create unique index warden_relationships_live on warden_relationships
          (tenant, resource_type, resource_id, relation, subject_type, subject_id, subject_relation) where deleted_rev is null`,
        sql`create index warden_relationships_by_resource on warden_relationships
          (tenant, resource_type, resource_id, relation, subject_type, subject_id, subject_relation, created_rev)`,
        sql`create index warden_relationships_by_subject on warden_relationships
          (tenant, subject_type, subject_id, subject_relation, resource_type, relation)`,
        sql`create index warden_relationships_by_relation on warden_relationships (tenant, resource_type, relation)`,
        sql`create index warden_relationships_created on warden_relationships (created_rev)`,
        sql`create index warden_relationships_deleted on warden_relationships (deleted_rev) where deleted_rev is not null`,
        sql`create index warden_relationships_expires on warden_relationships (expires_at) where expires_at is not null`,
        sql`create table warden_schemas (tenant text not null, revision bigint not null, text text not null, primary key (tenant, revision))`,
        sql`insert into warden_metadata (key, value) values ('datastore_id', gen_random_uuid()::text), ('gc_watermark', '0')`,
      ]) {
        await statement.execute(db);
      }
    },
  },
  '0002_tenants_and_keys': {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const statement of [
        sql`create table warden_tenants (name text primary key, created_at timestamptz not null default now())`,
        sql`insert into warden_tenants (name) values ('default')`,
        sql`create table warden_api_keys (
          id text primary key,
          tenant text not null references warden_tenants (name) on delete cascade,
          scopes text not null,
          description text not null default '',
          hash text not null,
          created_at timestamptz not null default now(),
          revoked_at timestamptz
        )`,
        sql`create index warden_api_keys_tenant on warden_api_keys (tenant)`,
      ]) {
        await statement.execute(db);
      }
    },
  },
  '0003_hardening': {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const statement of [
        sql`alter table warden_tenants add column deleting boolean not null default false`,
        sql`create unlogged table warden_import_staging (
          import_id text not null,
          staged_at timestamptz not null default clock_timestamp(),
          resource_type text collate "C" not null,
          resource_id text collate "C" not null,
          relation text collate "C" not null,
          subject_type text collate "C" not null,
          subject_id text collate "C" not null,
          subject_relation text collate "C" not null,
          caveat_name text,
          caveat_context jsonb,
          expires_at timestamptz
        )`,
        sql`create index warden_import_staging_id on warden_import_staging (import_id)`,
      ]) {
        await statement.execute(db);
      }
    },
  },
  '0004_key_expiry': {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`alter table warden_api_keys add column expires_at timestamptz, add column last_used_at timestamptz`.execute(db);
    },
  },
  '0005_audit': {
    async up(db: Kysely<unknown>): Promise<void> {
      for (const statement of [
        sql`create table warden_audit (
          id bigint generated always as identity primary key,
          tenant text collate "C" not null,
          at timestamptz not null default clock_timestamp(),
          revision bigint,
          actor_key text not null,
          actor_tenant text not null,
          acting_as text,
          method text not null,
          metadata jsonb,
          changes jsonb not null,
          changes_total integer not null,
          resources text[] not null,
          subjects text[] not null
        )`,
        sql`create index warden_audit_tenant on warden_audit (tenant, id)`,
        sql`create index warden_audit_at on warden_audit (at)`,
        sql`create index warden_audit_resources on warden_audit using gin (resources)`,
        sql`create index warden_audit_subjects on warden_audit using gin (subjects)`,
      ]) {
        await statement.execute(db);
      }
    },
  },
  '0006_signing_keys': {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`create table warden_signing_keys (
        kid text primary key,
        private_jwk text not null,
        public_jwk text not null,
        created_at timestamptz not null default clock_timestamp(),
        retires_at timestamptz
      )`.execute(db);
    },
  },
  '0007_tenant_settings': {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`alter table warden_tenants add column settings jsonb not null default '{}'`.execute(db);
    },
  },
  '0008_key_limits': {
    async up(db: Kysely<unknown>): Promise<void> {
      await sql`alter table warden_api_keys add column resource_types text, add column max_rate integer, add column max_in_flight integer`.execute(db);
    },
  },
};

/** Provides the migrations to kysely's Migrator. */
export const migrationProvider: MigrationProvider = {
  getMigrations: async () => MIGRATIONS,
};

/** The name of the table kysely records applied migrations in. */
export const MIGRATION_TABLE = 'warden_migration';
export const MIGRATION_LOCK_TABLE = 'warden_migration_lock';
