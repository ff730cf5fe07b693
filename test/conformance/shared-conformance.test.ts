import { existsSync } from 'node:fs';
import t from 'tap';
import { Engine } from '../../src/engine/engine.js';
import { conformanceDir } from '../helpers/conformance-dir.js';
import { MIN_FILES, reportFolder, runFolder } from './run-files.js';

const dir = conformanceDir();

t.test('every shared SpiceDB conformance file passes, with cross-API agreement', async (t) => {
  if (!existsSync(dir)) {
    if (process.env['WARDEN_REQUIRE_CONFORMANCE']) t.fail(`the shared conformance files are required but ${dir} is missing`);
    else t.skip(`the shared conformance files are not beside this clone (${dir}): skipped`);
    return;
  }
  const results = await runFolder(dir);
  reportFolder(t, results, MIN_FILES.shared);
});

t.test('every shared conformance file passes with the check cache on, cross-checks included', async (t) => {
  if (!existsSync(dir)) {
    if (process.env['WARDEN_REQUIRE_CONFORMANCE']) t.fail(`the shared conformance files are required but ${dir} is missing`);
    else t.skip(`the shared conformance files are not beside this clone (${dir}): skipped`);
    return;
  }
  const engine = new Engine({ cacheBytes: 32 << 20 });
  reportFolder(t, await runFolder(dir, { engine, cache: true }), MIN_FILES.shared);
  t.ok(engine.cacheStats!.hits > 0, `the cache served ${engine.cacheStats!.hits} subproblems`);
});
