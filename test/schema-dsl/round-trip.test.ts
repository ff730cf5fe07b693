import { existsSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import t, { type Test } from 'tap';
import { parse } from 'yaml';
import { compileSchema, formatSchema, type SchemaIR } from '../../schema-dsl/index.js';
import { conformanceDir } from '../helpers/conformance-dir.js';

/** The IR without source positions, which formatting moves. */
function strip(ir: SchemaIR): unknown {
  return JSON.parse(JSON.stringify(ir, (k, v) => (k === 'pos' || k === 'expressionPos' ? undefined : v)));
}

function roundTrip(t: Test, name: string, source: string): void {
  const ir = compileSchema(source);
  const text = formatSchema(ir);
  const again = compileSchema(text);
  t.same(strip(again), strip(ir), `${name}: parse(format(x)) is x`);
  t.equal(formatSchema(again), text, `${name}: formatting is stable`);
}

t.test('our fixtures round-trip', async (t) => {
  const dir = new URL('../fixtures/schemas/', import.meta.url);
  const files = await readdir(dir);
  t.ok(files.length >= 1, `${files.length} fixtures`);
  for (const f of files) roundTrip(t, f, await readFile(new URL(f, dir), 'utf8'));
});

t.test('every schema in the shared conformance files round-trips', async (t) => {
  const dir = conformanceDir();
  if (!existsSync(dir)) {
    if (process.env['WARDEN_REQUIRE_CONFORMANCE']) t.fail(`${dir} is missing`);
    else t.skip(`${dir} is absent (a user's clone): skipped`);
    return;
  }
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml'));
  t.ok(files.length >= 40, `${files.length} files`);
  for (const f of files) {
    const doc = parse(await readFile(`${dir}/${f}`, 'utf8')) as { schema: string };
    roundTrip(t, f, doc.schema);
  }
});

t.test('canonical text', async (t) => {
  const ir = compileSchema('definition   user{}\ndefinition doc{relation rel:user|user:*   permission perm=(rel+rel)-(rel-rel)&rel}');
  t.equal(formatSchema(ir), 'definition user {}\n\ndefinition doc {\n  relation rel: user | user:*\n  permission perm = (rel + rel) - ((rel - rel) & rel)\n}\n');
});

t.test('parentheses a reader needs are kept where different operators meet', async (t) => {
  const cases: [string, string][] = [
    ['(member + admin) - banned', '(member + admin) - banned'],
    ['member + admin - banned', '(member + admin) - banned'], // the same tree: `-` binds loosest
    ['member - banned - admin', 'member - banned - admin'], // one operator, left to right
    ['member - (banned - admin)', 'member - (banned - admin)'],
    ['(member & admin) + banned', '(member & admin) + banned'],
    ['member + (admin + banned)', 'member + admin + banned'], // one operator: the compiler flattens it
    ['member + admin + banned', 'member + admin + banned'],
    ['parent->view + (member & admin)', 'parent->view + (member & admin)'],
  ];
  for (const [written, formatted] of cases) {
    const schema = `definition user {}\ndefinition doc {\n  relation member: user\n  relation admin: user\n  relation banned: user\n  relation parent: doc\n  permission view = member\n  permission perm = ${written}\n}\n`;
    const text = formatSchema(compileSchema(schema));
    t.match(text, `permission perm = ${formatted}\n`, `${written} -> ${formatted}`);
    t.same(strip(compileSchema(text)), strip(compileSchema(schema)), `${written}: the same meaning`);
  }
});
