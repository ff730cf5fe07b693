import t from 'tap';
import { Engine } from '../../src/engine/engine.js';
import { parseRelationship } from '../../src/model/relationship-syntax.js';
import { subject } from '../../src/model/relationship.js';
import { world } from '../helpers/world.js';

type Row = [type: string, expression: string, context: Record<string, unknown>, expected: 'has' | 'no'];

/** Every parameter type: an expression over it, a context value, and the decision. */
const TYPES: Row[] = [
  ['int', 'p == 42', { p: 42 }, 'has'],
  ['int', 'p == 42', { p: '42' }, 'has'],
  ['int', 'p > 9007199254740993', { p: '9007199254740995' }, 'has'],
  ['int', 'p < 0', { p: 3 }, 'no'],
  ['uint', 'p == 7u', { p: 7 }, 'has'],
  ['uint', 'p > 5u', { p: 1 }, 'no'],
  ['double', 'p > 1.5', { p: 2.25 }, 'has'],
  ['double', 'p > 1.5', { p: 1 }, 'no'],
  ['bool', 'p', { p: true }, 'has'],
  ['bool', '!p', { p: true }, 'no'],
  ['string', "p.startsWith('ab') && p.contains('c') && p.matches('^a.c$')", { p: 'abc' }, 'has'],
  ['string', "p == 'x'", { p: 'y' }, 'no'],
  ['bytes', "p == b'hi'", { p: Buffer.from('hi').toString('base64') }, 'has'],
  ['bytes', 'size(p) > 5', { p: 'aGk=' }, 'no'],
  ['duration', "p > duration('1h')", { p: '1h30m' }, 'has'],
  ['duration', "p < duration('1s')", { p: '2.5s' }, 'no'],
  ['timestamp', "p < timestamp('2030-01-01T00:00:00Z')", { p: '2029-06-01T12:00:00Z' }, 'has'],
  ['timestamp', 'p.getFullYear() == 2031', { p: '2029-06-01T12:00:00Z' }, 'no'],
  ['list<int>', 'p.all(i, i >= 42) && 43 in p', { p: [42, 43] }, 'has'],
  ['list<string>', "p.exists(s, s == 'z')", { p: ['a', 'b'] }, 'no'],
  ['map<int>', "p['a'] == 1 && 'b' in p", { p: { a: 1, b: 2 } }, 'has'],
  ['map<list<string>>', "p['team'].exists(x, x == 'red')", { p: { team: ['blue'] } }, 'no'],
  ['ipaddress', "p.in_cidr('10.0.0.0/8')", { p: '10.1.2.3' }, 'has'],
  ['ipaddress', "p.in_cidr('10.0.0.0/8')", { p: '192.168.0.1' }, 'no'],
  ['ipaddress', "p.in_cidr('2001:db8::/32')", { p: '2001:db8::1' }, 'has'],
  ['any', "p == 'anything'", { p: 'anything' }, 'has'],
  ['any', 'p == 3.0', { p: 4 }, 'no'],
];

function schemaFor(type: string, expression: string): string {
  return `caveat cond(p ${type}) { ${expression} }
definition user {}
definition doc { relation viewer: user with cond  permission view = viewer }`;
}

t.test('every caveat parameter type is evaluated', async (t) => {
  const engine = new Engine();
  for (const [type, expression, context, expected] of TYPES) {
    const w = await world(schemaFor(type, expression), ['doc:d#viewer@user:u[cond]']);
    const q = { resource: { type: 'doc', id: 'd' }, permission: 'view', subject: subject('user', 'u') };
    const label = `${type}: ${expression} with ${JSON.stringify(context)}`;
    t.equal((await engine.check(w, { ...q, context })).decision.kind, expected, label);
    t.same((await engine.check(w, q)).decision, { kind: 'conditional', missing: ['p'] }, `${type}: missing p is CONDITIONAL`);
    // The same value written on the relationship decides it without request context.
    const written = await world(schemaFor(type, expression), [`doc:d#viewer@user:u[cond:${JSON.stringify(context)}]`]);
    t.equal((await engine.check(written, q)).decision.kind, expected, `${label}, written on the relationship`);
  }
});

