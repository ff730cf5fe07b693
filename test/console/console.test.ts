import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import t, { type Test } from 'tap';
import { credentials, Metadata } from '@grpc/grpc-js';
import { loadApi, serviceClient } from '../../src/server/proto.js';
import { createKey } from '../../src/store/access.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import { relMsg } from '../helpers/api-client.js';
import { freshDatabase } from '../helpers/postgres.js';
import { serveProcess } from '../helpers/warden-process.js';

// The console end to end: `warden serve --console-address` on the embedded default and on
// PostgreSQL, its HTTP/JSON gateway called directly, then every view driven in Debian's Chromium
// (playwright-core, never a downloaded browser). Screenshots go to .tap/console-screenshots (WARDEN_SCREENSHOT_DIR
// to put them elsewhere: the README's come from here).

const CHROMIUM = process.env['WARDEN_CHROMIUM'] ?? '/usr/bin/chromium';
const shots = process.env['WARDEN_SCREENSHOT_DIR'] ?? fileURLToPath(new URL('../../.tap/console-screenshots', import.meta.url));

const SCHEMA = `caveat on_day(day string) {
  day == 'tue'
}

definition user {}

definition group {
  relation member: user | group#member
}

definition folder {
  relation parent: folder
  relation viewer: user | group#member
  permission view = viewer + parent->view
}

definition document {
  relation parent: folder
  relation viewer: user | group#member | user with on_day
  relation banned: user
  permission view = (viewer + parent->view) - banned
}
`;

interface Served {
  console: string;
  /** The gRPC address. */
  grpc: string;
  key: string;
}

/**
 * `warden serve --console-address` as a process of its own, on the embedded default (PGlite in a
 * new directory: the first key is in its first-key file) or on PostgreSQL (a fresh database,
 * migrated, with a key made for it).
 */
async function serve(t: Test, store: 'pglite' | 'postgres'): Promise<Served> {
  let datastore: string;
  let key: string | null = null;
  if (store === 'postgres') {
    datastore = await freshDatabase(t);
    const ds = await openDatastore(datastore);
    await ds.migrate();
    key = (await createKey(ds.access, 'default', ['check', 'read', 'write', 'schema'])).token;
    await ds.close();
  } else {
    datastore = `pglite:${join(mkdtempSync(join(tmpdir(), 'warden-console-')), 'data')}`;
  }
  const served = await serveProcess(t, ['--datastore', datastore, '--address', '127.0.0.1:0', '--console-address', '127.0.0.1:0', '--grace-ms', '200', '--workers', '1'], { until: /"msg":"console serving"/ });
  const url = /"url":"([^"]+)"[^\n]*"msg":"console serving"/.exec(served.log())![1]!;
  key ??= readFileSync(join(datastore.slice('pglite:'.length), 'first-key'), 'utf8').trim();
  return { console: url, grpc: served.address, key };
}

/** A call through the gateway as the browser makes it. */
async function api(s: Served, method: string, body: unknown, key: string | null = s.key): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`${s.console}api/${method}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const text = await res.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    // JSON lines, or not JSON
  }
  return { status: res.status, json, text };
}

/** A touch of the relationship `text` (`document:q3#viewer@user:alice`), with a caveat if given. */
const rel = (text: string, caveat?: { caveat_name: string; context: Record<string, unknown> }) => ({ operation: 'OPERATION_TOUCH', relationship: { ...relMsg(text), ...(caveat ? { optional_caveat: caveat } : {}) } });

