/**
 * A Condition is when a subject is in a set: always (TRUE), never (FALSE), or when a boolean
 * formula over caveat invocations holds. Check results, lookup results and expand leaves all use
 * it, so caveats compose the same way through every operator.
 */
export type Condition =
  | { readonly op: 'true' }
  | { readonly op: 'false' }
  | { readonly op: 'caveat'; readonly name: string; readonly context: Readonly<Record<string, unknown>> | null }
  | { readonly op: 'and' | 'or'; readonly children: readonly Condition[] }
  | { readonly op: 'not'; readonly child: Condition };

/** Always. */
export const TRUE: Condition = Object.freeze({ op: 'true' });
/** Never. */
export const FALSE: Condition = Object.freeze({ op: 'false' });

/** A caveat invocation with the context written on its relationship. */
export function caveatCondition(name: string, context: Readonly<Record<string, unknown>> | null): Condition {
  return { op: 'caveat', name, context };
}

/** Either holds. Simplifies TRUE and FALSE away, and `x or not x` to TRUE. */
export function or(a: Condition, b: Condition): Condition {
  if (a.op === 'true' || b.op === 'false') return a;
  if (b.op === 'true' || a.op === 'false') return b;
  const children = [...(a.op === 'or' ? a.children : [a]), ...(b.op === 'or' ? b.children : [b])];
  return hasComplement(children) ? TRUE : { op: 'or', children };
}

/** Both hold. Simplifies TRUE and FALSE away, and `x and not x` to FALSE. */
export function and(a: Condition, b: Condition): Condition {
  if (a.op === 'false' || b.op === 'true') return a;
  if (b.op === 'false' || a.op === 'true') return b;
  const children = [...(a.op === 'and' ? a.children : [a]), ...(b.op === 'and' ? b.children : [b])];
  return hasComplement(children) ? FALSE : { op: 'and', children };
}

/** True when some child is the negation of another (structurally). Only negations cost anything here. */
function hasComplement(children: readonly Condition[]): boolean {
  const negated = children.filter((c): c is Extract<Condition, { op: 'not' }> => c.op === 'not');
  if (!negated.length) return false;
  const keys = new Set(children.filter((c) => c.op !== 'not').map((c) => JSON.stringify(c)));
  return negated.some((n) => keys.has(JSON.stringify(n.child)));
}

/** Does not hold. */
export function not(a: Condition): Condition {
  if (a.op === 'true') return FALSE;
  if (a.op === 'false') return TRUE;
  if (a.op === 'not') return a.child;
  return { op: 'not', child: a };
}

/** The outcome of a permission question once the request's context has been applied. */
export type Decision =
  | { readonly kind: 'has' }
  | { readonly kind: 'no' }
  | { readonly kind: 'conditional'; readonly missing: readonly string[] };

/** Decides one caveat invocation: true, false, or unknown for want of the listed parameters. */
export interface CaveatEvaluator {
  evaluate(
    name: string,
    relationshipContext: Readonly<Record<string, unknown>> | null,
    requestContext: Readonly<Record<string, unknown>>,
  ): boolean | { readonly missing: readonly string[] };
}

/** Decides a condition with three-valued logic: unknown caveats make the answer conditional. */
export function decide(c: Condition, evaluator: CaveatEvaluator, context: Readonly<Record<string, unknown>>): Decision {
  const v = evaluate(c, evaluator, context);
  if (v === true) return HAS;
  if (v === false) return NO;
  return { kind: 'conditional', missing: [...new Set(v.missing)].sort() };
}

const HAS: Decision = Object.freeze({ kind: 'has' });
const NO: Decision = Object.freeze({ kind: 'no' });

type Tri = boolean | { missing: string[] };

function evaluate(c: Condition, ev: CaveatEvaluator, ctx: Readonly<Record<string, unknown>>): Tri {
  switch (c.op) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'caveat': {
      const r = ev.evaluate(c.name, c.context, ctx);
      return typeof r === 'boolean' ? r : { missing: [...r.missing] };
    }
    case 'not': {
      const r = evaluate(c.child, ev, ctx);
      return typeof r === 'boolean' ? !r : r;
    }
    case 'and':
    case 'or': {
      const decisive = c.op === 'or';
      const missing: string[] = [];
      let unknown = false;
      for (const child of c.children) {
        const r = evaluate(child, ev, ctx);
        if (r === decisive) return decisive;
        if (typeof r !== 'boolean') {
          unknown = true;
          missing.push(...r.missing);
        }
      }
      return unknown ? { missing } : !decisive;
    }
  }
}
