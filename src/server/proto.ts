import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type GrpcObject, type ServiceClientConstructor } from '@grpc/grpc-js';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';

/** Where the .proto files are: `proto/` at the package root, found from here (src/ or dist/src/). */
export const PROTO_ROOT = findProtoRoot(dirname(fileURLToPath(import.meta.url)));

function findProtoRoot(from: string): string {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'proto');
    if (existsSync(join(candidate, 'warden', 'v1', 'core.proto'))) return candidate;
    if (dirname(dir) === dir) throw new Error(`proto/warden/v1 not found above ${from}`);
  }
}

/** The proto files of the native API. */
export const PROTO_FILES = [
  'warden/v1/core.proto',
  'warden/v1/permission_service.proto',
  'warden/v1/relationship_service.proto',
  'warden/v1/schema_service.proto',
  'warden/v1/tenant_service.proto',
  'warden/v1/watch_service.proto',
];

/**
 * Loads the API: keepCase (field names as in the .proto), enums as names, 64-bit integers as
 * strings, defaults filled in, and a virtual field naming which member of each oneof is set.
 */
export function loadApi(): { definition: PackageDefinition; v1: GrpcObject } {
  const definition = loadSync(PROTO_FILES, {
    includeDirs: [PROTO_ROOT],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
  });
  const root = loadPackageDefinition(definition) as unknown as { warden: { v1: GrpcObject } };
  return { definition, v1: root.warden.v1 };
}

/** A service's client constructor from the loaded API, for tests and the CLI. */
export function serviceClient(v1: GrpcObject, name: string): ServiceClientConstructor {
  return v1[name] as ServiceClientConstructor;
}
