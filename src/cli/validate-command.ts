import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';

/** Registers `warden validate FILE...`: runs validation files offline against a fresh memory store each. */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check validation files (schema, relationships, assertions) offline, each in a fresh in-memory store')
    .argument('<file...>', 'validation files (YAML)')
    .option('--cross-check', 'also hold LookupResources, LookupSubjects and Expand to Check for every subject in the data')
    .option('--max-depth <n>', 'maximum dispatch depth', (v) => positiveInt(v, '--max-depth'), 50)
    .option('--json', 'print one JSON object: every file with its checks and failures')
    .addHelpText('after', '\nExample:\n  $ warden validate schema-tests.yaml --cross-check')
    .action(async (files: string[], opts: { crossCheck?: boolean; maxDepth: number; json?: boolean }) => {
      const [{ runDocument }, { parseValidationFile }, { Engine }] = await Promise.all([
        import('../conformance/runner.js'),
        import('../conformance/validation-file.js'),
        import('../engine/engine.js'),
      ]);
      const engine = new Engine({ limits: { maxDepth: opts.maxDepth } });
      let failed = 0;
      let checks = 0;
      const results: { file: string; checks: number; failures: { what: string; got: string }[] }[] = [];
      const print = (text: string): void => {
        if (!opts.json) process.stdout.write(text);
      };
      for (const file of files) {
        let docs;
        try {
          docs = parseValidationFile(await readFile(file, 'utf8'), file);
        } catch (e) {
          failed++;
          const message = e instanceof Error ? e.message : String(e);
          results.push({ file, checks: 0, failures: [{ what: 'parse the file', got: message }] });
          print(`FAIL ${file}: ${message}\n`);
          continue;
        }
        for (const doc of docs) {
          const report = await runDocument(doc, { engine, crossCheck: opts.crossCheck ?? false });
          checks += report.checks;
          const where = docs.length > 1 ? `${file}[${doc.index}]` : file;
          results.push({ file: where, checks: report.checks, failures: report.failures.map((f) => ({ what: f.what, got: f.got })) });
          if (!report.failures.length) {
            print(`ok   ${where}: ${report.checks} checks\n`);
            continue;
          }
          failed += report.failures.length;
          print(`FAIL ${where}: ${report.failures.length} of ${report.checks} checks failed\n`);
          for (const f of report.failures) print(`  ${f.what}\n    got: ${f.got}\n`);
        }
      }
      const passed = checks - Math.min(failed, checks);
      print(`${passed} passed, ${failed} failed\n`);
      if (opts.json) process.stdout.write(`${JSON.stringify({ files: results, passed, failed })}\n`);
      if (failed) process.exitCode = 1;
    });
}

function positiveInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} must be a positive whole number, got \`${v}\``);
  return n;
}
