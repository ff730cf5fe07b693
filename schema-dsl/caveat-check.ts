import { parse } from '@bufbuild/cel';
import type { CaveatTypeRef } from './ast.js';

/** A CEL type as the caveat checker sees it. `dyn` is unknown until run time and fits anything. */
export type CelCheckType =
  | { readonly k: 'int' | 'uint' | 'double' | 'bool' | 'string' | 'bytes' | 'null' | 'duration' | 'timestamp' | 'ipaddress' | 'dyn' | 'type' }
  | { readonly k: 'list'; readonly elem: CelCheckType }
  | { readonly k: 'map'; readonly key: CelCheckType; readonly value: CelCheckType };

/** A problem in a caveat expression, at a character offset into the expression text. */
export interface CaveatProblem {
  readonly message: string;
  readonly offset: number;
}

/** The outcome of checking a caveat expression. */
export interface CaveatCheck {
  readonly problems: readonly CaveatProblem[];
  /** Parameters the expression refers to. */
  readonly used: ReadonlySet<string>;
  /** Expression nodes, for the cost bound. */
  readonly nodes: number;
}

/** The most nodes one caveat expression may have. */
export const MAX_CAVEAT_NODES = 1000;

const scalar = (k: Extract<CelCheckType, { k: string }>['k']): CelCheckType => ({ k }) as CelCheckType;
const INT = scalar('int');
const UINT = scalar('uint');
const DOUBLE = scalar('double');
const BOOL = scalar('bool');
const STRING = scalar('string');
const BYTES = scalar('bytes');
const NULL = scalar('null');
const DURATION = scalar('duration');
const TIMESTAMP = scalar('timestamp');
const DYN = scalar('dyn');
const TYPE = scalar('type');

/** The CEL type of a declared caveat parameter type. */
export function celTypeOf(t: CaveatTypeRef): CelCheckType {
  switch (t.name) {
    case 'any':
      return DYN;
    case 'list':
      return { k: 'list', elem: t.args[0] ? celTypeOf(t.args[0]) : DYN };
    case 'map':
      return { k: 'map', key: STRING, value: t.args[0] ? celTypeOf(t.args[0]) : DYN };
    default:
      return scalar(t.name as 'int');
  }
}

/** Renders a type as CEL writes it. */
export function celTypeText(t: CelCheckType): string {
  if (t.k === 'list') return `list(${celTypeText(t.elem)})`;
  if (t.k === 'map') return `map(${celTypeText(t.key)}, ${celTypeText(t.value)})`;
  return t.k;
}

const TYPE_NAMES = new Set(['int', 'uint', 'double', 'bool', 'string', 'bytes', 'null_type', 'list', 'map', 'type', 'dyn']);
const TIME_GETTERS = new Set([
  'getFullYear',
  'getMonth',
  'getDate',
  'getDayOfMonth',
  'getDayOfWeek',
  'getDayOfYear',
  'getHours',
  'getMinutes',
  'getSeconds',
  'getMilliseconds',
]);

const isNum = (t: CelCheckType): boolean => t.k === 'int' || t.k === 'uint' || t.k === 'double';
const isDyn = (t: CelCheckType): boolean => t.k === 'dyn';

function same(a: CelCheckType, b: CelCheckType): boolean {
  if (isDyn(a) || isDyn(b)) return true;
  if (a.k !== b.k) return false;
  if (a.k === 'list' && b.k === 'list') return same(a.elem, b.elem);
  if (a.k === 'map' && b.k === 'map') return same(a.key, b.key) && same(a.value, b.value);
  return true;
}

/** The more specific of two types that are the same modulo dyn. */
function join(a: CelCheckType, b: CelCheckType): CelCheckType {
  return isDyn(a) ? b : a;
}

// The expression tree as @bufbuild/cel's parser returns it, narrowed to what the checker reads.
interface Expr {
  readonly id: bigint;
  readonly exprKind: { readonly case: string | undefined; readonly value?: unknown };
}
interface CallValue {
  readonly function: string;
  readonly target?: Expr;
  readonly args: readonly Expr[];
}
interface ComprehensionValue {
  readonly iterVar: string;
  readonly iterVar2?: string;
  readonly iterRange: Expr;
  readonly accuVar: string;
  readonly accuInit: Expr;
  readonly loopCondition: Expr;
  readonly loopStep: Expr;
  readonly result: Expr;
}

