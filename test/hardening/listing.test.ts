import { status } from '@grpc/grpc-js';
import t from 'tap';
import { decodeListCursor } from '../../src/api/list-cursor.js';
import { Listings, type OpenListing } from '../../src/api/listings.js';
import { Engine } from '../../src/engine/engine.js';
import { VERIFY_BATCH } from '../../src/engine/lookup/lookup-resources.js';
import { subject } from '../../src/model/relationship.js';
import { insecureAuthenticate, startServer } from '../../src/server/server.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import type { Revision } from '../../src/store/store.js';
import { apiClient, relMsg, subj } from '../helpers/api-client.js';
import { world } from '../helpers/world.js';

const SCHEMA = `definition user {}
definition group { relation member: user | group#member }
definition doc {
  relation viewer: user | group#member
  relation banned: user
  permission view = viewer - banned
}`;

const N = 1300;
const docs = Array.from({ length: N }, (_, i) => `doc:d${String(i).padStart(5, '0')}#viewer@group:eng#member`);

t.test('a listing parks its walk between pages and resumes it; another server resumes from the position', async (t) => {
  const opened: (readonly number[] | null)[] = [];
  const items = Array.from({ length: 10 }, (_, i) => i);
  const open: OpenListing<number> = (after) => {
    opened.push(after);
    return (async function* () {
      for (let i = after ? after[0]! : 0; i < items.length; i++) yield { item: items[i]!, position: [i + 1] };
    })();
  };
  const scope = { tenant: 'default', revision: '7' as Revision, request: 'q' };
  const page = async (listings: Listings, cursor: string) => {
    const got: number[] = [];
    let next = '';
    await listings.page(scope, cursor ? decodeListCursor(cursor) : null, 4, new AbortController().signal, open, async (x, c) => {
      got.push(x);
      next = c || next;
    });
    return { got, next };
  };
  const here = new Listings();
  const p1 = await page(here, '');
  t.same(p1.got, [0, 1, 2, 3]);
  const p2 = await page(here, p1.next);
  t.same(p2.got, [4, 5, 6, 7]);
  t.same(opened, [null], 'the second page resumed the parked walk: nothing was opened again');
  const elsewhere = await page(new Listings(), p1.next);
  t.same(elsewhere.got, [4, 5, 6, 7], 'a server without the parked walk continues at the same place');
  t.same(opened, [null, [4]], 'by opening after the position');
  const p3 = await page(here, p2.next);
  t.same(p3, { got: [8, 9], next: '' }, 'the last page has no cursor');
  await t.rejects(
    here.page({ ...scope, request: 'other' }, decodeListCursor(p1.next), 4, new AbortController().signal, open, async () => {}),
    { code: 'INVALID_ARGUMENT', message: /different request/ },
    'a cursor continues only the request it came from',
  );
  here.close();
});

t.test('with a cursor on every result, a page resumed from a result before the parked one opens afresh there', async (t) => {
  const opened: (readonly number[] | null)[] = [];
  const open: OpenListing<number> = (after) => {
    opened.push(after);
    return (async function* () {
      for (let i = after ? after[0]! : 0; i < 10; i++) yield { item: i, position: [i + 1] };
    })();
  };
  const scope = { tenant: 'default', revision: '7' as Revision, request: 'q' };
  const here = new Listings();
  const page = async (cursor: string) => {
    const got: [number, string][] = [];
    await here.page(scope, cursor ? decodeListCursor(cursor) : null, 4, new AbortController().signal, open, async (x, c) => void got.push([x, c]), { everyResult: true });
    return got;
  };
  const p1 = await page('');
  t.ok(p1.every(([, c]) => c), 'every result carries a cursor');
  const fromSecond = await page(p1[1]![1]);
  t.same(fromSecond.map(([x]) => x), [2, 3, 4, 5], 'resumed after the second result, not where the parked walk stopped');
  t.same(opened, [null, [2]]);
  const fromLast = await page(fromSecond[3]![1]);
  t.same(fromLast.map(([x]) => x), [6, 7, 8, 9], "the page's last cursor resumes its parked walk");
  t.same(opened, [null, [2]], 'without opening again');
  here.close();
});

t.test('LookupResources streams: the first batch comes before the walk has read everything', async (t) => {
  const w = await world(SCHEMA, [...docs, 'group:eng#member@user:ann', 'doc:d00003#banned@user:ann']);
  const engine = new Engine();
  const stream = engine.streamResources(w, { resourceType: 'doc', permission: 'view', subject: subject('user', 'ann') });
  const first = await stream.next();
  const readsAtFirst = w.reads.length;
  t.equal(first.done, false);
  t.equal(first.value!.offset, 0);
  t.equal(first.value!.found.length, VERIFY_BATCH - 1, 'a whole verified batch (less the banned doc)');
  let total = first.value!.found.length;
  for await (const b of stream) total += b.found.length;
  t.equal(total, N - 1);
  t.ok(readsAtFirst < w.reads.length, `the first batch needed ${readsAtFirst} of ${w.reads.length} reads`);
  // Skipping resumes at a batch boundary without verifying what came before.
  const resumed = [];
  for await (const b of engine.streamResources(w, { resourceType: 'doc', permission: 'view', subject: subject('user', 'ann') }, VERIFY_BATCH * 2)) resumed.push(...b.found);
  t.equal(resumed.length, N - 2 * VERIFY_BATCH);
});

t.test('ListObjects over a large fan-out pages without loss or repeats, across servers', async (t) => {
  const ds = await openDatastore('memory');
  const servers = await Promise.all([0, 1].map(() => startServer({ datastore: ds, authenticate: insecureAuthenticate(), quantizationMs: 0, log: () => {} }, '127.0.0.1:0')));
  const [one, two] = servers.map((s) => apiClient(`127.0.0.1:${s.port}`));
  t.teardown(async () => {
    one!.close();
    two!.close();
    for (const s of servers) await s.shutdown(500);
  });
  await one!.schema.WriteSchema({ schema: SCHEMA });
  await one!.relationship.Import([{ relationships: [...docs, 'group:eng#member@user:ann'].map(relMsg) }]);
  const list = (api: typeof one, cursor = '') =>
    api!.permission.ListObjects({ consistency: { fully_consistent: true }, resource_type: 'doc', permission: 'view', subject: subj('user:ann'), limit: 500, cursor });
  const p1 = await list(one);
  const p2 = await list(one, p1.at(-1).cursor);
  const p3 = await list(one, p2.at(-1).cursor);
  t.same([p1.length, p2.length, p3.length], [500, 500, 300]);
  t.equal(p3.at(-1).cursor, '', 'the last page ends the listing');
  const ids = [...p1, ...p2, ...p3].map((m: { object_id: string }) => m.object_id);
  t.equal(new Set(ids).size, N, 'every document once');
  const p2elsewhere = await list(two, p1.at(-1).cursor);
  t.same(p2elsewhere.map((m: { object_id: string }) => m.object_id), p2.map((m: { object_id: string }) => m.object_id), 'another server continues the same listing identically');
  await t.rejects(
    two!.permission.ListObjects({ resource_type: 'doc', permission: 'view', subject: subj('user:bob'), limit: 500, cursor: p1.at(-1).cursor }),
    { code: status.INVALID_ARGUMENT, details: /different request/ },
  );
});
