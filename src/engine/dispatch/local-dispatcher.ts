import { CheckComputer } from '../check/check-computer.js';
import { ExpandComputer, NodeBudget } from '../expand/expand-computer.js';
import { SubjectsComputer } from '../lookup/subjects-computer.js';
import type { Scope } from '../scope.js';
import type { Maybe } from '../maybe.js';
import type {
  CheckAnswer,
  CheckProblem,
  Dispatcher,
  ExpandAnswer,
  ExpandProblem,
  SubjectsAnswer,
  SubjectsProblem,
} from './dispatcher.js';

/**
 * LocalDispatcher computes subproblems in this process. Nested subproblems go back to the top
 * of the chain (`scope.dispatcher`), so decorators see every one of them.
 */
export class LocalDispatcher implements Dispatcher {
  readonly #scope: () => Scope;
  readonly #budget: NodeBudget;

  /** `scope` is read lazily: the scope names the chain this dispatcher sits at the bottom of. */
  constructor(scope: () => Scope, expandBudget: NodeBudget) {
    this.#scope = scope;
    this.#budget = expandBudget;
  }

  check(p: CheckProblem): Maybe<CheckAnswer> {
    const scope = this.#scope();
    scope.stats.dispatches++;
    return new CheckComputer(scope, p).compute();
  }

  lookupSubjects(p: SubjectsProblem): Promise<SubjectsAnswer> {
    const scope = this.#scope();
    scope.stats.dispatches++;
    return new SubjectsComputer(scope, p).compute();
  }

  expand(p: ExpandProblem): Promise<ExpandAnswer> {
    const scope = this.#scope();
    scope.stats.dispatches++;
    return new ExpandComputer(scope, p, this.#budget).compute();
  }
}
