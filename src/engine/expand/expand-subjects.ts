import { ELLIPSIS, WILDCARD_ID } from '../../model/relationship.js';
import { FALSE, TRUE, and, or, type Condition } from '../condition.js';
import { SubjectSet } from '../subject-set.js';
import type { ExpandNode } from './expand-node.js';

/**
 * The subjects of one type (and relation) an Expand tree grants, with their conditions. This is
 * how a client reads an Expand answer; the conformance runner uses it to hold Expand to Check.
 */
export function expandSubjects(node: ExpandNode, subjectType: string, subjectRelation: string = ELLIPSIS): SubjectSet {
  let set: SubjectSet;
  switch (node.kind) {
    case 'leaf': {
      const members = new Map<string, Condition>();
      let wildcard: Condition = FALSE;
      for (const { subject, condition } of node.subjects) {
        if (subject.type !== subjectType) continue;
        if (subject.id === WILDCARD_ID) {
          if (subjectRelation === ELLIPSIS) wildcard = or(wildcard, condition);
        } else if (subject.relation === subjectRelation) {
          members.set(subject.id, or(members.get(subject.id) ?? FALSE, condition));
        }
      }
      set = new SubjectSet(members, wildcard);
      break;
    }
    case 'union':
      set = SubjectSet.EMPTY;
      for (const c of node.children) set = set.union(expandSubjects(c, subjectType, subjectRelation).when(c.condition));
      break;
    case 'intersection': {
      if (!node.children.length) {
        set = SubjectSet.EMPTY;
        break;
      }
      // Every child must hold, its own condition (an arrow's tuple caveat) included: as in Check,
      // a child whose caveat is false makes the intersection false.
      let every = SubjectSet.all(TRUE);
      for (const c of node.children) {
        const sub = expandSubjects(c, subjectType, subjectRelation);
        every = every.combine(sub, (acc, m) => and(acc, and(c.condition, m)));
      }
      set = every;
      break;
    }
    case 'exclusion': {
      const [base, sub] = node.children;
      set = base ? expandSubjects(base, subjectType, subjectRelation).when(base.condition) : SubjectSet.EMPTY;
      if (sub) set = set.subtract(expandSubjects(sub, subjectType, subjectRelation).when(sub.condition));
      break;
    }
  }
  // A userset contains itself.
  if (node.resource.type === subjectType && node.relation === subjectRelation) set = set.union(SubjectSet.of(node.resource.id, TRUE));
  return set;
}
