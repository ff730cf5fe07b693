import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command, CommanderError } from 'commander';
import t from 'tap';
import { buildProgram, helpArgv } from '../../src/cli/program.js';
import { createKey } from '../../src/store/access.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import { freshDatabase } from '../helpers/postgres.js';
import { NODE, nodeArgs } from '../helpers/node-process.js';

const bin = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'warden-cli-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const url = await freshDatabase(t);
const ds = await openDatastore(url);
await ds.migrate();
t.teardown(() => ds.close());
// The server runs in a process of its own: the CLI calls below block this one.
const serverProcess = spawn(NODE, nodeArgs(bin, 'serve', '--address', '127.0.0.1:0', '--datastore', url, '--grace-ms', '500', '--workers', '1'), { stdio: ['ignore', 'ignore', 'pipe'] });
const endpoint = await new Promise<string>((resolve, reject) => {
  let log = '';
  serverProcess.stderr.on('data', (d) => {
    log += String(d);
    const m = /"address":"([^"]+)"[^\n]*"msg":"serving"/.exec(log);
    if (m) resolve(m[1]!);
  });
  serverProcess.once('exit', (code) => reject(new Error(`warden serve exited with ${code}: ${log}`)));
});
t.teardown(() => new Promise<void>((resolve) => {
  serverProcess.once('exit', () => resolve());
  serverProcess.kill('SIGTERM');
}));
const token = (await createKey(ds.access, 'default', ['check', 'read', 'write', 'schema'])).token;
const admin = (await createKey(ds.access, 'default', ['admin'])).token;
const { FORCE_COLOR: _f, NO_COLOR: _n, ...plainEnv } = process.env;
const env = { ...plainEnv, WARDEN_CONFIG_DIR: join(dir, 'config'), WARDEN_ENDPOINT: endpoint, WARDEN_TOKEN: token };

