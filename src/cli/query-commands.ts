import { createInterface } from 'node:readline';
import type { Command } from 'commander';
import { fromRelationship, fromSubject, jsonToStruct } from '../api/convert.js';
import { explanationText } from './explain-text.js';
import { ELLIPSIS } from '../model/relationship.js';
import type { ApiClient } from './api-client.js';
import { UsageError } from './connection.js';
import { GRPC_CODE_NAMES, clientOptions, consistencyOf, consistencyOptions, contextArg, emit, emitEach, isServiceError, paint, readFile, parseObjectArg, parseSubjectArg, withApi, type GlobalOptions } from './cli-support.js';

const SHORT: Record<string, string> = {
  PERMISSIONSHIP_HAS_PERMISSION: 'HAS_PERMISSION',
  PERMISSIONSHIP_NO_PERMISSION: 'NO_PERMISSION',
  PERMISSIONSHIP_CONDITIONAL_PERMISSION: 'CONDITIONAL',
};

/** A `type:id` argument as an ObjectReference message. */
export const ref = (s: string, field: string) => {
  const o = parseObjectArg(s, field);
  return { object_type: o.type, object_id: o.id };
};
/** A `type:id[#relation]` argument as a SubjectReference message. */
export const sub = (s: string, field: string) => fromSubject(parseSubjectArg(s, field));
/** A `--context` JSON argument as the Struct the API takes (null when absent). */
export const ctx = (text: string | undefined) => {
  const v = contextArg(text);
  return v ? jsonToStruct(v as Record<string, unknown>) : null;
};
const COLOUR = { HAS_PERMISSION: 'green', NO_PERMISSION: 'red', CONDITIONAL: 'yellow' } as const;
/** A message with its permissionship named as the text output names it (`HAS_PERMISSION`), for --json. */
const named = <T extends { permissionship?: string }>(m: T): T => (m.permissionship ? { ...m, permissionship: SHORT[m.permissionship] ?? m.permissionship } : m);
const verdict = (r: { permissionship: string; missing_context_params: string[] }): string => {
  const short = SHORT[r.permissionship] ?? r.permissionship;
  const word = short in COLOUR ? paint(COLOUR[short as keyof typeof COLOUR], short) : short;
  return `${word}${r.missing_context_params.length ? ` (missing: ${r.missing_context_params.join(', ')})` : ''}`;
};

