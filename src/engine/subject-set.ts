import { FALSE, and, not, or, type Condition } from './condition.js';

/**
 * A set of subject ids of one type, each with the condition under which it is a member.
 * `wildcard` is the condition for every id not listed in `members`, so wildcards and their
 * exclusions stay exact through union, intersection and exclusion: an excluded id is simply
 * listed with condition FALSE.
 */
export class SubjectSet {
  readonly members: ReadonlyMap<string, Condition>;
  readonly wildcard: Condition;

  constructor(members: ReadonlyMap<string, Condition> = new Map(), wildcard: Condition = FALSE) {
    this.members = members;
    this.wildcard = wildcard;
  }

  /** The set with nothing in it. */
  static readonly EMPTY = new SubjectSet();

  /** The condition under which `id` is a member. */
  get(id: string): Condition {
    return this.members.get(id) ?? this.wildcard;
  }

  /** True when no subject can be a member. */
  get isEmpty(): boolean {
    if (this.wildcard.op !== 'false') return false;
    for (const c of this.members.values()) if (c.op !== 'false') return false;
    return true;
  }

  /** Combines two sets id by id. */
  combine(other: SubjectSet, fn: (a: Condition, b: Condition) => Condition): SubjectSet {
    const members = new Map<string, Condition>();
    for (const id of this.members.keys()) members.set(id, fn(this.get(id), other.get(id)));
    for (const id of other.members.keys()) if (!members.has(id)) members.set(id, fn(this.get(id), other.get(id)));
    return new SubjectSet(members, fn(this.wildcard, other.wildcard));
  }

  /** Members of either. */
  union(other: SubjectSet): SubjectSet {
    if (this.isEmpty) return other;
    if (other.isEmpty) return this;
    return this.combine(other, or);
  }

  /** Members of both. */
  intersect(other: SubjectSet): SubjectSet {
    return this.combine(other, and);
  }

  /** Members of this and not of other. */
  subtract(other: SubjectSet): SubjectSet {
    if (other.isEmpty) return this;
    return this.combine(other, (a, b) => and(a, not(b)));
  }

  /** Every membership further conditioned on `c`. */
  when(c: Condition): SubjectSet {
    if (c.op === 'true') return this;
    if (c.op === 'false') return SubjectSet.EMPTY;
    const members = new Map<string, Condition>();
    for (const [id, m] of this.members) members.set(id, and(m, c));
    return new SubjectSet(members, and(this.wildcard, c));
  }

  /** A set with one member. */
  static of(id: string, c: Condition): SubjectSet {
    return new SubjectSet(new Map([[id, c]]));
  }

  /** A set holding every subject (when c holds). */
  static all(c: Condition): SubjectSet {
    return new SubjectSet(new Map(), c);
  }
}