/**
 * Type-checks a caveat expression against its declared parameters: every name must be a
 * parameter (or a macro variable), every operator and function must have an overload for its
 * argument types, and the result must be a bool. Problems carry the offset they were found at.
 */
export function checkCaveatExpression(expression: string, params: ReadonlyMap<string, CelCheckType>): CaveatCheck {
  let parsed;
  try {
    parsed = parse(expression);
  } catch (e) {
    const err = e as { message?: string; rawMessage?: string; location?: { start?: { offset?: number } } };
    const text = err.rawMessage ?? String(err.message ?? e).split('\n')[0]!.replace(/^.*?<input>:\d+:\d+: /, '');
    const offset = err.location?.start?.offset ?? 0;
    return { problems: [{ message: `invalid CEL: ${text}`, offset: skipSpace(expression, offset) }], used: new Set(), nodes: 0 };
  }
  const positions = parsed.sourceInfo?.positions ?? {};
  const problems: CaveatProblem[] = [];
  const used = new Set<string>();
  let nodes = 0;
  const at = (e: Expr): number => skipSpace(expression, Number((positions as Record<string, number>)[String(e.id)] ?? 0));
  const fail = (e: Expr, message: string): CelCheckType => {
    problems.push({ message, offset: at(e) });
    return DYN;
  };

  const visit = (e: Expr, scope: ReadonlyMap<string, CelCheckType>): CelCheckType => {
    nodes++;
    const { case: kind, value } = e.exprKind;
    switch (kind) {
      case 'constExpr':
        return constType((value as { constantKind: { case: string } }).constantKind.case);
      case 'identExpr': {
        const name = (value as { name: string }).name;
        const local = scope.get(name);
        if (local) return local;
        const param = params.get(name);
        if (param) {
          used.add(name);
          return param;
        }
        if (TYPE_NAMES.has(name)) return TYPE;
        return fail(e, `undeclared reference to \`${name}\` (not a parameter of this caveat)`);
      }
      case 'selectExpr': {
        const v = value as { operand: Expr; field: string; testOnly: boolean };
        const operand = visit(v.operand, scope);
        if (operand.k === 'map') return v.testOnly ? BOOL : operand.value;
        if (isDyn(operand)) return v.testOnly ? BOOL : DYN;
        return fail(e, `type \`${celTypeText(operand)}\` has no field \`${v.field}\``);
      }
      case 'listExpr': {
        const elems = (value as { elements: readonly Expr[] }).elements.map((x) => visit(x, scope));
        let elem: CelCheckType = elems[0] ?? DYN;
        for (const t of elems.slice(1)) elem = same(elem, t) ? join(elem, t) : DYN;
        return { k: 'list', elem };
      }
      case 'structExpr': {
        const v = value as { messageName: string; entries: readonly { keyKind: { case: string; value: Expr }; value: Expr }[] };
        if (v.messageName) return fail(e, `message construction (\`${v.messageName}\`) is not supported in caveats`);
        let key: CelCheckType = DYN;
        let val: CelCheckType = DYN;
        v.entries.forEach((entry, i) => {
          const k = visit(entry.keyKind.value, scope);
          const x = visit(entry.value, scope);
          key = i === 0 ? k : same(key, k) ? join(key, k) : DYN;
          val = i === 0 ? x : same(val, x) ? join(val, x) : DYN;
        });
        return { k: 'map', key, value: val };
      }
      case 'comprehensionExpr': {
        const c = value as ComprehensionValue;
        const range = visit(c.iterRange, scope);
        let iter: CelCheckType = DYN;
        if (range.k === 'list') iter = range.elem;
        else if (range.k === 'map') iter = range.key;
        else if (!isDyn(range)) return fail(c.iterRange, `cannot iterate over \`${celTypeText(range)}\``);
        const accu = visit(c.accuInit, scope);
        const inner = new Map(scope);
        inner.set(c.iterVar, iter);
        inner.set(c.accuVar, accu);
        expectBool(visit(c.loopCondition, inner), c.loopCondition);
        visit(c.loopStep, inner);
        return visit(c.result, inner);
      }
      case 'callExpr': {
        const call = value as CallValue;
        const target = call.target?.exprKind.case ? visit(call.target, scope) : undefined;
        const args = call.args.map((a) => visit(a, scope));
        const result = overload(call.function, target, args);
        if (result) return result;
        const shown = [...(target ? [target] : []), ...args].map(celTypeText).join(', ');
        return fail(e, `no overload of \`${displayName(call.function)}\` for (${shown})`);
      }
      default:
        return fail(e, `unsupported expression`);
    }
  };
  const expectBool = (t: CelCheckType, e: Expr): void => {
    if (t.k !== 'bool' && !isDyn(t)) fail(e, `expected a bool, found \`${celTypeText(t)}\``);
  };

  const out = visit(parsed.expr as unknown as Expr, new Map());
  if (out.k !== 'bool' && !isDyn(out)) problems.push({ message: `a caveat expression must be a bool, found \`${celTypeText(out)}\``, offset: 0 });
  if (nodes > MAX_CAVEAT_NODES) problems.push({ message: `the expression has ${nodes} nodes, more than the ${MAX_CAVEAT_NODES} allowed`, offset: 0 });
  return { problems, used, nodes };
}