/** Registers check, batch-check, expand, list-objects, list-subjects, list-permissions and watch. */
export function registerQueries(program: Command): void {
  const check = program
    .command('check')
    .description('may the subject do the permission on the resource?')
    .argument('<resource>', 'type:id')
    .argument('<permission>')
    .argument('<subject>', 'type:id or type:id#relation')
    .option('--context <json>', 'caveat context')
    .option('--fail-on-deny', 'exit 1 when denied, 2 when conditional')
    .option('--explain', 'also say why: the path that grants, or the branches that failed and why')
    .option('--acting-as <subject>', 'the person acting for the subject (support staff): granted only if they have `impersonate` on the subject; audited')
    .addHelpText(
      'after',
      '\nExamples:\n  $ warden check document:q3 view user:alice --at-least <zookie>\n  $ warden check document:q3 view user:alice --explain',
    );
  clientOptions(consistencyOptions(check)).action(async (resource: string, permission: string, subject: string, o: { context?: string; failOnDeny?: boolean; explain?: boolean; actingAs?: string }, cmd: Command) => {
    const req = {
      consistency: consistencyOf(cmd.opts()),
      resource: ref(resource, 'resource'),
      permission,
      subject: sub(subject, 'subject'),
      context: ctx(o.context),
      explain: !!o.explain,
      acting_as: o.actingAs ? sub(o.actingAs, '--acting-as') : null,
    };
    await withApi(cmd, async (api, g) => {
      const r = await api.call('PermissionService', 'Check', req);
      const why = r.explanation ? `\n${r.explanation.path ? `path: ${r.explanation.path}\n` : ''}${explanationText(r.explanation.tree)}` : '';
      emit(g, named(r), verdict(r) + why);
      if (o.failOnDeny && r.permissionship === 'PERMISSIONSHIP_NO_PERMISSION') process.exitCode = 1;
      if (o.failOnDeny && r.permissionship === 'PERMISSIONSHIP_CONDITIONAL_PERMISSION') process.exitCode = 2;
    });
  });

  const batch = program
    .command('batch-check')
    .description('many checks in one call: lines of `RESOURCE PERMISSION SUBJECT` from a file or stdin')
    .argument('[file]', 'the checks; stdin when absent')
    .option('--fail-on-deny', 'exit 1 when any is denied, 2 when any is conditional (and none denied)')
    .addHelpText(
      'after',
      '\nPrints a line per check (with --json, an object a line echoing the check). Exits 4 when any check failed.\n\nExamples:\n  $ warden batch-check checks.txt\n  $ printf "document:q3 view user:alice\\ndocument:q3 edit user:bob\\n" | warden batch-check --json',
    );
  clientOptions(consistencyOptions(batch)).action(async (file: string | undefined, o: { failOnDeny?: boolean }, cmd: Command) => {
    const lines = await readLines(file);
    const items = lines.map((l, i) => {
      const [resource, permission, subject, ...rest] = l.split(/\s+/);
      if (!resource || !permission || !subject || rest.length) throw new UsageError(`line ${i + 1}: expected \`RESOURCE PERMISSION SUBJECT\`, found \`${l}\``);
      return { resource: ref(resource, `line ${i + 1}`), permission, subject: sub(subject, `line ${i + 1}`), text: { resource, permission, subject } };
    });
    await withApi(cmd, async (api, g) => {
      const r = await api.call('PermissionService', 'BatchCheck', { consistency: consistencyOf(cmd.opts()), items: items.map(({ text: _t, ...item }) => item) });
      // Each answer beside the check it answers: the line's own words, then the verdict or the error.
      const results = (r.results as any[]).map((x, i) => ({ check: items[i]!.text, item: x.result === 'item' ? x.item : null, error: x.result === 'item' ? null : { code: GRPC_CODE_NAMES[x.error.code] ?? String(x.error.code), message: x.error.message as string } }));
      emitEach(
        g,
        results,
        (x) => `${x.check.resource} ${x.check.permission} ${x.check.subject}\t${x.item ? verdict(x.item) : `ERROR ${x.error!.code}: ${x.error!.message}`}`,
        (x) => ({ ...x.check, ...(x.item ? named(x.item) : { error: x.error }) }),
      );
      const answered = results.map((x) => x.item?.permissionship);
      if (results.some((x) => x.error)) process.exitCode = 4;
      else if (o.failOnDeny && answered.includes('PERMISSIONSHIP_NO_PERMISSION')) process.exitCode = 1;
      else if (o.failOnDeny && answered.includes('PERMISSIONSHIP_CONDITIONAL_PERMISSION')) process.exitCode = 2;
    });
  });

  const expand = program.command('expand').description('the userset tree of a permission on a resource').addHelpText('after', '\nExample:\n  $ warden expand document:q3 view').argument('<resource>').argument('<permission>');
  clientOptions(consistencyOptions(expand)).action(async (resource: string, permission: string, _o: unknown, cmd: Command) => {
    await withApi(cmd, async (api, g) => {
      const r = await api.call('PermissionService', 'Expand', { consistency: consistencyOf(cmd.opts()), resource: ref(resource, 'resource'), permission });
      emit(g, r, renderTree(r.tree, ''));
    });
  });

  const lo = program
    .command('list-objects')
    .description('resources of a type on which the subject has the permission')
    .addHelpText('after', '\nExample:\n  $ warden list-objects document view user:alice --limit 100')
    .argument('<type>')
    .argument('<permission>')
    .argument('<subject>')
    .option('--context <json>', 'caveat context')
    .option('--limit <n>', 'at most this many', (v) => Number(v), 0)
    .option('--cursor <cursor>', 'continue a listing');
  clientOptions(consistencyOptions(lo)).action(async (type: string, permission: string, subject: string, o: { context?: string; limit: number; cursor?: string }, cmd: Command) => {
    const req = { consistency: consistencyOf(cmd.opts()), resource_type: type, permission, subject: sub(subject, 'subject'), context: ctx(o.context) };
    await withApi(cmd, (api, g) =>
      pages(api, g, 'ListObjects', req, o, (m) => emit(g, named(m), `${type}:${m.object_id}${m.permissionship === 'PERMISSIONSHIP_CONDITIONAL_PERMISSION' ? `\t${verdict(m)}` : ''}`)),
    );
  });

  const ls = program
    .command('list-subjects')
    .description('subjects of a type that have the permission on the resource')
    .addHelpText('after', '\nExample:\n  $ warden list-subjects document:q3 view user')
    .argument('<resource>')
    .argument('<permission>')
    .argument('<subject-type>', 'type or type#relation')
    .option('--context <json>', 'caveat context')
    .option('--limit <n>', 'at most this many', (v) => Number(v), 0)
    .option('--cursor <cursor>', 'continue a listing');
  clientOptions(consistencyOptions(ls)).action(async (resource: string, permission: string, subjectType: string, o: { context?: string; limit: number; cursor?: string }, cmd: Command) => {
    const [type, relation] = subjectType.split('#');
    const req = {
      consistency: consistencyOf(cmd.opts()),
      resource: ref(resource, 'resource'),
      permission,
      subject_type: type,
      optional_subject_relation: relation && relation !== ELLIPSIS ? relation : '',
      context: ctx(o.context),
    };
    await withApi(cmd, (api, g) =>
      pages(api, g, 'ListSubjects', req, o, (m) => {
        const excluded = m.excluded_subject_ids.length ? ` - {${m.excluded_subject_ids.map((x: string) => `${type}:${x}`).join(', ')}}` : '';
        emit(g, named(m), `${type}:${m.subject_id}${excluded}${m.permissionship === 'PERMISSIONSHIP_CONDITIONAL_PERMISSION' ? `\t${verdict(m)}` : ''}`);
      }),
    );
  });

  const lp = program.command('list-permissions').description('every relation and permission the subject has on one resource').addHelpText('after', '\nExample:\n  $ warden list-permissions document:q3 user:alice').argument('<resource>').argument('<subject>').option('--context <json>', 'caveat context');
  clientOptions(consistencyOptions(lp)).action(async (resource: string, subject: string, o: { context?: string }, cmd: Command) => {
    await withApi(cmd, async (api, g) => {
      const r = await api.call('PermissionService', 'ListPermissions', { consistency: consistencyOf(cmd.opts()), resource: ref(resource, 'resource'), subject: sub(subject, 'subject'), context: ctx(o.context) });
      emitEach(g, r.permissions, (p: any) => `${p.permission}\t${verdict(p)}`, (p: any) => ({ ...named(p), checked_at: r.checked_at }));
    });
  });

  const watch = program
    .command('watch')
    .description('stream committed changes (Ctrl-C to stop)')
    .addHelpText('after', '\nExample:\n  $ warden watch document folder --since <zookie>')
    .argument('[types...]', 'only these resource types')
    .option('--since <zookie>', 'changes after this zookie (default: from now)')
    .option('--heartbeat-ms <ms>', 'heartbeat interval', (v) => Number(v), 5000);
  clientOptions(watch).action(async (types: string[], o: { since?: string; heartbeatMs: number }, cmd: Command) => {
    await withApi(cmd, async (api, g) => {
      let since = o.since;
      // The server ends a Watch after an hour; carry on from the last zookie it sent, losing nothing.
      for (;;) {
        try {
          await api.stream(
            'WatchService',
            'Watch',
            { optional_resource_types: types, optional_start: since ? { token: since } : null, heartbeat_ms: o.heartbeatMs },
            (m) => {
              since = m.changes_through?.token || since;
              if (m.is_heartbeat) return;
              const text = m.changes.map((c: any) => `${c.operation === 'OPERATION_DELETE' ? 'DELETE' : 'TOUCH '} ${relText(c.relationship)}`).join('\n');
              emit(g, m, `${text}${text ? '\n' : ''}# through ${m.changes_through.token}`);
            },
            0,
          );
        } catch (e) {
          if (!(isServiceError(e) && GRPC_CODE_NAMES[e.code] === 'DEADLINE_EXCEEDED' && since)) throw e;
        }
      }
    });
  });
}

