import { readdir, readFile } from 'node:fs/promises';
import t from 'tap';
import { compileSchema, SchemaError } from '../../schema-dsl/index.js';

const dir = new URL('../fixtures/schema-errors/', import.meta.url);

t.test('every compile error fixture fails at its line and column with its message', async (t) => {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.zed')).sort();
  t.ok(files.length >= 20, 'fixtures are present');
  for (const f of files) {
    const text = await readFile(new URL(f, dir), 'utf8');
    const m = /^\/\/ expect: (\d+):(\d+): (.*)$/m.exec(text);
    if (!m) {
      t.fail(`${f} has no \`// expect: line:col: message\` line`);
      continue;
    }
    const [, line, column, message] = m;
    try {
      compileSchema(text);
      t.fail(`${f} compiled`);
    } catch (e) {
      if (!(e instanceof SchemaError)) throw e;
      const hit = e.diagnostics.find((d) => d.line === Number(line) && d.column === Number(column) && d.message.startsWith(message!));
      t.ok(hit, `${f}: ${line}:${column}: ${message}`, { found: e.diagnostics });
    }
  }
});

t.test('every problem is reported, not just the first', async (t) => {
  try {
    compileSchema('definition user {}\ndefinition doc {\n  relation aa: usr\n  permission view = nobody\n}');
    t.fail('compiled');
  } catch (e) {
    t.ok(e instanceof SchemaError);
    t.equal((e as SchemaError).diagnostics.length, 3, (e as Error).message);
  }
});
