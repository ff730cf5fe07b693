import { filterMessage, FILTER_SYNTAX, parseFilterText } from '../../model/filter-syntax.js';
import { call, errorText, stream } from './api.js';
import { field, h, replace } from './dom.js';
import { jsonObject, relationshipRef, relationshipText, type RelationshipMsg } from './refs.js';
import { modelOf } from './model-graph.js';
import type { View } from './view.js';

/** The first definition that has relations (where browsing starts), if the schema parses. */
function firstTypeWithRelations(schema: string): string | null {
  try {
    return modelOf(schema).nodes.find((n) => n.relations.length)?.name ?? null;
  } catch {
    return null;
  }
}

const PAGE = 25;

/** Relationships: browse by filter, a page at a time; add and delete (with a key that may write). */
export const relationshipsView: View = {
  id: 'relationships',
  title: 'Relationships',
  render(root, ctx) {
    const filter = h('input', { type: 'text', placeholder: 'document or document:q3#viewer@user:alice', autocomplete: 'off', spellcheck: 'false' });
    const table = h('tbody');
    const status = h('p', { role: 'status', 'aria-live': 'polite' });
    const prev = h('button', { type: 'button', disabled: true }, 'Previous page');
    const next = h('button', { type: 'button', disabled: true }, 'Next page');
    const pageLabel = h('span', { class: 'muted' });
    // The cursor each page starts at ('' for the first).
    let cursors: string[] = [''];
    let page = 0;
    let nextCursor = '';
    // Only the latest read shows: an earlier one that ends later is dropped.
    let reads = 0;

    const load = async (): Promise<void> => {
      const mine = ++reads;
      const f = parseFilterText(filter.value);
      if (!f) {
        replace(status, h('span', { class: 'error', role: 'alert' }, `filter: \`${filter.value}\` is not a filter: ${FILTER_SYNTAX}`));
        return;
      }
      replace(status, 'Reading…');
      const rows: RelationshipMsg[] = [];
      let cursor = '';
      try {
        await stream<{ relationship: RelationshipMsg; cursor: string }>('RelationshipService', 'Read', { consistency: ctx.consistency(), filter: filterMessage(f), limit: PAGE, cursor: cursors[page] }, (m) => {
          rows.push(m.relationship);
          cursor = m.cursor;
        }, ctx.signal);
      } catch (e) {
        if (mine === reads) replace(status, h('span', { class: 'error', role: 'alert' }, errorText(e)));
        return;
      }
      if (mine !== reads) return;
      nextCursor = cursor;
      replace(table, ...rows.map((r) => {
        const del = h('button', { type: 'button', class: 'small', 'aria-label': `Delete ${relationshipText(r)}` }, 'Delete');
        del.addEventListener('click', () => void remove(r));
        return h('tr', null, h('td', null, h('code', null, relationshipText(r))), h('td', null, del));
      }));
      const more = rows.length === PAGE && !!nextCursor;
      prev.disabled = page === 0;
      next.disabled = !more;
      replace(pageLabel, `page ${page + 1}`);
      replace(status, rows.length ? `${rows.length} relationship${rows.length === 1 ? '' : 's'} on this page${more ? '; more follow' : ''}.` : 'No relationships match.');
    };
    const first = (): void => {
      cursors = [''];
      page = 0;
      void load();
    };
    next.addEventListener('click', () => {
      cursors[page + 1] = nextCursor;
      page++;
      void load();
    });
    prev.addEventListener('click', () => {
      if (page > 0) page--;
      void load();
    });
    const form = h('form', { class: 'row' }, field('Filter', filter, FILTER_SYNTAX), h('button', { type: 'submit', class: 'primary' }, 'Read'));
    form.addEventListener('submit', (e) => (e.preventDefault(), first()));

    const addText = h('input', { type: 'text', placeholder: 'document:q3#viewer@user:alice', autocomplete: 'off', spellcheck: 'false' });
    const caveat = h('input', { type: 'text', placeholder: 'optional', autocomplete: 'off' });
    const context = h('input', { type: 'text', placeholder: '{"day": "tue"}', autocomplete: 'off', spellcheck: 'false' });
    const addStatus = h('p', { role: 'status', 'aria-live': 'polite' });
    const add = h('form', { class: 'row' }, field('Relationship', addText), field('Caveat', caveat), field('Caveat context (JSON)', context), h('button', { type: 'submit' }, 'Add'));
    const write = async (op: string, r: RelationshipMsg): Promise<void> => {
      await call('RelationshipService', 'Write', { updates: [{ operation: op, relationship: r }] }, ctx.signal);
    };
    add.addEventListener('submit', async (e) => {
      e.preventDefault();
      try {
        const r = relationshipRef(addText.value, 'relationship');
        if (caveat.value.trim()) r.optional_caveat = { caveat_name: caveat.value.trim(), context: jsonObject(context.value, 'caveat context') };
        await write('OPERATION_CREATE', r);
        replace(addStatus, h('span', { class: 'ok' }, `Added ${relationshipText(r)}.`));
        addText.value = '';
        if (filter.value.trim()) void load();
      } catch (err) {
        replace(addStatus, h('span', { class: 'error', role: 'alert' }, errorText(err)));
      }
    });
    const remove = async (r: RelationshipMsg): Promise<void> => {
      if (!window.confirm(`Delete ${relationshipText(r)}?`)) return;
      try {
        await write('OPERATION_DELETE', r);
        replace(addStatus, h('span', { class: 'ok' }, `Deleted ${relationshipText(r)}.`));
        void load();
      } catch (err) {
        replace(addStatus, h('span', { class: 'error', role: 'alert' }, errorText(err)));
      }
    };
    replace(
      root,
      form,
      status,
      h('table', { class: 'list' }, h('caption', { class: 'visually-hidden' }, 'Relationships'), h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Relationship'), h('th', { scope: 'col' }, h('span', { class: 'visually-hidden' }, 'Actions')))), table),
      h('div', { class: 'actions' }, prev, next, pageLabel),
      h('h2', null, 'Add a relationship'),
      add,
      addStatus,
    );
    // Start with the first type of the schema.
    void ctx.schema().then((s) => {
      const type = firstTypeWithRelations(s);
      if (type && !filter.value) {
        filter.value = type;
        first();
      }
    }, () => {});
  },
};