/**
 * Runs a listing. With --limit, one page and the cursor that continues it (on stderr, or as the
 * `cursor` field of the last JSON line); without, every page, following the cursors.
 */
async function pages(
  api: ApiClient,
  g: GlobalOptions,
  method: 'ListObjects' | 'ListSubjects',
  req: object,
  o: { limit: number; cursor?: string },
  print: (m: any) => void,
): Promise<void> {
  let cursor = o.cursor ?? '';
  for (;;) {
    let next = '';
    await api.stream('PermissionService', method, { ...req, limit: o.limit, cursor }, (m) => {
      next = m.cursor || next;
      print(m);
    });
    if (!next) return;
    if (o.limit) {
      if (!g.json) process.stderr.write(`more: --cursor ${next}\n`);
      return;
    }
    cursor = next;
  }
}

/** A subject message as text: `user:alice`, `group:eng#member`. */
export function subjectText(s: { object: { object_type: string; object_id: string } | null; optional_relation: string }): string {
  return `${s.object!.object_type}:${s.object!.object_id}${s.optional_relation ? `#${s.optional_relation}` : ''}`;
}

/** A relationship message as text. */
export function relText(r: ReturnType<typeof fromRelationship>): string {
  return `${r.resource!.object_type}:${r.resource!.object_id}#${r.relation}@${subjectText(r.subject!)}`;
}

/**
 * The Expand tree, indented: each node's operator and `type:id#relation`, a leaf's subjects under
 * it; an arrow as an arrow (`account->manage from resource:dashboard`) over the objects it reached.
 */
function renderTree(n: any, indent: string): string {
  const caveat = n.caveat_expression ? ` [${n.caveat_expression}]` : '';
  const head = n.arrow
    ? `${indent}${n.arrow} from ${n.resource.object_type}:${n.resource.object_id}${caveat}${n.children?.length ? '' : ' (reaches nothing)'}`
    : `${indent}${n.kind.replace('KIND_', '').toLowerCase()} ${n.resource.object_type}:${n.resource.object_id}#${n.relation}${caveat}`;
  const subjects = (n.subjects ?? []).map(
    (s: any) => `${indent}  - ${subjectText(s.subject)}${s.caveat_expression ? ` [${s.caveat_expression}]` : ''}`,
  );
  return [head, ...subjects, ...(n.children ?? []).map((c: any) => renderTree(c, `${indent}  `))].join('\n');
}

/** Non-empty, non-comment lines of a file, or of stdin when no file is named. */
export async function readLines(file: string | undefined): Promise<string[]> {
  const text = file ? readFile(file) : await readStdin();
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('//') && !l.startsWith('#'));
}

async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) return '';
  const lines: string[] = [];
  for await (const l of createInterface({ input: process.stdin })) lines.push(l);
  return lines.join('\n');
}
