import { createReadStream, createWriteStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { extname } from 'node:path';
import type { Command } from 'commander';
import { fromRelationship, toRelationship, type PbRelationship } from '../api/convert.js';
import { formatRelationship } from '../model/relationship-syntax.js';
import type { Relationship } from '../model/relationship.js';
import { UsageError } from './connection.js';
import { GRPC_CODE_NAMES, clientOptions, consistencyOf, consistencyOptions, emit, importRelationships, isServiceError, local, parseTuple, readFile, withApi } from './cli-support.js';
import { readLines } from './query-commands.js';
import { FILTER_SYNTAX, filterMessage, parseFilterText } from '../model/filter-syntax.js';

type Format = 'jsonl' | 'csv' | 'yaml';

function formatOf(file: string | undefined, given: string | undefined): Format {
  const f = given ?? (file ? { '.jsonl': 'jsonl', '.json': 'jsonl', '.csv': 'csv', '.yaml': 'yaml', '.yml': 'yaml' }[extname(file)] : 'jsonl') ?? 'jsonl';
  if (f !== 'jsonl' && f !== 'csv' && f !== 'yaml') throw new UsageError(`--format must be jsonl, csv or yaml, not \`${f}\``);
  return f;
}

/** A relationship as a flat record: the JSONL and CSV shape. */
function toRecord(r: Relationship): Record<string, unknown> {
  const s = formatRelationship({ ...r, caveat: null, expiresAt: null });
  const at = s.indexOf('@');
  const hash = s.lastIndexOf('#', at);
  return {
    resource: s.slice(0, hash),
    relation: r.relation,
    subject: s.slice(at + 1),
    ...(r.caveat ? { caveat: r.caveat.name } : {}),
    ...(r.caveat?.context ? { context: r.caveat.context } : {}),
    ...(r.expiresAt ? { expiration: r.expiresAt.toISOString() } : {}),
  };
}

function fromRecord(v: Record<string, unknown>, where: string): Relationship {
  const text = `${String(v['resource'])}#${String(v['relation'])}@${String(v['subject'])}`;
  const caveat = v['caveat'] ? `[${String(v['caveat'])}${v['context'] ? `:${typeof v['context'] === 'string' ? v['context'] : JSON.stringify(v['context'])}` : ''}]` : '';
  const expiration = v['expiration'] ? `[expiration:${String(v['expiration'])}]` : '';
  return parseTuple(text + caveat + expiration, where);
}

const CSV_COLUMNS = ['resource', 'relation', 'subject', 'caveat', 'context', 'expiration'];

function csvCell(v: unknown): string {
  const s = v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function parseCsvLine(line: string): string[] {
  const cells: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      cells.push(cur);
      cur = '';
    } else cur += c;
  }
  cells.push(cur);
  return cells;
}

