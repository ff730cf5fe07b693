import { errorText, stream } from './api.js';
import { field, h, replace } from './dom.js';
import { relationshipText, type RelationshipMsg } from './refs.js';
import type { View } from './view.js';

const KEEP = 200;

/** Watch: the live change feed (Watch), newest first. */
export const watchView: View = {
  id: 'watch',
  title: 'Watch',
  render(root, ctx) {
    const types = h('input', { type: 'text', placeholder: 'all types (or: document, folder)', autocomplete: 'off', spellcheck: 'false' });
    const toggle = h('button', { type: 'submit', class: 'primary' }, 'Start watching');
    const status = h('p', { role: 'status', 'aria-live': 'polite' }, 'Not watching.');
    const list = h('ol', { class: 'changes', reversed: true });
    let running: AbortController | null = null;
    const stop = (): void => {
      running?.abort();
      running = null;
      toggle.textContent = 'Start watching';
    };
    ctx.signal.addEventListener('abort', stop);
    const form = h('form', { class: 'row' }, field('Resource types', types), toggle);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (running) {
        stop();
        replace(status, 'Stopped.');
        return;
      }
      const ac = new AbortController();
      running = ac;
      toggle.textContent = 'Stop watching';
      replace(status, 'Watching for changes…');
      const wanted = types.value.split(',').map((t) => t.trim()).filter(Boolean);
      stream<{ changes: { operation: string; relationship: RelationshipMsg }[]; changes_through: { token: string } | null; schema_changed: boolean; is_heartbeat: boolean }>('WatchService', 'Watch', { optional_resource_types: wanted, heartbeat_ms: 15000 }, (m) => {
        if (m.is_heartbeat) return;
        const at = new Date().toLocaleTimeString();
        if (m.schema_changed) list.prepend(h('li', { class: 'schema' }, `${at} the schema changed`));
        for (const c of m.changes) list.prepend(h('li', { class: c.operation === 'OPERATION_DELETE' ? 'del' : 'add' }, `${at} ${c.operation === 'OPERATION_DELETE' ? 'deleted' : 'touched'} `, h('code', null, relationshipText(c.relationship))));
        while (list.children.length > KEEP) list.lastElementChild?.remove();
        replace(status, `Watching; through ${m.changes_through?.token ?? '?'}.`);
      }, ac.signal).then(
        () => {
          if (running === ac) (stop(), replace(status, 'The server ended the stream.'));
        },
        (err: unknown) => {
          if (running === ac) (stop(), replace(status, h('span', { class: 'error', role: 'alert' }, errorText(err))));
        },
      );
    });
    replace(root, form, status, list);
  },
};
