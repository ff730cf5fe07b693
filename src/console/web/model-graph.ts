import { Graph, layout } from '@dagrejs/dagre';
import type { ExprAst } from '../../../schema-dsl/ast.js';
import { parseSchema } from '../../../schema-dsl/parser.js';
import { h, svg } from './dom.js';

/** One definition: a node of the model graph. */
export interface ModelNode {
  readonly name: string;
  readonly relations: readonly string[];
  readonly permissions: readonly string[];
}

/** What can reach what: a relation of `from` whose subjects are `to` (`to#relation`, `to:*`), or an arrow walking it. */
export interface ModelEdge {
  readonly from: string;
  readonly to: string;
  readonly relation: string;
  readonly label: string;
  /** Whether a permission walks this relation with an arrow (`relation->...`). */
  readonly walked: boolean;
}

/** The model of a schema as a graph. */
export interface Model {
  readonly nodes: readonly ModelNode[];
  readonly edges: readonly ModelEdge[];
}

function arrows(e: ExprAst, out: Set<string>): void {
  if (e.kind === 'arrow') out.add(e.tupleset);
  else if (e.kind === 'union' || e.kind === 'intersection' || e.kind === 'exclusion') {
    arrows(e.left, out);
    arrows(e.right, out);
  }
}

/** The model graph of schema text (throws the parser's error, with line:column, for text that does not parse). */
export function modelOf(schema: string): Model {
  const ast = parseSchema(schema);
  const nodes: ModelNode[] = [];
  const edges: ModelEdge[] = [];
  for (const item of ast.items) {
    if (item.kind !== 'definition') continue;
    const walked = new Set<string>();
    for (const m of item.members) if (m.kind === 'permission') arrows(m.expr, walked);
    nodes.push({ name: item.name, relations: item.members.filter((m) => m.kind === 'relation').map((m) => m.name), permissions: item.members.filter((m) => m.kind === 'permission').map((m) => m.name) });
    for (const m of item.members) {
      if (m.kind !== 'relation') continue;
      for (const a of m.allowed) {
        edges.push({ from: item.name, to: a.type, relation: m.name, label: `${m.name}${a.wildcard ? ' (:*)' : a.relation ? ` (#${a.relation})` : ''}${a.caveat ? ` with ${a.caveat}` : ''}`, walked: walked.has(m.name) });
      }
    }
  }
  return { nodes, edges };
}

/** What to mark on a drawn model: types, and relations as `type#relation>subjecttype`. */
export interface Highlight {
  readonly types: ReadonlySet<string>;
  readonly edges: ReadonlySet<string>;
}

/** The key under which an edge is highlighted. */
export const edgeKey = (from: string, relation: string, to: string): string => `${from}#${relation}>${to}`;

const CHAR = 7.2;
const LINE = 16;

/**
 * Draws the model, laid out by dagre (left to right: a resource, then what its relations point at),
 * as an SVG with a title and a text description for screen readers.
 */
export function drawModel(model: Model, highlight?: Highlight): SVGSVGElement {
  const g = new Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 90, edgesep: 12, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of model.nodes) {
    const lines = [n.name, ...n.relations.map((r) => `relation ${r}`), ...n.permissions.map((p) => `permission ${p}`)];
    g.setNode(n.name, { width: Math.max(...lines.map((l) => l.length)) * CHAR + 24, height: lines.length * LINE + 16 });
  }
  model.edges.forEach((e, i) => {
    if (!g.hasNode(e.to)) g.setNode(e.to, { width: e.to.length * CHAR + 24, height: LINE + 16 });
    // A type's relation to itself is drawn as a loop after layout.
    if (e.from !== e.to) g.setEdge(e.from, e.to, { label: e.label, width: e.label.length * 6.2, height: 14, labelpos: 'c' }, String(i));
  });
  layout(g);
  const size = g.graph() as { width?: number; height?: number };
  const width = size.width ?? 0;
  const height = (size.height ?? 0) + (model.edges.some((e) => e.from === e.to) ? 44 : 0);
  const root = svg('svg', { viewBox: `0 0 ${Math.ceil(width)} ${Math.ceil(height)}`, width: Math.ceil(width), height: Math.ceil(height), role: 'img', 'aria-labelledby': 'model-title model-desc', class: 'model' });
  root.append(
    svg('title', { id: 'model-title' }, 'Model graph'),
    svg('desc', { id: 'model-desc' }, model.edges.map((e) => `${e.from} ${e.label} points to ${e.to}`).join('; ') || 'no relations'),
    svg('defs', {}, svg('marker', { id: 'arrowhead', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, svg('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }))),
  );
  model.edges.forEach((e, i) => {
    const lab = (e.from === e.to ? { points: [], x: 0, y: 0 } : g.edge(e.from, e.to, String(i))) as { points: { x: number; y: number }[]; x: number; y: number };
    const on = highlight?.edges.has(edgeKey(e.from, e.relation, e.to)) ?? false;
    let d = lab.points.map((p, j) => `${j ? 'L' : 'M'} ${p.x.toFixed(1)} ${p.y.toFixed(1)}`).join(' ');
    let tx = lab.x;
    let ty = lab.y + 4;
    if (e.from === e.to) {
      // A relation of a type to itself (nested groups, folders in folders): a loop under its box.
      const n = g.node(e.from) as { x: number; y: number; width: number; height: number };
      const bottom = n.y + n.height / 2;
      const x1 = n.x - n.width / 4;
      const x2 = n.x + n.width / 4;
      d = `M ${x1.toFixed(1)} ${bottom.toFixed(1)} C ${(x1 - 10).toFixed(1)} ${(bottom + 34).toFixed(1)}, ${(x2 + 10).toFixed(1)} ${(bottom + 34).toFixed(1)}, ${x2.toFixed(1)} ${(bottom + 1).toFixed(1)}`;
      tx = n.x;
      ty = bottom + 38;
    }
    root.append(
      svg('g', { class: `edge${e.walked ? ' walked' : ''}${on ? ' on' : ''}`, 'data-edge': edgeKey(e.from, e.relation, e.to) }, svg('path', { d, 'marker-end': 'url(#arrowhead)' }), svg('text', { x: tx, y: ty, 'text-anchor': 'middle' }, e.label)),
    );
  });
  for (const name of g.nodes()) {
    const n = g.node(name) as { x: number; y: number; width: number; height: number };
    const def = model.nodes.find((m) => m.name === name);
    const on = highlight?.types.has(name) ?? false;
    const box = svg('g', { class: `node${def ? '' : ' undefined'}${on ? ' on' : ''}`, 'data-type': name, transform: `translate(${(n.x - n.width / 2).toFixed(1)} ${(n.y - n.height / 2).toFixed(1)})` });
    box.append(svg('rect', { width: n.width, height: n.height, rx: 6 }), svg('text', { x: 12, y: 8 + LINE - 3, class: 'type' }, name));
    const lines = def ? [...def.relations.map((r) => ['relation', r]), ...def.permissions.map((p) => ['permission', p])] : [];
    lines.forEach(([k, v], j) => box.append(svg('text', { x: 12, y: 8 + (j + 2) * LINE - 3, class: k! }, `${k} ${v}`)));
    root.append(box);
  }
  return root;
}

/** The model drawn in a scrollable figure, or the parse error. */
export function modelFigure(schema: string, highlight?: Highlight): HTMLElement {
  try {
    const model = modelOf(schema);
    if (!model.nodes.length) return h('p', { class: 'muted' }, 'The schema has no definitions yet.');
    return h('figure', { class: 'graph' }, drawModel(model, highlight), h('figcaption', null, `${model.nodes.length} definitions, ${model.edges.length} relation edges; dashed: walked by an arrow`));
  } catch (e) {
    return h('p', { class: 'error', role: 'alert' }, `The schema does not parse: ${(e as Error).message}`);
  }
}