t.test('the console gateway: the API over HTTP/JSON, with the caller key and clear errors', async (t) => {
  const s = await serve(t, 'pglite');
  const page = await fetch(s.console);
  t.equal(page.status, 200);
  t.match(page.headers.get('content-security-policy'), /default-src 'self'/, 'nothing from elsewhere');
  t.match(await page.text(), /<script type="module" src="app\.js">/);
  t.equal((await fetch(`${s.console}app.js`)).headers.get('content-type'), 'text/javascript; charset=utf-8');
  t.equal((await fetch(`${s.console}..%2Fpackage.json`)).status, 404, 'no paths outside the build');

  const written = await api(s, 'SchemaService/WriteSchema', { schema: SCHEMA });
  t.equal(written.status, 200, written.text);
  t.match(written.json, { written_at: { token: /\S/ } });
  const w = await api(s, 'RelationshipService/Write', { updates: [rel('document:q3#viewer@user:alice'), rel('document:q4#viewer@user:bob', { caveat_name: 'on_day', context: {} }), rel('document:q5#viewer@user:bob', { caveat_name: 'on_day', context: { day: 'mon' } })] });
  t.equal(w.status, 200, w.text);
  const check = await api(s, 'PermissionService/Check', { consistency: { at_least_as_fresh: w.json.written_at }, resource: { object_type: 'document', object_id: 'q3' }, permission: 'view', subject: { object: { object_type: 'user', object_id: 'alice' } }, explain: true });
  t.equal(check.json.permissionship, 'PERMISSIONSHIP_HAS_PERMISSION');
  t.match(check.json.explanation.path, /document:q3/);
  const cond = await api(s, 'PermissionService/Check', { consistency: { fully_consistent: true }, resource: { object_type: 'document', object_id: 'q4' }, permission: 'view', subject: { object: { object_type: 'user', object_id: 'bob' } }, context: { day: 'tue' } });
  t.equal(cond.json.permissionship, 'PERMISSIONSHIP_HAS_PERMISSION', 'a JSON context becomes the Struct the API takes');
  const read = await api(s, 'RelationshipService/Read', { consistency: { fully_consistent: true }, filter: { resource_type: 'document' } });
  const lines = read.text.trim().split('\n').map((l) => JSON.parse(l));
  t.equal(lines.length, 3, 'a stream answers JSON lines');
  t.same(lines.find((l) => l.relationship.resource.object_id === 'q5').relationship.optional_caveat.context, { day: 'mon' }, 'Structs come back as plain JSON');

  t.match(await api(s, 'PermissionService/Check', {}, null), { status: 401, json: { error: { status: 'UNAUTHENTICATED' } } }, 'no key: refused by the API itself');
  t.match(await api(s, 'PermissionService/Check', { consistency: { fully_consistent: true }, resource: { object_type: 'document', object_id: 'q3' }, permission: 'nope', subject: { object: { object_type: 'user', object_id: 'alice' } } }), { status: 400, json: { error: { status: 'FAILED_PRECONDITION', field: 'permission', message: /`nope` is not a relation or permission/ } } }, 'the field is named');
  t.match(await api(s, 'KeyService/CreateKey', {}), { status: 501, json: { error: { field: 'path' } } }, 'admin services are not offered');
  t.match(await api(s, 'PermissionService/Check', '{not json'), { status: 400, json: { error: { field: 'body', message: /not JSON/ } } });
  t.match(await api(s, 'PermissionService/Check', '[1]'), { status: 400, json: { error: { field: 'body' } } });
  // A request that is not the method's message: 400 naming the path, never a 500.
  const base = { consistency: { fully_consistent: true }, resource: { object_type: 'document', object_id: 'q3' }, permission: 'view', subject: { object: { object_type: 'user', object_id: 'alice' } } };
  const shapes: [string, string, unknown, string, RegExp][] = [
    ['PermissionService/Check', 'context as text', { ...base, context: 'x' }, 'context', /expected a JSON object/],
    ['PermissionService/Check', 'context as a list', { ...base, context: [1] }, 'context', /expected a JSON object/],
    ['PermissionService/Check', 'a resource as text', { ...base, resource: 'document:q3' }, 'resource', /expected an object \(a ObjectReference message\)/],
    ['PermissionService/Check', 'a misspelt field', { ...base, permision: 'view' }, 'permision', /CheckRequest has no field `permision`/],
    ['PermissionService/Check', 'a nested unknown field', { ...base, subject: { object: { object_type: 'user', objectId: 'alice' } } }, 'subject.object.objectId', /no field `objectId`/],
    ['PermissionService/Check', 'a number for a string', { ...base, permission: 7 }, 'permission', /expected a string/],
    ['RelationshipService/Read', 'a limit as words', { filter: { resource_type: 'document' }, limit: 'ten' }, 'limit', /expected a whole number/],
    ['RelationshipService/Write', 'updates not a list', { updates: { operation: 'OPERATION_TOUCH' } }, 'updates', /expected a list/],
    ['RelationshipService/Write', 'a bad expiry', { updates: [{ operation: 'OPERATION_TOUCH', relationship: { ...rel('document:q7#viewer@user:x').relationship, optional_expires_at: 'soon' } }] }, 'updates[0].relationship.optional_expires_at', /RFC 3339/],
  ];
  for (const [method, what, body, field, message] of shapes) {
    t.match(await api(s, method, body), { status: 400, json: { error: { status: 'INVALID_ARGUMENT', field, message } } }, `${what}: 400 naming ${field}`);
  }
  const expiring = await api(s, 'RelationshipService/Write', { updates: [{ operation: 'OPERATION_TOUCH', relationship: { ...rel('document:q7#viewer@user:x').relationship, optional_expires_at: '2099-01-01T00:00:00Z' } }] });
  // The time reaches the API as a Timestamp: the schema (no `use expiration`) is what refuses it.
  t.match(expiring, { status: 400, json: { error: { status: 'FAILED_PRECONDITION', message: /with no caveat and an expiration is not allowed/ } } }, 'an RFC 3339 expiry reaches the API as a time');
  t.match(await api(s, 'SchemaService/ValidateSchema', { schema: 'x'.repeat(2 * 1024 * 1024) }), { status: 413, json: { error: { field: 'body' } } }, 'a body over the limit');
  const get = await fetch(`${s.console}api/PermissionService/Check`);
  t.equal(get.status, 405);
  const plain = await fetch(`${s.console}api/PermissionService/Check`, { method: 'POST', body: '{}' });
  t.equal(plain.status, 415, 'JSON only');
  // The console can do what its key can: a key with the read and check scopes reads, and may not write.
  const keys = new (serviceClient(loadApi().v1, 'KeyService'))(s.grpc, credentials.createInsecure()) as unknown as Record<string, Function>;
  t.teardown(() => (keys as unknown as { close(): void }).close());
  const md = new Metadata();
  md.set('authorization', `Bearer ${s.key}`);
  const reader = await new Promise<{ secret: string }>((resolve, reject) => keys['CreateKey']!.call(keys, { tenant: 'default', scopes: ['read', 'check'] }, md, (e: Error | null, r: { secret: string }) => (e ? reject(e) : resolve(r))));
  t.equal((await api(s, 'RelationshipService/Read', { consistency: { fully_consistent: true }, filter: { resource_type: 'document' } }, reader.secret)).status, 200, 'a read-only key reads');
  t.match(await api(s, 'RelationshipService/Write', { updates: [rel('document:q6#viewer@user:eve')] }, reader.secret), { status: 403, json: { error: { status: 'PERMISSION_DENIED' } } }, 'and may not write');
  t.match(await api(s, 'SchemaService/WriteSchema', { schema: SCHEMA }, reader.secret), { status: 403 }, 'nor write the schema');
  const after = await api(s, 'SchemaService/ReadSchema', { consistency: { fully_consistent: true } });
  t.equal(after.json.schema.includes('definition document'), true, 'the server serves on');
});

