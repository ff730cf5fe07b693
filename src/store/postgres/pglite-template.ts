import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../config/package-root.js';

/**
 * A new PGlite database starts from a template: a freshly initialised data directory, dumped
 * once at build time (`npm run build`), instead of running initdb inside WASM at every first start
 * (5.6 s for a new directory here, against 1.5 s from the template; 2.7 s against 1.3 s in memory).
 * The template is named by the PGlite version that made it and is used only by that version;
 * without one (not built yet, or PGlite upgraded since) a new database is initialised as before.
 */

/** The installed PGlite's version (its package.json, found above its entry point: the package exports no path to it). */
function pgliteVersion(): string {
  const entry = createRequire(import.meta.url).resolve('@electric-sql/pglite');
  for (let dir = dirname(entry); dirname(dir) !== dir; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
    if (pkg.name === '@electric-sql/pglite' && pkg.version) return pkg.version;
  }
  throw new Error(`no package.json above ${entry}`);
}

/** Where the template for the installed PGlite lives: in the package's dist/. */
export function templatePath(): string {
  return join(packageRoot(), 'dist', `pglite-template-${pgliteVersion()}.tar.gz`);
}

/** The template for the installed PGlite, or null when there is none (or it cannot be told which PGlite is installed). */
export function pgliteTemplate(): Blob | null {
  try {
    const path = templatePath();
    return existsSync(path) ? new Blob([readFileSync(path)]) : null;
  } catch {
    return null;
  }
}

/** Does a directory already hold a PGlite database (then it is opened, never overwritten by the template)? */
export function holdsDatabase(dir: string): boolean {
  return existsSync(join(dir, 'PG_VERSION'));
}

/** Makes the template: an empty database, initialised in memory and dumped. */
export async function makeTemplate(): Promise<string> {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite();
  await db.waitReady;
  const dump = await db.dumpDataDir('gzip');
  await db.close();
  const path = templatePath();
  // Whole or not at all: a reader never sees half a template.
  const partial = `${path}.${process.pid}.partial`;
  writeFileSync(partial, Buffer.from(await dump.arrayBuffer()));
  renameSync(partial, path);
  return path;
}

// `node dist/src/store/postgres/pglite-template.js` (the build's last step) makes it, once per
// PGlite version: its content depends on nothing else, and `npm start` builds at every start.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1] && !existsSync(templatePath())) {
  const path = await makeTemplate();
  process.stdout.write(`wrote ${path}\n`);
}
