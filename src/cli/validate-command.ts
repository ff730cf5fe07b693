import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import { runDocument } from '../conformance/runner.js';
import { parseValidationFile } from '../conformance/validation-file.js';
import { Engine } from '../engine/engine.js';

/** Registers `warden validate FILE...`: runs validation files offline against a fresh memory store each. */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check validation files (schema, relationships, assertions) offline, each in a fresh in-memory store')
    .argument('<file...>', 'validation files (YAML)')
    .option('--cross-check', 'also hold LookupResources, LookupSubjects and Expand to Check for every subject in the data')
    .option('--max-depth <n>', 'maximum dispatch depth', (v) => positiveInt(v, '--max-depth'), 50)
    .addHelpText('after', '\nExample:\n  $ warden validate schema-tests.yaml --cross-check')
    .action(async (files: string[], opts: { crossCheck?: boolean; maxDepth: number }) => {
      const engine = new Engine({ limits: { maxDepth: opts.maxDepth } });
      let failed = 0;
      let checks = 0;
      for (const file of files) {
        let docs;
        try {
          docs = parseValidationFile(await readFile(file, 'utf8'), file);
        } catch (e) {
          failed++;
          process.stdout.write(`FAIL ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
          continue;
        }
        for (const doc of docs) {
          const report = await runDocument(doc, { engine, crossCheck: opts.crossCheck ?? false });
          checks += report.checks;
          const where = docs.length > 1 ? `${file}[${doc.index}]` : file;
          if (!report.failures.length) {
            process.stdout.write(`ok   ${where}: ${report.checks} checks\n`);
            continue;
          }
          failed += report.failures.length;
          process.stdout.write(`FAIL ${where}: ${report.failures.length} of ${report.checks} checks failed\n`);
          for (const f of report.failures) process.stdout.write(`  ${f.what}\n    got: ${f.got}\n`);
        }
      }
      process.stdout.write(`${checks - Math.min(failed, checks)} passed, ${failed} failed\n`);
      if (failed) process.exitCode = 1;
    });
}

function positiveInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} must be a positive whole number, got \`${v}\``);
  return n;
}
