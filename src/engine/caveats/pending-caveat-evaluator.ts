import { WardenError } from '../../errors/error-code.js';
import type { TypeSystem } from '../../schema/type-system.js';
import type { CaveatEvaluator } from '../condition.js';

/**
 * Decides caveats as far as possible without running their CEL expression: a caveat missing
 * any parameter is unknown (the answer is CONDITIONAL, listing what is missing). A caveat with
 * all its parameters needs CEL evaluation, which this evaluator does not do: it fails the request
 * with UNIMPLEMENTED rather than guess. The CEL evaluator replaces it.
 */
export class PendingCaveatEvaluator implements CaveatEvaluator {
  readonly #schema: TypeSystem;

  constructor(schema: TypeSystem) {
    this.#schema = schema;
  }

  evaluate(
    name: string,
    relationshipContext: Readonly<Record<string, unknown>> | null,
    requestContext: Readonly<Record<string, unknown>>,
  ): boolean | { readonly missing: readonly string[] } {
    const caveat = this.#schema.caveat(name);
    if (!caveat) throw new WardenError('FAILED_PRECONDITION', `caveat \`${name}\` is not in the schema`);
    const missing = caveat.params
      .map((p) => p.name)
      .filter((p) => !(relationshipContext && p in relationshipContext) && !(p in requestContext));
    if (missing.length) return { missing };
    throw new WardenError('UNIMPLEMENTED', `caveat \`${name}\`: evaluating caveat expressions (CEL) is not supported yet`);
  }
}
