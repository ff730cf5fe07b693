import { credentials, loadPackageDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import descriptor from 'protobufjs/ext/descriptor/index.js';
import t from 'tap';
import { insecureAuthenticate, startServer } from '../../src/server/server.js';
import { openDatastore } from '../../src/store/open-datastore.js';

// Server reflection as grpcurl uses it: list the services, fetch the file that declares each,
// and resolve every type those files name within the file and the files it declares as its
// dependencies (fetched by name). A descriptor that forgets a dependency fails here.

interface Field {
  typeName?: string;
}
interface Message {
  name: string;
  field?: Field[];
  nestedType?: Message[];
  enumType?: { name: string }[];
}
interface File {
  name: string;
  package?: string;
  dependency?: string[];
  messageType?: Message[];
  enumType?: { name: string }[];
  service?: { name: string; method?: { inputType?: string; outputType?: string }[] }[];
}

t.test('reflection lists both surfaces and every reflected type resolves through declared dependencies', async (t) => {
  const ds = await openDatastore('memory');
  const server = await startServer({ datastore: ds, authenticate: insecureAuthenticate(), log: () => {} }, '127.0.0.1:0');
  const proto = loadSync('grpc/reflection/v1/reflection.proto', { keepCase: true, includeDirs: [new URL('../../node_modules/@grpc/reflection/build/proto', import.meta.url).pathname] });
  const Reflection = (loadPackageDefinition(proto) as any).grpc.reflection.v1.ServerReflection;
  const client = new Reflection(`127.0.0.1:${server.port}`, credentials.createInsecure());
  t.teardown(async () => {
    client.close();
    await server.shutdown(200);
    await ds.close();
  });
  const ask = (req: object): Promise<any> =>
    new Promise((resolve, reject) => {
      const call = client.ServerReflectionInfo();
      call.on('data', (m: unknown) => {
        resolve(m);
        call.end();
      });
      call.on('error', reject);
      call.write(req);
    });

  const services: string[] = (await ask({ list_services: '*' })).list_services_response.service.map((s: { name: string }) => s.name);
  for (const s of ['warden.v1.PermissionService', 'authzed.api.v1.PermissionsService', 'authzed.api.v1.SchemaService', 'authzed.api.v1.WatchService', 'authzed.api.v1.ExperimentalService']) {
    t.ok(services.includes(s), `lists ${s}`);
  }

  const files = new Map<string, File>();
  const take = (answer: any): File[] =>
    answer.file_descriptor_response.file_descriptor_proto.map((b: Buffer) => {
      const f = descriptor.FileDescriptorProto.toObject(descriptor.FileDescriptorProto.decode(b)) as File;
      files.set(f.name, f);
      return f;
    });
  const roots: File[] = [];
  for (const s of services.filter((x) => !x.startsWith('grpc.'))) roots.push(take(await ask({ file_containing_symbol: s }))[0]!);
  // A file's declared dependencies, fetched by name as a client would.
  const closure = async (f: File, seen = new Set<string>()): Promise<Set<string>> => {
    seen.add(f.name);
    for (const d of f.dependency ?? []) {
      if (seen.has(d)) continue;
      if (!files.has(d)) take(await ask({ file_by_filename: d }));
      await closure(files.get(d)!, seen);
    }
    return seen;
  };
  const symbols = (f: File): Set<string> => {
    const out = new Set<string>();
    const prefix = f.package ? `.${f.package}` : '';
    const walk = (m: Message, scope: string): void => {
      out.add(`${scope}.${m.name}`);
      for (const e of m.enumType ?? []) out.add(`${scope}.${m.name}.${e.name}`);
      for (const n of m.nestedType ?? []) walk(n, `${scope}.${m.name}`);
    };
    for (const m of f.messageType ?? []) walk(m, prefix);
    for (const e of f.enumType ?? []) out.add(`${prefix}.${e.name}`);
    return out;
  };
  // A type name as protoc resolves it: absolute (`.pkg.T`), or relative, tried from the innermost scope out.
  const resolves = (ref: string, scope: string, visible: Set<string>): boolean => {
    if (ref.startsWith('.')) return visible.has(ref);
    for (let s = scope; ; s = s.slice(0, Math.max(0, s.lastIndexOf('.')))) {
      if (visible.has(`${s}.${ref}`)) return true;
      if (!s) return false;
    }
  };
  let checked = 0;
  for (const root of new Map(roots.map((r) => [r.name, r])).values()) {
    const files_ = await closure(root);
    const visible = new Set<string>();
    for (const name of files_) for (const s of symbols(files.get(name)!)) visible.add(s);
    const refs: [string, string][] = [];
    for (const name of files_) {
      const f = files.get(name)!;
      const pkg = f.package ? `.${f.package}` : '';
      const walk = (m: Message, scope: string): void => {
        for (const x of m.field ?? []) if (x.typeName) refs.push([x.typeName, `${scope}.${m.name}`]);
        for (const n of m.nestedType ?? []) walk(n, `${scope}.${m.name}`);
      };
      for (const m of f.messageType ?? []) walk(m, pkg);
      for (const s of f.service ?? []) for (const m of s.method ?? []) refs.push([m.inputType!, pkg], [m.outputType!, pkg]);
    }
    const unresolved = [...new Set(refs.filter(([r, scope]) => !resolves(r, scope, visible)).map(([r]) => r))];
    t.same(unresolved, [], `${root.name}: every type it names resolves (${refs.length} references)`);
    checked += refs.length;
  }
  t.ok(checked > 200, `${checked} type references resolved`);
});
