import { call, errorText } from './api.js';
import { field, h, replace } from './dom.js';
import { answerText, objectText, subjectText, type ObjectMsg, type SubjectMsg } from './refs.js';
import type { View } from './view.js';

interface Count {
  answers: string;
  resources: string;
  subjects: string;
}
interface SimulatedPermission {
  resource_type: string;
  permission: string;
  resources: string;
  gained: Count;
  lost: Count;
  became_conditional: Count;
}
interface Flip {
  kind: string;
  resource: ObjectMsg;
  permission: string;
  subject: SubjectMsg;
  before: string;
  after: string;
}

const plural = (n: number | string, word: string): string => `${n} ${word}${Number(n) === 1 ? '' : 's'}`;

const count = (c: Count | null): string => (c && c.answers !== '0' ? `${c.answers} (${plural(c.resources, 'resource')}, ${plural(c.subjects, 'subject')})` : '0');

/** Simulate: a proposed schema against the stored data: who gains and who loses what, with the changed answers behind each count. */
export const simulateView: View = {
  id: 'simulate',
  title: 'Simulate',
  render(root, ctx) {
    const text = h('textarea', { rows: 14, spellcheck: 'false', wrap: 'off', class: 'code' });
    const status = h('div', { role: 'status', 'aria-live': 'polite' });
    const table = h('div');
    const drill = h('div');
    const form = h('form', null, field('Proposed schema', text, 'Edit the stored schema into the one you propose, then simulate.'), h('button', { type: 'submit', class: 'primary' }, 'Simulate'));
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      replace(status, 'Simulating… (every affected answer is computed before and after)');
      replace(table);
      replace(drill);
      try {
        const r = await call<{ permissions: SimulatedPermission[]; flips: Flip[]; total_flips: string; sample: number }>('SchemaService', 'SimulateSchema', { consistency: ctx.consistency(), schema: text.value, sample: 500 }, ctx.signal);
        const changed = r.permissions.filter((p) => p.gained.answers !== '0' || p.lost.answers !== '0' || p.became_conditional.answers !== '0');
        replace(status, `${plural(r.total_flips, 'answer')} change${Number(r.total_flips) === 1 ? 's' : ''}; ${plural(r.permissions.length, 'permission')} evaluated, ${changed.length} with changes.`);
        const show = (p: SimulatedPermission): void => {
          const flips = r.flips.filter((f) => f.resource.object_type === p.resource_type && f.permission === p.permission);
          replace(
            drill,
            h('h2', null, `${p.resource_type}#${p.permission}: the answers that change`),
            flips.length
              ? h('table', { class: 'list' }, h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Change'), h('th', { scope: 'col' }, 'Resource'), h('th', { scope: 'col' }, 'Subject'), h('th', { scope: 'col' }, 'Before → after'))), h('tbody', null, ...flips.map((f) => h('tr', null, h('td', { class: `flip-${f.kind.replace('KIND_', '').toLowerCase()}` }, f.kind.replace('KIND_', '').toLowerCase()), h('td', null, h('code', null, objectText(f.resource))), h('td', null, h('code', null, subjectText(f.subject))), h('td', null, `${answerText(f.before)} → ${answerText(f.after)}`)))))
              : h('p', { class: 'muted' }, 'None in the sample.'),
            Number(r.total_flips) > r.flips.length ? h('p', { class: 'muted' }, `The response carries a sample of ${r.flips.length} of ${r.total_flips} changed answers.`) : null,
          );
        };
        replace(
          table,
          h('table', { class: 'list' }, h('caption', null, 'Per permission'), h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Permission'), h('th', { scope: 'col' }, 'Resources'), h('th', { scope: 'col' }, 'Gained'), h('th', { scope: 'col' }, 'Lost'), h('th', { scope: 'col' }, 'Became conditional'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Details')))), h('tbody', null, ...r.permissions.map((p) => {
            const b = h('button', { type: 'button', class: 'small', 'aria-label': `Show the changes of ${p.resource_type}#${p.permission}` }, 'Show');
            b.addEventListener('click', () => show(p));
            return h('tr', null, h('td', null, h('code', null, `${p.resource_type}#${p.permission}`)), h('td', null, p.resources), h('td', { class: 'flip-gained' }, count(p.gained)), h('td', { class: 'flip-lost' }, count(p.lost)), h('td', null, count(p.became_conditional)), h('td', null, b));
          }))),
        );
      } catch (err) {
        replace(status, h('span', { class: 'error', role: 'alert' }, errorText(err)));
      }
    });
    replace(root, h('p', { class: 'muted' }, 'Nothing is written: the proposed schema is evaluated beside the stored one over the stored relationships.'), form, status, table, drill);
    void ctx.schema().then((s) => {
      if (!text.value) text.value = s;
    }, () => {});
  },
};
