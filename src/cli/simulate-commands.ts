import type { Command } from 'commander';
import { fromRelationship } from '../api/convert.js';
import { parseRelationship } from '../model/relationship-syntax.js';
import type { ApiClient } from './api-client.js';
import { clientOptions, consistencyOf, consistencyOptions, emit, readFile, withApi, type GlobalOptions } from './cli-support.js';
import { UsageError } from './connection.js';
import { PERMISSIONSHIP_WORD } from './explain-text.js';
import { readLines, subjectText } from './query-commands.js';

/** The schema compiler, loaded by the commands that use it. */
const schemaFiles = () => import('./schema-files.js');

/** What a simulation command takes besides its files. */
interface SimulateOptions {
  against?: string;
  type?: string;
  permission?: string;
  sample?: string;
  withChanges?: string;
  consistency?: string;
  atLeast?: string;
  atExact?: string;
}

const MARK: Record<string, string> = { KIND_GAINED: '+', KIND_LOST: '-', KIND_CONDITIONAL: '~' };

/**
 * Relationship changes from a file: a relationship a line is written (TOUCH), one that starts
 * with `-` is deleted (`+` may mark a write); blank lines and `#` or `//` comments are skipped.
 */
export async function readChanges(file: string | undefined): Promise<{ operation: string; relationship: unknown }[]> {
  return (await readLines(file)).map((line, i) => {
    const remove = line.startsWith('-');
    const text = remove || line.startsWith('+') ? line.slice(1).trim() : line;
    try {
      return { operation: remove ? 'OPERATION_DELETE' : 'OPERATION_TOUCH', relationship: fromRelationship(parseRelationship(text, `line ${i + 1}`)) };
    } catch (e) {
      throw new UsageError(`${file ?? 'stdin'}:${i + 1}: ${(e as Error).message}`);
    }
  });
}

/** A number with thousands separators. */
const n = (v: number | string): string => Number(v).toLocaleString('en-US');
const plural = (v: number | string, word: string): string => `${n(v)} ${word}${Number(v) === 1 ? '' : 's'}`;

/** The report as text: a line per permission the change reaches, then the flipped answers listed. */
export function simulationText(r: any): string {
  const lines: string[] = [];
  const part = (label: string, c: any): string | null =>
    Number(c.answers) ? `${plural(c.answers, 'answer')} ${label}, on ${plural(c.resources, 'resource')}, for ${plural(c.subjects, 'subject')}` : null;
  for (const p of r.permissions) {
    const parts = [part('lost', p.lost), part('gained', p.gained), part('became conditional', p.became_conditional)].filter(Boolean);
    lines.push(`${p.resource_type}#${p.permission} (${plural(p.resources, 'resource')}): ${parts.length ? parts.join('; ') : 'no change'}`);
  }
  if (!r.permissions.length) lines.push('nothing the change reaches: no answer can change');
  const total = Number(r.total_flips);
  if (total) {
    lines.push(total > r.flips.length ? `answers that change (the first ${n(r.flips.length)} of ${n(total)}; --sample N for more):` : `answers that change (all ${n(total)}):`);
    for (const f of r.flips) {
      lines.push(`  ${MARK[f.kind] ?? '?'} ${f.resource.object_type}:${f.resource.object_id}#${f.permission}@${subjectText(f.subject)}  (${PERMISSIONSHIP_WORD[f.before]} -> ${PERMISSIONSHIP_WORD[f.after]})`);
    }
  }
  return lines.join('\n');
}

/** Calls SimulateSchema with a command's options. */
async function run(api: ApiClient, o: SimulateOptions, fields: { schema?: string; base_schema?: string; changes?: unknown[] }): Promise<any> {
  const sample = o.sample === undefined ? 100 : Number(o.sample);
  if (!Number.isInteger(sample) || sample < 0) throw new UsageError(`--sample must be a whole number, got \`${o.sample}\``);
  const consistency = o.against ? consistencyOf({ atExact: o.against }) : consistencyOf({ consistency: o.consistency ?? 'full', ...(o.atLeast ? { atLeast: o.atLeast } : {}), ...(o.atExact ? { atExact: o.atExact } : {}) });
  return api.call('SchemaService', 'SimulateSchema', {
    consistency,
    schema: fields.schema ?? '',
    base_schema: fields.base_schema ?? '',
    changes: fields.changes ?? (o.withChanges ? await readChanges(o.withChanges) : []),
    resource_type: o.type ?? '',
    permission: o.permission ?? '',
    sample,
  });
}

