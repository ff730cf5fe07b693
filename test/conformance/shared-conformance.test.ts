import { existsSync } from 'node:fs';
import t from 'tap';
import type { Failure } from '../../src/conformance/runner.js';
import { conformanceDir } from '../helpers/conformance-dir.js';
import { reportFolder, runFolder } from './run-files.js';

const dir = conformanceDir();

/**
 * Caveat expressions are not evaluated yet (CEL arrives with the caveats issue): a check that
 * needs one fails with UNIMPLEMENTED. Those, and only those, are tolerated here; the caveats
 * issue removes this allowance.
 */
const needsCel = (f: Failure): boolean => /UNIMPLEMENTED: caveat `[^`]+`: evaluating caveat expressions \(CEL\)/.test(f.got);

t.test('every shared SpiceDB conformance file passes, with cross-API agreement', async (t) => {
  if (!existsSync(dir)) {
    if (process.env['WARDEN_REQUIRE_CONFORMANCE']) t.fail(`the shared conformance files are required but ${dir} is missing`);
    else t.skip(`the shared conformance files are not beside this clone (${dir}): skipped`);
    return;
  }
  const results = await runFolder(dir);
  t.ok(results.size >= 40, `${results.size} files`);
  reportFolder(t, results, needsCel);
  const pending = [...results].flatMap(([file, fs]) => fs.filter(needsCel).map((f) => `${file}: ${f.what}`));
  t.comment(`${pending.length} checks wait for CEL caveat evaluation`);
});
