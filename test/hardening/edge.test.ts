import { getEventListeners } from 'node:events';
import { Metadata, status } from '@grpc/grpc-js';
import t from 'tap';
import { sleep } from '../../src/api/watch-service.js';
import { WardenError } from '../../src/errors/error-code.js';
import { MAX_STATUS_MESSAGE_CHARS, metadataValue } from '../../src/errors/to-status.js';
import { insecureAuthenticate, startServer } from '../../src/server/server.js';
import { unary } from '../../src/server/call.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import { callTelemetry } from '../../src/telemetry/call-telemetry.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { Telemetry } from '../../src/telemetry/telemetry.js';
import { apiClient, obj, relMsg, subj } from '../helpers/api-client.js';

const SCHEMA = `caveat big(count int) { count > 1 }
definition user {}
definition doc {
  relation viewer: user | user with big
  permission view = viewer
}`;

// One request must never take the server down: each of these keys ends up in the INVALID_ARGUMENT
// field path (and so in the `warden-field` trailer), where grpc-js allows printable ASCII only.
const HOSTILE_KEYS = ['é', 'a\nb', 'x\u0000', '\ud800', '%41'];

t.test('hostile input at the edge answers a precise status and the server stays up (PGlite)', async (t) => {
  const ds = await openDatastore('pglite:memory://');
  await ds.migrate();
  const logged: unknown[] = [];
  const server = await startServer({ datastore: ds, authenticate: insecureAuthenticate(), quantizationMs: 0, log: (e) => logged.push(e) }, '127.0.0.1:0');
  const api = apiClient(`127.0.0.1:${server.port}`);
  t.teardown(async () => {
    api.close();
    await server.shutdown(1000);
    await ds.close();
  });
  await api.schema.WriteSchema({ schema: SCHEMA });
  const alive = async (): Promise<void> => {
    const r = await api.permission.Check({ resource: obj('doc:a'), permission: 'view', subject: subj('user:ann') });
    t.equal(r.permissionship, 'PERMISSIONSHIP_NO_PERMISSION', 'the server still answers');
  };
  const caveated = (key: string) => ({
    ...relMsg('doc:a#viewer@user:ann'),
    optional_caveat: { caveat_name: 'big', context: { fields: { [key]: { numberValue: 2 } } } },
  });

  for (const key of HOSTILE_KEYS) {
    const name = JSON.stringify(key);
    await t.test(`a caveat context key ${name}`, async (t) => {
      for (const [what, call] of [
        ['Check', () => api.permission.Check({ resource: obj('doc:a'), permission: 'view', subject: subj('user:ann'), contextual_relationships: [caveated(key)] })],
        ['ListObjects', () => api.permission.ListObjects({ resource_type: 'doc', permission: 'view', subject: subj('user:ann'), contextual_relationships: [caveated(key)] })],
        ['Write', () => api.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: caveated(key) }] })],
      ] as const) {
        const e = await (call() as Promise<unknown>).then(
          () => null,
          (err: { code: number; details: string; metadata: Metadata }) => err,
        );
        t.ok(e, `${what} is refused`);
        t.equal(e?.code, status.INVALID_ARGUMENT, `${what}: INVALID_ARGUMENT`);
        const field = String(e?.metadata.get('warden-field')[0]);
        t.match(field, /^[\x20-\x7e]+$/, `${what}: the field trailer is printable ASCII`);
        t.match(field, what === 'Write' ? /^updates\[0\]\.relationship\./ : /^contextual_relationships\[0\]\./, `${what}: names the relationship`);
        // (An unpaired surrogate does not survive the client's UTF-8 encoding: the server sees U+FFFDs.)
        if (!/[\ud800-\udfff]/.test(key)) t.ok(field.endsWith(metadataValue(`.context.${key}`)), `${what}: names the key, percent-encoded (${field})`);
      }
      await alive();
    });
  }

  await t.test('a NUL in write metadata or a stored caveat context is INVALID_ARGUMENT naming it, and nothing is written', async (t) => {
    await t.rejects(
      api.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:n#viewer@user:ann') }], metadata: { fields: { why: { stringValue: 'x\u0000y' } } } }),
      { code: status.INVALID_ARGUMENT, details: /metadata\.why: contains a NUL/ },
    );
    await t.rejects(
      api.relationship.Write({
        updates: [{ operation: 'OPERATION_TOUCH', relationship: { ...relMsg('doc:n#viewer@user:ann'), optional_caveat: { caveat_name: 'big', context: { fields: { count: { stringValue: '\u0000' } } } } } }],
      }),
      { code: status.INVALID_ARGUMENT },
    );
    const r = await api.relationship.Read({ consistency: { fully_consistent: true }, filter: { resource_type: 'doc', optional_resource_id: 'n' } });
    t.same(r, [], 'nothing was written');
    await alive();
  });

  await t.test('a schema with thousands of errors is refused promptly with a bounded message; ValidateSchema lists them all', async (t) => {
    const lines = Array.from({ length: 2000 }, (_, i) => `  relation rel_${i}: no_such_${i}`);
    const bad = `definition user {}\ndefinition doc {\n${lines.join('\n')}\n}`;
    const started = Date.now();
    const e = await api.schema.WriteSchema({ schema: bad }, { deadline: Date.now() + 10_000 }).then(
      () => null,
      (err: { code: number; details: string }) => err,
    );
    t.equal(e?.code, status.INVALID_ARGUMENT, 'a status arrives, not a hang');
    t.ok(Date.now() - started < 5000, 'promptly');
    t.ok(e!.details.length <= MAX_STATUS_MESSAGE_CHARS, `the message is capped (${e!.details.length} chars)`);
    t.match(e!.details, /2000 errors.*ValidateSchema returns them all/s);
    const v = await api.schema.ValidateSchema({ schema: bad });
    t.equal(v.diagnostics.length, 2000, 'the full list is in the ValidateSchema response body');
  });

  await t.test('expressions too large to compile safely are INVALID_ARGUMENT, not INTERNAL', async (t) => {
    for (const [what, op, n] of [
      ['100,000 + terms', '+', 100_000],
      ['50,000 exclusions', '-', 50_000],
    ] as const) {
      const expr = Array.from({ length: n }, () => 'viewer').join(` ${op} `);
      await t.rejects(api.schema.WriteSchema({ schema: `definition user {}\ndefinition doc {\n  relation viewer: user\n  permission p = ${expr}\n}` }), {
        code: status.INVALID_ARGUMENT,
        details: /permission `p` has more than 1000 operators/,
      }, what);
    }
    const nested = `${'('.repeat(5000)}viewer${')'.repeat(5000)}`;
    await t.rejects(api.schema.WriteSchema({ schema: `definition user {}\ndefinition doc {\n  relation viewer: user\n  permission p = ${nested}\n}` }), {
      code: status.INVALID_ARGUMENT,
    }, 'deep nesting');
    await alive();
  });

  await t.test('more than 1,000 preconditions are refused before any work', async (t) => {
    const preconditions = Array.from({ length: 1001 }, () => ({ operation: 'OPERATION_MUST_NOT_MATCH', filter: { resource_type: 'doc', optional_resource_id: 'zz' } }));
    await t.rejects(api.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:p#viewer@user:ann') }], preconditions }), {
      code: status.INVALID_ARGUMENT,
      details: /1001 preconditions, more than the limit of 1000/,
    });
  });

  await t.test('an Import the client abandons mid-stream is CANCELLED, writes nothing, and logs no internal error', async (t) => {
    const before = await ds.store('default').headRevision();
    const stream = api.relationship.openImport();
    stream.write({ relationships: [relMsg('doc:abandoned#viewer@user:ann')] });
    await new Promise((r) => setTimeout(r, 100));
    await t.rejects(stream.cancel(), { code: status.CANCELLED });
    await new Promise((r) => setTimeout(r, 200));
    t.equal(await ds.store('default').headRevision(), before, 'nothing was written');
  });

  t.same(logged, [], 'none of it was an internal error');
});

