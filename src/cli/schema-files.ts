import { compileSchema, formatAllowed, formatRewrite, SchemaError, type SchemaIR } from '../../schema-dsl/index.js';
import { readFile } from './cli-support.js';
import { UsageError } from './connection.js';

export { formatSchema } from '../../schema-dsl/index.js';

/** Compiles a schema file's text, reporting errors as `file:line:column: message` usage errors. */
export function compileFile(file: string, text = readFile(file)): SchemaIR {
  try {
    return compileSchema(text);
  } catch (e) {
    if (e instanceof SchemaError) {
      const lines = e.diagnostics.map((d) => `${file}:${d.line}:${d.column}: ${d.message}`);
      // One error a line, each `file:line:column: message` from the line's start (as editors read them).
      throw new UsageError(lines.length === 1 ? lines[0]! : [`${lines.length} errors in ${file}:`, ...lines].join('\n'));
    }
    throw e;
  }
}

/** One difference between two schemas. */
export interface SchemaChange {
  readonly change: 'added' | 'removed' | 'changed';
  readonly kind: 'definition' | 'relation' | 'permission' | 'caveat';
  readonly name: string;
  readonly detail?: string;
}

/** The definitions, caveats, relations and permissions added, removed and changed. */
export function diffSchemas(a: SchemaIR, b: SchemaIR): SchemaChange[] {
  const out: SchemaChange[] = [];
  const byName = <T extends { name: string }>(xs: readonly T[]) => new Map(xs.map((x) => [x.name, x]));
  const ca = byName(a.caveats);
  const cb = byName(b.caveats);
  for (const [n, c] of ca) {
    const d = cb.get(n);
    if (!d) out.push({ change: 'removed', kind: 'caveat', name: n });
    else if (d.expression !== c.expression || JSON.stringify(d.params.map((p) => [p.name, p.type])) !== JSON.stringify(c.params.map((p) => [p.name, p.type]))) {
      out.push({ change: 'changed', kind: 'caveat', name: n });
    }
  }
  for (const n of cb.keys()) if (!ca.has(n)) out.push({ change: 'added', kind: 'caveat', name: n });
  const da = byName(a.definitions);
  const db = byName(b.definitions);
  for (const [n, def] of da) {
    const other = db.get(n);
    if (!other) {
      out.push({ change: 'removed', kind: 'definition', name: n });
      continue;
    }
    const ma = byName(def.members);
    const mb = byName(other.members);
    const text = (m: (typeof def.members)[number]) => (m.kind === 'relation' ? m.allowed.map(formatAllowed).join(' | ') : formatRewrite(m.rewrite));
    for (const [mn, m] of ma) {
      const o = mb.get(mn);
      if (!o) out.push({ change: 'removed', kind: m.kind, name: `${n}#${mn}` });
      else if (o.kind !== m.kind || text(o) !== text(m)) out.push({ change: 'changed', kind: o.kind, name: `${n}#${mn}`, detail: `${text(m)} -> ${text(o)}` });
    }
    for (const [mn, m] of mb) if (!ma.has(mn)) out.push({ change: 'added', kind: m.kind, name: `${n}#${mn}`, detail: text(m) });
  }
  for (const n of db.keys()) if (!da.has(n)) out.push({ change: 'added', kind: 'definition', name: n });
  return out;
}
