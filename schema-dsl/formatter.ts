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

/**
 * Renders a rewrite expression. Where operators of different kinds meet, the inner one is always
 * parenthesised, as written (`(member + admin) - banned`), even where binding strength would make
 * the parentheses redundant: a reader should not need the precedence table (as prettier keeps
 * `(a && b) || c`). A nested operator of the same kind is parenthesised to keep the tree (a
 * union in a union would be flattened), except an exclusion's base (`a - b - c` is `(a - b) - c`).
 */
export function formatRewrite(e: RewriteIR): string {
  const wrap = (child: RewriteIR, sameKindNeedsParens = true): string => {
    const s = formatRewrite(child);
    const compound = child.kind === 'union' || child.kind === 'intersection' || child.kind === 'exclusion';
    return compound && (child.kind !== e.kind || sameKindNeedsParens) ? `(${s})` : s;
  };
  switch (e.kind) {
    case 'nil':
      return 'nil';
    case 'computed':
      return e.relation;
    case 'arrow':
      return e.fn === 'arrow' ? `${e.tupleset}->${e.computed}` : `${e.tupleset}.${e.fn}(${e.computed})`;
    case 'union':
      return e.children.map((c) => wrap(c)).join(' + ');
    case 'intersection':
      return e.children.map((c) => wrap(c)).join(' & ');
    case 'exclusion':
      return `${wrap(e.base, false)} - ${wrap(e.subtract)}`;
  }
}