t.test('an exception on a handler\'s error path is answered INTERNAL and logged, never thrown', async (t) => {
  const err = new WardenError('INVALID_ARGUMENT', 'bad');
  // A field whose reading throws stands in for anything that can go wrong while mapping an error.
  Object.defineProperty(err, 'field', { get: () => { throw new Error('mapping failed'); } });
  const logged: unknown[] = [];
  const observer = callTelemetry(Telemetry.off(silentLogger()), (e) => logged.push(e), () => ({ writes: false, watch: false }));
  const handler = unary('Test.Method', 'check', () => ({}) as never, observer, async () => {
    throw err;
  });
  const answered = await new Promise<{ code: number; details: string }>((resolve) => {
    handler({ request: {}, metadata: new Metadata(), getDeadline: () => Infinity, on: () => {}, sendMetadata: () => {} } as never, (e: unknown) => resolve(e as { code: number; details: string }));
  });
  t.equal(answered.code, status.INTERNAL);
  t.equal(answered.details, 'internal error');
  t.match(String((logged[0] as Error).message), /mapping failed/);
});

t.test('metadata values are made printable ASCII, reversibly', async (t) => {
  for (const s of ['plain.field[0]', ...HOSTILE_KEYS.map((k) => `context.${k}`)]) {
    const v = metadataValue(s);
    t.match(v, /^[\x20-\x7e]*$/, JSON.stringify(s));
    t.doesNotThrow(() => new Metadata().set('warden-field', v));
    if (!/[\ud800-\udfff]/.test(s)) t.equal(decodeURIComponent(v), s, `${JSON.stringify(s)} reads back`);
  }
});

t.test("Watch's poll sleep leaves no abort listener behind", async (t) => {
  const controller = new AbortController();
  for (let i = 0; i < 200; i++) await sleep(0, controller.signal);
  t.equal(getEventListeners(controller.signal, 'abort').length, 0, 'none after 200 polls');
  const pending = sleep(60_000, controller.signal);
  controller.abort();
  await pending;
  t.equal(getEventListeners(controller.signal, 'abort').length, 0, 'none after an abort');
});
