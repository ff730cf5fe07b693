import type { ObjectRef, SubjectRef } from '../../model/relationship.js';
import type { Revision } from '../../store/store.js';
import type { Condition } from '../condition.js';
import type { ExpandNode } from '../expand/expand-node.js';
import type { SubjectSet } from '../subject-set.js';
import type { Maybe } from '../maybe.js';

/**
 * The keys of the subproblems in progress on the current call chain, innermost first. A
 * subproblem that meets its own key is a cycle in the data; it is cut and counts as FALSE (the
 * least fixed point), and results that depended on such a cut are not memoized.
 */
export class InProgress {
  /** This link's keys: one key, several, or one object's relation (a single check: no key string built). */
  readonly #keys: string | ReadonlySet<string> | ObjectRelation;
  readonly #parent: InProgress | null;

  private constructor(keys: string | ReadonlySet<string> | ObjectRelation, parent: InProgress | null) {
    this.#keys = keys;
    this.#parent = parent;
  }

  /** The empty chain, at the top of a request. */
  static readonly ROOT = new InProgress(new Set(), null);

  /** True if the key is in progress on this chain. */
  has(key: string): boolean {
    for (let p: InProgress | null = this; p; p = p.#parent) {
      const k = p.#keys;
      if (typeof k === 'string' ? k === key : k instanceof ObjectRelation ? k.key === key : k.has(key)) return true;
    }
    return false;
  }

  /** True if one object's relation (`objectKey`) is in progress on this chain: the check path, which builds no key to ask. */
  hasObject(type: string, id: string, relation: string): boolean {
    let key: string | null = null;
    for (let p: InProgress | null = this; p; p = p.#parent) {
      const k = p.#keys;
      if (k instanceof ObjectRelation) {
        if (k.id === id && k.relation === relation && k.type === type) return true;
      } else if (typeof k === 'string' ? k === (key ??= objectKey(type, id, relation)) : k.has((key ??= objectKey(type, id, relation)))) return true;
    }
    return false;
  }

  /** This chain with more keys in progress. */
  with(keys: string | ReadonlySet<string>): InProgress {
    return new InProgress(keys, this);
  }

  /** This chain with one object's relation in progress. */
  withObject(type: string, id: string, relation: string): InProgress {
    return new InProgress(new ObjectRelation(type, id, relation), this);
  }
}

/** One object's relation on the chain; its `objectKey` is built only if a key is asked for. */
class ObjectRelation {
  #key: string | null = null;

  constructor(
    readonly type: string,
    readonly id: string,
    readonly relation: string,
  ) {}

  get key(): string {
    return (this.#key ??= objectKey(this.type, this.id, this.relation));
  }
}

/** What every subproblem carries: where it stands in the request. */
interface ProblemBase {
  readonly revision: Revision;
  /** How many more dispatch levels may follow; at 0 the request fails with RESOURCE_EXHAUSTED. */
  readonly depthLeft: number;
  readonly inProgress: InProgress;
}

/** Does `subject` have `relation` on each of `resourceIds` (all of `resourceType`)? */
export interface CheckProblem extends ProblemBase {
  readonly resourceType: string;
  readonly resourceIds: readonly string[];
  readonly relation: string;
  readonly subject: SubjectRef;
}

/** A CheckProblem built in one shape (the hot path makes one per dispatch; one shape keeps it fast). */
export function checkProblem(
  revision: Revision,
  depthLeft: number,
  inProgress: InProgress,
  resourceType: string,
  resourceIds: readonly string[],
  relation: string,
  subject: SubjectRef,
): CheckProblem {
  return { revision, depthLeft, inProgress, resourceType, resourceIds, relation, subject };
}

/** Answers for a CheckProblem: a condition for every id asked (FALSE when not a member). */
export interface CheckAnswer {
  readonly results: ReadonlyMap<string, Condition>;
  /** Keys of subproblems cut as cycles while computing this, or null. */
  readonly cycles: ReadonlySet<string> | null;
}

/** Which subjects of `subjectType` (with `subjectRelation`) have `relation` on `resource`? */
export interface SubjectsProblem extends ProblemBase {
  readonly resource: ObjectRef;
  readonly relation: string;
  readonly subjectType: string;
  readonly subjectRelation: string;
}

/** Answer to a SubjectsProblem. */
export interface SubjectsAnswer {
  readonly subjects: SubjectSet;
  readonly cycles: ReadonlySet<string> | null;
}

/** The tree of subjects that have `relation` on `resource`. */
export interface ExpandProblem extends ProblemBase {
  readonly resource: ObjectRef;
  readonly relation: string;
}

/** Answer to an ExpandProblem. */
export interface ExpandAnswer {
  readonly tree: ExpandNode;
  readonly cycles: ReadonlySet<string> | null;
}

/**
 * The one seam every subproblem passes through. Implementations compute (LocalDispatcher) or
 * decorate another dispatcher with memoization, caching, singleflight or tracing; all share this
 * interface so they stack in any order.
 */
export interface Dispatcher {
  /** The answer, at hand where nothing on the way had to wait (a store in memory, a cache hit). */
  check(p: CheckProblem): Maybe<CheckAnswer>;
  lookupSubjects(p: SubjectsProblem): Promise<SubjectsAnswer>;
  expand(p: ExpandProblem): Promise<ExpandAnswer>;
}

const NO_KEYS: readonly string[] = [];

/** Collects the cycle keys of the sub-answers a computation used. */
export class CycleTracker {
  #keys: Set<string> | null = null;

  /** Records the cycles of a sub-answer. */
  add(cycles: ReadonlySet<string> | null): void {
    if (!cycles) return;
    this.#keys ??= new Set();
    for (const k of cycles) this.#keys.add(k);
  }

  /** Records one cut key. */
  cut(key: string): void {
    (this.#keys ??= new Set()).add(key);
  }

  /** The cycles collected, minus the given keys (resolved when their own computation ends). */
  without(keys: Iterable<string> = NO_KEYS): ReadonlySet<string> | null {
    if (!this.#keys) return null;
    const out = new Set(this.#keys);
    for (const k of keys) out.delete(k);
    return out.size ? out : null;
  }
}

/** The memo key of one object's relation within a request. */
export function objectKey(type: string, id: string, relation: string): string {
  return `${type}:${id}#${relation}`;
}
