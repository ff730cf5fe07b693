import t from 'tap';
import { compileSchema } from '../../schema-dsl/index.js';
import { Engine, type Snapshot } from '../../src/engine/engine.js';
import { affectedMembers } from '../../src/engine/simulate/affected.js';
import { changedReader, changedRelations, simulate, type Flip, type ProposedChanges } from '../../src/engine/simulate/simulation.js';
import { parseRelationship } from '../../src/model/relationship-syntax.js';
import { relationshipKey, subject, type Relationship } from '../../src/model/relationship.js';
import { TypeSystem } from '../../src/schema/type-system.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { random } from '../../bench/dataset.js';

/** The two sides of a proposed change over one store: the stored schema and data, and the proposal. */
async function sides(before: string, after: string, data: readonly string[], changes: { touch?: string[]; remove?: string[] } = {}) {
  const store = new MemoryStore();
  const { revision } = await store.importRelationships(data.map((r) => parseRelationship(r)));
  const proposed: ProposedChanges = { touch: (changes.touch ?? []).map((r) => parseRelationship(r)), remove: (changes.remove ?? []).map((r) => parseRelationship(r)) };
  const reader = store.snapshot(revision);
  const b: Snapshot = { schema: new TypeSystem(compileSchema(before)), reader };
  const a: Snapshot = { schema: new TypeSystem(compileSchema(after)), reader: changedReader(reader, proposed) };
  return { before: b, after: a, changed: changedRelations(proposed) };
}

const text = (f: Flip): string => `${f.kind} ${f.resource.type}:${f.resource.id}#${f.permission}@${f.subject.type}:${f.subject.id}`;

const BASE = `
definition user {}
definition group { relation member: user | group#member }
definition folder {
  relation parent: folder
  relation viewer: user | group#member
  permission view = viewer + parent->view
}
definition doc {
  relation parent: folder
  relation viewer: user | group#member
  relation banned: user
  relation approver: user
  permission view = parent->view + viewer
}`;

const DATA = [
  'folder:root#viewer@group:eng#member',
  'group:eng#member@user:ann',
  'group:eng#member@group:contractors#member',
  'group:contractors#member@user:cid',
  'folder:fin#parent@folder:root',
  'doc:a#parent@folder:fin',
  'doc:a#viewer@user:bob',
  'doc:a#banned@user:ann',
  'doc:b#viewer@user:bob',
  'doc:b#approver@user:bob',
];

t.test('schema changes with a known effect: the exact flips', async (t) => {
  const engine = new Engine();
  const cases: [string, string, { touch?: string[]; remove?: string[] } | undefined, string[]][] = [
    [
      'add an exclusion',
      BASE.replace('permission view = parent->view + viewer', 'permission view = (parent->view + viewer) - banned'),
      undefined,
      ['lost doc:a#view@user:ann'],
    ],
    [
      'remove an arrow',
      BASE.replace('permission view = parent->view + viewer', 'permission view = viewer'),
      undefined,
      ['lost doc:a#view@user:ann', 'lost doc:a#view@user:cid'],
    ],
    [
      'widen a relation to a wildcard (and share one doc with everyone)',
      BASE.replace('relation viewer: user | group#member\n  relation banned', 'relation viewer: user | user:* | group#member\n  relation banned'),
      { touch: ['doc:b#viewer@user:*'] },
      ['gained doc:b#view@user:*', 'gained doc:b#viewer@user:*'],
    ],
    [
      'intersect with a caveated relation',
      `caveat weekday(day string) { day != 'sun' }\n` +
        BASE.replace('relation approver: user\n  permission view = parent->view + viewer', 'relation approver: user | user with weekday\n  permission view = viewer & approver'),
      { touch: ['doc:a#approver@user:bob[weekday]'] },
      ['conditional doc:a#view@user:bob', 'lost doc:a#view@user:ann', 'lost doc:a#view@user:cid', 'conditional doc:a#approver@user:bob'],
    ],
  ];
  for (const [name, after, changes, want] of cases) {
    const s = await sides(BASE, after, DATA, changes);
    const r = await simulate(engine, s.before, s.after, { changed: s.changed, sample: 1000 });
    t.same(r.flips.map(text).sort(), [...want].sort(), name);
    t.equal(r.totalFlips, want.length, `${name}: counted`);
  }
});

t.test('relationship changes: who loses what, counted by resource and subject', async (t) => {
  const engine = new Engine();
  const s = await sides(BASE, BASE, DATA, { remove: ['group:eng#member@group:contractors#member'] });
  const r = await simulate(engine, s.before, s.after, { changed: s.changed, sample: 1000 });
  t.same(r.flips.map(text).sort(), ['lost doc:a#view@user:cid', 'lost folder:fin#view@user:cid', 'lost folder:root#view@user:cid', 'lost folder:root#viewer@user:cid', 'lost group:eng#member@user:cid']);
  const view = r.members.find((m) => m.type === 'doc' && m.permission === 'view')!;
  t.match(view, { resources: 2, lost: { answers: 1, resources: 1, subjects: 1 }, gained: { answers: 0 } });
  t.notOk(r.members.some((m) => m.type === 'doc' && m.permission === 'banned'), 'a relation the change cannot reach is not evaluated');
});

