import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { EXAMPLE_MODEL } from '../../src/cli/init-command.js';
import { serveProcess, WARDEN_BIN } from '../helpers/warden-process.js';
import { NODE, nodeArgs } from '../helpers/node-process.js';

// A newcomer's first hour through the CLI: `warden init`, and reads that see the CLI's own writes.

const dir = mkdtempSync(join(tmpdir(), 'warden-first-hour-'));
const baseEnv = { ...process.env, WARDEN_CONFIG_DIR: join(dir, 'config'), NO_COLOR: '1', WARDEN_TOKEN: '' };

function warden(args: string[], env: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(NODE, nodeArgs(WARDEN_BIN, ...args), { cwd: dir, encoding: 'utf8', env: { ...baseEnv, ...env }, timeout: 60_000 });
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

t.test('--json prints one object a line, with the names the text uses; batch-check echoes each check and its exit says how it went', async (t) => {
  const { endpoint } = await server(t);
  const env = { WARDEN_ENDPOINT: endpoint };
  writeFileSync(join(dir, 'b.zed'), 'definition user {}\ndefinition doc {\n  relation viewer: user\n  permission view = viewer\n}\n');
  t.equal(warden(['schema', 'write', 'b.zed'], env).code, 0);
  t.equal(warden(['tuple', 'write', 'doc:a#viewer@user:ann'], env).code, 0);
  t.same(JSON.parse(warden(['check', 'doc:a', 'view', 'user:ann', '--json'], env).out).permissionship, 'HAS_PERMISSION', 'check: the short name, as in text');
  const input = 'doc:a view user:ann\ndoc:a view user:bob\n';
  const r = spawnSync(NODE, nodeArgs(WARDEN_BIN, 'batch-check', '--json'), { input, cwd: dir, encoding: 'utf8', env: { ...baseEnv, ...env } });
  t.equal(r.status, 0);
  const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
  t.match(lines, [
    { resource: 'doc:a', permission: 'view', subject: 'user:ann', permissionship: 'HAS_PERMISSION' },
    { resource: 'doc:a', permission: 'view', subject: 'user:bob', permissionship: 'NO_PERMISSION' },
  ], 'one line per check, echoing it');
  const text = spawnSync(NODE, nodeArgs(WARDEN_BIN, 'batch-check'), { input, cwd: dir, encoding: 'utf8', env: { ...baseEnv, ...env } });
  t.equal(text.stdout, 'doc:a view user:ann\tHAS_PERMISSION\ndoc:a view user:bob\tNO_PERMISSION\n');
  const deny = spawnSync(NODE, nodeArgs(WARDEN_BIN, 'batch-check', '--fail-on-deny'), { input, cwd: dir, encoding: 'utf8', env: { ...baseEnv, ...env } });
  t.equal(deny.status, 1, '--fail-on-deny: 1 when any is denied');
  const allowed = spawnSync(NODE, nodeArgs(WARDEN_BIN, 'batch-check', '--fail-on-deny'), { input: 'doc:a view user:ann\n', cwd: dir, encoding: 'utf8', env: { ...baseEnv, ...env } });
  t.equal(allowed.status, 0, 'and 0 when none is');
  const failing = spawnSync(NODE, nodeArgs(WARDEN_BIN, 'batch-check', '--json'), { input: 'doc:a view user:ann\ndoc:a nope user:ann\n', cwd: dir, encoding: 'utf8', env: { ...baseEnv, ...env } });
  t.equal(failing.status, 4, 'an item that failed: exit 4');
  t.match(JSON.parse(failing.stdout.trim().split('\n')[1]!), { resource: 'doc:a', permission: 'nope', error: { code: 'FAILED_PRECONDITION', message: /nope/ } });
  const perms = warden(['list-permissions', 'doc:a', 'user:ann', '--json'], env).out.trim().split('\n').map((l) => JSON.parse(l));
  t.match(perms, [{ permission: 'viewer', permissionship: 'HAS_PERMISSION' }, { permission: 'view', permissionship: 'HAS_PERMISSION' }], 'list-permissions: one line each');
  t.same(JSON.parse(warden(['list-objects', 'doc', 'view', 'user:ann', '--json'], env).out).permissionship, 'HAS_PERMISSION');
});

t.test('keys list --json is one key a line', async (t) => {
  const store = `pglite:${join(dir, 'keys-store')}`;
  t.equal(warden(['keys', 'create', '--tenant', 'a', '--datastore', store]).code, 0);
  t.equal(warden(['keys', 'create', '--tenant', 'b', '--datastore', store]).code, 0);
  const lines = warden(['keys', 'list', '--json', '--datastore', store]).out.trim().split('\n').map((l) => JSON.parse(l));
  t.equal(lines.length, 2);
  t.same(lines.map((k) => k.tenant).sort(), ['a', 'b']);
  t.ok(lines.every((k) => !JSON.stringify(k).includes('wdn_')), 'never a key');
});

t.test('contexts: show where each setting comes from (never the key), rename, delete', async (t) => {
  const env = { WARDEN_CONFIG_DIR: join(dir, 'contexts') };
  t.equal(warden(['context', 'set', 'prod', '--endpoint', 'prod.example:50051', '--token', 'wdn_secretsecretsecret', '--tls'], env).code, 0);
  t.equal(warden(['context', 'set', 'dev', '--endpoint', '127.0.0.1:50051'], env).code, 0);
  const shown = warden(['context', 'show'], env);
  t.equal(shown.out, 'context\tprod\nendpoint\tprod.example:50051\t(context prod)\ntoken\tset\t(context prod)\ntls\ton\t(context prod)\n');
  t.notOk(shown.out.includes('wdn_'), 'never the key');
  t.match(JSON.parse(warden(['context', 'show', '--json'], { ...env, WARDEN_ENDPOINT: 'other:1' }).out), { context: 'prod', endpoint: { value: 'other:1', from: 'WARDEN_ENDPOINT' }, token: { value: 'set', from: 'context prod' } });
  t.match(JSON.parse(warden(['context', 'show', '--profile', 'dev', '--json'], env).out), { context: 'dev', tls: { value: false, from: 'context dev' }, token: { value: 'none' } });
  t.equal(warden(['context', 'rename', 'prod', 'production'], env).out, 'renamed context prod to production (in use)\n');
  t.equal(warden(['context', 'rename', 'nope', 'x'], env).code, 3);
  t.equal(warden(['context', 'rename', 'dev', 'production'], env).code, 3, 'not over another');
  t.match(warden(['context', 'list'], env).out, /^\* production\tprod\.example:50051/m);
  t.match(warden(['context', 'delete', 'production'], env).out, /deleted context production \(it was in use/);
  t.same(warden(['context', 'list', '--json'], env).out.trim().split('\n').map((l) => JSON.parse(l).name), ['dev'], 'one context a line');
  t.equal(warden(['context', 'delete', 'production'], env).code, 3);
});

t.test('a server that is not there: one line naming it and why, without driver notes', async (t) => {
  const r = warden(['check', 'doc:a', 'view', 'user:ann', '--endpoint', '127.0.0.1:1']);
  t.equal(r.code, 4);
  t.equal(r.err, 'warden: cannot reach the server at 127.0.0.1:1: connection refused (is the server running, on this port?)\n');
});

t.test('expand shows an arrow as an arrow, over the objects it reached', async (t) => {
  const { endpoint } = await server(t);
  const env = { WARDEN_ENDPOINT: endpoint };
  t.equal(warden(['init', 'expand-model', '--force'], env).code, 0);
  t.equal(warden(['import', 'expand-model/model.yaml'], env).code, 0);
  const out = warden(['expand', 'resource:dashboard', 'view'], env).out;
  const lines = out.split('\n');
  t.equal(lines[0], 'union resource:dashboard#view', 'the permission at the top');
  const arrow = lines.findIndex((l) => l.trim() === 'account->manage from resource:dashboard');
  t.ok(arrow > 0, 'the arrow, as written, from the object it starts at');
  t.match(lines[arrow + 1], /^\s+union account:acme-prod#manage$/, 'over the tree of the object it reached');
  t.ok(lines.some((l) => l.trim() === 'org->view from account:acme-prod'), 'arrows further down too');
  for (let i = 1; i < lines.length; i++) t.not(lines[i]!.trim(), lines[i - 1]!.trim(), `no node nested in one of the same name (line ${i})`);
  const json = JSON.parse(warden(['expand', 'resource:dashboard', 'view', '--json'], env).out);
  const arrows: string[] = [];
  const walk = (n: any): void => (n.arrow && arrows.push(n.arrow), n.children.forEach(walk));
  walk(json.tree);
  t.ok(arrows.includes('account->manage') && arrows.includes('account->view'), `the arrow in JSON too: ${arrows.join(', ')}`);
});

t.test('schema format keeps the parentheses a reader needs', async (t) => {
  writeFileSync(join(dir, 'fmt.zed'), 'definition user {}\ndefinition doc {\n relation member: user\n relation admin: user\n relation banned: user\n permission view = (member + admin) - banned\n}\n');
  const r = warden(['schema', 'format', 'fmt.zed']);
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^ {2}permission view = \(member \+ admin\) - banned$/m);
});

t.test('keys through a running server: create, list and revoke while the embedded store serves', async (t) => {
  const data = join(dir, 'keys-served');
  const { address } = await serveProcess(t, ['--datastore', `pglite:${data}`, '--address', '127.0.0.1:0']);
  const admin = readFileSync(join(data, 'first-key'), 'utf8').trim();
  const env = { WARDEN_ENDPOINT: address, WARDEN_TOKEN: admin };
  // The store is the server's: on it directly, a second key would need the server stopped.
  t.equal(warden(['keys', 'list', '--datastore', `pglite:${data}`]).code, 4, 'the datastore is held by the server');
  const made = warden(['keys', 'create', '--tenant', 'default', '--scope', 'check,read,schema', '--description', 'ci', '--json'], env);
  t.equal(made.code, 0, made.err);
  const key = JSON.parse(made.out) as { id: string; key: string; scopes: string[] };
  t.same(key.scopes, ['check', 'read', 'schema']);
  const listed = warden(['keys', 'list', '--json'], env).out.trim().split('\n').map((l) => JSON.parse(l));
  t.equal(listed.length, 2, 'the first key and the new one');
  t.ok(listed.some((k) => k.id === key.id && k.description === 'ci' && k.revokedAt === null));
  writeFileSync(join(dir, 'k.zed'), 'definition user {}\n');
  t.equal(warden(['schema', 'write', 'k.zed'], { ...env, WARDEN_TOKEN: key.key }).code, 0, 'the new key works');
  const denied = warden(['keys', 'list'], { ...env, WARDEN_TOKEN: key.key });
  t.equal(denied.code, 4);
  t.match(denied.err, /PERMISSION_DENIED/, 'managing keys needs the admin scope');
  t.match(warden(['keys', 'create', '--tenant', 'nope'], env).err, /NOT_FOUND: no tenant `nope`/);
  t.match(warden(['keys', 'create', '--scope', 'root'], env).err, /INVALID_ARGUMENT: .*scopes.*unknown scope `root`/);
  t.equal(warden(['keys', 'revoke', key.id], env).out, `revoked ${key.id}\n`);
  const refused = warden(['schema', 'read'], { ...env, WARDEN_TOKEN: key.key });
  t.match(refused.err, /UNAUTHENTICATED/, 'a revoked key is refused at once');
  t.match(warden(['keys', 'revoke', key.id], env).err, /NOT_FOUND: no live key/);
  // Expiry and rotation.
  const expiring = JSON.parse(warden(['keys', 'create', '--scope', 'schema', '--expires-in', '90d', '--json'], env).out) as { id: string; key: string; expiresAt: string };
  t.ok(Math.abs(Date.parse(expiring.expiresAt) - Date.now() - 90 * 86_400_000) < 60_000, 'expires in 90 days');
  t.match(warden(['keys', 'list'], env).out, new RegExp(`^${expiring.id} .* expires \\d{4}-`, 'm'), 'the list says when it expires');
  t.match(warden(['keys', 'create', '--expires-in', 'soon'], env).err, /--expires-in must be a duration such as 90d/);
  const rotated = JSON.parse(warden(['keys', 'rotate', expiring.id, '--grace', '1h', '--json'], env).out) as { id: string; key: string; replaced: { id: string; expiresAt: string } };
  t.equal(rotated.replaced.id, expiring.id);
  t.ok(Math.abs(Date.parse(rotated.replaced.expiresAt) - Date.now() - 3_600_000) < 60_000, 'the old key works one more hour');
  t.equal(warden(['schema', 'write', 'k.zed'], { ...env, WARDEN_TOKEN: rotated.key }).code, 0, 'the new key works');
  t.equal(warden(['schema', 'write', 'k.zed'], { ...env, WARDEN_TOKEN: expiring.key }).code, 0, 'and the old one, within its grace');
  t.match(warden(['keys', 'list'], env).out, new RegExp(`^${admin.split('_')[1]} .* used \\d{4}-`, 'm'), 'the admin key shows its last use');
});
