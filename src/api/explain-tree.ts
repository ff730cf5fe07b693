import type { ExplainNode } from '../engine/explain/explain-node.js';
import { explainPath } from '../engine/explain/explain-node.js';
import { fromDecision, fromRelationship, jsonToStruct } from './convert.js';

/** A Check's explanation as its message (`Explanation`). */
export function explanationToMessage(tree: ExplainNode): unknown {
  return { path: explainPath(tree) ?? '', tree: nodeToMessage(tree) };
}

function nodeToMessage(n: ExplainNode): unknown {
  return {
    kind: `KIND_${n.kind.toUpperCase()}`,
    label: n.label,
    ...fromDecision(n.decision),
    reason: n.reason,
    relationship: n.relationship ? fromRelationship(n.relationship) : null,
    caveat: n.caveat ? { name: n.caveat.name, values: jsonToStruct(n.caveat.values), ...fromDecision(n.caveat.decision) } : null,
    children: n.children.map(nodeToMessage),
    omitted: n.omitted,
  };
}
