import type { Condition } from '../engine/condition.js';
import type { ExpandNode } from '../engine/expand/expand-node.js';
import { fromSubject } from './convert.js';

/** A condition as text: `cav_a && !(cav_b || cav_c)`; empty for TRUE. */
export function conditionText(c: Condition): string {
  switch (c.op) {
    case 'true':
      return '';
    case 'false':
      return 'false';
    case 'caveat':
      return c.context ? `${c.name}(${JSON.stringify(c.context)})` : c.name;
    case 'not':
      return `!${wrap(c.child)}`;
    case 'and':
    case 'or':
      return c.children.map(wrap).join(c.op === 'and' ? ' && ' : ' || ');
  }
}

function wrap(c: Condition): string {
  return c.op === 'and' || c.op === 'or' ? `(${conditionText(c)})` : conditionText(c);
}

const KIND = { union: 'KIND_UNION', intersection: 'KIND_INTERSECTION', exclusion: 'KIND_EXCLUSION', leaf: 'KIND_LEAF' } as const;

/** An Expand tree as its message. */
export function expandToMessage(n: ExpandNode): unknown {
  return {
    kind: KIND[n.kind],
    resource: { object_type: n.resource.type, object_id: n.resource.id },
    relation: n.relation,
    caveat_expression: conditionText(n.condition),
    children: n.kind === 'leaf' ? [] : n.children.map(expandToMessage),
    subjects: n.kind === 'leaf' ? n.subjects.map((s) => ({ subject: fromSubject(s.subject), caveat_expression: conditionText(s.condition) })) : [],
    arrow: n.kind !== 'leaf' ? (n.arrow ?? '') : '',
  };
}