function simulationOptions(cmd: Command): Command {
  return clientOptions(consistencyOptions(cmd))
    .option('--against <zookie>', 'over the relationships at exactly this revision (default: the newest)')
    .option('--type <type>', 'only this resource type')
    .option('--permission <name>', 'only this relation or permission')
    .option('--sample <n>', 'list at most this many changed answers (the counts are always whole; default 100, at most 10,000)');
}

/** Whether a report holds a flip `--fail-on` names: lost (or no longer sure), gained (or now possible), any. */
export function failsOn(r: any, on: string): boolean {
  const sums = { lost: 0, gained: 0 };
  for (const p of r.permissions) {
    sums.lost += Number(p.lost.answers);
    sums.gained += Number(p.gained.answers);
  }
  const conditional = r.permissions.some((p: any) => Number(p.became_conditional.answers) > 0);
  if (on === 'any') return Number(r.total_flips) > 0;
  if (on === 'lost') return sums.lost > 0 || conditional;
  return sums.gained > 0 || conditional;
}

/** Registers `schema simulate`, `schema check` and `tuple simulate` on the `schema` and `tuple` commands. */
export function registerSimulations(schema: Command, tuple: Command): void {
  simulationOptions(
    schema
      .command('simulate')
      .description('who would gain and lose what if this schema were written: every answer that would change, over the stored relationships')
      .argument('<file>', 'the proposed schema')
      .option('--with-changes <file>', 'and these relationship changes (a relationship a line; `-` before one deletes it)')
      .addHelpText('after', '\nNothing is written. Exit code 0 whatever the result (see `schema check` for a gate).\n\nExamples:\n  $ warden schema simulate next.zed\n  $ warden schema simulate next.zed --type document --permission view --sample 20'),
  ).action(async (file: string, o: SimulateOptions, cmd: Command) => {
    const text = readFile(file);
    (await schemaFiles()).compileFile(file, text);
    await withApi(cmd, async (api, g: GlobalOptions) => {
      const r = await run(api, o, { schema: text });
      emit(g, r, simulationText(r));
    });
  });

  simulationOptions(
    schema
      .command('check')
      .description('a review gate: the differences between two schema files, and what they would change over the stored relationships')
      .argument('<old>', 'the schema as it is (or as reviewed last)')
      .argument('<new>', 'the proposed schema')
      .option('--fail-on <what>', 'exit 1 when answers are lost, gained, or any change at all (lost|gained|any)', 'any')
      .addHelpText('after', '\nExit codes: 0 nothing that --fail-on names changes; 1 it does; 3 a usage error (a schema that does not compile).\n\nExample:\n  $ warden schema check main.zed branch.zed --fail-on lost'),
  ).action(async (oldFile: string, newFile: string, o: SimulateOptions & { failOn: string }, cmd: Command) => {
    if (!['lost', 'gained', 'any'].includes(o.failOn)) throw new UsageError(`--fail-on must be lost, gained or any, not \`${o.failOn}\``);
    const { compileFile, diffSchemas } = await schemaFiles();
    const oldText = readFile(oldFile);
    const newText = readFile(newFile);
    const changes = diffSchemas(compileFile(oldFile, oldText), compileFile(newFile, newText));
    await withApi(cmd, async (api, g: GlobalOptions) => {
      const r = await run(api, o, { schema: newText, base_schema: oldText });
      const failed = failsOn(r, o.failOn);
      const diff = changes.length ? changes.map((c) => `${c.change === 'added' ? '+' : c.change === 'removed' ? '-' : '~'} ${c.kind} ${c.name}${c.detail ? `: ${c.detail}` : ''}`).join('\n') : 'no changes to the schema';
      emit(g, { diff: changes, simulation: r, failed }, `${diff}\n\n${simulationText(r)}${failed ? `\n\nfailed: answers change that --fail-on ${o.failOn} refuses` : ''}`);
      if (failed) process.exitCode = 1;
    });
  });

  simulationOptions(
    tuple
      .command('simulate')
      .description('who would gain and lose what if these relationship changes were made (nothing is written)')
      .argument('[file]', 'a relationship a line to write; `-` before one deletes it (stdin when absent)')
      .addHelpText('after', '\nExamples:\n  $ warden tuple simulate changes.txt --type document\n  $ echo "-group:eng#member@group:contractors#member" | warden tuple simulate'),
  ).action(async (file: string | undefined, o: SimulateOptions, cmd: Command) => {
    const changes = await readChanges(file);
    if (!changes.length) throw new UsageError('no relationship changes given');
    await withApi(cmd, async (api, g: GlobalOptions) => {
      const r = await run(api, o, { changes });
      emit(g, r, simulationText(r));
    });
  });
}
