import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { NODE, nodeArgs } from '../helpers/node-process.js';

const bin = fileURLToPath(new URL('../../dist/src/main.js', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'warden-validate-'));

function warden(...args: string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(NODE, nodeArgs(bin, ...args), { encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

const schema = `schema: |-
  definition user {}
  definition doc {
    relation viewer: user
    permission view = viewer
  }
relationships: |-
  doc:readme#viewer@user:alice
`;

t.test('a passing file exits 0', async (t) => {
  const good = file('good.yaml', `${schema}assertions:\n  assertTrue:\n    - "doc:readme#view@user:alice"\n  assertFalse:\n    - "doc:readme#view@user:bob"\n`);
  const r = warden('validate', '--cross-check', good);
  t.equal(r.code, 0, r.out + r.err);
  t.match(r.out, /^ok {3}.*good\.yaml: \d+ checks$/m);
});

t.test('a wrong expectation fails with a readable message', async (t) => {
  const bad = file('bad.yaml', `${schema}assertions:\n  assertTrue:\n    - "doc:readme#view@user:bob"\n  assertFalse:\n    - "doc:readme#view@user:alice"\n`);
  const r = warden('validate', bad);
  t.equal(r.code, 1);
  t.match(r.out, /FAIL .*bad\.yaml: 2 of 2 checks failed/);
  t.match(r.out, /assertTrue doc:readme#view@user:bob\n\s+got: NO/);
  t.match(r.out, /assertFalse doc:readme#view@user:alice\n\s+got: HAS/);
  t.match(r.out, /^0 passed, 2 failed$/m);
});

t.test('schema and relationship errors are reported with where they are', async (t) => {
  const r = warden(
    'validate',
    file('schema.yaml', 'schema: |-\n  definition user {}\n  definition doc { relation viewer: usr }\n'),
    file('rel.yaml', `${schema.replace('doc:readme#viewer@user:alice', 'doc:readme#viewer@robot:r2')}`),
    join(dir, 'missing.yaml'),
  );
  t.equal(r.code, 1);
  t.match(r.out, /schema compiles\n\s+got: 2:35: unknown type `usr` in relation `doc#viewer`/);
  t.match(r.out, /relationship 1 fits the schema\n\s+got: FAILED_PRECONDITION: relationships\[0\]: unknown subject type `robot`/);
  t.match(r.out, /FAIL .*missing\.yaml: ENOENT/);
});

t.test('usage errors exit 3', async (t) => {
  t.equal(warden('validate').code, 3);
  t.equal(warden('frobnicate').code, 3);
  t.equal(warden('validate', '--max-depth', 'zero', 'x.yaml').code, 3);
  const help = warden('--help');
  t.equal(help.code, 0);
  t.match(help.out, /validate/);
});

t.test('--junit writes a test case per check, failures with what the engine answered', async (t) => {
  const good = file('ci-good.yaml', `${schema}assertions:\n  assertTrue:\n    - doc:readme#view@user:alice\n  assertFalse:\n    - doc:readme#view@user:bob\n`);
  const bad = file('ci-bad.yaml', `${schema}assertions:\n  assertTrue:\n    - doc:readme#view@user:bob\n`);
  const report = join(dir, 'report.xml');
  const r = warden('validate', good, bad, '--junit', report);
  t.equal(r.code, 1, 'a failed check: exit 1');
  const xml = readFileSync(report, 'utf8');
  t.match(xml, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="warden validate" tests="3" failures="1">/);
  t.match(xml, /<testsuite name="[^"]*ci-good\.yaml" tests="2" failures="0">/);
  t.match(xml, /<testcase classname="[^"]*ci-good\.yaml" name="assertTrue doc:readme#view@user:alice"\/>/);
  t.match(xml, /<testsuite name="[^"]*ci-bad\.yaml" tests="1" failures="1">\n\s+<testcase classname="[^"]*ci-bad\.yaml" name="assertTrue doc:readme#view@user:bob">\n\s+<failure message="NO">/);
  t.equal(warden('validate', good, '--junit', report).code, 0, 'all passed: exit 0');
  t.match(readFileSync(report, 'utf8'), /tests="2" failures="0"/);
  t.equal(warden('validate', good, '--max-depth', 'zero').code, 3, 'a usage error: exit 3');
});

t.test('--update rewrites validation entries from the engine, keeping the rest of the file', async (t) => {
  const text = `# a comment that stays\n${schema}  doc:readme#viewer@user:bob\nassertions:\n  assertTrue:\n    - doc:readme#view@user:alice # why\nvalidation:\n  doc:readme#view:\n    - "[user:alice] is <doc:readme#viewer>"\n`;
  const f = file('update.yaml', text);
  const r = warden('validate', f, '--update');
  t.equal(r.code, 0, r.out + r.err);
  t.match(r.out, /^updated .*update\.yaml: 1 validation entries from the engine's answers$/m);
  const after = readFileSync(f, 'utf8');
  t.match(after, /^# a comment that stays\n/, 'comments kept');
  t.match(after, /- doc:readme#view@user:alice # why/);
  t.match(after, /doc:readme#view:\n {4}- "\[user:alice\] is <doc:readme#viewer>"\n {4}- "\[user:bob\] is <doc:readme#viewer>"\n/, 'the entry as the engine answers it (bob added)');
  const again = warden('validate', f, '--update');
  t.match(again.out, /^unchanged /m, 'a second update changes nothing');
  t.equal(readFileSync(f, 'utf8'), after);
});
