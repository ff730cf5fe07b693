import { call, errorText, stream } from './api.js';
import { field, h, replace } from './dom.js';
import { answerText, jsonObject, objectRef, subjectRef } from './refs.js';
import type { View } from './view.js';

const PAGE = 25;

/** Lookups: which resources a subject reaches (ListObjects), who reaches a resource (ListSubjects), and a subject's permissions on one (ListPermissions). */
export const lookupsView: View = {
  id: 'lookups',
  title: 'Lookups',
  render(root, ctx) {
    const kind = h('select', null, h('option', { value: 'objects' }, 'Resources a subject can reach (ListObjects)'), h('option', { value: 'subjects' }, 'Subjects that can reach a resource (ListSubjects)'), h('option', { value: 'permissions' }, "A subject's permissions on a resource (ListPermissions)"));
    const resource = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false' });
    const permission = h('input', { type: 'text', placeholder: 'view', autocomplete: 'off', spellcheck: 'false' });
    const subject = h('input', { type: 'text', autocomplete: 'off', spellcheck: 'false' });
    const context = h('input', { type: 'text', placeholder: 'optional JSON', autocomplete: 'off', spellcheck: 'false' });
    const fields = h('div', { class: 'row' });
    const results = h('ol', { class: 'results' });
    const status = h('p', { role: 'status', 'aria-live': 'polite' });
    const more = h('button', { type: 'button', hidden: true }, 'More results');
    let cursor = '';
    const layout = (): void => {
      const k = kind.value;
      resource.placeholder = k === 'objects' ? 'document (a type)' : 'document:q3';
      subject.placeholder = k === 'subjects' ? 'user (a type, or group#member)' : 'user:alice';
      replace(fields, field(k === 'objects' ? 'Resource type' : 'Resource', resource), k === 'permissions' ? null : field('Permission', permission), field(k === 'subjects' ? 'Subject type' : 'Subject', subject), field('Context (JSON)', context));
      replace(results);
      replace(status);
      more.hidden = true;
    };
    kind.addEventListener('change', layout);
    const run = async (again: boolean): Promise<void> => {
      if (!again) {
        replace(results);
        cursor = '';
      }
      more.hidden = true;
      replace(status, 'Looking up…');
      const k = kind.value;
      let found = 0;
      try {
        const ctxJson = jsonObject(context.value, 'context');
        if (k === 'permissions') {
          const r = await call<{ permissions: { permission: string; permissionship: string; missing_context_params: string[] }[] }>('PermissionService', 'ListPermissions', { consistency: ctx.consistency(), resource: objectRef(resource.value, 'resource'), subject: subjectRef(subject.value, 'subject'), context: ctxJson }, ctx.signal);
          for (const p of r.permissions) results.append(h('li', { class: `answer-${answerText(p.permissionship)}` }, h('code', null, p.permission), `: ${answerText(p.permissionship)}${p.missing_context_params.length ? ` (missing ${p.missing_context_params.join(', ')})` : ''}`));
          replace(status, `${r.permissions.length} permissions.`);
          return;
        }
        let last = '';
        if (k === 'objects') {
          await stream<{ object_id: string; permissionship: string; cursor: string }>('PermissionService', 'ListObjects', { consistency: ctx.consistency(), resource_type: resource.value.trim(), permission: permission.value.trim(), subject: subjectRef(subject.value, 'subject'), context: ctxJson, limit: PAGE, cursor }, (m) => {
            found++;
            last = m.cursor;
            results.append(h('li', null, h('code', null, `${resource.value.trim()}:${m.object_id}`), m.permissionship === 'PERMISSIONSHIP_CONDITIONAL_PERMISSION' ? ' (conditional)' : ''));
          }, ctx.signal);
        } else {
          const [type, rel] = subject.value.trim().split('#');
          await stream<{ subject_id: string; permissionship: string; excluded_subject_ids: string[]; cursor: string }>('PermissionService', 'ListSubjects', { consistency: ctx.consistency(), resource: objectRef(resource.value, 'resource'), permission: permission.value.trim(), subject_type: type ?? '', optional_subject_relation: rel ?? '', context: ctxJson, limit: PAGE, cursor }, (m) => {
            found++;
            last = m.cursor;
            results.append(h('li', null, h('code', null, `${type}:${m.subject_id}`), m.excluded_subject_ids.length ? ` except ${m.excluded_subject_ids.join(', ')}` : '', m.permissionship === 'PERMISSIONSHIP_CONDITIONAL_PERMISSION' ? ' (conditional)' : ''));
          }, ctx.signal);
        }
        cursor = last;
        more.hidden = !(found === PAGE && cursor);
        replace(status, `${results.children.length} found${more.hidden ? '.' : '; more follow.'}`);
      } catch (e) {
        replace(status, h('span', { class: 'error', role: 'alert' }, errorText(e)));
      }
    };
    const form = h('form', null, field('Lookup', kind), fields, h('button', { type: 'submit', class: 'primary' }, 'Look up'));
    form.addEventListener('submit', (e) => (e.preventDefault(), void run(false)));
    more.addEventListener('click', () => void run(true));
    replace(root, form, status, results, more);
    layout();
  },
};
