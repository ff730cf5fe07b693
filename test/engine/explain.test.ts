import { existsSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { compileSchema, formatRewrite, type RewriteIR } from '../../schema-dsl/index.js';
import { parseValidationFile } from '../../src/conformance/validation-file.js';
import { Engine, type Snapshot } from '../../src/engine/engine.js';
import { explainPath, type ExplainNode } from '../../src/engine/explain/explain-node.js';
import { MAX_EXPLAINED_BRANCHES } from '../../src/engine/explain/explainer.js';
import { parseRelationship } from '../../src/model/relationship-syntax.js';
import { ELLIPSIS, WILDCARD_ID, relationshipKey, subject, subjectKey, type Relationship, type SubjectRef } from '../../src/model/relationship.js';
import { TypeSystem } from '../../src/schema/type-system.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { conformanceDir } from '../helpers/conformance-dir.js';

/** `type:id#relation` as [type, id, relation] (ids may hold `:`; relations never hold `#`). */
function parseLabel(label: string): [string, string, string] {
  const colon = label.indexOf(':');
  const hash = label.lastIndexOf('#');
  return [label.slice(0, colon), label.slice(colon + 1, hash), label.slice(hash + 1)];
}

/**
 * Every way an explanation can be wrong, as a list of problems (empty: sound): each object step
 * is a member of its type and its child is that member's rewrite as the schema has it; each
 * operator step is the schema's operator with children that are its branches; every relationship
 * shown exists at the snapshot and is of the relation and object the step is about; a stored
 * relation's relationship names the subject (or the wildcard) or a subject set the relation
 * allows; and every denied step says why (a reason, or a denied branch under it).
 */
async function problems(snap: Snapshot, s: SubjectRef, root: ExplainNode): Promise<string[]> {
  const out: string[] = [];
  const schema = snap.schema;
  const exists = async (r: Relationship): Promise<boolean> => {
    const found = await snap.reader.query({
      resourceType: r.resource.type,
      resourceIds: [r.resource.id],
      relation: r.relation,
      subjectType: r.subject.type,
      subjectIds: [r.subject.id],
      subjectRelation: r.subject.relation,
    });
    return found.some((f) => relationshipKey(f) === relationshipKey(r) && (f.caveat?.name ?? null) === (r.caveat?.name ?? null));
  };
  const denied = (n: ExplainNode, what: string): void => {
    if (n.decision.kind !== 'no') return;
    if (!n.reason && !n.children.some((c) => c.decision.kind === 'no')) out.push(`${what}: denied without a reason or a denied branch`);
  };
  const object = async (n: ExplainNode, label: string): Promise<void> => {
    if (n.label !== label) out.push(`expected a step for ${label}, found ${n.kind} ${n.label}`);
    if (n.kind === 'self') {
      if (label !== `${s.type}:${s.id}#${s.relation}`) out.push(`${label}: marked as the subject itself`);
      return;
    }
    if (n.kind === 'cycle' || n.kind === 'limit') return;
    const [type, id, name] = parseLabel(label);
    const m = schema.member(type, name);
    if (!m) return void out.push(`${label}: not a member of \`${type}\``);
    denied(n, label);
    if (!n.children.length && n.omitted) return; // shown collapsed: its branches are counted, not shown
    if (m.kind === 'permission') {
      if (n.kind !== 'permission' || n.children.length !== 1) return void out.push(`${label}: a permission step with ${n.children.length} children`);
      return rewrite(n.children[0]!, m.rewrite, type, id);
    }
    if (n.kind !== 'relation') return void out.push(`${label}: a relation shown as ${n.kind}`);
    for (const c of n.children) {
      if (c.kind === 'expired') continue;
      const r = c.relationship;
      if (c.kind !== 'relationship' || !r) return void out.push(`${label}: a ${c.kind} step under a relation`);
      if (r.resource.type !== type || r.resource.id !== id || r.relation !== name) out.push(`${label}: shows ${c.label}`);
      if (!(await exists(r))) out.push(`${c.label} does not exist at the snapshot`);
      const itself = r.subject.type === s.type && r.subject.relation === s.relation && (r.subject.id === s.id || r.subject.id === WILDCARD_ID);
      if (itself) {
        if (r.subject.id === WILDCARD_ID && !m.allowed.some((a) => a.type === s.type && a.wildcard)) out.push(`${c.label}: a wildcard the relation does not allow`);
        continue;
      }
      if (!m.allowed.some((a) => !a.wildcard && a.type === r.subject.type && a.relation === r.subject.relation)) out.push(`${c.label}: a subject the relation does not allow`);
      if (r.subject.relation === ELLIPSIS) out.push(`${c.label}: neither the subject nor a subject set`);
      else if (c.children.length) await object(c.children[0]!, subjectKey(r.subject));
      else if (c.decision.kind !== 'no') out.push(`${c.label}: holds with nothing under it`);
    }
  };
  const rewrite = async (n: ExplainNode, e: RewriteIR, type: string, id: string): Promise<void> => {
    switch (e.kind) {
      case 'computed':
        return object(n, `${type}:${id}#${e.relation}`);
      case 'nil':
        if (n.kind !== 'nil') out.push(`expected nil, found ${n.kind}`);
        return;
      case 'union':
      case 'intersection':
      case 'exclusion': {
        if (n.kind !== e.kind || n.label !== formatRewrite(e)) return void out.push(`expected ${e.kind} ${formatRewrite(e)}, found ${n.kind} ${n.label}`);
        denied(n, n.label);
        if (!n.children.length && n.omitted) return;
        const branches = e.kind === 'exclusion' ? [e.base, e.subtract] : e.children;
        for (const c of n.children) {
          // A branch is legal when it is one of the operator's own, whichever.
          const before = out.length;
          let legal = false;
          for (const b of branches) {
            const mark = out.length;
            await rewrite(c, b, type, id);
            if (out.length === mark) legal = true;
            out.length = mark;
          }
          out.length = before;
          if (!legal) out.push(`${n.label}: \`${c.label}\` is none of its branches`);
        }
        return;
      }
      case 'arrow': {
        if (n.kind !== 'arrow' || n.label !== formatRewrite(e)) return void out.push(`expected arrow ${formatRewrite(e)}, found ${n.kind} ${n.label}`);
        denied(n, n.label);
        for (const c of n.children) {
          const r = c.relationship;
          if (!r || r.resource.type !== type || r.resource.id !== id || r.relation !== e.tupleset) out.push(`${n.label}: shows ${c.label}`);
          else if (!(await exists(r))) out.push(`${c.label} does not exist at the snapshot`);
          if (r && c.children[0]) await object(c.children[0], `${r.subject.type}:${r.subject.id}#${e.computed}`);
        }
        return;
      }
    }
  };
  const [type, id, name] = parseLabel(root.label);
  await object(root, `${type}:${id}#${name}`);
  return out;
}

/** The validation files to explain every assertion of: our own, and the shared ones where present. */
async function caseFiles(): Promise<string[]> {
  const own = fileURLToPath(new URL('../conformance/cases', import.meta.url));
  const dirs = [own, ...(existsSync(conformanceDir()) ? [conformanceDir()] : [])];
  const out: string[] = [];
  for (const d of dirs) for (const f of (await readdir(d)).filter((f) => f.endsWith('.yaml')).sort()) out.push(`${d}/${f}`);
  return out;
}

t.test('every assertion of the validation cases: the explanation is sound and agrees with Check', async (t) => {
  const engine = new Engine();
  let explained = 0;
  const kinds = new Set<string>();
  for (const file of await caseFiles()) {
    for (const doc of parseValidationFile(await readFile(file, 'utf8'), file)) {
      let schema: TypeSystem;
      try {
        schema = new TypeSystem(compileSchema(doc.schema));
      } catch {
        continue; // files about schema errors
      }
      const store = new MemoryStore();
      await store.writeSchema(doc.schema);
      const rels = new Map(doc.relationships.map((r) => [relationshipKey(r), r]));
      const { revision } = await store.importRelationships(rels.values());
      const snap: Snapshot = { schema, reader: store.snapshot(revision) };
      for (const { assertion: a } of doc.assertions) {
        let checked;
        try {
          checked = await engine.check(snap, a);
        } catch {
          continue; // assertions that fail by design (depth, bad context) fail the same way explained
        }
        const r = await engine.explain(snap, a);
        explained++;
        const where = `${file.split('/').pop()}: ${a.text}`;
        if (r.decision.kind !== checked.decision.kind) t.fail(`${where}: explained ${r.decision.kind}, checked ${checked.decision.kind}`);
        if (r.explanation.decision.kind !== r.decision.kind) t.fail(`${where}: the tree's root says ${r.explanation.decision.kind}`);
        const found = await problems(snap, a.subject, r.explanation);
        if (found.length) t.fail(`${where}: ${found.join('; ')}`);
        const path = explainPath(r.explanation);
        if (r.decision.kind === 'has') {
          const end = [subjectKey(a.subject), `${a.subject.type}:*`];
          if (!path || !end.some((e) => path.replace(' (and more: see the tree)', '').endsWith(e)) && !path.includes(`${a.subject.type}:${a.subject.id}#${a.subject.relation}`)) {
            t.fail(`${where}: the path \`${path}\` does not end at the subject`);
          }
        } else if (path !== null) t.fail(`${where}: a path for a check that is not granted`);
        const visit = (n: ExplainNode): void => {
          if (n.decision.kind === 'no') kinds.add(n.kind);
          n.children.forEach(visit);
        };
        visit(r.explanation);
      }
    }
  }
  t.ok(explained >= 100, `${explained} assertions explained`);
  for (const k of ['union', 'intersection', 'exclusion', 'arrow', 'relation', 'permission']) t.ok(kinds.has(k), `a denied ${k} step was explained`);
});

const SCHEMA = `
use expiration
caveat on_network(ip ipaddress, cidr string) { ip.in_cidr(cidr) }
definition user {}
definition group { relation member: user | group#member }
definition folder {
  relation parent: folder
  relation viewer: user | group#member | user with on_network
  permission view = viewer + parent->view
}
definition document {
  relation parent: folder
  relation owner: user
  relation viewer: user | group#member | user:* | user with expiration
  relation banned: user
  relation approver: user
  permission edit = owner + parent->view
  permission view = (viewer + edit) - banned
  permission approve = edit & approver
  permission everyone_folder = parent.all(view)
}`;

const DATA = [
  'folder:fin#parent@folder:root',
  'folder:root#viewer@group:eng#member',
  'group:eng#member@group:core#member',
  'group:core#member@user:alice',
  'document:q3#parent@folder:fin',
  'document:q3#owner@user:bob',
  'document:q3#banned@user:carol',
  'folder:root#viewer@user:carol',
  'folder:fin#viewer@user:dan[on_network:{"cidr":"10.0.0.0/8"}]',
  'document:q3#viewer@user:erin[expiration:2020-01-01T00:00:00Z]',
  'document:q3#approver@user:zoe',
  'document:pub#viewer@user:*',
];

async function snapshot(extra: readonly string[] = []): Promise<Snapshot> {
  const store = new MemoryStore();
  await store.writeSchema(SCHEMA);
  const { revision } = await store.importRelationships([...DATA, ...extra].map((r) => parseRelationship(r)));
  return { schema: new TypeSystem(compileSchema(SCHEMA)), reader: store.snapshot(revision) };
}

/** Every node of a tree, depth first. */
function nodes(n: ExplainNode): ExplainNode[] {
  return [n, ...n.children.flatMap(nodes)];
}

t.test('a granted check: the shortest path, on one line and as a tree', async (t) => {
  const snap = await snapshot();
  const engine = new Engine();
  const ask = (id: string, who: string, context?: Record<string, unknown>) =>
    engine.explain(snap, { resource: { type: 'document', id }, permission: 'view', subject: subject('user', who), ...(context ? { context } : {}) });
  const alice = await ask('q3', 'alice');
  t.equal(alice.decision.kind, 'has');
  t.equal(
    explainPath(alice.explanation),
    'document:q3#view <- edit <- parent -> folder:fin#view <- parent -> folder:root#view <- viewer <- group:eng#member <- group:core#member <- user:alice',
  );
  t.equal(explainPath((await ask('q3', 'bob')).explanation), 'document:q3#view <- edit <- owner <- user:bob', 'the owner: one relationship, not the folders');
  t.equal(explainPath((await ask('pub', 'anyone')).explanation), 'document:pub#view <- viewer <- user:*', 'the wildcard');
  const excl = nodes(alice.explanation).find((n) => n.kind === 'exclusion')!;
  t.match(excl.children[1], { label: 'document:q3#banned', decision: { kind: 'no' }, reason: 'not excluded' }, 'the subtracted side is shown not to hold');

  // A shorter path wins when there are two: alice also owns q4, directly.
  const two = await engine.explain(await snapshot(['document:q4#parent@folder:fin', 'document:q4#owner@user:alice']), {
    resource: { type: 'document', id: 'q4' },
    permission: 'view',
    subject: subject('user', 'alice'),
  });
  t.equal(explainPath(two.explanation), 'document:q4#view <- edit <- owner <- user:alice');
});

t.test('a denied check names what failed, per operator', async (t) => {
  const snap = await snapshot();
  const engine = new Engine();
  const ask = async (id: string, permission: string, who: string, context?: Record<string, unknown>) =>
    (await engine.explain(snap, { resource: { type: 'document', id }, permission, subject: subject('user', who), ...(context ? { context } : {}) })).explanation;

  const carol = await ask('q3', 'view', 'carol');
  t.match(nodes(carol).find((n) => n.kind === 'exclusion'), { decision: { kind: 'no' }, reason: 'excluded: `document:q3#banned` holds' }, 'exclusion hit');
  t.ok(nodes(carol).some((n) => n.label === 'document:q3#banned@user:carol' && n.decision.kind === 'has'), 'with the relationship that excludes');

  const zed = await ask('q3', 'view', 'zed');
  t.match(nodes(zed).find((n) => n.label === 'document:q3#owner'), { reason: 'no relationship `document:q3#owner@user:zed`' }, 'a missing relationship');
  t.match(nodes(zed).find((n) => n.kind === 'union'), { reason: 'no branch holds' });
  t.ok(nodes(zed).some((n) => n.kind === 'arrow' && /no `parent` relationship/.test(n.reason)), 'an arrow that leads nowhere');

  const bob = await ask('q3', 'approve', 'bob');
  t.match(nodes(bob).find((n) => n.kind === 'intersection'), { decision: { kind: 'no' }, reason: '`document:q3#approver` does not hold' }, 'the intersection side that is false');

  const dan = await ask('q3', 'view', 'dan', { ip: '192.168.1.1' });
  const cav = nodes(dan).find((n) => n.caveat)!;
  t.match(cav, { decision: { kind: 'no' }, reason: 'caveat `on_network` is false', caveat: { name: 'on_network', values: { ip: '192.168.1.1', cidr: '10.0.0.0/8' }, decision: { kind: 'no' } } }, 'a false caveat with its values');

  const erin = await ask('q3', 'view', 'erin');
  t.match(nodes(erin).find((n) => n.kind === 'expired'), { label: 'document:q3#viewer@user:erin[expiration:2020-01-01T00:00:00Z]', reason: 'expired at 2020-01-01T00:00:00.000Z' }, 'an expired relationship');

  const all = await ask('q3', 'everyone_folder', 'dan', { ip: '10.0.0.1' });
  t.equal(all.decision.kind, 'has', '.all() over the one parent that grants');
});

t.test('a conditional check shows the caveats on the way and what they miss', async (t) => {
  const engine = new Engine();
  const r = await engine.explain(await snapshot(), { resource: { type: 'document', id: 'q3' }, permission: 'view', subject: subject('user', 'dan') });
  t.same(r.decision, { kind: 'conditional', missing: ['ip'] });
  const cav = nodes(r.explanation).find((n) => n.caveat)!;
  t.same(cav.caveat, { name: 'on_network', values: { cidr: '10.0.0.0/8' }, decision: { kind: 'conditional', missing: ['ip'] } });
  t.equal(explainPath(r.explanation), null);
});

t.test('cycles, subject sets and bounded fan-out', async (t) => {
  const engine = new Engine();
  // Groups nested in a ring; the subject is in none of them.
  const ring = await snapshot(['group:a#member@group:b#member', 'group:b#member@group:a#member', 'document:r#viewer@group:a#member']);
  const r = await engine.explain(ring, { resource: { type: 'document', id: 'r' }, permission: 'viewer', subject: subject('user', 'nobody') });
  t.equal(r.decision.kind, 'no');
  t.ok(nodes(r.explanation).some((n) => n.kind === 'cycle' && n.label === 'group:a#member'), 'the ring is cut where it closes');

  // The subject is itself a subject set.
  const set = await engine.explain(await snapshot(), { resource: { type: 'folder', id: 'root' }, permission: 'view', subject: subject('group', 'core', 'member') });
  t.equal(explainPath(set.explanation), 'folder:root#view <- viewer <- group:eng#member <- group:core#member');

  // A document shared with many groups, none holding the subject: the listing is bounded and counted.
  const many = Array.from({ length: 50 }, (_, i) => `document:wide#viewer@group:g${i}#member`);
  const wide = await engine.explain(await snapshot(many), { resource: { type: 'document', id: 'wide' }, permission: 'viewer', subject: subject('user', 'alice') });
  t.equal(wide.explanation.children.length, MAX_EXPLAINED_BRANCHES);
  t.equal(wide.explanation.omitted, 50 - MAX_EXPLAINED_BRANCHES);
});

t.test('the check cache does not hide the path', async (t) => {
  const engine = new Engine({ cacheBytes: 1 << 20 });
  const snap = { ...(await snapshot()), cacheKey: 'explain-test' };
  const q = { resource: { type: 'document', id: 'q3' }, permission: 'view', subject: subject('user', 'alice') };
  await engine.check(snap, q);
  t.equal((await engine.check(snap, q)).metadata.cachedDispatches, 1, 'the check is now answered from the cache');
  const r = await engine.explain(snap, q);
  t.ok(r.metadata.dispatches > 1, 'the explanation walked');
  t.match(explainPath(r.explanation), /<- user:alice$/);
});
