import t from 'tap';
import { WardenError } from '../../src/errors/error-code.js';
import { formatRelationship, parseRelationship } from '../../src/model/relationship-syntax.js';

t.test('parses and prints every form of the syntax', async (t) => {
  const cases: [string, object][] = [
    ['document:readme#viewer@user:alice', { resource: { type: 'document', id: 'readme' }, relation: 'viewer', subject: { type: 'user', id: 'alice', relation: '...' } }],
    ['document:readme#viewer@group:eng#member', { subject: { type: 'group', id: 'eng', relation: 'member' } }],
    ['document:readme#viewer@user:*', { subject: { type: 'user', id: '*', relation: '...' } }],
    ['document:firstdoc#viewer@user:tom[some_caveat:{"somecondition":42}]', { caveat: { name: 'some_caveat', context: { somecondition: 42 } } }],
    ['document:firstdoc#viewer@user:tom[some_caveat]', { caveat: { name: 'some_caveat', context: null } }],
    ['document:firstdoc#viewer@user:tom[expiration:2323-12-01T00:00:00Z]', { expiresAt: new Date('2323-12-01T00:00:00Z') }],
    [
      'document:d#viewer@user:tom[cav:{"list":[1,2],"s":"a]b"}][expiration:2300-12-01T00:00:00Z]',
      { caveat: { name: 'cav', context: { list: [1, 2], s: 'a]b' } }, expiresAt: new Date('2300-12-01T00:00:00Z') },
    ],
    ['org/team/doc:a/b=c+d|e-f_g#viewer@org/team/user:x', { resource: { type: 'org/team/doc', id: 'a/b=c+d|e-f_g' } }],
  ];
  for (const [text, want] of cases) {
    const r = parseRelationship(text);
    t.match(r, want, text);
    t.same(parseRelationship(formatRelationship(r)), r, `${text} prints back`);
  }
  t.equal(formatRelationship(parseRelationship('document:readme#viewer@user:alice#...')), 'document:readme#viewer@user:alice');
});

t.test('rejects malformed relationships naming the text', async (t) => {
  const bad: [string, RegExp][] = [
    ['document:readme#viewer', /expected `resource#relation@subject`/],
    ['document:readme@user:alice', /expected `#relation` before `@`/],
    ['document#viewer@user:alice', /expected `type:id`/],
    ['Document:readme#viewer@user:alice', /invalid object type `Document`/],
    ['document:read me#viewer@user:alice', /invalid object id `read me`/],
    ['document:readme#Viewer@user:alice', /invalid relation `Viewer`/],
    ['document:readme#viewer@user:*#member', /a wildcard subject cannot have a relation/],
    ['document:readme#viewer@user:alice[cav:{bad json}]', /not valid JSON/],
    ['document:readme#viewer@user:alice[cav:[1]]', /must be a JSON object/],
    ['document:readme#viewer@user:alice[expiration:tomorrow]', /invalid RFC 3339 expiration/],
    ['document:readme#viewer@user:alice[cav][dee]', /only one caveat/],
    ['document:readme#viewer@user:alice[cav', /unterminated/],
    ['document:readme#viewer@user:alice junk', /invalid object id/],
    [`document:${'x'.repeat(1025)}#viewer@user:alice`, /invalid object id/],
  ];
  for (const [text, message] of bad) {
    t.throws(() => parseRelationship(text, 'relationships[0]'), { name: 'WardenError', code: 'INVALID_ARGUMENT', message }, text);
    try {
      parseRelationship(text, 'relationships[0]');
    } catch (e) {
      t.equal((e as WardenError).field, 'relationships[0]');
    }
  }
});