/** The relationships of a YAML validation file (every document in it). */
async function readYamlRelationships(file: string): Promise<Relationship[]> {
  const { parseValidationFile } = await import('../conformance/validation-file.js');
  try {
    return parseValidationFile(readFile(file), file).flatMap((d) => d.relationships);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/**
 * Parses a JSONL or CSV file line by line (CSV: the first non-blank line is the header), with
 * errors that name `file:line`. Returns null for blank lines and the header.
 */
function lineParser(file: string, format: 'jsonl' | 'csv'): (line: string, lineNo: number) => Relationship | null {
  let header: string[] | null = null;
  return (l, lineNo) => {
    if (!l.trim()) return null;
    const at = `${file}:${lineNo}`;
    if (format === 'jsonl') {
      let v: unknown;
      try {
        v = JSON.parse(l);
      } catch {
        throw new UsageError(`${at}: not JSON`);
      }
      return typeof v === 'string' ? parseTuple(v, at) : fromRecord(v as Record<string, unknown>, at);
    }
    if (!header) {
      header = parseCsvLine(l);
      if (!['resource', 'relation', 'subject'].every((c) => header!.includes(c))) throw new UsageError(`${file}: the CSV header must name resource, relation and subject`);
      return null;
    }
    const cells = parseCsvLine(l);
    return fromRecord(Object.fromEntries(header.map((h, j) => [h, cells[j] || undefined])), at);
  };
}

/**
 * The relationships of a file, one at a time, reading it as a stream: memory stays bounded
 * however large the file. (A YAML validation file is parsed whole: it is one document.)
 */
export async function* streamRelationships(file: string, format: Format): AsyncGenerator<Relationship> {
  if (format === 'yaml') {
    yield* await readYamlRelationships(file);
    return;
  }
  const input = createReadStream(file, { encoding: 'utf8' });
  const lines = createInterface({ input, crlfDelay: Infinity });
  let failure: Error | null = null;
  input.once('error', (e) => {
    failure = e;
    lines.close();
  });
  const parse = lineParser(file, format);
  let lineNo = 0;
  try {
    for await (const line of lines) {
      const r = parse(line, ++lineNo);
      if (r) yield r;
    }
  } catch (e) {
    // The file's own errors (missing, unreadable) are the user's to fix: a usage error.
    if (e instanceof UsageError || !(e as NodeJS.ErrnoException).code) throw e;
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  } finally {
    lines.close();
    input.destroy();
  }
  if (failure) throw new UsageError(`cannot read ${file}: ${(failure as Error).message}`);
}

/** `type[:id][#relation][@subjecttype[:id][#relation]]` as a RelationshipFilter message. */
export function parseFilter(text: string): unknown {
  const f = parseFilterText(text);
  if (!f) throw new UsageError(`\`${text}\` is not a filter: ${FILTER_SYNTAX}`);
  return filterMessage(f);
}

const OPS = { write: 'OPERATION_CREATE', touch: 'OPERATION_TOUCH', delete: 'OPERATION_DELETE' } as const;

/** Registers `warden tuple ...`. */
export function registerTuples(program: Command): void {
  const tuple = program.command('tuple').description('write, read, delete, import and export relationships');
  const writeTuples = async (verb: keyof typeof OPS, tuples: string[], cmd: Command): Promise<void> => {
    const texts = tuples.length ? tuples : await readLines(undefined);
    if (!texts.length) throw new UsageError('no tuples given (as arguments or on stdin)');
    const rels = texts.map((t, i) => parseTuple(t, tuples.length ? `tuples[${i}]` : `stdin line ${i + 1}`));
    await withApi(cmd, async (api, g) => {
      // Each request of up to 1,000 is atomic.
      let last;
      for (let i = 0; i < rels.length; i += 1000) {
        last = await api.call('RelationshipService', 'Write', { updates: rels.slice(i, i + 1000).map((r) => ({ operation: OPS[verb], relationship: fromRelationship(r) })) });
      }
      emit(g, { ...last, count: rels.length }, `${verb === 'delete' ? 'deleted' : 'wrote'} ${rels.length} relationship${rels.length === 1 ? '' : 's'}; zookie ${last.written_at.token}`);
    });
  };
  const describe = { write: 'create relationships (fails if one exists)', touch: 'create or replace relationships', delete: 'delete relationships' };
  for (const verb of ['write', 'touch', 'delete'] as const) {
    const cmd = clientOptions(
      tuple
        .command(verb)
        .description(`${describe[verb]}; from stdin, one a line, when none are given`)
        .argument('[tuples...]', 'e.g. document:q3#viewer@user:alice')
        .addHelpText('after', `\nExample:\n  $ warden tuple ${verb} document:q3#viewer@user:alice group:eng#member@user:bob`),
    );
    if (verb !== 'delete') {
      cmd.action((tuples: string[], _o: unknown, c: Command) => writeTuples(verb, tuples, c));
      continue;
    }
    cmd
      .option('--filter <filter>', 'delete every relationship matching type[:id][#relation][@subjecttype[:id][#relation]]')
      .option('--limit <n>', 'with --filter: at most this many', (v) => Number(v), 0)
      .option('--partial', 'with --limit: delete up to it and say whether more remain')
      .action(async (tuples: string[], o: { filter?: string; limit: number; partial?: boolean }, c: Command) => {
        if (!o.filter) return writeTuples('delete', tuples, c);
        if (tuples.length) throw new UsageError('give tuples or --filter, not both');
        const filter = parseFilter(o.filter);
        await withApi(c, async (api, g) => {
          const r = await api.call('RelationshipService', 'Delete', { filter, limit: o.limit, allow_partial: !!o.partial });
          emit(g, r, `deleted ${r.deleted_count} relationships${r.more_remain ? ' (more remain)' : ''}; zookie ${r.deleted_at.token}`);
        });
      });
  }

  clientOptions(
    consistencyOptions(
      tuple
        .command('read')
        .description('print relationships matching a filter, a page at a time')
        .addHelpText('after', '\nExample:\n  $ warden tuple read document:q3#viewer\n  $ warden tuple read document --limit 100 --cursor <cursor>')
        .argument('<filter>', 'type[:id][#relation][@subjecttype[:id][#relation]]')
        .option('--limit <n>', 'at most this many', (v) => Number(v), 100)
        .option('--cursor <cursor>', 'continue after a previous page'),
    ),
  ).action(async (filter: string, o: { limit: number; cursor?: string }, cmd: Command) => {
    await withApi(cmd, async (api, g) => {
      let next = '';
      await api.stream('RelationshipService', 'Read', { consistency: consistencyOf(cmd.opts()), filter: parseFilter(filter), limit: o.limit, cursor: o.cursor ?? '' }, (m) => {
        next = m.cursor || next;
        emit(g, m, formatRelationship(local(() => toRelationship(m.relationship as PbRelationship, 'relationship'))));
      });
      if (next && !g.json) process.stderr.write(`more: --cursor ${next}\n`);
    });
  });

  clientOptions(
    tuple
      .command('import')
      .description('load relationships from JSONL, CSV or a YAML validation file, streamed, in batches, each one transaction')
      .argument('<file>')
      .option('--format <format>', 'jsonl | csv | yaml (default: by extension)')
      .option('--batch-size <n>', 'relationships a transaction', (v) => Number(v), 10_000)
      .option('--skip <n>', 'skip the first N (to resume after an interruption)', (v) => Number(v), 0)
      .option('--touch', 'write over relationships that exist (idempotent: re-import an export); in transactions of at most 1,000')
      .addHelpText('after', '\nExample:\n  $ warden tuple import relationships.jsonl\n  $ warden tuple import relationships.jsonl --skip 40000   # resume\n  $ warden tuple import backup.jsonl --touch               # again, over what is there'),
  ).action(async (file: string, o: { format?: string; batchSize: number; skip: number; touch?: boolean }, cmd: Command) => {
    const format = formatOf(file, o.format);
    if (!Number.isInteger(o.batchSize) || o.batchSize < 1) throw new UsageError('--batch-size must be a whole number of at least 1');
    if (!Number.isInteger(o.skip) || o.skip < 0) throw new UsageError('--skip must be a whole number');
    // Touches go through Write, whose transactions hold at most 1,000 changes.
    const batchSize = o.touch ? Math.min(o.batchSize, 1000) : o.batchSize;
    // A first pass checks every line (and counts them) before anything is written, holding one
    // line at a time; the second sends them, one batch in memory at a time.
    let total = 0;
    for await (const _ of streamRelationships(file, format)) total++;
    const tty = process.stderr.isTTY;
    await withApi(cmd, async (api, g) => {
      let done = 0;
      let seen = 0;
      let zookie = '';
      let batch: Relationship[] = [];
      const send = async (): Promise<void> => {
        if (!batch.length) return;
        try {
          zookie = o.touch
            ? (await api.call('RelationshipService', 'Write', { updates: batch.map((r) => ({ operation: 'OPERATION_TOUCH', relationship: fromRelationship(r) })) })).written_at.token
            : (await importRelationships(api, batch)).imported_at.token;
        } catch (e) {
          if (tty) process.stderr.write('\n');
          // Nothing of the failed batch was written. A relationship that exists fails again however
          // the import resumes: --touch writes over it. Anything else resumes at the failed batch.
          const exists = isServiceError(e) && GRPC_CODE_NAMES[e.code] === 'ALREADY_EXISTS';
          process.stderr.write(
            exists
              ? `imported ${o.skip + done} of ${total} (the batch from ${o.skip + done + 1} on was not written): a relationship in it exists; re-run with --touch to write over those that exist${o.skip + done ? ` (add --skip ${o.skip + done} to skip what was imported)` : ''}\n`
              : `imported ${o.skip + done} of ${total}; resume with --skip ${o.skip + done}\n`,
          );
          throw e;
        }
        done += batch.length;
        batch = [];
        if (tty) process.stderr.write(`\r${progress(o.skip + done, total)}`);
      };
      for await (const r of streamRelationships(file, format)) {
        if (seen++ < o.skip) continue;
        batch.push(r);
        if (batch.length >= batchSize) await send();
      }
      await send();
      if (tty) process.stderr.write('\n');
      emit(g, { imported: done, skipped: o.skip, zookie }, `imported ${done} relationships${o.skip ? ` (after skipping ${o.skip})` : ''}${zookie ? `; zookie ${zookie}` : ''}`);
    });
  });

  clientOptions(
    consistencyOptions(
      tuple
        .command('export')
        .description('write every relationship to a file (or stdout) as JSONL, CSV or YAML')
        .addHelpText('after', '\nExample:\n  $ warden tuple export backup.jsonl\n  $ warden tuple export --format csv > relationships.csv')
        .argument('[file]')
        .option('--format <format>', 'jsonl | csv | yaml (default: by extension, else jsonl)')
        .option('--cursor <cursor>', 'resume an interrupted export'),
    ),
  ).action(async (file: string | undefined, o: { format?: string; cursor?: string }, cmd: Command) => {
    const format = formatOf(file, o.format);
    if (format === 'yaml' && o.cursor) throw new UsageError('--cursor resumes JSONL and CSV exports; a YAML export is written whole');
    const out = file ? createWriteStream(file, { flags: o.cursor ? 'a' : 'w' }) : process.stdout;
    const lines: string[] = [];
    let count = 0;
    let lastCursor = '';
    if (format === 'csv' && !o.cursor) out.write(`${CSV_COLUMNS.join(',')}\n`);
    const g = await withApi(cmd, async (api, g) => {
      try {
        await api.stream('RelationshipService', 'Export', { consistency: consistencyOf(cmd.opts()), page_size: 1000, cursor: o.cursor ?? '' }, (m) => {
          for (const pb of m.relationships) {
            const r = local(() => toRelationship(pb as PbRelationship, 'relationship'));
            count++;
            if (format === 'yaml') {
              lines.push(formatRelationship(r));
              continue;
            }
            const record = toRecord(r);
            out.write(format === 'jsonl' ? `${JSON.stringify(record)}\n` : `${CSV_COLUMNS.map((c) => csvCell(record[c])).join(',')}\n`);
          }
          lastCursor = m.cursor;
        }, 0);
      } catch (e) {
        if (lastCursor && format !== 'yaml') process.stderr.write(`interrupted after ${count} relationships; resume with --cursor ${lastCursor}\n`);
        throw e;
      }
      return g;
    });
    if (format === 'yaml') out.write((await import('yaml')).stringify({ relationships: lines.join('\n') }));
    if (file) await new Promise((r) => (out as ReturnType<typeof createWriteStream>).end(r));
    if (file && g.json) process.stdout.write(`${JSON.stringify({ exported: count, file, format })}\n`);
    else if (file) process.stderr.write(`exported ${count} relationships to ${file}\n`);
  });
}

function progress(done: number, total: number): string {
  const width = 30;
  const filled = Math.round((done / Math.max(total, 1)) * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${total}`;
}
