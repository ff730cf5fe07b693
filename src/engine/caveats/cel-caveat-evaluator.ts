import { BlockList, isIPv4, isIPv6 } from 'node:net';
import { CelScalar, celEnv, celMethod, isCelError, parse, plan, type CelResult } from '@bufbuild/cel';
import type { CaveatIR } from '../../../schema-dsl/index.js';
import { WardenError } from '../../errors/error-code.js';
import type { TypeSystem } from '../../schema/type-system.js';
import type { CaveatEvaluator } from '../condition.js';
import { CaveatValueError, largestCollection, toCelValue } from '../../schema/caveat-values.js';

/** Default bound on the estimated cost of one caveat evaluation. */
export const DEFAULT_MAX_CAVEAT_COST = 1_000_000;

/** `ip.in_cidr("10.0.0.0/8")`: SpiceDB's ipaddress check. IP values are carried as validated text. */
const inCidr = celMethod('in_cidr', CelScalar.STRING, [CelScalar.STRING], CelScalar.BOOL, function (this: string, cidr: string): boolean {
  const slash = cidr.indexOf('/');
  const net = slash < 0 ? cidr : cidr.slice(0, slash);
  const family = isIPv4(net) ? 'ipv4' : isIPv6(net) ? 'ipv6' : null;
  const bits = slash < 0 ? (family === 'ipv4' ? 32 : 128) : Number(cidr.slice(slash + 1));
  if (!family || !Number.isInteger(bits) || bits < 0 || bits > (family === 'ipv4' ? 32 : 128)) throw new Error(`invalid CIDR \`${cidr}\``);
  const list = new BlockList();
  list.addSubnet(net, bits, family);
  const ipFamily = isIPv4(this) ? 'ipv4' : isIPv6(this) ? 'ipv6' : null;
  if (!ipFamily) throw new Error(`invalid IP address \`${this}\``);
  return ipFamily === family && list.check(this, ipFamily);
});

const ENV = celEnv({ funcs: [inCidr] });

interface Program {
  readonly caveat: CaveatIR;
  readonly run: (bindings: Record<string, unknown>) => CelResult;
  /** Estimated cost as a function of the largest collection in the bindings. */
  readonly cost: (elements: number) => number;
}

/**
 * Decides caveats by evaluating their CEL expressions. Relationship context wins over request
 * context; a parameter given by neither makes the caveat unknown (CONDITIONAL) unless the
 * expression is decided without it (`true || x`). Values are converted to their declared
 * types first, and a value that does not fit, or an evaluation that fails, is an
 * INVALID_ARGUMENT naming the caveat and parameter. Each evaluation's estimated cost is bounded.
 */
export class CelCaveatEvaluator implements CaveatEvaluator {
  readonly #schema: TypeSystem;
  readonly #maxCost: number;
  readonly #programs = new Map<string, Program>();

  constructor(schema: TypeSystem, options: { maxCost?: number } = {}) {
    this.#schema = schema;
    this.#maxCost = options.maxCost ?? DEFAULT_MAX_CAVEAT_COST;
  }

  #program(name: string): Program {
    let p = this.#programs.get(name);
    if (p) return p;
    const caveat = this.#schema.caveat(name);
    if (!caveat) throw new WardenError('FAILED_PRECONDITION', `caveat \`${name}\` is not in the schema`, { reason: 'ERROR_REASON_UNKNOWN_CAVEAT' });
    const parsed = parse(caveat.expression);
    const run = plan(ENV, parsed) as (bindings: Record<string, unknown>) => CelResult;
    const expr = parsed.expr as unknown as Node;
    p = { caveat, run, cost: (n) => cost(expr, n) };
    this.#programs.set(name, p);
    return p;
  }

  evaluate(
    name: string,
    relationshipContext: Readonly<Record<string, unknown>> | null,
    requestContext: Readonly<Record<string, unknown>>,
  ): boolean | { readonly missing: readonly string[] } {
    const program = this.#program(name);
    const bindings: Record<string, unknown> = {};
    const missing: string[] = [];
    for (const param of program.caveat.params) {
      const fromRelationship = relationshipContext !== null && Object.hasOwn(relationshipContext, param.name);
      const raw = fromRelationship ? relationshipContext[param.name] : Object.hasOwn(requestContext, param.name) ? requestContext[param.name] : undefined;
      if (raw === undefined) {
        missing.push(param.name);
        continue;
      }
      try {
        bindings[param.name] = toCelValue(raw, param.type);
      } catch (e) {
        if (!(e instanceof CaveatValueError)) throw e;
        const where = fromRelationship ? 'the relationship context' : 'the request context';
        throw new WardenError('INVALID_ARGUMENT', `context: caveat \`${name}\` parameter \`${param.name}\` (from ${where}): ${e.message}`, {
          field: `context.${param.name}`,
        });
      }
    }
    const estimate = program.cost(largestCollection(Object.values(bindings)));
    if (estimate > this.#maxCost) {
      throw new WardenError(
        'RESOURCE_EXHAUSTED',
        `caveat \`${name}\`: evaluating it with this context would cost about ${estimate}, more than the limit of ${this.#maxCost}`,
        { field: 'context' },
      );
    }
    const result = program.run(bindings);
    if (isCelError(result)) {
      if (missing.length) return { missing };
      throw new WardenError('INVALID_ARGUMENT', `caveat \`${name}\`: evaluation failed: ${result.message}`, { field: 'context' });
    }
    if (typeof result !== 'boolean') {
      throw new WardenError('INVALID_ARGUMENT', `caveat \`${name}\`: the expression gave a ${typeof result}, not a bool`, { field: 'context' });
    }
    return result;
  }
}

const LINEAR_FUNCTIONS = new Set(['@in', 'matches', 'contains', 'startsWith', 'endsWith', '_+_', '_==_', '_!=_', 'string']);

/** The parsed CEL tree, as far as the cost estimate walks it. */
interface Node {
  readonly exprKind: { readonly case: string | undefined; readonly value?: unknown };
}

/**
 * An upper estimate of evaluation steps: one a node, and for a comprehension, its body once per
 * element of the largest collection in the context (nested comprehensions multiply).
 */
function cost(e: Node, elements: number): number {
  const v = e.exprKind.value as Record<string, unknown> | undefined;
  switch (e.exprKind.case) {
    case 'constExpr':
    case 'identExpr':
      return 1;
    case 'selectExpr':
      return 1 + cost(v!['operand'] as Node, elements);
    case 'callExpr': {
      const target = v!['target'] as Node | undefined;
      const args = v!['args'] as Node[];
      // Membership and string functions are linear in their input.
      const linear = LINEAR_FUNCTIONS.has(v!['function'] as string) ? elements : 0;
      return 1 + linear + (target?.exprKind.case ? cost(target, elements) : 0) + args.reduce((s, a) => s + cost(a, elements), 0);
    }
    case 'listExpr':
      return 1 + (v!['elements'] as Node[]).reduce((s, a) => s + cost(a, elements), 0);
    case 'structExpr':
      return 1 + (v!['entries'] as { keyKind: { value: Node }; value: Node }[]).reduce((s, x) => s + cost(x.keyKind.value, elements) + cost(x.value, elements), 0);
    case 'comprehensionExpr': {
      const body = cost(v!['loopCondition'] as Node, elements) + cost(v!['loopStep'] as Node, elements);
      return 1 + cost(v!['iterRange'] as Node, elements) + cost(v!['accuInit'] as Node, elements) + Math.max(1, elements) * body + cost(v!['result'] as Node, elements);
    }
    default:
      return 1;
  }
}
