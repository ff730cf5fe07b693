import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { NODE, nodeArgs } from '../helpers/node-process.js';

// `npm start` builds first; the build is incremental, so a second start with nothing changed
// compiles nothing (seconds, not a full build). npm test has just built, so nothing is left to emit.

const root = fileURLToPath(new URL('../..', import.meta.url));

t.test('a build with nothing changed emits nothing', async (t) => {
  t.ok(existsSync(`${root}/dist/.tsbuildinfo`), 'the build keeps its incremental state in dist/');
  const tsc = fileURLToPath(new URL('../../node_modules/typescript/bin/tsc', import.meta.url));
  const r = spawnSync(NODE, nodeArgs(tsc, '-p', 'tsconfig.json', '--listEmittedFiles'), { cwd: root, encoding: 'utf8', timeout: 120_000 });
  t.equal(r.status, 0, r.stdout + r.stderr);
  t.same(r.stdout.split('\n').filter((l) => l.startsWith('TSFILE:')), [], 'no file emitted again');
});
