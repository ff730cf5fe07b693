import { call, errorText } from './api.js';
import { field, h, replace } from './dom.js';
import { highlightSchema, lineDiff } from './highlight.js';
import type { View } from './view.js';

interface Diagnostic {
  message: string;
  line: number;
  column: number;
}

/** The schema: highlighted, validated as you type (ValidateSchema), its diff against the stored one, and WriteSchema. */
export const schemaView: View = {
  id: 'schema',
  title: 'Schema',
  render(root, ctx) {
    const layer = h('pre', { class: 'highlight', 'aria-hidden': 'true' });
    const text = h('textarea', { spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off', wrap: 'off', rows: 18, 'aria-describedby': 'schema-status' });
    const editor = h('div', { class: 'editor' }, layer, text);
    const status = h('div', { id: 'schema-status', class: 'status', role: 'status', 'aria-live': 'polite' }, 'Loading the stored schema…');
    const diff = h('pre', { class: 'diff', 'aria-label': 'Changes against the stored schema' });
    const result = h('div', { role: 'status', 'aria-live': 'polite' });
    const write = h('button', { type: 'button', class: 'primary' }, 'Write schema');
    const format = h('button', { type: 'button' }, 'Format');
    const revert = h('button', { type: 'button' }, 'Revert to stored');
    let stored = '';
    let formatted = '';
    let timer = 0;
    let asked = 0;
    const paint = (): void => {
      replace(layer, highlightSchema(text.value));
      layer.scrollTop = text.scrollTop;
      layer.scrollLeft = text.scrollLeft;
    };
    const showDiff = (): void => {
      const d = lineDiff(stored, text.value);
      const changed = d.filter((x) => x.op !== ' ').length;
      if (!changed) return replace(diff, 'No changes against the stored schema.');
      // Each change with two lines around it; longer unchanged stretches fold into a count.
      const near = (i: number): boolean => d.slice(Math.max(0, i - 2), i + 3).some((x) => x.op !== ' ');
      const out: HTMLElement[] = [];
      let folded = 0;
      d.forEach((x, i) => {
        if (x.op === ' ' && !near(i)) return void folded++;
        if (folded) out.push(h('span', { class: 'fold' }, `  … ${folded} unchanged line${folded === 1 ? '' : 's'}\n`));
        folded = 0;
        out.push(h('span', { class: x.op === '+' ? 'add' : x.op === '-' ? 'del' : 'same' }, `${x.op} ${x.line}\n`));
      });
      if (folded) out.push(h('span', { class: 'fold' }, `  … ${folded} unchanged line${folded === 1 ? '' : 's'}\n`));
      replace(diff, ...out);
    };
    const validate = async (): Promise<void> => {
      const mine = ++asked;
      try {
        const r = await call<{ valid: boolean; diagnostics: Diagnostic[]; formatted: string }>('SchemaService', 'ValidateSchema', { schema: text.value }, ctx.signal);
        if (mine !== asked) return;
        formatted = r.formatted;
        format.disabled = !r.valid;
        if (r.valid) replace(status, h('span', { class: 'ok' }, 'Valid.'));
        else replace(status, h('ul', { class: 'diagnostics' }, ...r.diagnostics.map((d) => h('li', { class: 'error' }, `${d.line}:${d.column}: ${d.message}`))));
      } catch (e) {
        if (mine === asked) replace(status, h('span', { class: 'error' }, errorText(e)));
      }
    };
    text.addEventListener('input', () => {
      paint();
      showDiff();
      window.clearTimeout(timer);
      replace(status, 'Validating…');
      timer = window.setTimeout(() => void validate(), 250);
    });
    text.addEventListener('scroll', () => {
      layer.scrollTop = text.scrollTop;
      layer.scrollLeft = text.scrollLeft;
    });
    // Tab indents inside the editor; Escape then Tab leaves it (keyboard users are not trapped).
    let escaped = false;
    text.addEventListener('keydown', (e) => {
      if (e.key === 'Escape') escaped = true;
      else if (e.key === 'Tab' && !escaped && !e.shiftKey) {
        e.preventDefault();
        text.setRangeText('  ', text.selectionStart, text.selectionEnd, 'end');
        text.dispatchEvent(new Event('input'));
      } else escaped = false;
    });
    format.addEventListener('click', () => {
      if (!formatted) return;
      text.value = formatted;
      text.dispatchEvent(new Event('input'));
    });
    revert.addEventListener('click', () => {
      text.value = stored;
      text.dispatchEvent(new Event('input'));
    });
    write.addEventListener('click', async () => {
      write.disabled = true;
      replace(result, 'Writing…');
      try {
        const r = await call<{ written_at: { token: string } }>('SchemaService', 'WriteSchema', { schema: text.value }, ctx.signal);
        stored = text.value;
        showDiff();
        replace(result, h('span', { class: 'ok' }, 'Schema written.'), ' Zookie: ', h('code', null, r.written_at.token));
      } catch (e) {
        replace(result, h('span', { class: 'error', role: 'alert' }, errorText(e)));
      } finally {
        write.disabled = false;
      }
    });
    replace(
      root,
      h('p', { class: 'muted' }, 'Edit the schema: it is checked as you type, with errors at line:column. Writing it needs a key with the schema scope.'),
      field('Schema', text),
      editor,
      status,
      h('div', { class: 'actions' }, write, format, revert),
      result,
      h('h2', null, 'Changes against the stored schema'),
      diff,
    );
    // The label's input is the textarea inside the editor (field() wrapped it: put it back).
    editor.append(text);
    ctx.schema().then(
      (schema) => {
        stored = schema;
        text.value = stored;
        text.dispatchEvent(new Event('input'));
      },
      (e: unknown) => {
        replace(result, h('span', { class: 'error', role: 'alert' }, errorText(e)));
        text.dispatchEvent(new Event('input'));
      },
    );
  },
};
