import { fileURLToPath } from 'node:url';
import t from 'tap';
import { MIN_FILES, reportFolder, runFolder } from './run-files.js';

t.test('our own validation cases pass completely, with cross-API agreement', async (t) => {
  const results = await runFolder(fileURLToPath(new URL('./cases', import.meta.url)));
  reportFolder(t, results, MIN_FILES.own);
});
