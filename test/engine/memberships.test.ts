import t from 'tap';
import { Engine } from '../../src/engine/engine.js';
import { subject, type SubjectRef } from '../../src/model/relationship.js';
import { world } from '../helpers/world.js';

// Group membership found from the subject's side (src/engine/check/memberships.ts): the same
// answers as the walk down from each group, in fewer reads, and the walk down wherever the subject
// side cannot answer exactly (caveats, relations that nest other sets, the depth limit).

const SCHEMA = `use expiration
caveat on_day(day string) { day == 'tue' }
definition user {}
definition team { relation member: user }
definition group { relation member: user | user with on_day | user with expiration | group#member }
definition club { relation member: user | team#member | club#member }
definition doc {
  relation viewer: user | group#member | club#member
  permission view = viewer
}`;

const view = (id: string, s: SubjectRef) => ({ resource: { type: 'doc', id }, permission: 'view', subject: s });
const user = (id: string) => subject('user', id);
const groupReads = (w: { reads: { resourceType: string; subjectIds?: readonly string[]; resourceIds?: readonly string[] }[] }) =>
  w.reads.filter((f) => f.resourceType === 'group');

t.test('nested groups, climbed from the user: a read a level, only as far as needed', async (t) => {
  const w = await world(SCHEMA, [
    'group:g0#member@user:ann',
    'group:g1#member@group:g0#member',
    'group:g2#member@group:g1#member',
    'doc:near#viewer@group:g0#member',
    'doc:far#viewer@group:g2#member',
  ]);
  const engine = new Engine();
  t.equal((await engine.check(w, view('near', user('ann')))).decision.kind, 'has');
  t.same(groupReads(w).map((f) => f.subjectIds), [['ann']], 'the group asked about holds ann directly: one read, no climb');
  w.reads.length = 0;
  t.equal((await engine.check(w, view('far', user('ann')))).decision.kind, 'has');
  t.same(groupReads(w).map((f) => f.subjectIds), [['ann'], ['g0'], ['g1']], 'two levels up');
  t.ok(groupReads(w).every((f) => !f.resourceIds), 'never a read of a group by its id');
  w.reads.length = 0;
  t.equal((await engine.check(w, view('far', user('bob')))).decision.kind, 'no');
  t.same(groupReads(w).map((f) => f.subjectIds), [['bob']], 'bob is in no group: one read answers');
});

t.test('a set as the subject holds itself and climbs from there', async (t) => {
  const w = await world(SCHEMA, ['group:g1#member@group:g0#member', 'group:g2#member@group:g1#member', 'doc:d#viewer@group:g2#member']);
  const engine = new Engine();
  t.equal((await engine.check(w, view('d', subject('group', 'g0', 'member')))).decision.kind, 'has');
  t.equal((await engine.check(w, view('d', subject('group', 'g2', 'member')))).decision.kind, 'has');
  t.equal((await engine.check(w, view('d', subject('group', 'g9', 'member')))).decision.kind, 'no');
});

t.test('expired memberships and cycles', async (t) => {
  const w = await world(SCHEMA, [
    'group:old#member@user:gone[expiration:2001-01-01T00:00:00Z]',
    'group:new#member@user:kept[expiration:2300-01-01T00:00:00Z]',
    'doc:d#viewer@group:old#member',
    'doc:d#viewer@group:new#member',
    // g1 and g2 nest each other.
    'group:g1#member@group:g2#member',
    'group:g2#member@group:g1#member',
    'group:g1#member@user:cy',
    'doc:loop#viewer@group:g2#member',
  ]);
  const engine = new Engine();
  t.equal((await engine.check(w, view('d', user('gone')))).decision.kind, 'no', 'an expired membership counts for nothing');
  const kept = await engine.check(w, view('d', user('kept')));
  t.equal(kept.decision.kind, 'has');
  t.same(kept.expiresAt?.toISOString(), '2300-01-01T00:00:00.000Z', 'an answer read through an expiring membership says when it may change');
  t.equal((await engine.check(w, view('loop', user('cy')))).expiresAt, null, 'nothing read expires: no expiry');
  t.equal((await engine.check(w, view('loop', user('cy')))).decision.kind, 'has', 'a cycle of groups ends');
  t.equal((await engine.check(w, view('loop', user('out')))).decision.kind, 'no');
});

t.test('a caveated membership is decided by the walk down, with its condition', async (t) => {
  const w = await world(SCHEMA, ['group:g0#member@user:tue[on_day]', 'group:g1#member@group:g0#member', 'doc:d#viewer@group:g1#member']);
  const engine = new Engine();
  t.same((await engine.check(w, view('d', user('tue')))).decision, { kind: 'conditional', missing: ['day'] });
  t.equal((await engine.check(w, { ...view('d', user('tue')), context: { day: 'tue' } })).decision.kind, 'has');
  t.equal((await engine.check(w, { ...view('d', user('tue')), context: { day: 'wed' } })).decision.kind, 'no');
  t.ok(groupReads(w).some((f) => f.resourceIds), 'the groups were read down from the document');
});

t.test('a relation that nests another kind of set is walked down', async (t) => {
  const w = await world(SCHEMA, ['team:t#member@user:tim', 'club:c0#member@team:t#member', 'club:c1#member@club:c0#member', 'doc:d#viewer@club:c1#member']);
  const engine = new Engine();
  t.equal((await engine.check(w, view('d', user('tim')))).decision.kind, 'has');
  const clubReads = w.reads.filter((f) => f.resourceType === 'club');
  t.ok(clubReads.length > 0 && clubReads.every((f) => f.resourceIds), 'club#member allows team#member too: read from the club down');
});

t.test('the depth limit holds from the subject side as from the resource side', async (t) => {
  const rels = ['group:g0#member@user:deep', 'doc:top#viewer@group:g30#member'];
  for (let i = 0; i < 30; i++) rels.push(`group:g${i + 1}#member@group:g${i}#member`);
  const w = await world(SCHEMA, rels);
  await t.rejects(new Engine({ limits: { maxDepth: 20 } }).check(w, view('top', user('deep'))), { code: 'RESOURCE_EXHAUSTED' });
  t.equal((await new Engine({ limits: { maxDepth: 40 } }).check(w, view('top', user('deep')))).decision.kind, 'has');
});
