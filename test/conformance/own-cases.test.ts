import { fileURLToPath } from 'node:url';
import t from 'tap';
import { Engine } from '../../src/engine/engine.js';
import { MIN_FILES, reportFolder, runFolder } from './run-files.js';

t.test('our own validation cases pass completely, with cross-API agreement', async (t) => {
  const results = await runFolder(fileURLToPath(new URL('./cases', import.meta.url)));
  reportFolder(t, results, MIN_FILES.own);
});

t.test('our own validation cases pass with the check cache on', async (t) => {
  const engine = new Engine({ cacheBytes: 32 << 20 });
  reportFolder(t, await runFolder(fileURLToPath(new URL('./cases', import.meta.url)), { engine, cache: true, crossCheckExcept: ['fan-out.yaml'] }), MIN_FILES.own);
  t.ok(engine.cacheStats!.hits > 0, `the cache served ${engine.cacheStats!.hits} subproblems`);
});
