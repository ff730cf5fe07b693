import { readdir, readFile } from 'node:fs/promises';
import type { Test } from 'tap';
import { runDocument, type Failure, type RunOptions } from '../../src/conformance/runner.js';
import { parseValidationFile } from '../../src/conformance/validation-file.js';

/** Runs every validation file in a folder with cross-API checks; returns the failures by file. */
export async function runFolder(dir: string, options: RunOptions & { crossCheckExcept?: string[] } = {}): Promise<Map<string, Failure[]>> {
  const out = new Map<string, Failure[]>();
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  for (const f of files) {
    const failures: Failure[] = [];
    for (const doc of parseValidationFile(await readFile(`${dir}/${f}`, 'utf8'), f)) {
      const crossCheck = (options.crossCheck ?? true) && !options.crossCheckExcept?.includes(f);
      failures.push(...(await runDocument(doc, { ...options, crossCheck })).failures);
    }
    out.set(f, failures);
  }
  return out;
}

/** The fewest files each folder holds: a folder that yields fewer (an empty one, a wrong path) fails. */
export const MIN_FILES = { shared: 40, own: 7 } as const;

/**
 * Reports each file's failures as one assertion per file, listing every failure; first asserts
 * that at least `min` files ran, so a loop over a missing or emptied folder cannot pass.
 */
export function reportFolder(t: Test, results: Map<string, Failure[]>, min: number): void {
  t.ok(results.size >= min, `${results.size} files ran, at least ${min} expected`);
  for (const [file, failures] of results) t.same(failures.map((f) => `${f.what} -> ${f.got}`), [], file);
}