t.test('the console in Chromium: every view, a check with its path, a schema error, paging', async (t) => {
  if (!existsSync(CHROMIUM)) {
    if (process.env['WARDEN_REQUIRE_BROWSER']) t.fail(`no Chromium at ${CHROMIUM}: .ci/run installs Debian's chromium`);
    else t.skip(`no Chromium at ${CHROMIUM}: install Debian's chromium (apt-get install chromium) to run the browser tests`);
    return;
  }
  const { chromium } = await import('playwright-core');
  mkdirSync(shots, { recursive: true });
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  t.teardown(() => browser.close());
  for (const store of ['pglite', 'postgres'] as const) {
    await t.test(`on ${store === 'pglite' ? 'the embedded store (PGlite)' : 'PostgreSQL'}`, (t) => drive(t, browser, store, store === 'pglite'));
  }
});

async function drive(t: Test, browser: Browser, store: 'pglite' | 'postgres', screenshots: boolean): Promise<void> {
  const s = await serve(t, store);
  await api(s, 'SchemaService/WriteSchema', { schema: SCHEMA });
  const updates = [rel('group:eng#member@user:alice'), rel('folder:plans#viewer@group:eng#member'), rel('document:q3#parent@folder:plans'), rel('document:q3#banned@user:mallory')];
  for (let i = 0; i < 30; i++) updates.push(rel(`document:d${String(i).padStart(2, '0')}#viewer@user:u${i}`));
  const seeded = await api(s, 'RelationshipService/Write', { updates });
  t.equal(seeded.status, 200, seeded.text);

  const context = await browser.newContext({ viewport: { width: 1280, height: 860 } });
  t.teardown(() => context.close());
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.setDefaultTimeout(15_000);
  // Accessibility by axe-core (contrast, names, roles, structure): no serious or critical violation on any view.
  const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  const accessible = async (view: string): Promise<void> => {
    if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
    const violations = await page.evaluate(async () => {
      const r = await (window as unknown as { axe: { run: (c: Document, o: object) => Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[]; passes: unknown[] }> } }).axe.run(document, { resultTypes: ['violations'] });
      return { rules: r.passes.length + r.violations.length, serious: r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')}`) };
    });
    t.ok(violations.rules > 10, `${view}: axe ran ${violations.rules} rules`);
    t.same(violations.serious, [], `${view}: no serious accessibility violations`);
  };
  const shot = async (name: string): Promise<void> => void (screenshots && (await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true })));

  await page.goto(s.console);
  // The key, once: kept in this tab's session storage, never in the URL.
  await page.getByLabel('API key').fill(s.key);
  await page.getByRole('button', { name: 'Use key' }).click();
  t.equal(await page.evaluate(() => sessionStorage.getItem('warden-console-key')), s.key);
  t.notMatch(page.url(), /wdn_/, 'the key is not in the URL');

  // Schema: the stored one, highlighted; an error at line:column as you type.
  await page.waitForFunction(() => (document.querySelector('textarea') as HTMLTextAreaElement | null)?.value.includes('definition document'));
  await page.getByText('Valid.').waitFor();
  t.ok(await page.locator('.highlight .tok-keyword').count() > 5, 'keywords are highlighted');
  await shot('schema');
  await accessible('schema');
  const editor = page.getByLabel('Schema', { exact: true });
  await editor.evaluate((el: HTMLTextAreaElement) => {
    el.value = el.value.replace('relation banned: user', 'relation banned: usr');
    el.dispatchEvent(new Event('input'));
  });
  const diag = page.locator('.diagnostics li').first();
  await diag.waitFor();
  t.match(await diag.textContent(), /^20:20: unknown type `usr`/, 'the error at line:column');
  t.match(await page.locator('.diff .add').first().textContent(), /relation banned: usr/, 'the diff against the stored schema');
  await shot('schema-error');
  await accessible('schema with an error');

  // Model: a node per definition, edges for relations.
  await page.getByRole('link', { name: 'Model' }).click();
  await page.locator('svg.model').waitFor();
  t.equal(await page.locator('svg.model g.node').count(), 4, 'one node per definition');
  t.ok(await page.locator('svg.model g.edge').count() >= 8, 'relation edges');
  t.equal(await page.locator('svg.model g.edge.walked').count(), 2, 'the relations arrows walk (parent) are marked');
  await shot('model');
  await accessible('model');

  // Relationships: the first type with relations, paged; add and delete.
  await page.getByRole('link', { name: 'Relationships' }).click();
  // It opens on the first type with relations.
  await page.getByText('1 relationship on this page.').waitFor();
  t.equal(await page.getByLabel('Filter').inputValue(), 'group');
  await page.getByLabel('Filter').fill('document');
  await page.getByRole('button', { name: 'Read', exact: true }).click();
  await page.getByText(/25 relationships on this page; more follow/).waitFor();
  const firstPage = await page.locator('table.list tbody tr').allTextContents();
  await shot('relationships');
  await accessible('relationships');
  await page.getByRole('button', { name: 'Next page' }).click();
  await page.getByText(/7 relationships on this page\./).waitFor();
  const secondPage = await page.locator('table.list tbody tr').allTextContents();
  t.equal(firstPage.length + secondPage.length, 32, 'two pages hold every document relationship');
  t.equal(new Set([...firstPage, ...secondPage]).size, 32, 'no relationship on both pages');
  await page.getByRole('button', { name: 'Previous page' }).click();
  await page.getByText(/25 relationships on this page/).waitFor();
  await page.getByLabel('Filter').fill('document:q3#viewer');
  await page.getByRole('button', { name: 'Read', exact: true }).click();
  await page.getByText('No relationships match.').waitFor();
  await page.getByLabel('Relationship', { exact: true }).fill('document:q3#viewer@user:carol');
  await page.getByRole('button', { name: 'Add' }).click();
  await page.getByText('Added document:q3#viewer@user:carol.').waitFor();
  await page.getByText(/1 relationship on this page/).waitFor();
  page.once('dialog', (d) => void d.accept());
  await page.getByRole('button', { name: 'Delete document:q3#viewer@user:carol' }).click();
  await page.getByText('Deleted document:q3#viewer@user:carol.').waitFor();
  await page.getByLabel('Relationship', { exact: true }).fill('document:q3#viewer@nobody');
  await page.getByRole('button', { name: 'Add' }).click();
  t.match(await page.getByRole('alert').first().textContent(), /^relationship: expected `type:id`, found `nobody` in `document:q3#viewer@nobody`$/, 'bad input names the field');

  // Check: the answer, its path drawn on the model, the explanation tree; then Expand.
  await page.getByRole('link', { name: 'Check' }).click();
  await page.getByLabel('Resource').fill('document:q3');
  await page.getByLabel('Permission').fill('view');
  await page.getByLabel('Subject').fill('user:alice');
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await page.locator('.answer strong').waitFor();
  t.equal(await page.locator('.answer strong').textContent(), 'Allowed');
  t.match(await page.locator('p.path').textContent(), /folder:plans/, 'the path goes through the folder');
  // The graph comes after the answer (it waits for the schema): wait for it.
  await page.locator('svg.model g.node.on').first().waitFor();
  t.same((await page.locator('svg.model g.node.on').evaluateAll((n) => n.map((x) => x.getAttribute('data-type')))).sort(), ['document', 'folder', 'group', 'user'], 'the path is drawn on the graph');
  t.ok(await page.locator('svg.model g.edge.on').count() >= 3, 'its edges too');
  await page.getByRole('button', { name: 'Expand the permission' }).click();
  await page.getByRole('heading', { name: 'Expand' }).waitFor();
  t.ok(await page.locator('ul.tree details').count() > 2, 'the Expand tree, collapsible');
  await shot('check');
  await accessible('check');
  await page.getByLabel('Subject').fill('user:mallory');
  await page.getByRole('button', { name: 'Check', exact: true }).click();
  await page.getByText('Denied', { exact: true }).waitFor();

  // Lookups: ListObjects, then ListSubjects.
  await page.getByRole('link', { name: 'Lookups' }).click();
  await page.getByLabel('Resource type').fill('document');
  await page.getByLabel('Permission').fill('view');
  await page.getByLabel('Subject').fill('user:alice');
  await page.getByRole('button', { name: 'Look up' }).click();
  await page.getByText('document:q3').waitFor();
  await shot('lookups');
  await accessible('lookups');
  await page.getByLabel('Lookup').selectOption('subjects');
  await page.getByLabel('Resource', { exact: true }).fill('document:q3');
  await page.getByLabel('Permission').fill('view');
  await page.getByLabel('Subject type').fill('user');
  await page.getByRole('button', { name: 'Look up' }).click();
  await page.getByText('user:alice').waitFor();

  // Simulate: dropping the folder's inheritance loses alice her view of q3.
  await page.getByRole('link', { name: 'Simulate' }).click();
  const proposed = page.getByLabel('Proposed schema');
  await page.waitForFunction(() => (document.querySelector('textarea') as HTMLTextAreaElement | null)?.value.includes('definition'));
  await proposed.fill(SCHEMA.replace('permission view = (viewer + parent->view) - banned', 'permission view = viewer - banned'));
  await page.getByRole('button', { name: 'Simulate' }).click();
  const row = page.locator('tr', { hasText: 'document#view' });
  await row.waitFor();
  t.match(await row.locator('td.flip-lost').textContent(), /^1 \(1 resource, 1 subject\)/, 'who loses what, counted');
  await row.getByRole('button').click();
  t.match(await page.locator('td', { hasText: 'user:alice' }).first().textContent(), /user:alice/, 'and the answers behind the count');
  await shot('simulate');
  await accessible('simulate');

  // Watch: a change made elsewhere shows up live.
  await page.getByRole('link', { name: 'Watch' }).click();
  await page.getByRole('button', { name: 'Start watching' }).click();
  await page.getByText('Watching for changes…').waitFor();
  await api(s, 'RelationshipService/Write', { updates: [rel('document:q9#viewer@user:dave')] });
  await page.getByText('document:q9#viewer@user:dave').waitFor();
  await shot('watch');
  await accessible('watch');
  await page.getByRole('button', { name: 'Stop watching' }).click();

  // Keyboard: the skip link comes first, then the views; a view's heading takes focus.
  await page.keyboard.press('Tab');
  await page.goto(s.console);
  await page.keyboard.press('Tab');
  t.equal(await page.evaluate(() => document.activeElement?.textContent), 'Skip to content');
  await page.keyboard.press('Tab');
  t.equal(await page.evaluate(() => document.activeElement?.textContent), 'Schema', 'then the first view');

  // Phone width: nothing wider than the screen.
  await page.setViewportSize({ width: 390, height: 844 });
  for (const view of ['relationships', 'check', 'lookups']) {
    await page.goto(`${s.console}#/${view}`);
    await page.locator('h1').waitFor();
    t.ok(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1), `${view} fits a phone`);
  }
  await shot('phone');
  await accessible('phone width');
  t.same(problems, [], 'no console errors or warnings');
}
