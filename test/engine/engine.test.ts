import t from 'tap';
import { Engine } from '../../src/engine/engine.js';
import { subject } from '../../src/model/relationship.js';
import { world } from '../helpers/world.js';

const GROUPS = `definition user {}
definition group { relation member: user | group#member }
definition doc {
  relation viewer: user | group#member
  relation editor: user | group#member
  relation owner: user
  relation parent: doc
  permission edit = editor + owner
  permission view = viewer + edit
  permission both = viewer & editor
  permission inherited = view + parent->inherited
}`;

const user = (id: string) => subject('user', id);
const doc = (id: string) => ({ type: 'doc', id });

function chain(n: number): string[] {
  const rels = ['group:g0#member@user:deep'];
  for (let i = 0; i < n; i++) rels.push(`group:g${i + 1}#member@group:g${i}#member`);
  rels.push(`doc:top#viewer@group:g${n}#member`);
  return rels;
}

t.test('the depth limit gives a clear error, not a stack overflow, and is configurable', async (t) => {
  const w = await world(GROUPS, chain(80));
  const engine = new Engine();
  await t.rejects(engine.check(w, { resource: doc('top'), permission: 'view', subject: user('deep') }), {
    code: 'RESOURCE_EXHAUSTED',
    message: /maximum depth was exceeded/,
  });
  await t.rejects(engine.lookupSubjects(w, { resource: doc('top'), permission: 'view', subjectType: 'user' }), { code: 'RESOURCE_EXHAUSTED' });
  await t.rejects(engine.expand(w, { resource: doc('top'), permission: 'view' }), { code: 'RESOURCE_EXHAUSTED' });
  await t.rejects(engine.lookupResources(w, { resourceType: 'doc', permission: 'view', subject: user('deep') }), { code: 'RESOURCE_EXHAUSTED' });
  const deeper = new Engine({ limits: { maxDepth: 200 } });
  t.equal((await deeper.check(w, { resource: doc('top'), permission: 'view', subject: user('deep') })).decision.kind, 'has');
  const lr = await deeper.lookupResources(w, { resourceType: 'doc', permission: 'view', subject: user('deep') });
  t.same(lr.map((r) => r.id), ['top']);
});

t.test('a subproblem reached by many paths is computed once', async (t) => {
  // Ten documents' editors and viewers all point at one group, and each group nests the next.
  const rels = ['group:g0#member@user:someone', 'group:g1#member@group:g0#member', 'group:g2#member@group:g1#member'];
  for (let i = 0; i < 10; i++) rels.push(`doc:d${i}#viewer@group:g2#member`, `doc:d${i}#editor@group:g2#member`, `doc:all#parent@doc:d${i}`);
  for (const who of ['nobody', 'someone']) {
    const w = await world(GROUPS, rels);
    const r = await new Engine().check(w, { resource: doc('all'), permission: 'inherited', subject: user(who) });
    t.equal(r.decision.kind, who === 'nobody' ? 'no' : 'has', who);
    // Group membership is found once, from the subject's side: the groups the user is in, then
    // the groups nesting those, a read a level, never from each group down.
    const groupReads = w.reads.filter((f) => f.resourceType === 'group');
    t.ok(groupReads.every((f) => f.subjectIds && !f.resourceIds), `${who}: every group read is by subject`);
    t.same(groupReads.map((f) => `${f.subjectType}:${f.subjectIds!.join(',')}`), who === 'nobody' ? ['user:nobody'] : ['user:someone', 'group:g0', 'group:g1'], `${who}: each level read once however many documents point at the groups`);
  }
});

t.test('sibling documents are read in one batched query', async (t) => {
  const rels: string[] = [];
  for (let i = 0; i < 50; i++) rels.push(`doc:root#parent@doc:c${i}`, `doc:c${i}#owner@user:u${i}`);
  const w = await world(GROUPS, rels);
  const r = await new Engine().check(w, { resource: doc('root'), permission: 'inherited', subject: user('u49') });
  t.equal(r.decision.kind, 'has');
  const ownerReads = w.reads.filter((f) => f.relation === 'owner');
  t.equal(ownerReads.length, 2, 'the root and then all fifty children together');
  t.equal(ownerReads[1]?.resourceIds?.length, 50);
});

t.test('union stops at the first yes; intersection at the first no', async (t) => {
  const w = await world(GROUPS, ['doc:a#viewer@user:ann']);
  const engine = new Engine();
  t.equal((await engine.check(w, { resource: doc('a'), permission: 'view', subject: user('ann') })).decision.kind, 'has');
  t.notOk(w.reads.some((f) => f.relation === 'editor' || f.relation === 'owner'), 'edit was never asked');
  w.reads.length = 0;
  t.equal((await engine.check(w, { resource: doc('a'), permission: 'both', subject: user('bob') })).decision.kind, 'no');
  t.notOk(w.reads.some((f) => f.relation === 'editor'), 'editor was never asked once viewer said no');
});

