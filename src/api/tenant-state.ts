import type { AuditLog } from '../store/audit.js';
import type { TenantSettings } from '../store/access.js';
import { trace } from '@opentelemetry/api';
import { compileSchema } from '../../schema-dsl/index.js';
import { RevisionPicker, type Consistency } from '../consistency/consistency.js';
import { decodeZookie, encodeZookie } from '../consistency/zookie.js';
import type { Snapshot } from '../engine/engine.js';
import { failedPrecondition } from '../errors/error-code.js';
import { TypeSystem } from '../schema/type-system.js';
import type { Datastore } from '../store/datastore.js';
import type { Revision, Store, StoredSchema } from '../store/store.js';

function noSchema() {
  return failedPrecondition('no schema has been written for this tenant yet: write one with WriteSchema');
}

/** Compiled schemas kept per tenant, by the revision they were written at. */
const SCHEMA_CACHE = 8;

/** Revisions whose schema version a tenant remembers. */
const SCHEMA_AT_CACHE = 256;

/**
 * What the API needs of one tenant: its store, its revision picker, and its compiled schema at
 * any revision (compiled once per schema version).
 */
export class TenantState {
  readonly store: Store;
  /** The datastore's audit history. */
  readonly audit: AuditLog;
  readonly #datastoreId: string;
  readonly #picker: RevisionPicker;
  readonly #schemas = new Map<string, TypeSystem>();
  readonly #schemaAt = new Map<Revision, StoredSchema>();

  readonly #tenant: string;

  /** The tenant's name. */
  get name(): string {
    return this.#tenant;
  }

  /** The tenant's settings (cached for a few seconds). */
  readonly settings: () => Promise<TenantSettings>;

  constructor(datastore: Datastore, tenant: string, options: { quantizationMs?: number }, settings?: () => Promise<TenantSettings>) {
    this.settings = settings ?? (() => datastore.access.tenantSettings(tenant));
    this.store = datastore.store(tenant);
    this.audit = datastore.audit;
    this.#datastoreId = datastore.id;
    this.#tenant = tenant;
    this.#picker = new RevisionPicker(this.store, datastore.id, { tenant, ...(options.quantizationMs !== undefined ? { quantizationMs: options.quantizationMs } : {}) });
  }

  /** The revision a read with this consistency is answered at. */
  pick(c: Consistency): Promise<Revision> {
    return this.#picker.pick(c);
  }

  /** The zookie of a revision. */
  zookie(revision: Revision): { token: string } {
    return { token: encodeZookie(this.#datastoreId, this.#tenant, revision) };
  }

  /** The revision a zookie of this tenant stands for; INVALID_ARGUMENT for any other's. */
  zookieRevision(token: string, field: string): Revision {
    return decodeZookie(token, this.#datastoreId, this.#tenant, field);
  }

  /** The compiled schema at a revision; FAILED_PRECONDITION when none has been written. */
  async schemaAt(revision: Revision): Promise<TypeSystem> {
    return (await this.schemaVersionAt(revision)).schema;
  }

  /** The compiled schema at a revision and the revision that schema was written at. */
  async schemaVersionAt(revision: Revision): Promise<{ schema: TypeSystem; revision: Revision }> {
    // The schema in force at a committed revision never changes, so it is read once per revision
    // (requests at one quantized revision share it). A schema not written yet is not remembered.
    let found = this.#schemaAt.get(revision);
    if (!found) {
      const read = await this.store.readSchema(revision);
      if (!read) throw noSchema();
      found = read;
      this.#schemaAt.set(revision, found);
      if (this.#schemaAt.size > SCHEMA_AT_CACHE) this.#schemaAt.delete(this.#schemaAt.keys().next().value!);
    }
    return { schema: this.compiled(found), revision: found.revision };
  }

  /** A stored schema version, compiled (once per version); FAILED_PRECONDITION for none. */
  compiled(stored: StoredSchema | null): TypeSystem {
    if (!stored) throw noSchema();
    let ts = this.#schemas.get(stored.revision);
    if (!ts) {
      ts = new TypeSystem(compileSchema(stored.text));
      this.#schemas.set(stored.revision, ts);
      if (this.#schemas.size > SCHEMA_CACHE) this.#schemas.delete(this.#schemas.keys().next().value!);
    }
    return ts;
  }

  /** A snapshot for a read: the revision picked for its consistency, the schema there, a reader. */
  async snapshot(c: Consistency): Promise<Snapshot & { revision: Revision }> {
    return this.snapshotAt(await this.pick(c));
  }

  /** A snapshot at a revision already picked (a listing's cursor, say), with its cache key. */
  async snapshotAt(revision: Revision): Promise<Snapshot & { revision: Revision }> {
    const { schema, revision: schemaRevision } = await this.schemaVersionAt(revision);
    // The call's span (when traced) names the revision it was answered at.
    trace.getActiveSpan()?.setAttribute('warden.revision', String(revision));
    return { revision, schema, reader: this.store.snapshot(revision), cacheKey: `${this.#datastoreId}\u0000${this.#tenant}\u0000${schemaRevision}\u0000${revision}` };
  }
}

/** How long a tenant's settings are trusted before they are read again: the bound on a settings change reaching every server. */
export const SETTINGS_TTL_MS = 5000;

/** Tenant states, made on first use. */
export class Tenants {
  readonly #datastore: Datastore;
  readonly #options: { quantizationMs?: number };
  readonly #states = new Map<string, TenantState>();
  readonly #settings = new Map<string, { value: TenantSettings; at: number; loading: Promise<TenantSettings> | null }>();

  constructor(datastore: Datastore, options: { quantizationMs?: number } = {}) {
    this.#datastore = datastore;
    this.#options = options;
  }

  get(tenant: string): TenantState {
    let s = this.#states.get(tenant);
    if (!s) this.#states.set(tenant, (s = new TenantState(this.#datastore, tenant, this.#options, () => this.settings(tenant))));
    return s;
  }

  /** A tenant's settings, read again once older than SETTINGS_TTL_MS. */
  settings(tenant: string): Promise<TenantSettings> {
    const known = this.#settings.get(tenant);
    if (known && Date.now() - known.at < SETTINGS_TTL_MS) return Promise.resolve(known.value);
    if (known?.loading) return known.loading;
    const loading = this.#datastore.access.tenantSettings(tenant).then(
      (value) => {
        if (this.#settings.size > 100_000) this.#settings.clear();
        this.#settings.set(tenant, { value, at: Date.now(), loading: null });
        return value;
      },
      (e: unknown) => {
        // Not asked again for a while (admission asks on every call): the last value, or the defaults, stand.
        this.#settings.set(tenant, { value: known?.value ?? {}, at: Date.now(), loading: null });
        throw e;
      },
    );
    this.#settings.set(tenant, { value: known?.value ?? {}, at: known?.at ?? 0, loading });
    return loading;
  }

  /**
   * A tenant's settings as last read, at once (for admission, which must not wait): the defaults
   * until the first read ends; a stale value starts a new read.
   */
  cachedSettings(tenant: string): TenantSettings {
    const known = this.#settings.get(tenant);
    if (!known || Date.now() - known.at >= SETTINGS_TTL_MS) this.settings(tenant).catch(() => {});
    return known?.value ?? {};
  }

  /** Drops a deleted tenant's state: a tenant made again under its name starts afresh. */
  forget(tenant: string): void {
    this.#states.delete(tenant);
    this.#settings.delete(tenant);
  }
}
