import type { Relationship } from '../../model/relationship.js';
import type { Decision } from '../condition.js';

/**
 * What one step of an explanation is:
 * - `permission`, `relation`: an object's permission or stored relation (`document:q3#view`);
 * - `union`, `intersection`, `exclusion`, `arrow`, `nil`: a rewrite operator as written;
 * - `relationship`: a stored relationship the walk went through (its subject set, if any, below);
 * - `self`: the subject is this very set; `cycle`: the object was already on the path;
 * - `expired`: a relationship that would have matched had it not expired;
 * - `limit`: not expanded further (the explanation's size or the depth limit).
 */
export type ExplainKind =
  | 'permission'
  | 'relation'
  | 'union'
  | 'intersection'
  | 'exclusion'
  | 'arrow'
  | 'nil'
  | 'relationship'
  | 'self'
  | 'cycle'
  | 'expired'
  | 'limit';

/** A caveat met on the way, as decided with the request's context. */
export interface ExplainedCaveat {
  readonly name: string;
  /** Each of the caveat's parameters with the value it was decided with (the relationship's, else the request's); absent ones are in `decision.missing`. */
  readonly values: Readonly<Record<string, unknown>>;
  readonly decision: Decision;
}

/**
 * One step of a Check's explanation, as the engine took it. For a granted check the tree is one
 * shortest path (the fewest relationships) that grants; for a denied one, the branches tried and
 * why each failed; for a conditional one, the branches that hold under caveats.
 */
export interface ExplainNode {
  readonly kind: ExplainKind;
  /** The step as text: `document:q3#view`, `viewer + edit`, `parent->view`, a relationship. */
  readonly label: string;
  readonly decision: Decision;
  /** Why it failed, or what it means, in a sentence; empty when the label says it all. */
  readonly reason: string;
  /** On `relationship` and `expired` steps. */
  readonly relationship?: Relationship;
  /** On a `relationship` step whose relationship carries a caveat. */
  readonly caveat?: ExplainedCaveat;
  readonly children: readonly ExplainNode[];
  /** Branches of this step left out (beyond the bound on an explanation's size, or not needed for the path). */
  readonly omitted: number;
}

/**
 * A granted check's path on one line, from the resource down to the subject:
 * `document:q3#view <- parent -> folder:fin#view <- viewer <- group:eng#member <- user:alice`
 * (`<- name`: through that relation or permission of the same object; `-> object#permission`:
 * on to another object through an arrow). Where the path branches (an intersection), the first
 * branch is followed and the text ends with `(and more: see the tree)`. Null unless granted.
 */
export function explainPath(root: ExplainNode): string | null {
  if (root.decision.kind !== 'has') return null;
  const tokens = [root.label];
  let branched = false;
  const objectOf = (label: string): string => label.slice(0, label.lastIndexOf('#'));
  const walk = (n: ExplainNode, at: string): void => {
    const next = n.children.filter((c) => c.decision.kind !== 'no');
    if (next.length > 1) branched = true;
    const c = next[0];
    if (!c) return;
    if (c.kind === 'permission' || c.kind === 'relation') {
      const obj = objectOf(c.label);
      tokens.push(obj === at ? `<- ${c.label.slice(obj.length + 1)}` : `-> ${c.label}`);
      walk(c, obj);
    } else if (c.kind === 'relationship' && c.relationship) {
      const r = c.relationship;
      const sub = c.children[0];
      if (n.kind === 'arrow') {
        tokens.push(`<- ${r.relation}`);
        if (sub) {
          tokens.push(`-> ${sub.label}`);
          walk(sub, objectOf(sub.label));
        }
        return;
      }
      const { type, id, relation } = r.subject;
      tokens.push(`<- ${type}:${id}${relation === '...' ? '' : `#${relation}`}`);
      if (sub && (sub.kind === 'relation' || sub.kind === 'permission')) walk(sub, objectOf(sub.label));
    } else walk(c, at);
  };
  walk(root, objectOf(root.label));
  return tokens.join(' ') + (branched ? ' (and more: see the tree)' : '');
}
