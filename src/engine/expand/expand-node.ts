import type { ObjectRef, SubjectRef } from '../../model/relationship.js';
import type { Condition } from '../condition.js';

/** A subject found directly on a relation, with the condition (caveat) written on its tuple. */
export interface ExpandedSubject {
  readonly subject: SubjectRef;
  readonly condition: Condition;
}

/**
 * The userset tree of `resource#relation`. Operator nodes combine their children; a leaf lists the
 * subjects stored directly on a relation (usersets among them are expanded in sibling nodes).
 * `condition` is when the whole subtree applies: the caveat of the tuple that led to it.
 */
export type ExpandNode =
  | {
      readonly kind: 'union' | 'intersection' | 'exclusion';
      readonly resource: ObjectRef;
      readonly relation: string;
      readonly condition: Condition;
      readonly children: readonly ExpandNode[];
      /**
       * On the node of an arrow: the arrow as written (`parent->view`, `parent.all(view)`); its
       * children are the trees of the objects the tupleset reached.
       */
      readonly arrow?: string;
    }
  | {
      readonly kind: 'leaf';
      readonly resource: ObjectRef;
      readonly relation: string;
      readonly condition: Condition;
      readonly subjects: readonly ExpandedSubject[];
      /** True when this node was cut because it would have expanded itself again. */
      readonly cycle?: true;
    };
