import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { EXAMPLE_MODEL } from '../../src/cli/init-command.js';
import { serveProcess, WARDEN_BIN } from '../helpers/warden-process.js';

// A newcomer's first hour through the CLI: `warden init`, and reads that see the CLI's own writes.

const dir = mkdtempSync(join(tmpdir(), 'warden-first-hour-'));
const baseEnv = { ...process.env, WARDEN_CONFIG_DIR: join(dir, 'config'), NO_COLOR: '1', WARDEN_TOKEN: '' };

function warden(args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [WARDEN_BIN, ...args], { cwd: dir, encoding: 'utf8', env: { ...baseEnv, ...env }, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/**
 * A memory server with keys off and a quantization window of 10 minutes: a minimize_latency read
 * answers from the snapshot the server started with, so a read that did not wait for a write shows.
 */
async function server(t: Test, address = '127.0.0.1:0'): Promise<{ endpoint: string; stop: () => Promise<void> }> {
  const { child, address: endpoint } = await serveProcess(t, ['--datastore', 'memory', '--insecure-no-auth', '--address', address, '--quantization-ms', '600000']);
  return { endpoint, stop: () => (child.exitCode === null ? new Promise<void>((r) => (child.once('exit', () => r()), child.kill('SIGTERM'))) : Promise.resolve()) };
}

t.test('warden init writes the example model, which validates, and never overwrites unasked', async (t) => {
  const r = warden(['init', 'model-a']);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^wrote model-a\/model\.yaml/);
  t.equal(readFileSync(join(dir, 'model-a/model.yaml'), 'utf8'), EXAMPLE_MODEL);
  const v = warden(['validate', 'model-a/model.yaml']);
  t.equal(v.code, 0, v.out);
  t.match(v.out, /(\d+) passed, 0 failed/);
  t.match(EXAMPLE_MODEL, /user:\*/, 'a wildcard');
  t.match(EXAMPLE_MODEL, /caveat office_hours/, 'a caveat');
  t.match(EXAMPLE_MODEL, / - banned/, 'an exclusion');
  t.match(EXAMPLE_MODEL, /group#member/, 'nested groups');
  writeFileSync(join(dir, 'model-a/model.yaml'), 'mine');
  const again = warden(['init', 'model-a']);
  t.equal(again.code, 3);
  t.match(again.err, /model-a\/model\.yaml exists: pass --force to replace it/);
  t.equal(readFileSync(join(dir, 'model-a/model.yaml'), 'utf8'), 'mine', 'left as it was');
  t.equal(warden(['init', 'model-a', '--force']).code, 0);
  t.equal(readFileSync(join(dir, 'model-a/model.yaml'), 'utf8'), EXAMPLE_MODEL);
  t.equal(warden(['init']).code, 0, 'the default directory');
  t.ok(existsSync(join(dir, 'warden-model/model.yaml')));
});

t.test('reads see the CLI\'s own writes at once; --consistency min-latency opts out', async (t) => {
  const { endpoint } = await server(t);
  const env = { WARDEN_ENDPOINT: endpoint };
  writeFileSync(join(dir, 's.zed'), 'definition user {}\ndefinition doc {\n  relation viewer: user\n  permission view = viewer\n}\n');
  t.equal(warden(['schema', 'write', 's.zed'], env).code, 0);
  const read = warden(['schema', 'read'], env);
  t.equal(read.code, 0, `schema read right after schema write sees it: ${read.err}`);
  t.match(read.out, /permission view = viewer/);
  t.equal(warden(['tuple', 'write', 'doc:a#viewer@user:ann'], env).code, 0);
  t.equal(warden(['check', 'doc:a', 'view', 'user:ann'], env).out.trim(), 'HAS_PERMISSION', 'a check right after the write sees it');
  t.equal(warden(['list-objects', 'doc', 'view', 'user:ann'], env).out.trim(), 'doc:a', 'and so do listings');
  t.equal(warden(['tuple', 'delete', 'doc:a#viewer@user:ann'], env).code, 0);
  t.equal(warden(['check', 'doc:a', 'view', 'user:ann'], env).out.trim(), 'NO_PERMISSION', 'and a delete');
  // minimize_latency answers from the quantized snapshot, from before the schema.
  const stale = warden(['check', 'doc:a', 'view', 'user:ann', '--consistency', 'min-latency'], env);
  t.match(stale.err, /no schema has been written/, '--consistency min-latency reads the quantized snapshot');
  // Another key (another tenant, here the same one) has a memory of its own.
  t.match(readFileSync(join(dir, 'config/last-writes.json'), 'utf8'), new RegExp(endpoint.replace(/\./g, '\\.')));
});

t.test('a remembered zookie the server no longer knows is forgotten, and the read made at minimize_latency', async (t) => {
  const first = await server(t);
  writeFileSync(join(dir, 's2.zed'), 'definition user {}\n');
  const env1 = { WARDEN_ENDPOINT: first.endpoint };
  t.equal(warden(['schema', 'write', 's2.zed'], env1).code, 0);
  await first.stop();
  // A new in-memory server on the same address knows nothing of the old zookie's datastore.
  const port = first.endpoint.split(':')[1]!;
  await server(t, `127.0.0.1:${port}`);
  const r = warden(['schema', 'read'], env1);
  t.equal(r.code, 4);
  t.match(r.err, /FAILED_PRECONDITION: no schema has been written/, 'the answer of an empty store, not a refused zookie');
  t.notOk(readFileSync(join(dir, 'config/last-writes.json'), 'utf8').includes(`127.0.0.1:${port}`), 'the stale zookie is forgotten');
});
