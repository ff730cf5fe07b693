import type { RelationIR, RewriteIR } from '../../../schema-dsl/index.js';
import { ELLIPSIS, WILDCARD_ID, type ObjectRef } from '../../model/relationship.js';
import { TRUE, and, or, type Condition } from '../condition.js';
import { CycleTracker, type SubjectsAnswer, type SubjectsProblem } from '../dispatch/dispatcher.js';
import { tupleCondition, type Scope } from '../scope.js';
import { SubjectSet } from '../subject-set.js';

/**
 * Computes one SubjectsProblem: the subjects of a type that have a relation or permission on one
 * object, walking forward from the object with the SubjectSet algebra so that wildcards,
 * exclusions and caveats come out exact.
 */
export class SubjectsComputer {
  readonly #scope: Scope;
  readonly #p: SubjectsProblem;
  readonly #cycles = new CycleTracker();

  constructor(scope: Scope, p: SubjectsProblem) {
    this.#scope = scope;
    this.#p = p;
  }

  async compute(): Promise<SubjectsAnswer> {
    const p = this.#p;
    let set = SubjectSet.EMPTY;
    const m = this.#scope.schema.member(p.resource.type, p.relation);
    if (m) set = m.kind === 'relation' ? await this.#relation(m) : await this.#rewrite(m.rewrite);
    if (p.resource.type === p.subjectType && p.relation === p.subjectRelation) {
      set = set.union(SubjectSet.of(p.resource.id, TRUE));
    }
    return { subjects: set, cycles: this.#cycles.without([]) };
  }

  async #dispatch(resource: ObjectRef, relation: string): Promise<SubjectSet> {
    const p = this.#p;
    const a = await this.#scope.dispatcher.lookupSubjects({ ...p, resource, relation, depthLeft: p.depthLeft - 1 });
    this.#cycles.add(a.cycles);
    return a.subjects;
  }

  async #relation(rel: RelationIR): Promise<SubjectSet> {
    const p = this.#p;
    const tuples = await this.#scope.reader.query({ resourceType: p.resource.type, resourceIds: [p.resource.id], relation: rel.name });
    const members = new Map<string, Condition>();
    let wildcard: Condition = { op: 'false' };
    let set = SubjectSet.EMPTY;
    for (const t of tuples) {
      const c = tupleCondition(t);
      if (t.subject.type === p.subjectType) {
        if (t.subject.id === WILDCARD_ID) {
          if (p.subjectRelation === ELLIPSIS) wildcard = or(wildcard, c);
        } else if (t.subject.relation === p.subjectRelation) {
          members.set(t.subject.id, or(members.get(t.subject.id) ?? { op: 'false' }, c));
        }
      }
      if (t.subject.relation !== ELLIPSIS) {
        const sub = await this.#dispatch({ type: t.subject.type, id: t.subject.id }, t.subject.relation);
        set = set.union(sub.when(c));
      }
    }
    return set.union(new SubjectSet(members, wildcard));
  }

  async #rewrite(e: RewriteIR): Promise<SubjectSet> {
    switch (e.kind) {
      case 'nil':
        return SubjectSet.EMPTY;
      case 'computed':
        return this.#dispatch(this.#p.resource, e.relation);
      case 'union': {
        let set = SubjectSet.EMPTY;
        for (const c of e.children) set = set.union(await this.#rewrite(c));
        return set;
      }
      case 'intersection': {
        let set: SubjectSet | null = null;
        for (const c of e.children) {
          const next = await this.#rewrite(c);
          set = set ? set.intersect(next) : next;
          if (set.isEmpty) break;
        }
        return set ?? SubjectSet.EMPTY;
      }
      case 'exclusion': {
        const base = await this.#rewrite(e.base);
        if (base.isEmpty) return base;
        return base.subtract(await this.#rewrite(e.subtract));
      }
      case 'arrow':
        return this.#arrow(e.tupleset, e.computed, e.fn === 'all');
      default: {
        const never: never = e;
        throw new Error(`unknown rewrite ${JSON.stringify(never)}`);
      }
    }
  }

  async #arrow(tupleset: string, computed: string, all: boolean): Promise<SubjectSet> {
    const p = this.#p;
    const tuples = await this.#scope.reader.query({ resourceType: p.resource.type, resourceIds: [p.resource.id], relation: tupleset });
    if (!all) {
      let set = SubjectSet.EMPTY;
      for (const t of tuples) {
        if (!this.#scope.schema.member(t.subject.type, computed)) continue;
        const sub = await this.#dispatch({ type: t.subject.type, id: t.subject.id }, computed);
        set = set.union(sub.when(tupleCondition(t)));
      }
      return set;
    }
    if (!tuples.length) return SubjectSet.EMPTY;
    // Same logic as Check: each tupleset relationship contributes "its caveat holds AND the subject grants".
    let every = SubjectSet.all(TRUE);
    for (const t of tuples) {
      const c = tupleCondition(t);
      const sub = this.#scope.schema.member(t.subject.type, computed)
        ? await this.#dispatch({ type: t.subject.type, id: t.subject.id }, computed)
        : SubjectSet.EMPTY;
      every = every.combine(sub, (acc, m) => and(acc, and(c, m)));
    }
    return every;
  }
}