t.test('a value that does not fit its type is an error naming the caveat and parameter', async (t) => {
  const engine = new Engine();
  const bad: [string, string, unknown, RegExp][] = [
    ['int', 'p == 1', 1.5, /expected an integer/],
    ['int', 'p == 1', '99999999999999999999', /out of the int64 range/],
    ['uint', 'p == 1u', -1, /expected an unsigned integer/],
    ['bool', 'p', 'yes', /expected a bool/],
    ['bytes', "p == b''", 'not base64!', /expected base64/],
    ['duration', "p > duration('1s')", '3 days', /expected a duration/],
    ['timestamp', "p > timestamp('2020-01-01T00:00:00Z')", 'yesterday', /expected an RFC 3339 timestamp/],
    ['ipaddress', "p.in_cidr('10.0.0.0/8')", '10.0.0.300', /expected an IPv4 or IPv6 address/],
    ['list<int>', 'size(p) > 0', [1, 'two'], /element 1: expected an integer/],
    ['map<int>', 'size(p) > 0', { a: 'one' }, /key "a": expected an integer/],
  ];
  for (const [type, expression, value, message] of bad) {
    const w = await world(schemaFor(type, expression), ['doc:d#viewer@user:u[cond]']);
    await t.rejects(
      engine.check(w, { resource: { type: 'doc', id: 'd' }, permission: 'view', subject: subject('user', 'u'), context: { p: value } }),
      { code: 'INVALID_ARGUMENT', field: 'context.p', message: new RegExp(`caveat \`cond\` parameter \`p\` .*${message.source}`) },
      `${type} given ${JSON.stringify(value)}`,
    );
    // Written on a relationship, the same value is refused when the relationship is validated.
    await t.rejects(world(schemaFor(type, expression), [`doc:d#viewer@user:u[cond:${JSON.stringify({ p: value })}]`]), {
      code: 'INVALID_ARGUMENT',
      message,
    });
  }
  const unknownParam = world(schemaFor('int', 'p == 1'), ['doc:d#viewer@user:u[cond:{"q":1}]']);
  await t.rejects(unknownParam, { code: 'INVALID_ARGUMENT', field: 'relationship.caveat.context.q', message: /has no parameter `q`/ });
  const badCidr = await world(schemaFor('ipaddress', "p.in_cidr('10.0.0.0/99')"), ['doc:d#viewer@user:u[cond]']);
  await t.rejects(
    engine.check(badCidr, { resource: { type: 'doc', id: 'd' }, permission: 'view', subject: subject('user', 'u'), context: { p: '10.0.0.1' } }),
    { code: 'INVALID_ARGUMENT', message: /caveat `cond`: evaluation failed: .*invalid CIDR/ },
  );
});

t.test('relationship context wins over request context; request context fills the rest', async (t) => {
  const w = await world(
    `caveat both(a int, b int) { a == 1 && b == 2 }
     definition user {}
     definition doc { relation viewer: user with both  permission view = viewer }`,
    ['doc:d#viewer@user:u[both:{"a":1}]'],
  );
  const q = { resource: { type: 'doc', id: 'd' }, permission: 'view', subject: subject('user', 'u') };
  const e = new Engine();
  t.equal((await e.check(w, { ...q, context: { a: 5, b: 2 } })).decision.kind, 'has');
  t.same((await e.check(w, { ...q, context: { a: 5 } })).decision, { kind: 'conditional', missing: ['b'] });
  t.equal((await e.check(w, { ...q, context: { b: 3 } })).decision.kind, 'no');
});

t.test('an expression decided without a missing parameter is decided', async (t) => {
  const w = await world(
    `caveat either(a bool, b bool) { a || b }
     definition user {}
     definition doc { relation viewer: user with either  permission view = viewer }`,
    ['doc:d#viewer@user:u[either]'],
  );
  const q = { resource: { type: 'doc', id: 'd' }, permission: 'view', subject: subject('user', 'u') };
  const e = new Engine();
  t.equal((await e.check(w, { ...q, context: { a: true } })).decision.kind, 'has');
  t.same((await e.check(w, { ...q, context: { a: false } })).decision, { kind: 'conditional', missing: ['b'] });
});