function warden(args: string[], input?: string, extraEnv: Record<string, string> = {}): { code: number | null; out: string; err: string } {
  const r = spawnSync(NODE, nodeArgs(bin, ...args), { encoding: 'utf8', input: input ?? '', env: { ...env, ...extraEnv }, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const SCHEMA = `use expiration
caveat on_day(day string) { day == 'tue' }
definition user {}
definition group { relation member: user }
definition document {
  relation viewer: user | group#member | user with on_day
  relation banned: user | user with expiration
  permission view = viewer - banned
}
`;

t.test('schema validate, format and diff work offline with file:line:column errors', async (t) => {
  const good = file('schema.zed', SCHEMA);
  t.match(warden(['schema', 'validate', good]).out, /schema\.zed: valid \(3 definitions, 1 caveats\)/);
  const bad = file('bad.zed', 'definition user {}\ndefinition doc { relation viewer: usr }\n');
  const r = warden(['schema', 'validate', bad]);
  t.equal(r.code, 3);
  t.match(r.err, /^warden: .*bad\.zed:2:35: unknown type `usr` in relation `doc#viewer`$/m);
  t.equal(r.err.trim().split('\n').length, 1, 'one line');
  const worse = warden(['schema', 'validate', file('worse.zed', 'definition user {}\ndefinition doc {\n relation viewer: usr\n permission view = viewr + nope\n}\n')]);
  t.equal(worse.code, 3);
  const lines = worse.err.trim().split('\n');
  t.match(lines[0], /^warden: 3 errors in .*worse\.zed:$/, 'several errors: a count');
  t.match(lines.slice(1), [/^\S*worse\.zed:3:19: unknown type `usr`/, /^\S*worse\.zed:4:20: unknown relation or permission `viewr`/, /^\S*worse\.zed:4:28: unknown relation or permission `nope`/], 'then one a line, file:line:column: message');
  t.match(warden(['schema', 'format', good]).out, /^definition document \{\n {2}relation viewer: user \| group#member \| user with on_day\n/m);
  const next = file('next.zed', SCHEMA.replace('  relation banned: user | user with expiration\n', '').replace(' - banned', '').replace('definition group', 'definition team {}\ndefinition group'));
  const diff = warden(['schema', 'diff', good, next]);
  t.match(diff.out, /^- relation document#banned$/m);
  t.match(diff.out, /^~ permission document#view: viewer - banned -> viewer$/m);
  t.match(diff.out, /^\+ definition team$/m);
  t.equal(warden(['schema', 'diff', good, good]).out, 'no changes\n');
  t.equal(warden(['schema', 'diff', good, good, '--json']).out, '', 'with --json, no changes is no lines');
  const changes = warden(['schema', 'diff', good, next, '--json']).out.trim().split('\n').map((l) => JSON.parse(l));
  t.ok(changes.length >= 3 && changes.some((c) => c.change === 'added' && c.name === 'team'), 'a change a line');
});

t.test('schema write and read, tuples, checks and lookups against the server', async (t) => {
  t.match(warden(['schema', 'write', file('schema.zed', SCHEMA)]).out, /^schema written at \S+\n$/);
  t.match(warden(['schema', 'read', '--consistency', 'full']).out, /definition document/);
  const w = warden(['tuple', 'write', 'document:q3#viewer@user:alice', 'group:eng#member@user:bob', 'document:q3#viewer@group:eng#member', '--json']);
  t.equal(w.code, 0, w.err);
  const zookie = JSON.parse(w.out).written_at.token;
  t.match(warden(['tuple', 'touch'], 'document:q4#viewer@user:carol[on_day]\ndocument:q4#banned@user:dave\n').out, /wrote 2 relationships/);
  const check = (args: string[]) => warden(['check', ...args, '--at-least', zookie]);
  t.equal(check(['document:q3', 'view', 'user:alice']).out.trim(), 'HAS_PERMISSION');
  t.equal(check(['document:q3', 'view', 'user:bob']).out.trim(), 'HAS_PERMISSION');
  t.equal(warden(['check', 'document:q3', 'view', 'user:bob', '--at-least', zookie], '', { FORCE_COLOR: '1' }).out, '\x1b[32mHAS_PERMISSION\x1b[39m\n', 'colour on a terminal only');
  const denied = warden(['check', 'document:q3', 'view', 'user:mallory', '--consistency', 'full', '--fail-on-deny']);
  t.same([denied.code, denied.out.trim()], [1, 'NO_PERMISSION']);
  const cond = warden(['check', 'document:q4', 'view', 'user:carol', '--consistency', 'full', '--fail-on-deny']);
  t.same([cond.code, cond.out.trim()], [2, 'CONDITIONAL (missing: day)']);
  t.equal(warden(['check', 'document:q4', 'view', 'user:carol', '--consistency', 'full', '--context', '{"day":"tue"}']).out.trim(), 'HAS_PERMISSION');
  t.match(JSON.parse(warden(['check', 'document:q3', 'view', 'user:alice', '--consistency', 'full', '--json']).out), { permissionship: 'HAS_PERMISSION' });
  t.equal(
    warden(['check', 'document:q3', 'view', 'user:bob', '--consistency', 'full', '--explain']).out,
    [
      'HAS_PERMISSION',
      'path: document:q3#view <- viewer <- group:eng#member <- user:bob',
      'document:q3#view: yes',
      '└─ viewer - banned: yes',
      '   ├─ document:q3#viewer: yes',
      '   │  └─ document:q3#viewer@group:eng#member: yes',
      '   │     └─ group:eng#member: yes',
      '   │        └─ group:eng#member@user:bob: yes',
      '   └─ document:q3#banned: no; not excluded',
      '',
    ].join('\n'),
    'check --explain: the path, then the tree',
  );
  const edge = warden(['token', 'issue', 'user:alice', '--resource', 'document:q3', '--resource', 'document:q4', '--permission', 'view', '--consistency', 'full', '--ttl', '2m']).out.trim();
  t.match(edge, /^[\w-]+\.[\w-]+\.[\w-]+$/, 'token issue prints a JWT');
  const jwksFile = file('jwks.json', warden(['token', 'jwks']).out);
  const verified = warden(['token', 'verify', edge, '--jwks', jwksFile]);
  t.equal(verified.code, 0, verified.err);
  t.match(JSON.parse(verified.out), { sub: 'user:alice', perms: { 'document:q3': ['view'] } }, 'verified offline, with its claims');
  t.notOk(JSON.parse(verified.out).perms['document:q4'], 'no more than Check answers');
  const bad = warden(['token', 'verify', `${edge.slice(0, -4)}AAAA`, '--jwks', jwksFile]);
  t.same([bad.code, /the token is not valid/.test(bad.err)], [1, true], 'a tampered token is refused');
  const acting = warden(['check', 'document:q3', 'view', 'user:alice', '--consistency', 'full', '--acting-as', 'user:support']);
  t.match(acting.err, /`user` defines no `impersonate` permission/, '--acting-as reaches the server, which refuses a type without impersonation');
  t.not(acting.code, 0);
  t.match(
    warden(['check', 'document:q4', 'view', 'user:carol', '--consistency', 'full', '--explain', '--context', '{"day":"wed"}']).out,
    /^ +└─ document:q4#viewer@user:carol\[on_day\]: no; caveat `on_day` is false; caveat on_day\(day="wed"\): no$/m,
    'a false caveat with the value it was decided with',
  );
  const next = file('next.zed', SCHEMA.replace('permission view = viewer - banned', 'permission view = banned'));
  t.equal(
    warden(['schema', 'simulate', next]).out,
    [
      'document#view (2 resources): 3 answers lost, on 2 resources, for 3 subjects; 1 answer gained, on 1 resource, for 1 subject',
      'answers that change (all 4):',
      '  - document:q3#view@user:alice  (yes -> no)',
      '  - document:q3#view@user:bob  (yes -> no)',
      '  - document:q4#view@user:carol  (conditional -> no)',
      '  + document:q4#view@user:dave  (no -> yes)',
      '',
    ].join('\n'),
    'schema simulate: counts, then every answer that changes',
  );
  t.match(warden(['tuple', 'simulate', '--type', 'document'], '-group:eng#member@user:bob\n').out, /^document#view \(2 resources\): 1 answer lost, on 1 resource, for 1 subject$/m, 'tuple simulate');
  t.equal(warden(['tuple', 'read', 'group:eng', '--consistency', 'full']).out.includes('user:bob'), true, 'nothing was written');
  const gate = warden(['schema', 'check', file('schema.zed', SCHEMA), next, '--fail-on', 'gained']);
  t.equal(gate.code, 1, 'schema check fails when the kind of change it refuses happens');
  t.match(gate.out, /^~ permission document#view: viewer - banned -> banned$/m, 'with the schema diff');
  t.match(gate.out, /failed: answers change that --fail-on gained refuses/);
  t.equal(warden(['schema', 'check', file('schema.zed', SCHEMA), file('schema.zed', SCHEMA)]).code, 0, 'no change passes');
  t.equal(warden(['schema', 'check', file('schema.zed', SCHEMA), next, '--fail-on', 'sometimes']).code, 3, 'a usage error');
  t.equal(warden(['list-objects', 'document', 'view', 'user:bob', '--consistency', 'full']).out, 'document:q3\n');
  t.equal(warden(['list-subjects', 'document:q3', 'view', 'user', '--consistency', 'full']).out, 'user:alice\nuser:bob\n');
  t.match(warden(['list-permissions', 'document:q4', 'user:dave', '--consistency', 'full']).out, /^banned\tHAS_PERMISSION$/m);
  const tree = warden(['expand', 'document:q3', 'view', '--consistency', 'full']).out;
  t.match(tree, /^exclusion document:q3#view$/m);
  t.match(tree, /^ +- user:bob$/m);
  const batch = warden(['batch-check', '--consistency', 'full'], 'document:q3 view user:alice\ndocument:q3 view user:zed\n');
  t.equal(batch.out, 'document:q3 view user:alice\tHAS_PERMISSION\ndocument:q3 view user:zed\tNO_PERMISSION\n');
  t.equal(warden(['tuple', 'read', 'document#viewer', '--consistency', 'full']).out, 'document:q3#viewer@group:eng#member\ndocument:q3#viewer@user:alice\ndocument:q4#viewer@user:carol[on_day]\n');
  const page = warden(['tuple', 'read', 'document', '--consistency', 'full', '--limit', '2']);
  t.match(page.err, /^more: --cursor (\S+)$/m);
  const cursor = /--cursor (\S+)/.exec(page.err)![1]!;
  t.equal(warden(['tuple', 'read', 'document', '--limit', '10', '--cursor', cursor]).out.split('\n').filter(Boolean).length, 2, 'the rest, resumed');
  t.match(warden(['tuple', 'delete', 'document:q4#banned@user:dave']).out, /deleted 1 relationship/);
  t.match(warden(['tuple', 'delete', '--filter', 'document:q4']).out, /deleted 1 relationships/);
});

t.test('import and export in JSONL, CSV and YAML; validation files; resuming', async (t) => {
  const jsonl = file('rels.jsonl', ['{"resource":"document:j1","relation":"viewer","subject":"user:ann"}', '"document:j2#viewer@group:eng#member"', '{"resource":"document:j3","relation":"viewer","subject":"user:sue","caveat":"on_day","context":{"day":"mon"}}'].join('\n'));
  t.match(warden(['tuple', 'import', jsonl]).out, /^imported 3 relationships; zookie \S+$/m);
  const csv = file('rels.csv', 'resource,relation,subject,caveat,context,expiration\ndocument:c1,viewer,user:ann,,,\n"document:c2",viewer,user:bob,on_day,"{""day"":""tue""}",\ndocument:c2,banned,user:eve,,,2300-01-01T00:00:00Z\n');
  t.match(warden(['tuple', 'import', csv]).out, /imported 3 relationships/);
  const yaml = file('rels.yaml', 'schema: ""\nrelationships: |-\n  document:y1#viewer@user:ann\n  document:y2#viewer@user:ann\n  document:y3#viewer@user:ann\n');
  t.match(warden(['tuple', 'import', yaml, '--skip', '1', '--batch-size', '1']).out, /imported 2 relationships \(after skipping 1\)/);
  const failed = warden(['tuple', 'import', yaml]);
  t.equal(failed.code, 4);
  t.match(failed.err, /imported 0 of 3 \(the batch from 1 on was not written\): a relationship in it exists; re-run with --touch/, 'a relationship that exists: --touch, not a --skip that fails again');
  t.match(failed.err, /^warden: ALREADY_EXISTS: relationship `document:y\d#viewer@user:ann` already exists$/m, 'naming the relationship');
  const touched = warden(['tuple', 'import', yaml, '--touch']);
  t.equal(touched.code, 0, `--touch imports again over what exists: ${touched.err}`);
  t.match(touched.out, /imported 3 relationships/);
  for (const format of ['jsonl', 'csv', 'yaml']) {
    const out = join(dir, `export.${format}`);
    const r = warden(['tuple', 'export', out, '--consistency', 'full']);
    t.equal(r.code, 0, r.err);
    t.match(r.err, /exported \d+ relationships/);
    const text = readFileSync(out, 'utf8');
    t.match(text, /document:c2/, `${format} export holds the CSV import`);
  }
  const exported = readFileSync(join(dir, 'export.jsonl'), 'utf8');
  t.match(exported, /"subject":"user:bob","caveat":"on_day","context":\{"day":"tue"\}\}/);
  t.match(exported, /"subject":"user:eve","expiration":"2300-01-01T00:00:00.000Z"\}/);
  const bulk = file('bulk.jsonl', Array.from({ length: 1500 }, (_, i) => JSON.stringify({ resource: `document:bulk${i}`, relation: 'viewer', subject: 'user:bulk' })).join('\n'));
  t.match(warden(['tuple', 'import', bulk, '--batch-size', '500']).out, /imported 1500 relationships/);
  const all = warden(['list-objects', 'document', 'view', 'user:bulk', '--consistency', 'full']);
  t.equal(all.out.split('\n').filter(Boolean).length, 1500, 'without --limit every page is followed past the server default of 1,000');
  // The file is streamed, but checked whole first: a bad line at the very end writes nothing.
  const badTail = file('bad-tail.jsonl', [...Array.from({ length: 1200 }, (_, i) => JSON.stringify(`document:tail${i}#viewer@user:tail`)), '{"resource": oops'].join('\n'));
  const bad = warden(['tuple', 'import', badTail, '--batch-size', '500']);
  t.equal(bad.code, 3, 'a bad line is a usage error');
  t.match(bad.err, /bad-tail\.jsonl:1201: not JSON/);
  t.equal(warden(['list-objects', 'document', 'view', 'user:tail', '--consistency', 'full']).out.trim(), '', 'nothing of it was imported');
  t.equal(warden(['tuple', 'import', join(dir, 'missing.jsonl')]).code, 3, 'a missing file is a usage error');
  t.equal(all.err, '');
  const first = warden(['list-objects', 'document', 'view', 'user:bulk', '--consistency', 'full', '--limit', '1000']);
  t.equal(first.out.split('\n').filter(Boolean).length, 1000);
  const more = /^more: --cursor (\S+)$/m.exec(first.err)?.[1];
  t.ok(more, 'a limited listing says how to continue');
  const rest = warden(['list-objects', 'document', 'view', 'user:bulk', '--cursor', more!]).out.split('\n').filter(Boolean);
  t.equal(rest.length, 500);
  t.same(new Set([...first.out.split('\n').filter(Boolean), ...rest]).size, 1500, 'no loss, no duplicates');
  const subjects = warden(['list-subjects', 'document:j1', 'view', 'user', '--consistency', 'full', '--limit', '1']);
  t.same([subjects.out, subjects.err], ['user:ann\n', '']);
  t.match(warden(['tuple', 'delete', '--filter', 'document@user:bulk']).out, /deleted 1500 relationships/);
  const validation = file('validation.yaml', `schema: |-\n  definition user {}\n  definition doc { relation viewer: user }\nrelationships: |-\n  doc:a#viewer@user:ann\n`);
  const other = (await createKey(ds.access, 'other', ['check', 'read', 'write', 'schema']).catch(async () => {
    await ds.access.createTenant('other');
    return createKey(ds.access, 'other', ['check', 'read', 'write', 'schema']);
  })).token;
  t.match(warden(['import', validation, '--token', other]).out, /imported the schema and 1 relationships/);
  t.equal(warden(['check', 'doc:a', 'viewer', 'user:ann', '--consistency', 'full', '--token', other]).out.trim(), 'HAS_PERMISSION');
});

t.test('contexts are saved with mode 0600 and flags and environment override them', async (t) => {
  const bare = { WARDEN_ENDPOINT: '', WARDEN_TOKEN: '' };
  const noEnv = (args: string[]) => {
    const r = spawnSync(NODE, nodeArgs(bin, ...args), { encoding: 'utf8', env: { ...process.env, WARDEN_CONFIG_DIR: join(dir, 'config') } });
    return { code: r.status, out: r.stdout, err: r.stderr };
  };
  void bare;
  t.match(noEnv(['context', 'set', 'local', '--endpoint', endpoint, '--token', token]).out, /saved context local \(in use\)/);
  noEnv(['context', 'set', 'broken', '--endpoint', '127.0.0.1:1', '--token', token]);
  t.equal(statSync(join(dir, 'config', 'contexts.json')).mode & 0o777, 0o600);
  t.match(noEnv(['context', 'list']).out, /^\* local\t/m);
  t.equal(noEnv(['check', 'document:q3', 'view', 'user:alice', '--consistency', 'full']).out.trim(), 'HAS_PERMISSION', 'the current context is used');
  noEnv(['context', 'use', 'broken']);
  const down = noEnv(['check', 'document:q3', 'view', 'user:alice', '--timeout-ms', '2000']);
  t.equal(down.code, 4);
  t.match(down.err, /^warden: cannot reach the server/);
  t.equal(noEnv(['check', 'document:q3', 'view', 'user:alice', '--consistency', 'full', '--endpoint', endpoint]).out.trim(), 'HAS_PERMISSION', 'a flag overrides the context');
  t.equal(noEnv(['context', 'use', 'nope']).code, 3);
});

t.test('bad input gets one clear line and a non-zero code', async (t) => {
  const cases: [string[], number, RegExp][] = [
    [['tuple', 'write', 'document:q3#viewer'], 3, /^warden: tuples\[0\]: expected `resource#relation@subject` in `document:q3#viewer`$/m],
    [['tuple', 'write', 'nosuchtype:x#viewer@user:a'], 4, /^warden: FAILED_PRECONDITION: updates\[0\]\.relationship: unknown resource type `nosuchtype`/],
    [['check', 'document:q3', 'view', 'user:alice', '--token', 'wdn_bogus'], 4, /^warden: UNAUTHENTICATED: the API key is not valid/],
    [['check', 'document:q3', 'view'], 3, /^warden: missing required argument 'subject' \(see --help\)\n$/],
    [['tuple', 'read'], 3, /^warden: missing required argument 'filter' \(see --help\)\n$/],
    [['check', 'document:q3', 'view', 'user:alice', '--context', '[1]'], 3, /^warden: --context must be a JSON object/],
    [['check', 'document:q3', 'view', 'user:alice', '--consistency', 'sometimes'], 3, /^warden: --consistency must be full or min-latency/],
    [['tenant', 'list'], 4, /^warden: PERMISSION_DENIED: the API key lacks the `admin` scope/],
    [['tuple', 'read', 'Not A Filter'], 3, /is not a filter/],
  ];
  for (const [args, code, err] of cases) {
    const r = warden(args);
    t.equal(r.code, code, args.join(' '));
    t.match(r.err, err, args.join(' '));
  }
  t.match(warden(['tenant', 'create', 'initech', '--token', admin]).out, /created tenant initech/);
  t.match(warden(['tenant', 'list', '--token', admin, '--json']).out, /"name":"initech"/);
  t.match(warden(['tenant', 'delete', 'initech', '--token', admin]).out, /deleted tenant initech/);
  const limited = warden(['tenant', 'settings', 'default', '--max-relationships', '1000000', '--max-rate', '5000', '--token', admin]);
  t.equal(limited.out, 'max rate: 5000 calls/s\nmax in flight: server default\nmax relationships: 1000000\nimpersonate permission: impersonate\n', 'tenant settings: changed and shown');
  t.match(warden(['tenant', 'settings', 'default', '--max-rate', '0', '--max-relationships', '0', '--token', admin]).out, /^max rate: server default$/m, 'and back to the defaults');
  t.equal(warden(['tenant', 'settings', 'default', '--max-rate', 'lots', '--token', admin]).code, 3, 'a bad number is a usage error');
  const docOnly = warden(['keys', 'create', '--scope', 'check', '--resource-types', 'document', '--max-rate', '100', '--max-in-flight', '4', '--token', admin, '--json']);
  t.equal(docOnly.code, 0, docOnly.err);
  const docKey = JSON.parse(docOnly.out).key;
  t.equal(warden(['check', 'document:q3', 'view', 'user:alice', '--consistency', 'full', '--token', docKey]).out.trim(), 'HAS_PERMISSION', 'a document-only key checks documents');
  t.match(warden(['check', 'group:eng', 'member', 'user:bob', '--consistency', 'full', '--token', docKey]).err, /may only act on resource types document, not `group`/, 'and nothing else');
  // The audit history of what this file's tests changed: the tenant made and deleted last, by the admin key.
  const history = warden(['audit', '--token', admin, '--tenant', 'initech']).out.trim().split('\n');
  t.match(history, [/^\S+Z {2}initech {2}TenantService\.CreateTenant {2}key \S+ \(default\) {2}tenant-create initech$/, /TenantService\.DeleteTenant .*tenant-delete initech$/]);
  t.match(warden(['audit', '--token', admin, '--resource', 'document:q3', '--limit', '1', '--json']).out, /^\{"id":"\d+".*"method":"SchemaService\.WriteSchema"|"method":"RelationshipService\.Write"/, 'by resource, as JSON');
  t.equal(warden(['audit', '--token', admin, '--since', 'yesterday']).code, 3, 'a time it cannot read is a usage error');
});

t.test('watch streams changes', async (t) => {
  const child = spawn(NODE, nodeArgs(bin, 'watch', 'document', '--heartbeat-ms', '200'), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += String(d)));
  await new Promise((r) => setTimeout(r, 1500));
  warden(['tuple', 'touch', 'document:w1#viewer@user:wally']);
  for (let i = 0; i < 50 && !out.includes('wally'); i++) await new Promise((r) => setTimeout(r, 100));
  child.kill('SIGINT');
  t.match(out, /^TOUCH  document:w1#viewer@user:wally$/m);
});

t.test('every command answers --json with JSON lines', async (t) => {
  const schemaFile = file('json.zed', SCHEMA);
  const validation = file('json-validation.yaml', `schema: |-\n  definition user {}\n  definition doc { relation viewer: user }\nrelationships: |-\n  doc:a#viewer@user:ann\nassertions:\n  assertTrue:\n    - doc:a#viewer@user:ann\n`);
  const admin2 = { WARDEN_TOKEN: admin };
  const key = JSON.parse(warden(['keys', 'create', '--tenant', 'jsontest', '--scope', 'check', '--datastore', url, '--json']).out);
  t.match(key, { tenant: 'jsontest', scopes: ['check'], key: /^wdn_/ });
  const runs: [string[], string?, Record<string, string>?][] = [
    [['validate', validation]],
    [['migrate', '--datastore', url]],
    [['keys', 'list', '--tenant', 'jsontest', '--datastore', url]],
    [['keys', 'revoke', key.id, '--datastore', url]],
    [['context', 'set', 'json', '--endpoint', endpoint]],
    [['context', 'use', 'json']],
    [['context', 'list']],
    [['schema', 'validate', schemaFile]],
    [['schema', 'format', schemaFile]],
    [['schema', 'diff', schemaFile, file('json-next.zed', SCHEMA.replace('definition group', 'definition team {}\ndefinition group'))]],
    [['schema', 'write', schemaFile]],
    [['schema', 'read']],
    [['tuple', 'write', 'document:js#viewer@user:jay']],
    [['tuple', 'touch'], 'document:js#viewer@user:kay\n'],
    [['tuple', 'delete', 'document:js#viewer@user:kay']],
    [['tuple', 'read', 'document:js']],
    [['tuple', 'import', file('json.jsonl', '"document:js2#viewer@user:jay"\n')]],
    [['tuple', 'export', join(dir, 'json-export.jsonl')]],
    [['tuple', 'delete', '--filter', 'document:js2']],
    [['check', 'document:js', 'view', 'user:jay']],
    [['batch-check'], 'document:js view user:jay\n'],
    [['expand', 'document:js', 'view']],
    [['list-objects', 'document', 'view', 'user:jay']],
    [['list-subjects', 'document:js', 'view', 'user']],
    [['list-permissions', 'document:js', 'user:jay']],
    [['tenant', 'create', 'jsonco'], undefined, admin2],
    [['tenant', 'list'], undefined, admin2],
    [['tenant', 'delete', 'jsonco'], undefined, admin2],
    [['import', validation, '--token', (await createKey(ds.access, 'jsontest', ['read', 'write', 'schema'])).token]],
  ];
  for (const [args, input, extra] of runs) {
    const readsAfterWrites = ['schema', 'tuple', 'check', 'batch-check', 'expand', 'list-objects', 'list-subjects', 'list-permissions'].includes(args[0]!) && !['validate', 'format', 'diff', 'write', 'touch', 'delete', 'import', 'export'].includes(args[1]!) ? ['--consistency', 'full'] : [];
    const name = args.slice(0, 2).join(' ');
    const r = warden([...args, ...readsAfterWrites, '--json'], input, extra);
    t.equal(r.code, 0, `${name}: ${r.err}`);
    const lines = r.out.split('\n').filter(Boolean);
    t.ok(lines.length > 0, `${name} printed`);
    t.doesNotThrow(() => lines.forEach((l) => JSON.parse(l)), `${name} printed JSON lines`);
  }
});

t.test('every command has help with an example', async (t) => {
  // In this process (a process start for each of ~30 commands costs half a minute here); the
  // same program and argv handling as the binary, whose own help path is checked at the end.
  const help = async (args: string[]): Promise<string> => {
    const program = buildProgram();
    let out = '';
    const capture = (cmd: Command): void => {
      cmd.configureOutput({ ...cmd.configureOutput(), writeOut: (s) => (out += s) });
      cmd.commands.forEach(capture);
    };
    capture(program);
    try {
      await program.parseAsync(helpArgv(['node', 'warden', ...args]));
      t.fail(`${args.join(' ')} printed help and stopped`);
    } catch (e) {
      t.equal((e as CommanderError).exitCode, 0, `${args.join(' ')} exits 0`);
    }
    return out;
  };
  const commandsOf = (text: string): string[] =>
    (text.split('\nCommands:\n')[1] ?? '')
      .split('\n')
      .map((l) => /^ {2}([a-z-]+)/.exec(l)?.[1])
      .filter((c): c is string => !!c && c !== 'help');
  const top = commandsOf(await help(['--help']));
  t.ok(top.length >= 15, `${top.length} commands`);
  for (const cmd of top) {
    const subs = commandsOf(await help([cmd, '--help']));
    for (const path of subs.length ? subs.map((s) => [cmd, s]) : [[cmd]]) {
      const out = await help(['help', ...path]);
      t.match(out, new RegExp(`^Usage: warden ${path.join(' ')} `, 'm'), path.join(' '));
      t.match(out, /\nExamples?:\n {2}\$ warden /, `${path.join(' ')} has an example`);
    }
  }
  const binary = warden(['help', 'tuple', 'import']);
  t.equal(binary.code, 0);
  t.match(binary.out, /^Usage: warden tuple import [\s\S]*\nExamples?:\n {2}\$ warden /m, 'the binary prints the same help');
  t.equal(warden(['--help']).code, 0);
});
