import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { serveProcess, WARDEN_BIN } from '../helpers/warden-process.js';

// The README's Quick start, run as written: `npm start`'s server (the embedded store in
// ./warden-data, keys on) is started here in a directory of the test's own, then each line of the
// README's first shell block runs in bash, in order, in that directory. A line's comment says what
// its output shows (the text before the comment's first colon). `node dist/src/main.js` is the
// built binary; the server's port is this test's own (WARDEN_ENDPOINT).

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 5));
const block = [...quickStart.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('WARDEN_TOKEN'));

t.test("the README's Quick start works as written", async (t) => {
  t.ok(block, 'the Quick start has a block of first steps');
  const steps = block!
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => {
      const hash = l.indexOf(' # ');
      const command = (hash < 0 ? l : l.slice(0, hash)).trim().replace(/^node dist\/src\/main\.js /, `node ${WARDEN_BIN} `);
      const comment = hash < 0 ? '' : l.slice(hash + 3).trim();
      return { line: (hash < 0 ? l : l.slice(0, hash)).trim(), command, expect: comment.split(':')[0]!.trim() };
    });
  t.ok(steps.length >= 5, `${steps.length} steps`);
  const dir = mkdtempSync(join(tmpdir(), 'warden-quick-start-'));
  const { address } = await serveProcess(t, ['--address', '127.0.0.1:0'], { cwd: dir });
  // One shell, so `export` carries from line to line; a marker before each step splits the output.
  // Without tap's NODE_OPTIONS (see helpers/node-process.ts): each `node` start is 240 ms faster.
  const script = 'unset NODE_OPTIONS\n' + steps.map((s, i) => `echo "::step ${i}"\n${s.command}\necho "::exit $?"`).join('\n');
  const r = spawnSync('bash', ['-c', script], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, WARDEN_ENDPOINT: address, WARDEN_CONFIG_DIR: join(dir, 'config'), NO_COLOR: '1', WARDEN_TOKEN: '' },
    timeout: 120_000,
  });
  const outputs = r.stdout.split(/^::step \d+\n/m).slice(1);
  steps.forEach((s, i) => {
    const out = outputs[i] ?? '';
    t.match(out, /::exit 0\s*$/, `\`${s.line}\` succeeds${/::exit 0/.test(out) ? '' : `: ${out}${r.stderr}`}`);
    if (s.expect) t.ok(out.includes(s.expect), `\`${s.line}\` prints ${JSON.stringify(s.expect)}${out.includes(s.expect) ? '' : ` (got ${JSON.stringify(out)})`}`);
  });
});
