import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';
import { packageRoot } from '../config/package-root.js';

/** Where the .proto files are: `proto/` at the package root. */
export const PROTO_ROOT = join(packageRoot(), 'proto');

/** The proto files of the native API. */
export const PROTO_FILES = [
  'warden/v1/core.proto',
  'warden/v1/permission_service.proto',
  'warden/v1/relationship_service.proto',
  'warden/v1/schema_service.proto',
  'warden/v1/tenant_service.proto',
  'warden/v1/key_service.proto',
  'warden/v1/audit_service.proto',
  'warden/v1/token_service.proto',
  'warden/v1/watch_service.proto',
];

/** SpiceDB's API (authzed.api.v1), served beside the native one for SpiceDB clients. */
export const AUTHZED_PROTO_FILES = [
  'authzed/api/v1/core.proto',
  'authzed/api/v1/debug.proto',
  'authzed/api/v1/error_reason.proto',
  'authzed/api/v1/permission_service.proto',
  'authzed/api/v1/schema_service.proto',
  'authzed/api/v1/watch_service.proto',
  'authzed/api/v1/experimental_service.proto',
];

/** google/rpc/status.proto and the rest of Google's common protos, from the google-proto-files package. */
export const googleProtos = (): string => dirname(createRequire(import.meta.url).resolve('google-proto-files/package.json'));

/**
 * Loads the native API (and, with `authzed`, SpiceDB's beside it): keepCase (field names as in the .proto), enums as names, 64-bit integers as
 * strings, defaults filled in, and a virtual field naming which member of each oneof is set.
 */
export function loadApi(options: { authzed?: boolean } = {}): { definition: PackageDefinition; v1: GrpcObject; authzed: GrpcObject | null } {
  const definition = loadSync(options.authzed ? [...PROTO_FILES, ...AUTHZED_PROTO_FILES] : PROTO_FILES, {
    includeDirs: options.authzed ? [PROTO_ROOT, googleProtos()] : [PROTO_ROOT],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const root = loadPackageDefinition(definition) as unknown as { warden: { v1: GrpcObject }; authzed?: { api: { v1: GrpcObject } } };
  return { definition, v1: root.warden.v1, authzed: root.authzed?.api.v1 ?? null };
}

/** A service's client constructor from the loaded API, for tests and the CLI. */
export function serviceClient(v1: GrpcObject, name: string): ServiceClientConstructor {
  return v1[name] as ServiceClientConstructor;
}
