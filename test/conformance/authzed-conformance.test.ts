import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import t from 'tap';
import { fromRelationship, fromSubject, jsonToStruct } from '../../src/api/convert.js';
import { parseValidationFile } from '../../src/conformance/validation-file.js';
import { relationshipKey } from '../../src/model/relationship.js';
import { testingAuthenticate } from '../../src/server/auth.js';
import { loadApi } from '../../src/server/proto.js';
import { startServer } from '../../src/server/server.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import { conformanceDir } from '../helpers/conformance-dir.js';
import { MIN_FILES } from './run-files.js';

// The shared SpiceDB conformance files through the authzed.api.v1 surface, as a SpiceDB client
// sends them: each document in a tenant of its own (a token each, on a testing-mode server),
// WriteSchema, WriteRelationships, then every assertion as CheckPermission and, for each, the
// resource's presence in LookupResources. The native surface runs the same files in
// shared-conformance.test.ts; both must answer as the files expect.

const dir = conformanceDir();
const PERMISSIONSHIP: Record<string, string> = { true: 'PERMISSIONSHIP_HAS_PERMISSION', false: 'PERMISSIONSHIP_NO_PERMISSION', caveated: 'PERMISSIONSHIP_CONDITIONAL_PERMISSION' };
const FULL = { fully_consistent: true };

t.test('every shared SpiceDB conformance file passes through the SpiceDB API', async (t) => {
  if (!existsSync(dir)) {
    if (process.env['WARDEN_REQUIRE_CONFORMANCE']) t.fail(`the shared conformance files are required but ${dir} is missing`);
    else t.skip(`the shared conformance files are not beside this clone (${dir}): skipped`);
    return;
  }
  const ds = await openDatastore('memory');
  const server = await startServer({ datastore: ds, authenticate: testingAuthenticate(ds.access), log: () => {} }, '127.0.0.1:0');
  const { authzed } = loadApi({ authzed: true });
  const address = `127.0.0.1:${server.port}`;
  const permissions = new (authzed!['PermissionsService'] as unknown as new (a: string, c: unknown) => Client & Record<string, Function>)(address, credentials.createInsecure());
  const schemas = new (authzed!['SchemaService'] as unknown as new (a: string, c: unknown) => Client & Record<string, Function>)(address, credentials.createInsecure());
  t.teardown(async () => {
    permissions.close();
    schemas.close();
    await server.shutdown(200);
    await ds.close();
  });
  const unary = (c: Record<string, Function>, method: string, token: string, req: unknown): Promise<any> => {
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    return new Promise((resolve, reject) => c[method]!.call(c, req, md, (e: ServiceError | null, r: unknown) => (e ? reject(e) : resolve(r))));
  };
  const stream = (c: Record<string, Function>, method: string, token: string, req: unknown): Promise<any[]> => {
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    return new Promise((resolve, reject) => {
      const out: any[] = [];
      const call = c[method]!.call(c, req, md);
      call.on('data', (m: unknown) => out.push(m));
      call.on('error', reject);
      call.on('end', () => resolve(out));
    });
  };

  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  t.ok(files.length >= MIN_FILES.shared, `${files.length} files, at least ${MIN_FILES.shared} expected`);
  let assertions = 0;
  for (const file of files) {
    const failures: string[] = [];
    for (const doc of parseValidationFile(await readFile(`${dir}/${file}`, 'utf8'), file)) {
      const token = `conformance-${file}-${doc.index}`;
      try {
        await unary(schemas, 'WriteSchema', token, { schema: doc.schema });
      } catch (e) {
        failures.push(`WriteSchema -> ${(e as Error).message}`);
        continue;
      }
      // A relationship listed twice is written once, as it was last listed (as the native runner does).
      const rels = [...new Map(doc.relationships.map((r) => [relationshipKey(r), r])).values()];
      for (let i = 0; i < rels.length; i += 500) {
        const updates = rels.slice(i, i + 500).map((r) => ({ operation: 'OPERATION_TOUCH', relationship: fromRelationship(r) }));
        await unary(permissions, 'WriteRelationships', token, { updates }).catch((e: Error) => failures.push(`WriteRelationships -> ${e.message}`));
      }
      for (const { expect, assertion: a } of doc.assertions) {
        assertions++;
        const subject = fromSubject(a.subject);
        const context = Object.keys(a.context).length ? jsonToStruct(a.context as Record<string, unknown>) : null;
        const label = `assert${expect[0]!.toUpperCase()}${expect.slice(1)} ${a.text}`;
        try {
          const r = await unary(permissions, 'CheckPermission', token, { consistency: FULL, resource: { object_type: a.resource.type, object_id: a.resource.id }, permission: a.permission, subject, context });
          if (r.permissionship !== PERMISSIONSHIP[expect]) failures.push(`${label}: CheckPermission says ${r.permissionship}`);
          const found = await stream(permissions, 'LookupResources', token, { consistency: FULL, resource_object_type: a.resource.type, permission: a.permission, subject, context });
          const listed = found.some((x) => x.resource_object_id === a.resource.id);
          if (listed !== (expect !== 'false')) failures.push(`${label}: LookupResources ${listed ? 'lists' : 'does not list'} it`);
        } catch (e) {
          failures.push(`${label} -> ${(e as Error).message}`);
        }
      }
    }
    t.same(failures, [], file);
  }
  t.ok(assertions > 100, `${assertions} assertions checked through the SpiceDB API`);
});
