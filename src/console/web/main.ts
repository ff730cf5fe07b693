import { apiKey, call, whenUnauthenticated, type ApiError } from './api.js';
import { checkView } from './check-view.js';
import { field, h, replace } from './dom.js';
import { lookupsView } from './lookups-view.js';
import { modelView } from './model-view.js';
import { relationshipsView } from './relationships-view.js';
import { schemaView } from './schema-view.js';
import { simulateView } from './simulate-view.js';
import type { View, ViewContext } from './view.js';
import { watchView } from './watch-view.js';

const NO_KEY = 'warden-console-no-key';
const VIEWS: readonly View[] = [schemaView, modelView, relationshipsView, checkView, lookupsView, simulateView, watchView];

const main = document.getElementById('main')!;
const nav = document.getElementById('nav')!;
const keyArea = document.getElementById('key')!;
let current: AbortController | null = null;

/** The key panel: the key is typed once and kept in this tab's session storage, never in a URL. */
function keyPanel(open: boolean, message?: string): void {
  const has = !!apiKey.get();
  if (!open) {
    const change = h('button', { type: 'button', class: 'small' }, has ? 'Change key' : 'Enter API key');
    change.addEventListener('click', () => keyPanel(true));
    const forget = h('button', { type: 'button', class: 'small' }, 'Forget key');
    forget.addEventListener('click', () => (apiKey.clear(), keyPanel(true)));
    replace(keyArea, h('span', { class: 'muted' }, has ? 'Key set for this tab.' : 'No key.'), ' ', change, has ? forget : null);
    return;
  }
  const input = h('input', { type: 'password', autocomplete: 'off', spellcheck: 'false', placeholder: 'wdn_…', required: true });
  const form = h('form', { class: 'row key-form' }, field('API key', input, 'Kept in this tab only (session storage); sent as a bearer token.'), h('button', { type: 'submit', class: 'primary' }, 'Use key'));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    apiKey.set(input.value);
    keyPanel(false);
    route();
  });
  replace(keyArea, message ? h('p', { class: 'error', role: 'alert' }, message) : null, form);
  input.focus();
}

whenUnauthenticated((e: ApiError) => keyPanel(true, `The server refused the key: ${e.message}`));

function context(signal: AbortSignal): ViewContext {
  let schema: Promise<string> | null = null;
  // The console shows the data as it is now, not as of a quantization window ago: it reads fully
  // consistent (its few calls do not need the cache that minimize_latency shares).
  const consistency = (): Record<string, unknown> => ({ fully_consistent: true });
  return {
    signal,
    consistency,
    schema: () =>
      (schema ??= call<{ schema: string }>('SchemaService', 'ReadSchema', { consistency: consistency() }, signal).then(
        (r) => r.schema,
        (e: { status?: string; message?: string }) => {
          // A tenant with no schema yet: an empty one.
          if (e.status === 'FAILED_PRECONDITION' && /no schema/.test(e.message ?? '')) return '';
          throw e;
        },
      )),
  };
}

function route(moveFocus = false): void {
  const id = location.hash.replace(/^#\/?/, '') || VIEWS[0]!.id;
  const view = VIEWS.find((v) => v.id === id) ?? VIEWS[0]!;
  current?.abort();
  current = new AbortController();
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset['view'] === view.id) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  document.title = `${view.title} · Warden console`;
  const body = h('div', { class: 'view' });
  // Nothing is asked of the server before there is a key (or the user says the server needs none).
  if (!apiKey.get() && sessionStorage.getItem(NO_KEY) !== '1') {
    const without = h('button', { type: 'button' }, 'Continue without a key');
    without.addEventListener('click', () => (sessionStorage.setItem(NO_KEY, '1'), route(true)));
    replace(main, h('h1', { tabindex: '-1' }, view.title), h('p', null, 'Enter an API key above to start. A server run with authentication off (--insecure-no-auth) needs none: '), without);
    return;
  }
  replace(main, h('h1', { tabindex: '-1' }, view.title), body);
  view.render(body, context(current.signal));
  // On a change of view, focus moves to its heading, for keyboard and screen-reader users.
  if (moveFocus) (main.querySelector('h1') as HTMLElement).focus({ preventScroll: true });
}

replace(nav, h('ul', null, ...VIEWS.map((v) => h('li', null, h('a', { href: `#/${v.id}`, 'data-view': v.id }, v.title)))));
keyPanel(!apiKey.get());
window.addEventListener('hashchange', () => route(true));
route();
