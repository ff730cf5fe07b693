import { readFile, writeFile } from 'node:fs/promises';
import { InvalidArgumentError, type Command } from 'commander';
import type { CheckCase } from '../conformance/runner.js';

/** One file's outcome, for the text, JSON and JUnit reports. */
interface FileResult {
  readonly file: string;
  readonly checks: number;
  readonly failures: readonly { readonly what: string; readonly got: string }[];
  readonly cases: readonly CheckCase[];
}

/** Registers `warden validate FILE...`: runs validation files offline against a fresh memory store each. */
export function registerValidate(program: Command): void {
  program
    .command('validate')
    .description('check validation files (schema, relationships, assertions) offline, each in a fresh in-memory store')
    .argument('<file...>', 'validation files (YAML)')
    .option('--cross-check', 'also hold LookupResources, LookupSubjects and Expand to Check for every subject in the data')
    .option('--max-depth <n>', 'maximum dispatch depth', (v) => positiveInt(v, '--max-depth'), 50)
    .option('--json', 'print one JSON object: every file with its checks and failures')
    .option('--junit <file>', 'also write a JUnit XML report (a test suite per file, a test case per check) for CI')
    .option('--update', "rewrite each file's `validation` entries from the engine's answers (review the diff), then check them")
    .addHelpText(
      'after',
      '\nExit codes: 0 every check passed; 1 a check failed (or a file could not be read or parsed); 3 a usage error.\n\nExamples:\n  $ warden validate schema-tests.yaml --cross-check\n  $ warden validate policies/*.yaml --junit validate-report.xml\n  $ warden validate model.yaml --update && git diff model.yaml',
    )
    .action(async (files: string[], opts: { crossCheck?: boolean; maxDepth: number; json?: boolean; junit?: string; update?: boolean }) => {
      const [{ runDocument }, { parseValidationFile }, { Engine }] = await Promise.all([
        import('../conformance/runner.js'),
        import('../conformance/validation-file.js'),
        import('../engine/engine.js'),
      ]);
      const engine = new Engine({ limits: { maxDepth: opts.maxDepth } });
      let failed = 0;
      let checks = 0;
      const results: FileResult[] = [];
      const print = (text: string): void => {
        if (!opts.json) process.stdout.write(text);
      };
      for (const file of files) {
        let docs;
        let text: string;
        try {
          text = await readFile(file, 'utf8');
          docs = parseValidationFile(text, file);
        } catch (e) {
          failed++;
          const message = e instanceof Error ? e.message : String(e);
          results.push({ file, checks: 0, failures: [{ what: 'parse the file', got: message }], cases: [{ what: 'parse the file', got: message }] });
          print(`FAIL ${file}: ${message}\n`);
          continue;
        }
        if (opts.update) {
          const updates = [];
          for (const doc of docs) updates.push((await runDocument(doc, { engine, update: true })).validation ?? {});
          const changed = await rewriteValidation(file, text, updates);
          print(`${changed ? 'updated' : 'unchanged'} ${file}: ${updates.reduce((n, u) => n + Object.keys(u).length, 0)} validation entries from the engine's answers\n`);
          docs = parseValidationFile(await readFile(file, 'utf8'), file);
        }
        for (const doc of docs) {
          const report = await runDocument(doc, { engine, crossCheck: opts.crossCheck ?? false });
          checks += report.checks;
          const where = docs.length > 1 ? `${file}[${doc.index}]` : file;
          results.push({ file: where, checks: report.checks, failures: report.failures.map((f) => ({ what: f.what, got: f.got })), cases: report.cases });
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
      if (opts.json) process.stdout.write(`${JSON.stringify({ files: results.map(({ cases: _c, ...r }) => r), passed, failed })}\n`);
      if (opts.junit) await writeFile(opts.junit, junitReport(results));
      if (failed) process.exitCode = 1;
    });
}

/**
 * Sets each document's `validation` entries to the engine's answers, keeping the rest of the
 * file (comments, order, other keys) as written. Returns whether anything changed.
 */
async function rewriteValidation(file: string, text: string, updates: readonly Readonly<Record<string, readonly string[]>>[]): Promise<boolean> {
  const { parseAllDocuments } = await import('yaml');
  const docs = parseAllDocuments(text);
  if (!Array.isArray(docs)) return false;
  docs.forEach((doc, i) => {
    for (const [key, list] of Object.entries(updates[i] ?? {})) doc.setIn(['validation', key], doc.createNode([...list]));
  });
  const out = docs.map((d) => d.toString({ lineWidth: 0 })).join('');
  if (out === text) return false;
  await writeFile(file, out);
  return true;
}

function xml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!).replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');
}

/** A JUnit XML report: a test suite per file (or document), a test case per check, a failure with what the engine answered. */
export function junitReport(results: readonly FileResult[]): string {
  const failures = results.reduce((n, r) => n + r.cases.filter((c) => c.got !== null).length, 0);
  const tests = results.reduce((n, r) => n + r.cases.length, 0);
  const suites = results.map((r) => {
    const cases = r.cases.map((c) => {
      const head = `    <testcase classname="${xml(r.file)}" name="${xml(c.what)}"`;
      return c.got === null ? `${head}/>` : `${head}>\n      <failure message="${xml(c.got)}">${xml(`${c.what}\ngot: ${c.got}`)}</failure>\n    </testcase>`;
    });
    return [`  <testsuite name="${xml(r.file)}" tests="${r.cases.length}" failures="${r.cases.filter((c) => c.got !== null).length}">`, ...cases, '  </testsuite>'].join('\n');
  });
  return ['<?xml version="1.0" encoding="UTF-8"?>', `<testsuites name="warden validate" tests="${tests}" failures="${failures}">`, ...suites, '</testsuites>', ''].join('\n');
}

function positiveInt(v: string, flag: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${flag} must be a positive whole number, got \`${v}\``);
  return n;
}
