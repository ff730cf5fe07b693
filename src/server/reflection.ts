import { ReflectionService } from '@grpc/reflection';
import type { PackageDefinition } from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor/index.js';

/** What this module relies on inside @grpc/reflection's implementations (1.0.x). */
interface ReflectionInternals {
  readonly fileDependencies: Map<{ name: string; dependency: string[] }, { name: string }[]>;
  readonly fileEncodings: Map<object, Uint8Array>;
}

/**
 * gRPC server reflection over a package definition, with each file descriptor declaring the
 * files it depends on. @grpc/reflection 1.0.4 sends the dependencies' descriptors but leaves every
 * descriptor's `dependency` list empty (grpc-node#2958), so clients that build descriptors from
 * them (grpcurl, protoreflect) cannot resolve `google.protobuf.Struct` and the like. The lists
 * are filled from the library's own dependency graph, and the descriptors encoded again.
 * (If a later version has no such graph, nothing is changed; test/server/reflection.test.ts
 * resolves every type through a reflection client either way.)
 */
export function reflectionService(definition: PackageDefinition): ReflectionService {
  const service = new ReflectionService(definition);
  const inner = service as unknown as { v1?: Partial<ReflectionInternals>; v1Alpha?: Partial<ReflectionInternals> };
  for (const impl of [inner.v1, inner.v1Alpha]) {
    if (!(impl?.fileDependencies instanceof Map) || !(impl.fileEncodings instanceof Map)) continue;
    for (const [file, deps] of impl.fileDependencies) {
      file.dependency = [...new Set(deps.map((d) => d.name))].filter((n) => n !== file.name).sort();
      impl.fileEncodings.set(file, descriptor.FileDescriptorProto.encode(file as never).finish());
    }
  }
  return service;
}