t.test('limits: request context size, evaluation cost, contextual relationship count', async (t) => {
  const w = await world(schemaFor('list<int>', 'p.all(x, p.all(y, x <= y || y <= x))'), ['doc:d#viewer@user:u[cond]']);
  const q = { resource: { type: 'doc', id: 'd' }, permission: 'view', subject: subject('user', 'u') };
  const e = new Engine();
  await t.rejects(e.check(w, { ...q, context: { p: [1], pad: 'x'.repeat(5000) } }), { code: 'INVALID_ARGUMENT', field: 'context', message: /more than the limit of 4096/ });
  t.equal((await e.check(w, { ...q, context: { p: [1, 2, 3] } })).decision.kind, 'has');
  const big = Array.from({ length: 1200 }, (_, i) => i);
  await t.rejects(e.check(w, { ...q, context: { p: big } }), { code: 'INVALID_ARGUMENT', message: /context: is \d+ bytes/ });
  // 500 elements fit in 4 KiB, but a nested loop over them costs more than the default bound.
  await t.rejects(e.check(w, { ...q, context: { p: big.slice(0, 500) } }), {
    code: 'RESOURCE_EXHAUSTED',
    message: /caveat `cond`: evaluating it with this context would cost about \d+, more than the limit of 1000000/,
  });
  const cheap = new Engine({ limits: { maxCaveatCost: 50 } });
  await t.rejects(cheap.check(w, { ...q, context: { p: big.slice(0, 10) } }), { code: 'RESOURCE_EXHAUSTED' });
  const many = Array.from({ length: 101 }, (_, i) => parseRelationship(`doc:d${i}#viewer@user:u[cond]`));
  await t.rejects(e.check(w, { ...q, contextualRelationships: many }), { code: 'INVALID_ARGUMENT', field: 'contextual_relationships', message: /101 given, at most 100/ });
});

t.test('contextual relationships count for one request only, validated like written ones', async (t) => {
  const w = await world(
    `definition user {}
     definition group { relation member: user }
     definition doc { relation viewer: user | group#member  relation banned: user  permission view = viewer - banned }`,
    ['doc:d#viewer@group:g#member', 'doc:e#viewer@user:u'],
  );
  const e = new Engine();
  const u = subject('user', 'u');
  const d = { type: 'doc', id: 'd' };
  const extra = { contextualRelationships: [parseRelationship('group:g#member@user:u')] };
  t.equal((await e.check(w, { resource: d, permission: 'view', subject: u, ...extra })).decision.kind, 'has');
  t.equal((await e.check(w, { resource: d, permission: 'view', subject: u })).decision.kind, 'no', 'gone for the next request');
  t.same((await e.lookupResources(w, { resourceType: 'doc', permission: 'view', subject: u, ...extra })).map((r) => r.id), ['d', 'e']);
  t.same((await e.lookupSubjects(w, { resource: d, permission: 'view', subjectType: 'user', ...extra })).subjects.map((s) => s.id), ['u']);
  const tree = await e.expand(w, { resource: d, permission: 'view', ...extra });
  t.match(JSON.stringify(tree), /"id":"u"/);
  const banned = { contextualRelationships: [parseRelationship('doc:e#banned@user:u')] };
  t.equal((await e.check(w, { resource: { type: 'doc', id: 'e' }, permission: 'view', subject: u, ...banned })).decision.kind, 'no');
  await t.rejects(e.check(w, { resource: d, permission: 'view', subject: u, contextualRelationships: [parseRelationship('doc:d#view@user:u')] }), {
    code: 'FAILED_PRECONDITION',
    field: 'contextual_relationships[0]',
    message: /is a permission/,
  });
  const twice = [parseRelationship('doc:d#banned@user:u'), parseRelationship('doc:d#banned@user:u')];
  await t.rejects(e.check(w, { resource: d, permission: 'view', subject: u, contextualRelationships: twice }), {
    code: 'INVALID_ARGUMENT',
    field: 'contextual_relationships[1]',
  });
});
