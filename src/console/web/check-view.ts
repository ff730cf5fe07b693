import { call, errorText } from './api.js';
import { field, h, replace } from './dom.js';
import { edgeKey, modelFigure, type Highlight } from './model-graph.js';
import { answerText, jsonObject, objectRef, objectText, relationshipText, subjectRef, subjectText, type ObjectMsg, type RelationshipMsg, type SubjectMsg } from './refs.js';
import type { View } from './view.js';

interface ExplainNode {
  kind: string;
  label: string;
  permissionship: string;
  missing_context_params: string[];
  reason: string;
  relationship: RelationshipMsg | null;
  children: ExplainNode[];
  omitted: number;
}

interface ExpandNode {
  kind: string;
  resource: ObjectMsg | null;
  relation: string;
  caveat_expression: string;
  arrow: string;
  children: ExpandNode[];
  subjects: { subject: SubjectMsg; caveat_expression: string }[];
}

const granted = (p: string): boolean => p === 'PERMISSIONSHIP_HAS_PERMISSION' || p === 'PERMISSIONSHIP_CONDITIONAL_PERMISSION';

/** The relationships on the explanation's granting path, marked on the model: their types and relation edges. */
export function pathHighlight(tree: ExplainNode, resourceType: string): Highlight {
  const types = new Set<string>([resourceType]);
  const edges = new Set<string>();
  const walk = (n: ExplainNode): void => {
    if (!granted(n.permissionship)) return;
    const r = n.relationship;
    if (r?.resource && r.subject?.object) {
      types.add(r.resource.object_type);
      types.add(r.subject.object.object_type);
      edges.add(edgeKey(r.resource.object_type, r.relation, r.subject.object.object_type));
    }
    n.children.forEach(walk);
  };
  walk(tree);
  return { types, edges };
}

function explainTree(n: ExplainNode): HTMLElement {
  const rel = n.relationship ? relationshipText(n.relationship) : '';
  const text = `${n.label}${rel && !rel.startsWith(n.label) ? ` — ${rel}` : ''}: ${answerText(n.permissionship)}${n.reason ? ` (${n.reason})` : ''}${n.missing_context_params.length ? ` (missing ${n.missing_context_params.join(', ')})` : ''}`;
  const cls = `answer-${answerText(n.permissionship)}`;
  if (!n.children.length && !n.omitted) return h('li', { class: cls }, text);
  return h('li', { class: cls }, h('details', { open: granted(n.permissionship) }, h('summary', null, text), h('ul', null, ...n.children.map(explainTree), n.omitted ? h('li', { class: 'muted' }, `${n.omitted} more not shown`) : null)));
}

function expandTree(n: ExpandNode): HTMLElement {
  const head = n.kind === 'KIND_LEAF' ? `${objectText(n.resource)}#${n.relation}${n.arrow ? ` via ${n.arrow}` : ''}` : `${n.kind.replace('KIND_', '').toLowerCase()} ${objectText(n.resource)}#${n.relation}`;
  const subjects = n.subjects.map((s) => h('li', null, h('code', null, subjectText(s.subject)), s.caveat_expression ? ` when ${s.caveat_expression}` : ''));
  return h('li', null, h('details', { open: true }, h('summary', null, head, n.caveat_expression ? ` when ${n.caveat_expression}` : ''), h('ul', null, ...n.children.map(expandTree), ...subjects)));
}

/** Check: the answer, the path that decides it drawn on the model, and the Expand tree of the permission. */
export const checkView: View = {
  id: 'check',
  title: 'Check',
  render(root, ctx) {
    const resource = h('input', { type: 'text', placeholder: 'document:q3', autocomplete: 'off', spellcheck: 'false', required: true });
    const permission = h('input', { type: 'text', placeholder: 'view', autocomplete: 'off', spellcheck: 'false', required: true });
    const subject = h('input', { type: 'text', placeholder: 'user:alice', autocomplete: 'off', spellcheck: 'false', required: true });
    const context = h('textarea', { rows: 2, placeholder: '{"day": "tue"}', spellcheck: 'false' });
    const answer = h('div', { role: 'status', 'aria-live': 'polite', class: 'answer' });
    const path = h('div');
    const graph = h('div');
    const tree = h('div');
    const expandOut = h('div');
    const form = h('form', { class: 'row' }, field('Resource', resource), field('Permission', permission), field('Subject', subject), field('Context (JSON)', context), h('button', { type: 'submit', class: 'primary' }, 'Check'));
    const expand = h('button', { type: 'button' }, 'Expand the permission');
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      replace(answer, 'Checking…');
      replace(path);
      replace(graph);
      replace(tree);
      try {
        const req = { consistency: ctx.consistency(), resource: objectRef(resource.value, 'resource'), permission: permission.value.trim(), subject: subjectRef(subject.value, 'subject'), context: jsonObject(context.value, 'context'), explain: true };
        const r = await call<{ permissionship: string; missing_context_params: string[]; checked_at: { token: string }; explanation: { path: string; tree: ExplainNode } | null }>('PermissionService', 'Check', req, ctx.signal);
        const word = answerText(r.permissionship);
        replace(answer, h('strong', { class: `answer-${word}` }, word === 'allowed' ? 'Allowed' : word === 'denied' ? 'Denied' : word === 'conditional' ? 'Conditional' : word), r.missing_context_params.length ? ` — missing context: ${r.missing_context_params.join(', ')}` : '', h('small', { class: 'muted' }, ` at ${r.checked_at.token}`));
        if (r.explanation) {
          replace(path, h('h2', null, 'Why'), h('p', { class: 'path' }, r.explanation.path || (word === 'denied' ? 'No path grants it.' : '')));
          replace(graph, h('h2', null, 'The path on the model'), modelFigure(await ctx.schema(), pathHighlight(r.explanation.tree, req.resource.object_type)));
          replace(tree, h('h2', null, 'Explanation'), h('ul', { class: 'tree' }, explainTree(r.explanation.tree)));
        }
      } catch (err) {
        replace(answer, h('span', { class: 'error', role: 'alert' }, errorText(err)));
      }
    });
    expand.addEventListener('click', async () => {
      replace(expandOut, 'Expanding…');
      try {
        const r = await call<{ tree: ExpandNode }>('PermissionService', 'Expand', { consistency: ctx.consistency(), resource: objectRef(resource.value, 'resource'), permission: permission.value.trim() }, ctx.signal);
        replace(expandOut, h('h2', null, 'Expand'), h('ul', { class: 'tree' }, expandTree(r.tree)));
      } catch (err) {
        replace(expandOut, h('span', { class: 'error', role: 'alert' }, errorText(err)));
      }
    });
    replace(root, form, answer, h('div', { class: 'actions' }, expand), path, graph, tree, expandOut);
  },
};