t.test('the sample bounds the list, not the counts', async (t) => {
  const engine = new Engine();
  const data = Array.from({ length: 30 }, (_, i) => `doc:d${i}#viewer@user:u${i}`);
  const s = await sides(BASE, BASE.replace('permission view = parent->view + viewer', 'permission view = nil'), data);
  const r = await simulate(engine, s.before, s.after, { sample: 5 });
  t.equal(r.flips.length, 5);
  t.equal(r.totalFlips, 30);
  t.match(r.members.find((m) => m.permission === 'view' && m.type === 'doc'), { lost: { answers: 30, resources: 30, subjects: 30 } });
});

t.test('affected members: what a change can reach, in either schema', async (t) => {
  const ts = (s: string) => new TypeSystem(compileSchema(s));
  const names = (list: { type: string; name: string }[]) => list.map((m) => `${m.type}#${m.name}`);
  t.same(names(affectedMembers(ts(BASE), ts(BASE))), [], 'no change, nothing to evaluate');
  t.same(names(affectedMembers(ts(BASE), ts(BASE), ['group#member'])), ['doc#view', 'doc#viewer', 'folder#view', 'folder#viewer', 'group#member']);
  t.same(names(affectedMembers(ts(BASE), ts(BASE.replace('permission view = parent->view + viewer', 'permission view = viewer')))), ['doc#view']);
});

// Small random data under several schema changes and relationship changes: the simulation's flips
// are exactly the answers that differ when every triple is checked on both sides.
const PROPERTY_BASE = `
definition user {}
definition group { relation member: user | group#member }
definition folder {
  relation parent: folder
  relation viewer: user | group#member
  relation editor: user
  permission edit = editor + parent->edit
  permission view = viewer + edit + parent->view
}
definition doc {
  relation parent: folder
  relation owner: user
  relation viewer: user | group#member
  relation banned: user
  permission edit = owner + parent->edit
  permission view = (viewer + edit) - banned
}`;
const VARIANTS = [
  PROPERTY_BASE,
  PROPERTY_BASE.replace('permission view = (viewer + edit) - banned', 'permission view = viewer + edit'),
  PROPERTY_BASE.replace('permission view = (viewer + edit) - banned', 'permission view = (viewer + edit + parent->view) - banned'),
  PROPERTY_BASE.replace('permission view = viewer + edit + parent->view', 'permission view = viewer & edit'),
  PROPERTY_BASE.replace('permission edit = editor + parent->edit', 'permission edit = editor'),
];

function randomData(rnd: () => number): string[] {
  const pick = (n: number) => Math.floor(rnd() * n);
  const out = new Set<string>();
  for (let i = 0; i < 28; i++) {
    const r = pick(8);
    if (r === 0) out.add(`group:g${pick(3)}#member@user:u${pick(6)}`);
    else if (r === 1) out.add(`group:g${pick(3)}#member@group:g${pick(3)}#member`);
    else if (r === 2) out.add(`folder:f${pick(4)}#parent@folder:f${pick(4)}`);
    else if (r === 3) out.add(`folder:f${pick(4)}#${pick(2) ? 'viewer@user:u' + pick(6) : 'viewer@group:g' + pick(3) + '#member'}`);
    else if (r === 4) out.add(`folder:f${pick(4)}#editor@user:u${pick(6)}`);
    else if (r === 5) out.add(`doc:d${pick(5)}#parent@folder:f${pick(4)}`);
    else if (r === 6) out.add(`doc:d${pick(5)}#${['owner', 'banned'][pick(2)]}@user:u${pick(6)}`);
    else out.add(`doc:d${pick(5)}#viewer@${pick(2) ? 'user:u' + pick(6) : 'group:g' + pick(3) + '#member'}`);
  }
  return [...out];
}

t.test('property: the flips are exactly the triples whose answers differ', async (t) => {
  const engine = new Engine();
  const rnd = random(2026);
  let compared = 0;
  for (let round = 0; round < 30; round++) {
    const data = randomData(rnd);
    const after = VARIANTS[round % VARIANTS.length]!;
    const removed = data.filter(() => rnd() < 0.15);
    const added = randomData(rnd).slice(0, 3).filter((r) => !data.includes(r));
    const s = await sides(PROPERTY_BASE, after, data, { touch: added, remove: removed });
    const report = await simulate(engine, s.before, s.after, { changed: s.changed, sample: 100_000 });
    const simulated = report.flips.map(text).sort();

    const truth: string[] = [];
    const rels = new Map<string, Relationship>();
    for (const r of [...data, ...added]) rels.set(relationshipKey(parseRelationship(r)), parseRelationship(r));
    const ids = (type: string) => [...new Set([...rels.values()].filter((r) => r.resource.type === type).map((r) => r.resource.id))].sort();
    for (const def of s.before.schema.ir.definitions) {
      for (const m of def.members) {
        for (const id of ids(def.name)) {
          // Every plain subject the data can name: users, and folders (as parents).
          for (const who of [...Array.from({ length: 6 }, (_, u) => `user:u${u}`), ...Array.from({ length: 4 }, (_, f) => `folder:f${f}`)]) {
            const [type, sid] = who.split(':') as [string, string];
            const q = { resource: { type: def.name, id }, permission: m.name, subject: subject(type, sid) };
            const was = (await engine.check(s.before, q)).decision.kind;
            const now = (await engine.check(s.after, q)).decision.kind;
            compared++;
            if (was !== now) truth.push(`${now === 'has' ? 'gained' : 'lost'} ${def.name}:${id}#${m.name}@${who}`);
          }
        }
      }
    }
    t.same(simulated, truth.sort(), `round ${round}`);
  }
  t.ok(compared > 1000, `${compared} triples checked on both sides`);
});