t.test('questions that do not fit the schema get errors naming the field', async (t) => {
  const w = await world(GROUPS, []);
  const e = new Engine();
  await t.rejects(e.check(w, { resource: { type: 'folder', id: 'a' }, permission: 'view', subject: user('x') }), {
    code: 'FAILED_PRECONDITION',
    field: 'resource.object_type',
  });
  await t.rejects(e.check(w, { resource: doc('a'), permission: 'read', subject: user('x') }), { code: 'FAILED_PRECONDITION', field: 'permission' });
  await t.rejects(e.check(w, { resource: doc('a'), permission: 'view', subject: subject('robot', 'x') }), { field: 'subject.object_type' });
  await t.rejects(e.check(w, { resource: doc('a'), permission: 'view', subject: subject('group', 'x', 'owner') }), { field: 'subject.relation' });
  await t.rejects(e.check(w, { resource: doc('a'), permission: 'view', subject: user('*') }), { code: 'INVALID_ARGUMENT', field: 'subject.object_id' });
  await t.rejects(e.lookupResources(w, { resourceType: 'nope', permission: 'view', subject: user('x') }), { field: 'resource_type' });
  await t.rejects(e.lookupSubjects(w, { resource: doc('a'), permission: 'view', subjectType: 'nope' }), { field: 'subject_type' });
});

t.test('Expand returns the full tree, not one level', async (t) => {
  const w = await world(GROUPS, ['group:inner#member@user:ann', 'group:outer#member@group:inner#member', 'doc:a#viewer@group:outer#member', 'doc:a#owner@user:bob']);
  const tree = await new Engine().expand(w, { resource: doc('a'), permission: 'view' });
  const leaves: string[] = [];
  const walk = (n: typeof tree): void => {
    if (n.kind === 'leaf') for (const s of n.subjects) leaves.push(`${n.resource.id}#${n.relation}@${s.subject.type}:${s.subject.id}${s.subject.relation === '...' ? '' : '#' + s.subject.relation}`);
    else n.children.forEach(walk);
  };
  walk(tree);
  t.same(leaves.sort(), ['a#owner@user:bob', 'a#viewer@group:outer#member', 'inner#member@user:ann', 'outer#member@group:inner#member']);
  t.equal(tree.kind, 'union');
  t.equal(tree.relation, 'view');
});

t.test('Expand has a size limit', async (t) => {
  const rels = Array.from({ length: 300 }, (_, i) => `doc:a#parent@doc:c${i}`);
  const w = await world(GROUPS, rels);
  await t.rejects(new Engine({ limits: { maxExpandNodes: 100 } }).expand(w, { resource: doc('a'), permission: 'inherited' }), {
    code: 'RESOURCE_EXHAUSTED',
    message: /max_expand_nodes/,
  });
});

t.test('LookupSubjects reports wildcards with their exclusions', async (t) => {
  const w = await world(
    `definition user {}
     definition doc { relation viewer: user | user:*  relation banned: user  permission view = viewer - banned }`,
    ['doc:a#viewer@user:*', 'doc:a#viewer@user:ann', 'doc:a#banned@user:bob', 'doc:a#banned@user:cat'],
  );
  const ls = await new Engine().lookupSubjects(w, { resource: doc('a'), permission: 'view', subjectType: 'user' });
  t.same(ls.subjects.map((s) => s.id), ['ann']);
  t.same(ls.wildcard && { kind: ls.wildcard.decision.kind, excluded: ls.wildcard.excluded }, { kind: 'has', excluded: ['bob', 'cat'] });
});

t.test('large fan-out: thousands of subjects through a hundred groups', async (t) => {
  const rels: string[] = [];
  for (let g = 0; g < 100; g++) {
    for (let u = 0; u < 50; u++) rels.push(`group:g${g}#member@user:u${g}_${u}`);
    rels.push(`doc:big#viewer@group:g${g}#member`);
    if (g % 10 === 0) rels.push(`doc:tenth${g}#viewer@group:g${g}#member`);
  }
  const w = await world(GROUPS, rels);
  const e = new Engine();
  t.equal((await e.check(w, { resource: doc('big'), permission: 'view', subject: user('u99_49') })).decision.kind, 'has');
  t.equal((await e.check(w, { resource: doc('big'), permission: 'view', subject: user('stranger') })).decision.kind, 'no');
  const ls = await e.lookupSubjects(w, { resource: doc('big'), permission: 'view', subjectType: 'user' });
  t.equal(ls.subjects.length, 5000);
  const lr = await e.lookupResources(w, { resourceType: 'doc', permission: 'view', subject: user('u30_7') });
  t.same(lr.map((r) => r.id), ['big', 'tenth30']);
});
