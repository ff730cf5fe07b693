import { copyFileSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../config/package-root.js';

/**
 * Builds the web console into `dist/console`: the browser code (src/console/web, type-checked by
 * `tsc -p src/console/web` in `npm run build`) bundled by esbuild with its libraries into one
 * app.js, beside index.html and app.css. Nothing is fetched at run time: the console works offline.
 */
export async function buildConsole(root: string): Promise<string> {
  const { build } = await import('esbuild');
  const web = join(root, 'src', 'console', 'web');
  const out = join(root, 'dist', 'console');
  // Built beside, then swapped in whole: a server never serves half a build.
  const next = `${out}.next`;
  rmSync(next, { recursive: true, force: true });
  mkdirSync(next, { recursive: true });
  await build({
    entryPoints: [join(web, 'main.ts')],
    bundle: true,
    format: 'esm',
    target: ['es2022'],
    platform: 'browser',
    minify: true,
    sourcemap: 'linked',
    legalComments: 'linked',
    outfile: join(next, 'app.js'),
    logLevel: 'warning',
  });
  for (const f of ['index.html', 'app.css']) copyFileSync(join(web, f), join(next, f));
  rmSync(out, { recursive: true, force: true });
  renameSync(next, out);
  return out;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = await buildConsole(packageRoot());
  process.stdout.write(`wrote ${out}\n`);
}
