import { auditService } from '../api/audit-service.js';
import { tokenService } from '../api/token-service.js';
import { EdgeTokens } from '../tokens/edge-tokens.js';
import type { DecisionLog } from '../telemetry/decision-log.js';
import { Server, ServerCredentials, type GrpcObject, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { HealthImplementation, type ServingStatusMap } from 'grpc-health-check';
import { authzedPermissionsService, authzedSchemaService, authzedWatchService, EXPERIMENTAL_ALIASES } from '../api/authzed/authzed-services.js';
import { permissionService } from '../api/permission-service.js';
import { relationshipService } from '../api/relationship-service.js';
import { schemaService } from '../api/schema-service.js';
import { keyService } from '../api/key-service.js';
import { tenantService } from '../api/tenant-service.js';
import { watchService } from '../api/watch-service.js';
import { Listings } from '../api/listings.js';
import { Tenants } from '../api/tenant-state.js';
import { Engine } from '../engine/engine.js';
import type { Datastore } from '../store/datastore.js';
import { clientStream, MAX_WATCH_MS, serverStream, tolerantDeserializer, unary, type Authenticate, type ErrorLog, type Scope } from './call.js';
import { Admission, DEFAULT_ADMISSION, type AdmissionLimits } from './admission.js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { loadApi } from './proto.js';
import { Readiness } from './readiness.js';
import { reflectionService } from './reflection.js';
import { callTelemetry } from '../telemetry/call-telemetry.js';
import { silentLogger } from '../telemetry/logger.js';
import { Telemetry } from '../telemetry/telemetry.js';

/** Everything a server is made of. */
export interface ServerOptions {
  readonly datastore: Datastore;
  readonly engine?: Engine;
  /** Resolves each call's tenant; see `insecureAuthenticate` for the no-auth mode. */
  readonly authenticate: (tenants: Tenants) => Authenticate;
  readonly quantizationMs?: number;
  /** Largest message accepted or sent (default 4 MiB). */
  readonly maxMessageBytes?: number;
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  readonly log: ErrorLog;
  /** How many calls run at once and may wait (default 64 and 256); past that, RESOURCE_EXHAUSTED. */
  readonly admission?: AdmissionLimits;
  /** Traces, metrics and the logger (default: none exported, nothing logged but `log`). */
  readonly telemetry?: Telemetry;
  /** The Redis check cache's breaker state, for readiness and metrics (absent: no Redis). */
  readonly redisState?: () => string;
  /** How often readiness probes the datastore (default 2 s). */
  readonly readinessIntervalMs?: number;
  /** Where Check and BatchCheck decisions go, sampled and filtered (absent: nowhere). */
  readonly decisions?: DecisionLog;
}

/** A started server. */
export interface RunningServer {
  readonly port: number;
  /** Whether the server should get traffic (datastore reachable and migrated, not draining), kept current. */
  readonly readiness: Readiness;
  /** The edge token signer (its JWKS is served over HTTP too). */
  readonly tokens: EdgeTokens;
  /** The API it serves, as loaded (for the console's gateway). */
  readonly definition: PackageDefinition;
  /** Stops accepting calls, lets in-flight ones finish for up to `graceMs`, then ends the rest. */
  shutdown(graceMs: number): Promise<void>;
}

type Method = { kind: 'unary' | 'stream' | 'client-stream' | 'watch'; scope: Scope };
const METHODS: Record<string, Record<string, Method>> = {
  PermissionService: {
    Check: { kind: 'unary', scope: 'check' },
    BatchCheck: { kind: 'unary', scope: 'check' },
    Expand: { kind: 'unary', scope: 'check' },
    ListObjects: { kind: 'stream', scope: 'check' },
    ListSubjects: { kind: 'stream', scope: 'check' },
    ListPermissions: { kind: 'unary', scope: 'check' },
  },
  RelationshipService: {
    Write: { kind: 'unary', scope: 'write' },
    Delete: { kind: 'unary', scope: 'write' },
    Read: { kind: 'stream', scope: 'read' },
    Import: { kind: 'client-stream', scope: 'write' },
    Export: { kind: 'stream', scope: 'read' },
  },
  WatchService: {
    Watch: { kind: 'watch', scope: 'read' },
  },
  SchemaService: {
    WriteSchema: { kind: 'unary', scope: 'schema' },
    ReadSchema: { kind: 'unary', scope: 'read' },
    ValidateSchema: { kind: 'unary', scope: 'read' },
    SimulateSchema: { kind: 'unary', scope: 'read' },
  },
  TenantService: {
    CreateTenant: { kind: 'unary', scope: 'admin' },
    ListTenants: { kind: 'unary', scope: 'admin' },
    DeleteTenant: { kind: 'unary', scope: 'admin' },
    GetTenantSettings: { kind: 'unary', scope: 'admin' },
    UpdateTenantSettings: { kind: 'unary', scope: 'admin' },
  },
  AuditService: {
    ListAuditEvents: { kind: 'unary', scope: 'admin' },
  },
  TokenService: {
    IssueToken: { kind: 'unary', scope: 'check' },
    GetJwks: { kind: 'unary', scope: 'check' },
    RotateSigningKey: { kind: 'unary', scope: 'admin' },
  },
  KeyService: {
    CreateKey: { kind: 'unary', scope: 'admin' },
    ListKeys: { kind: 'unary', scope: 'admin' },
    RevokeKey: { kind: 'unary', scope: 'admin' },
    RotateKey: { kind: 'unary', scope: 'admin' },
  },
};

/**
 * SpiceDB's API on the same port, through the same authentication (a Warden key as the bearer
 * token), tenants, admission control and error mapping. (ExperimentalService's relationship
 * counters are not served: a client calling them gets UNIMPLEMENTED.)
 */
const AUTHZED_METHODS: Record<string, Record<string, Method>> = {
  PermissionsService: {
    CheckPermission: { kind: 'unary', scope: 'check' },
    CheckBulkPermissions: { kind: 'unary', scope: 'check' },
    ExpandPermissionTree: { kind: 'unary', scope: 'check' },
    LookupResources: { kind: 'stream', scope: 'check' },
    LookupSubjects: { kind: 'stream', scope: 'check' },
    ReadRelationships: { kind: 'stream', scope: 'read' },
    WriteRelationships: { kind: 'unary', scope: 'write' },
    DeleteRelationships: { kind: 'unary', scope: 'write' },
    ImportBulkRelationships: { kind: 'client-stream', scope: 'write' },
    ExportBulkRelationships: { kind: 'stream', scope: 'read' },
  },
  SchemaService: {
    ReadSchema: { kind: 'unary', scope: 'read' },
    WriteSchema: { kind: 'unary', scope: 'schema' },
    ReflectSchema: { kind: 'unary', scope: 'read' },
    ComputablePermissions: { kind: 'unary', scope: 'read' },
    DependentRelations: { kind: 'unary', scope: 'read' },
    DiffSchema: { kind: 'unary', scope: 'read' },
  },
  WatchService: {
    Watch: { kind: 'watch', scope: 'read' },
  },
};
// The experimental methods are their stable successors, kind and scope included.
AUTHZED_METHODS['ExperimentalService'] = Object.fromEntries(Object.entries(EXPERIMENTAL_ALIASES).map(([name, [service, method]]) => [name, AUTHZED_METHODS[service]![method]!]));

/**
 * The health service name that reports liveness: SERVING while the process runs, even when it is
 * not ready (every other name, and '', report readiness).
 */
export const LIVENESS_SERVICE = 'liveness';

/** Every service served, for health. */
const SERVICES = [...Object.keys(METHODS).map((s) => `warden.v1.${s}`), ...Object.keys(AUTHZED_METHODS).map((s) => `authzed.api.v1.${s}`)];

/** Builds and starts the gRPC server on `address` (port 0 picks a free one). */
export async function startServer(options: ServerOptions, address: string): Promise<RunningServer> {
  const maxBytes = options.maxMessageBytes ?? 4 * 1024 * 1024;
  const server = new Server({ 'grpc.max_receive_message_length': maxBytes, 'grpc.max_send_message_length': maxBytes });
  const { definition, v1, authzed } = loadApi({ authzed: true });
  const engine = options.engine ?? new Engine();
  const listings = new Listings();

  const telemetry = options.telemetry ?? Telemetry.off(silentLogger());
  const traits = new Map<string, { writes: boolean; watch: boolean }>();
  const observer = callTelemetry(telemetry, options.log, (method) => traits.get(method) ?? { writes: false, watch: false });
  const tenants = new Tenants(options.datastore, options.quantizationMs !== undefined ? { quantizationMs: options.quantizationMs } : {});
  const authenticate = options.authenticate(tenants);
  // Each tenant's own rate and concurrency, from its settings (cached a few seconds).
  const admission = new Admission({ ...(options.admission ?? DEFAULT_ADMISSION), tenantLimits: (t) => tenants.cachedSettings(t) });
  const unsubscribe = options.datastore.access.feed.subscribe((c) => {
    if (c.kind === 'tenant-deleted') tenants.forget(c.tenant);
  });
  const warden = { permissions: permissionService(engine, listings, options.decisions ?? null), relationships: relationshipService(), schema: schemaService(engine) };
  const tokens = new EdgeTokens(options.datastore.signingKeys);
  const watch = watchService();
  type Impls = Record<string, Record<string, (...args: never[]) => Promise<unknown>>>;
  const register = (pkg: GrpcObject, prefix: string, methods: Record<string, Record<string, Method>>, impls: Impls): void => {
    for (const [service, serviceMethods] of Object.entries(methods)) {
      const impl: UntypedServiceImplementation = {};
      for (const [name, m] of Object.entries(serviceMethods)) {
        const fn = impls[service]![name]! as never;
        const method = `${prefix}${service}.${name}`;
        traits.set(method, { writes: m.scope === 'write' || m.scope === 'schema', watch: m.kind === 'watch' });
        // Every call but Watch (long-lived by design) takes a turn under admission control.
        impl[name] =
          m.kind === 'unary'
            ? unary(method, m.scope, authenticate, observer, fn, admission)
            : m.kind === 'client-stream'
              ? clientStream(method, m.scope, authenticate, observer, fn, admission)
              : m.kind === 'watch'
                ? serverStream(method, m.scope, authenticate, observer, fn, MAX_WATCH_MS)
                : serverStream(method, m.scope, authenticate, observer, fn, undefined, admission);
      }
      const definition = (pkg[service] as unknown as { service: ServiceDefinition }).service;
      const tolerant = Object.fromEntries(
        Object.entries(definition).map(([name, m]) => [name, { ...m, requestDeserialize: tolerantDeserializer(m.requestDeserialize, `${prefix}${service}.${name} request`) }]),
      ) as ServiceDefinition;
      server.addService(tolerant, impl);
    }
  };
  register(v1, '', METHODS, {
    PermissionService: warden.permissions,
    RelationshipService: warden.relationships,
    SchemaService: warden.schema,
    TenantService: tenantService(options.datastore.access, options.datastore.audit),
    KeyService: keyService(options.datastore.access, options.datastore.audit),
    AuditService: auditService(options.datastore.audit),
    TokenService: tokenService(engine, tokens),
    WatchService: watch,
  });
  const spicedb: Impls = {
    PermissionsService: authzedPermissionsService(warden),
    SchemaService: authzedSchemaService(warden),
    WatchService: authzedWatchService({ ...warden, watch }),
  };
  spicedb['ExperimentalService'] = Object.fromEntries(Object.entries(EXPERIMENTAL_ALIASES).map(([name, [service, method]]) => [name, spicedb[service]![method]!]));
  register(authzed!, 'authzed.', AUTHZED_METHODS, spicedb);
  // Not serving until the datastore's first probe passes; liveness is serving from the start.
  const statuses: ServingStatusMap = { '': 'NOT_SERVING', [LIVENESS_SERVICE]: 'SERVING' };
  for (const s of SERVICES) statuses[s] = 'NOT_SERVING';
  const health = new HealthImplementation(statuses);
  health.addToServer(server);
  reflectionService(definition).addToServer(server);
  const readiness = new Readiness({
    probe: () => options.datastore.assertMigrated(),
    ...(options.redisState ? { redis: options.redisState } : {}),
    ...(options.readinessIntervalMs !== undefined ? { intervalMs: options.readinessIntervalMs } : {}),
    onChange: (ready) => {
      for (const s of ['', ...SERVICES]) health.setStatus(s, ready ? 'SERVING' : 'NOT_SERVING');
      if (options.telemetry) telemetry.logger[ready ? 'info' : 'warn']({ readiness: readiness.state }, ready ? 'ready' : 'not ready');
    },
  });
  telemetry.metrics.observe({
    cache: () => engine.cacheStats,
    admission: () => admission.load,
    ...(options.redisState ? { redis: options.redisState } : {}),
    ...(options.datastore.poolStats ? { pools: () => options.datastore.poolStats!() } : {}),
  });

  const credentials = options.tls ? ServerCredentials.createSsl(null, [{ cert_chain: options.tls.cert, private_key: options.tls.key }], false) : ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => server.bindAsync(address, credentials, (err, p) => (err ? reject(err) : resolve(p))));
  await readiness.start();

  return {
    port,
    readiness,
    tokens,
    definition,
    async shutdown(graceMs: number): Promise<void> {
      unsubscribe();
      listings.close();
      // Not ready (load balancers stop sending calls) but alive while in-flight calls finish.
      readiness.drain();
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}

/** The no-auth mode: every call acts for the default tenant. Only with --insecure-no-auth. */
export function insecureAuthenticate(tenant = 'default'): (tenants: Tenants) => Authenticate {
  return (tenants) => () => tenants.get(tenant);
}
