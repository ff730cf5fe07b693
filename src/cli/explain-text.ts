import { structToJson, type PbStruct } from '../api/convert.js';

/** An ExplainNode message as the CLI prints it (see proto ExplainNode). */
interface ExplainMessage {
  kind: string;
  label: string;
  permissionship: string;
  missing_context_params: string[];
  reason: string;
  caveat: { name: string; values: unknown; permissionship: string; missing_context_params: string[] } | null;
  children: ExplainMessage[];
  omitted: number;
}

/** A Permissionship as a word, in explanations and simulation reports. */
export const PERMISSIONSHIP_WORD: Readonly<Record<string, string>> = {
  PERMISSIONSHIP_HAS_PERMISSION: 'yes',
  PERMISSIONSHIP_NO_PERMISSION: 'no',
  PERMISSIONSHIP_CONDITIONAL_PERMISSION: 'conditional',
};

function outcome(permissionship: string, missing: readonly string[]): string {
  const w = PERMISSIONSHIP_WORD[permissionship] ?? permissionship;
  return missing.length ? `${w}, missing ${missing.join(', ')}` : w;
}

/** A caveat's values as `name(a=1, b="x")`, from the Struct the server sent (as JSON). */
function caveatText(c: NonNullable<ExplainMessage['caveat']>, values: Readonly<Record<string, unknown>>): string {
  const args = Object.entries(values).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return `caveat ${c.name}(${args.join(', ')}): ${outcome(c.permissionship, c.missing_context_params)}`;
}

/**
 * The explanation as an indented tree, a step a line: what the step is, its outcome, and why
 * (`document:q3#view: no` / `└─ viewer + edit: no, no branch holds`).
 */
export function explanationText(root: ExplainMessage): string {
  const lines: string[] = [];
  const visit = (n: ExplainMessage, lead: string, branch: string): void => {
    const parts = [`${n.label || n.kind.replace('KIND_', '').toLowerCase()}: ${outcome(n.permissionship, n.missing_context_params)}`];
    if (n.reason) parts.push(n.reason);
    if (n.caveat) parts.push(caveatText(n.caveat, n.caveat.values ? structToJson(n.caveat.values as PbStruct) : {}));
    if (n.omitted) parts.push(`${n.omitted} more not shown`);
    lines.push(`${lead}${branch}${parts.join('; ')}`);
    const inner = lead + (branch === '├─ ' ? '│  ' : branch === '└─ ' ? '   ' : '');
    n.children.forEach((c, i) => visit(c, inner, i === n.children.length - 1 ? '└─ ' : '├─ '));
  };
  visit(root, '', '');
  return lines.join('\n');
}
