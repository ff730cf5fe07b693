import type { AllowedSubjectIR, CaveatIR, DefinitionIR, RewriteIR, SchemaIR } from './ir.js';
import { ELLIPSIS, caveatTypeText } from './ir.js';

/** Renders a compiled schema as canonical text; compiling the result gives back the same IR. */
export function formatSchema(ir: SchemaIR): string {
  const blocks: string[] = [];
  if (ir.useExpiration) blocks.push('use expiration');
  for (const c of ir.caveats) blocks.push(formatCaveat(c));
  for (const d of ir.definitions) blocks.push(formatDefinition(d));
  return blocks.join('\n\n') + '\n';
}

function commentLines(comments: readonly string[], indent: string): string {
  return comments.map((c) => `${indent}${c}\n`).join('');
}

function formatCaveat(c: CaveatIR): string {
  const params = c.params.map((p) => `${p.name} ${caveatTypeText(p.type)}`).join(', ');
  return `${commentLines(c.comments, '')}caveat ${c.name}(${params}) {\n  ${c.expression}\n}`;
}

function formatDefinition(d: DefinitionIR): string {
  const head = `${commentLines(d.comments, '')}definition ${d.name} {`;
  if (!d.members.length) return `${head}}`;
  const lines = d.members.map((m) =>
    m.kind === 'relation'
      ? `${commentLines(m.comments, '  ')}  relation ${m.name}: ${m.allowed.map(formatAllowed).join(' | ')}`
      : `${commentLines(m.comments, '  ')}  permission ${m.name} = ${formatRewrite(m.rewrite)}`,
  );
  return `${head}\n${lines.join('\n')}\n}`;
}

/** Renders one allowed subject type as written in a relation. */
export function formatAllowed(a: AllowedSubjectIR): string {
  let s = a.wildcard ? `${a.type}:*` : a.relation === ELLIPSIS ? a.type : `${a.type}#${a.relation}`;
  if (a.caveat !== null && a.expiration) s += ` with ${a.caveat} and expiration`;
  else if (a.caveat !== null) s += ` with ${a.caveat}`;
  else if (a.expiration) s += ' with expiration';
  return s;
}

// Binding strength: `-` lowest, then `&`, then `+`, then atoms and arrows.
function strength(e: RewriteIR): number {
  switch (e.kind) {
    case 'exclusion':
      return 1;
    case 'intersection':
      return 2;
    case 'union':
      return 3;
    default:
      return 4;
  }
}

/** Renders a rewrite expression with the fewest parentheses that keep its meaning. */
export function formatRewrite(e: RewriteIR): string {
  const wrap = (child: RewriteIR, min: number): string => {
    const s = formatRewrite(child);
    return strength(child) < min ? `(${s})` : s;
  };
  switch (e.kind) {
    case 'nil':
      return 'nil';
    case 'computed':
      return e.relation;
    case 'arrow':
      return e.fn === 'arrow' ? `${e.tupleset}->${e.computed}` : `${e.tupleset}.${e.fn}(${e.computed})`;
    case 'union':
      // A nested union would be flattened, so a union child is parenthesised to keep the tree.
      return e.children.map((c) => wrap(c, c.kind === 'union' ? 5 : 3)).join(' + ');
    case 'intersection':
      return e.children.map((c) => wrap(c, c.kind === 'intersection' ? 5 : 2)).join(' & ');
    case 'exclusion':
      return `${wrap(e.base, 1)} - ${wrap(e.subtract, 2)}`;
  }
}
