import t from 'tap';
import { Engine } from '../../src/engine/engine.js';
import { subject } from '../../src/model/relationship.js';
import { world } from '../helpers/world.js';

/**
 * The three-valued logic of every operator, table-driven. Each side of an operator is made HAS
 * (a plain tuple), NO (no tuple) or CONDITIONAL (a tuple caveated with `flag`, whose parameter the
 * check does not give). Then the same checks with the parameter given decide every CONDITIONAL.
 */
const SCHEMA = `caveat flag(on bool) { on }
caveat lflag(on bool) { on }
caveat rflag(on2 bool) { on2 }
definition user {}
definition node {
  relation left: user | user with lflag
  permission self = left
}
definition res {
  relation left: user | user with lflag
  relation right: user | user with rflag
  relation link: node | node with flag
  permission union = left + right
  permission intersection = left & right
  permission exclusion = left - right
  permission arrow_any = link->self
  permission arrow_all = link.all(self)
  permission nested = (left - right) + (left & right)
}`;

type V = 'has' | 'no' | 'cond';
const VALUES: V[] = ['has', 'no', 'cond'];

/** Left sides are caveated with `lflag(on)`, right sides with `rflag(on2)`: independent conditions. */
const tuple = (resource: string, rel: string, v: V): string[] =>
  v === 'no' ? [] : [`${resource}#${rel}@user:u${v === 'cond' ? (rel === 'left' ? '[lflag]' : '[rflag]') : ''}`];

const expected: Record<string, (l: V, r: V) => V> = {
  union: (l, r) => (l === 'has' || r === 'has' ? 'has' : l === 'cond' || r === 'cond' ? 'cond' : 'no'),
  intersection: (l, r) => (l === 'no' || r === 'no' ? 'no' : l === 'has' && r === 'has' ? 'has' : 'cond'),
  exclusion: (l, r) => (l === 'no' || r === 'has' ? 'no' : l === 'has' && r === 'no' ? 'has' : 'cond'),
};
// (l - r) + (l & r) is l whatever r is: `not flag or flag` simplifies to TRUE.
expected['nested'] = (l) => l;

t.test('union, intersection, exclusion and their nesting', async (t) => {
  const rels: string[] = [];
  for (const l of VALUES) for (const r of VALUES) rels.push(...tuple(`res:${l}_${r}`, 'left', l), ...tuple(`res:${l}_${r}`, 'right', r));
  const w = await world(SCHEMA, rels);
  const engine = new Engine();
  for (const [perm, want] of Object.entries(expected)) {
    for (const l of VALUES) {
      for (const r of VALUES) {
        const q = { resource: { type: 'res', id: `${l}_${r}` }, permission: perm, subject: subject('user', 'u') };
        const got = (await engine.check(w, q)).decision;
        const w0 = want(l, r);
        t.equal(got.kind === 'conditional' ? 'cond' : got.kind, w0, `${perm}(${l}, ${r})`);
        if (got.kind === 'conditional') {
          const missing = [...(l === 'cond' ? ['on'] : []), ...(r === 'cond' ? ['on2'] : [])];
          t.ok(got.missing.length && got.missing.every((m) => missing.includes(m)), `${perm}(${l}, ${r}) lists missing parameters`, { got: got.missing });
        }
        // With the parameter given, every CONDITIONAL side becomes HAS (on=true) or NO (on=false).
        for (const on of [true, false]) {
          const decided = (v: V): V => (v === 'cond' ? (on ? 'has' : 'no') : v);
          const g = (await engine.check(w, { ...q, context: { on, on2: on } })).decision.kind;
          t.equal(g, want(decided(l), decided(r)), `${perm}(${l}, ${r}) with on=${on}`);
        }
      }
    }
  }
});

