import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | null = null;

/**
 * The package's root: the nearest directory above this module (in src/ or dist/src/) with a
 * package.json. Its proto/, dist/ (the console, the PGlite template) and, in a checkout, src/ are
 * found from here, wherever the package is run from.
 */
export function packageRoot(): string {
  if (root) return root;
  const here = dirname(fileURLToPath(import.meta.url));
  for (let dir = here; ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json'))) return (root = dir);
    if (dirname(dir) === dir) throw new Error(`no package.json above ${here}`);
  }
}
