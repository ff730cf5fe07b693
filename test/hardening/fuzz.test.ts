import { Client, credentials, Metadata, status, type MethodDefinition } from '@grpc/grpc-js';
import fc from 'fast-check';
import t from 'tap';
import { insecureAuthenticate, startServer } from '../../src/server/server.js';
import { loadApi } from '../../src/server/proto.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import { apiClient, obj, relMsg, subj } from '../helpers/api-client.js';

// Random and mutated messages to every RPC of every service: the server stays up, answers every
// call with a precise status (never INTERNAL or UNKNOWN), and a call that fails writes nothing.
// A fixed seed in CI; WARDEN_FUZZ_RUNS=N for more.

const SCHEMA = `caveat flagged(flag bool) { flag }
definition user {}
definition group { relation member: user | group#member }
definition doc {
  relation viewer: user | user:* | group#member | user with flagged
  relation banned: user
  permission view = viewer - banned
}`;

/** A valid request for each method, whose encoding the fuzzer mutates. */
const SEEDS: Record<string, unknown> = {
  Check: { resource: obj('doc:a'), permission: 'view', subject: subj('user:ann'), context: { fields: { flag: { boolValue: true } } } },
  BatchCheck: { items: [{ resource: obj('doc:a'), permission: 'view', subject: subj('user:ann') }] },
  Expand: { resource: obj('doc:a'), permission: 'view' },
  ListObjects: { resource_type: 'doc', permission: 'view', subject: subj('user:ann'), limit: 5 },
  ListSubjects: { resource: obj('doc:a'), permission: 'view', subject_type: 'user' },
  ListPermissions: { resource: obj('doc:a'), subject: subj('user:ann') },
  Write: { updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:f#viewer@user:fuzz') }], metadata: { fields: { by: { stringValue: 'fuzz' } } } },
  Delete: { filter: { resource_type: 'doc', optional_resource_id: 'f' } },
  Read: { filter: { resource_type: 'doc' }, limit: 3 },
  Import: { relationships: [relMsg('doc:i#viewer@user:fuzz')] },
  Export: { page_size: 3 },
  Watch: { heartbeat_ms: 100 },
  WriteSchema: { schema: SCHEMA },
  ReadSchema: {},
  ValidateSchema: { schema: SCHEMA },
  CreateTenant: { name: 'fuzzed' },
  ListTenants: {},
  DeleteTenant: { name: 'fuzzed' },
};

/** Methods that change data: a failed call to one must leave the head revision where it was. */
const WRITES = new Set(['Write', 'Delete', 'Import', 'WriteSchema', 'CreateTenant', 'DeleteTenant']);
const IMPRECISE = new Set([status.INTERNAL, status.UNKNOWN]);

const runs = Number(process.env['WARDEN_FUZZ_RUNS'] ?? 12);

t.test(`every RPC answers random and mutated messages with a precise status (${runs} of each a method)`, async (t) => {
  const ds = await openDatastore('pglite:memory://');
  await ds.migrate();
  const internal: unknown[] = [];
  const server = await startServer({ datastore: ds, authenticate: insecureAuthenticate(), quantizationMs: 0, log: (e) => internal.push(e) }, '127.0.0.1:0');
  const address = `127.0.0.1:${server.port}`;
  const api = apiClient(address);
  const raw = new Client(address, credentials.createInsecure());
  t.teardown(async () => {
    api.close();
    raw.close();
    await server.shutdown(1000);
    await ds.close();
  });
  await api.schema.WriteSchema({ schema: SCHEMA });
  await api.relationship.Write({ updates: ['doc:a#viewer@user:ann', 'group:g#member@user:bob', 'doc:a#viewer@group:g#member'].map((r) => ({ operation: 'OPERATION_TOUCH', relationship: relMsg(r) })) });
  const store = ds.store('default');

  const { definition } = loadApi();
  const methods: [string, MethodDefinition<unknown, unknown>][] = [];
  for (const [service, def] of Object.entries(definition)) {
    if (!service.startsWith('warden.v1.') || 'format' in def) continue;
    for (const [name, m] of Object.entries(def as Record<string, MethodDefinition<unknown, unknown>>)) methods.push([name, m]);
  }
  t.ok(methods.length >= 18, `${methods.length} methods fuzzed`);

  /** Sends raw bytes to a method; resolves with the final status code. */
  const send = (m: MethodDefinition<unknown, unknown>, bytes: Buffer): Promise<number> =>
    new Promise((resolve) => {
      const id = (b: Buffer): Buffer => b;
      const options = { deadline: Date.now() + (m.responseStream && !m.requestStream && m.path.endsWith('/Watch') ? 300 : 5000) };
      const done = (e: { code?: number } | null): void => resolve(e?.code ?? status.OK);
      if (m.requestStream) {
        const call = raw.makeClientStreamRequest(m.path, id, id, new Metadata(), options, (e) => done(e));
        call.write(bytes);
        call.end();
      } else if (m.responseStream) {
        const call = raw.makeServerStreamRequest(m.path, id, id, bytes, new Metadata(), options);
        call.on('data', () => {});
        call.on('error', (e: { code: number }) => done(e));
        call.on('end', () => done(null));
      } else {
        raw.makeUnaryRequest(m.path, id, id, bytes, new Metadata(), options, (e) => done(e));
      }
    });

  const byCode = new Map<number, number>();
  for (const [name, m] of methods) {
    const seed = m.requestSerialize(SEEDS[name] ?? {}) as Buffer;
    const inputs = fc.sample(
      fc.oneof(
        fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b)),
        fc.tuple(fc.nat({ max: Math.max(0, seed.length - 1) }), fc.integer({ min: 0, max: 255 }), fc.nat({ max: 4 })).map(([at, byte, cut]) => {
          const b = Buffer.from(seed);
          if (b.length) b[at] = byte;
          return b.subarray(0, Math.max(0, b.length - cut));
        }),
      ),
      { numRuns: runs, seed: 4242 + name.length },
    );
    for (const bytes of inputs) {
      const before = await store.headRevision();
      const code = await send(m, bytes);
      byCode.set(code, (byCode.get(code) ?? 0) + 1);
      if (IMPRECISE.has(code)) t.fail(`${name} answered ${status[code]} to ${bytes.toString('hex').slice(0, 80)}`);
      if (WRITES.has(name) && code !== status.OK && name !== 'CreateTenant' && name !== 'DeleteTenant') {
        t.equal(await store.headRevision(), before, `${name}: a failed call (${status[code]}) wrote nothing`);
      }
    }
  }
  t.same(internal, [], 'no internal error was logged');
  const health = await api.permission.Check({ consistency: { fully_consistent: true }, resource: obj('doc:a'), permission: 'view', subject: subj('user:ann') });
  t.equal(health.permissionship, 'PERMISSIONSHIP_HAS_PERMISSION', `the server is up and right after ${[...byCode.values()].reduce((a, b) => a + b, 0)} fuzzed calls (${[...byCode].map(([c, n]) => `${status[c]} ${n}`).join(', ')})`);
});