t.test('arrows: the tupleset tuple and the target each may be caveated', async (t) => {
  const rels: string[] = [];
  // res:<link>_<target>: one link to node:<link>_<target>, whose `left` is <target>.
  for (const link of VALUES) {
    for (const target of VALUES) {
      const id = `${link}_${target}`;
      if (link !== 'no') rels.push(`res:${id}#link@node:${id}${link === 'cond' ? '[flag]' : ''}`);
      rels.push(...tuple(`node:${id}`, 'left', target));
    }
  }
  // Two links for .all(): one HAS and one of each kind.
  for (const second of VALUES) {
    rels.push(`res:all_${second}#link@node:all_has`, `res:all_${second}#link@node:all_${second}_b`);
    rels.push(...tuple('node:all_has', 'left', 'has'), ...tuple(`node:all_${second}_b`, 'left', second));
  }
  const w = await world(SCHEMA, [...new Set(rels)]);
  const engine = new Engine();
  const and = expected['intersection']!;
  for (const link of VALUES) {
    for (const target of VALUES) {
      const q = { resource: { type: 'res', id: `${link}_${target}` }, subject: subject('user', 'u') };
      const any = (await engine.check(w, { ...q, permission: 'arrow_any' })).decision.kind;
      t.equal(any === 'conditional' ? 'cond' : any, and(link, target), `any(link ${link}, target ${target})`);
      const all = (await engine.check(w, { ...q, permission: 'arrow_all' })).decision.kind;
      // With one link, .all() is the target while the link holds: the link's condition and the target's.
      t.equal(all === 'conditional' ? 'cond' : all, and(link, target), `all(link ${link}, target ${target})`);
    }
  }
  for (const second of VALUES) {
    const q = { resource: { type: 'res', id: `all_${second}` }, permission: 'arrow_all', subject: subject('user', 'u') };
    const all = (await engine.check(w, q)).decision.kind;
    t.equal(all === 'conditional' ? 'cond' : all, second, `all(has, ${second})`);
  }
});

t.test('LookupResources and LookupSubjects report CONDITIONAL results with the missing parameters', async (t) => {
  const w = await world(SCHEMA, ['res:a#left@user:u[lflag]', 'res:b#left@user:u', 'res:c#left@user:v[lflag:{"on":false}]']);
  const engine = new Engine();
  const lr = await engine.lookupResources(w, { resourceType: 'res', permission: 'union', subject: subject('user', 'u') });
  t.same(lr, [
    { id: 'a', decision: { kind: 'conditional', missing: ['on'] } },
    { id: 'b', decision: { kind: 'has' } },
  ]);
  const decided = await engine.lookupResources(w, { resourceType: 'res', permission: 'union', subject: subject('user', 'u'), context: { on: false } });
  t.same(decided.map((r) => r.id), ['b']);
  const ls = await engine.lookupSubjects(w, { resource: { type: 'res', id: 'a' }, permission: 'union', subjectType: 'user' });
  t.same(ls.subjects, [{ id: 'u', decision: { kind: 'conditional', missing: ['on'] } }]);
  const none = await engine.lookupSubjects(w, { resource: { type: 'res', id: 'c' }, permission: 'union', subjectType: 'user', context: { on: true } });
  t.same(none.subjects, [], 'relationship context wins over request context');
});

t.test('a condition and its negation cancel', async (t) => {
  const w = await world(SCHEMA, ['res:x#left@user:u[lflag]', 'res:x#right@user:u[lflag]'.replace('lflag', 'rflag')]);
  const engine = new Engine();
  const same = await world(SCHEMA.replace('relation right: user | user with rflag', 'relation right: user | user with lflag'), [
    'res:x#left@user:u[lflag]',
    'res:x#right@user:u[lflag]',
  ]);
  const q = { resource: { type: 'res', id: 'x' }, subject: subject('user', 'u') };
  t.equal((await engine.check(same, { ...q, permission: 'exclusion' })).decision.kind, 'no', 'lflag - lflag is never');
  t.equal((await engine.check(same, { ...q, permission: 'nested' })).decision.kind, 'conditional', '(x - x) + (x & x) is x');
  t.equal((await engine.check(w, { ...q, permission: 'exclusion' })).decision.kind, 'conditional', 'lflag - rflag depends on both');
});