function constType(kind: string): CelCheckType {
  switch (kind) {
    case 'int64Value':
      return INT;
    case 'uint64Value':
      return UINT;
    case 'doubleValue':
      return DOUBLE;
    case 'stringValue':
      return STRING;
    case 'boolValue':
      return BOOL;
    case 'bytesValue':
      return BYTES;
    case 'nullValue':
      return NULL;
    default:
      return DYN;
  }
}

function displayName(fn: string): string {
  const ops: Record<string, string> = { '@in': 'in', '_?_:_': '?:', '_[_]': '[]', '!_': '!', '-_': '-' };
  return ops[fn] ?? fn.replace(/^_(.+)_$/, '$1');
}

/** The result type of a call, or undefined when no overload fits. */
function overload(fn: string, target: CelCheckType | undefined, args: readonly CelCheckType[]): CelCheckType | undefined {
  const [a, b] = args;
  const all = (...ts: CelCheckType[]): boolean => ts.every((t) => t !== undefined);
  if (target === undefined) {
    switch (fn) {
      case '_&&_':
      case '_||_':
        return a && b && (a.k === 'bool' || isDyn(a)) && (b.k === 'bool' || isDyn(b)) ? BOOL : undefined;
      case '!_':
      case '@not_strictly_false':
        return a && (a.k === 'bool' || isDyn(a)) ? BOOL : undefined;
      case '-_':
        return a && (a.k === 'int' || a.k === 'double' || a.k === 'duration' || isDyn(a)) ? a : undefined;
      case '_==_':
      case '_!=_':
        return a && b && (same(a, b) || a.k === 'null' || b.k === 'null' || (isNum(a) && isNum(b))) ? BOOL : undefined;
      case '_<_':
      case '_<=_':
      case '_>_':
      case '_>=_':
        if (!a || !b) return undefined;
        if (isNum(a) && isNum(b)) return BOOL;
        return same(a, b) && ['string', 'bytes', 'bool', 'timestamp', 'duration', 'int', 'uint', 'double', 'dyn'].includes(join(a, b).k) ? BOOL : undefined;
      case '_+_':
        if (!a || !b) return undefined;
        if (a.k === 'timestamp' && (b.k === 'duration' || isDyn(b))) return TIMESTAMP;
        if (a.k === 'duration' && b.k === 'timestamp') return TIMESTAMP;
        return same(a, b) && ['int', 'uint', 'double', 'string', 'bytes', 'list', 'duration', 'dyn'].includes(join(a, b).k) ? join(a, b) : undefined;
      case '_-_':
        if (!a || !b) return undefined;
        if (a.k === 'timestamp' && b.k === 'timestamp') return DURATION;
        if (a.k === 'timestamp' && (b.k === 'duration' || isDyn(b))) return TIMESTAMP;
        return same(a, b) && ['int', 'uint', 'double', 'duration', 'dyn'].includes(join(a, b).k) ? join(a, b) : undefined;
      case '_*_':
      case '_/_':
        return a && b && same(a, b) && ['int', 'uint', 'double', 'dyn'].includes(join(a, b).k) ? join(a, b) : undefined;
      case '_%_':
        return a && b && same(a, b) && ['int', 'uint', 'dyn'].includes(join(a, b).k) ? join(a, b) : undefined;
      case '_?_:_': {
        const c = args[2];
        if (!a || !b || !c || !(a.k === 'bool' || isDyn(a))) return undefined;
        return same(b, c) ? join(b, c) : DYN;
      }
      case '_[_]':
        if (!a || !b) return undefined;
        if (a.k === 'list') return b.k === 'int' || b.k === 'uint' || isDyn(b) ? a.elem : undefined;
        if (a.k === 'map') return same(a.key, b) ? a.value : undefined;
        return isDyn(a) ? DYN : undefined;
      case '@in':
        if (!a || !b) return undefined;
        if (b.k === 'list') return same(a, b.elem) || (isNum(a) && isNum(b.elem)) ? BOOL : undefined;
        if (b.k === 'map') return same(a, b.key) ? BOOL : undefined;
        return isDyn(b) ? BOOL : undefined;
      case 'size':
        return a && ['string', 'bytes', 'list', 'map', 'dyn'].includes(a.k) ? INT : undefined;
      case 'matches':
        return a && b && same(a, STRING) && same(b, STRING) ? BOOL : undefined;
      case 'int':
        return a && ['int', 'uint', 'double', 'string', 'timestamp', 'dyn'].includes(a.k) ? INT : undefined;
      case 'uint':
        return a && ['int', 'uint', 'double', 'string', 'dyn'].includes(a.k) ? UINT : undefined;
      case 'double':
        return a && ['int', 'uint', 'double', 'string', 'dyn'].includes(a.k) ? DOUBLE : undefined;
      case 'string':
        return a && all(a) ? STRING : undefined;
      case 'bytes':
        return a && ['string', 'bytes', 'dyn'].includes(a.k) ? BYTES : undefined;
      case 'bool':
        return a && ['string', 'bool', 'dyn'].includes(a.k) ? BOOL : undefined;
      case 'timestamp':
        return a && ['string', 'int', 'timestamp', 'dyn'].includes(a.k) ? TIMESTAMP : undefined;
      case 'duration':
        return a && ['string', 'duration', 'dyn'].includes(a.k) ? DURATION : undefined;
      case 'dyn':
        return a ? DYN : undefined;
      case 'type':
        return a ? TYPE : undefined;
      default:
        return undefined;
    }
  }
  switch (fn) {
    case 'size':
      return ['string', 'bytes', 'list', 'map', 'dyn'].includes(target.k) && !args.length ? INT : undefined;
    case 'contains':
    case 'startsWith':
    case 'endsWith':
    case 'matches':
      return same(target, STRING) && args.length === 1 && same(a!, STRING) ? BOOL : undefined;
    case 'in_cidr':
      return (target.k === 'ipaddress' || isDyn(target)) && args.length === 1 && same(a!, STRING) ? BOOL : undefined;
    default:
      if (TIME_GETTERS.has(fn)) {
        const tzOk = args.length === 0 || (args.length === 1 && same(a!, STRING));
        if ((target.k === 'timestamp' || isDyn(target)) && tzOk) return INT;
        if (target.k === 'duration' && args.length === 0 && ['getHours', 'getMinutes', 'getSeconds', 'getMilliseconds'].includes(fn)) return INT;
      }
      return undefined;
  }
}

/** Moves an offset past white space and a method call's `.`, onto the token it stands for. */
function skipSpace(text: string, offset: number): number {
  let i = offset;
  while (i < text.length && /[\s.]/.test(text[i]!)) i++;
  return i < text.length ? i : offset;
}
