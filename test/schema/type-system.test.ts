import t from 'tap';
import { compileSchema } from '../../schema-dsl/index.js';
import { parseRelationship } from '../../src/model/relationship-syntax.js';
import { TypeSystem } from '../../src/schema/type-system.js';

const schema = new TypeSystem(
  compileSchema(`use expiration
caveat on_day(day string) { day == 'tuesday' }
definition user {}
definition group { relation member: user | group#member }
definition doc {
  relation viewer: user | user:* | group#member | user with on_day
  relation owner: user with expiration
  permission view = viewer + owner
}`),
);

t.test('accepts relationships that fit', async (t) => {
  for (const text of [
    'doc:a#viewer@user:tom',
    'doc:a#viewer@user:*',
    'doc:a#viewer@group:eng#member',
    'doc:a#viewer@user:tom[on_day]',
    'doc:a#viewer@user:tom[on_day:{"day":"monday"}]',
    'doc:a#owner@user:tom[expiration:2030-01-01T00:00:00Z]',
    'group:a#member@group:b#member',
  ]) {
    t.doesNotThrow(() => schema.validateRelationship(parseRelationship(text)), text);
  }
});

t.test('rejects relationships that do not fit, naming them', async (t) => {
  const bad: [string, RegExp][] = [
    ['folder:a#viewer@user:tom', /unknown resource type `folder` in `folder:a#viewer@user:tom`/],
    ['doc:a#reader@user:tom', /unknown relation `reader` on type `doc`/],
    ['doc:a#view@user:tom', /`doc#view` is a permission/],
    ['doc:a#viewer@robot:r2', /unknown subject type `robot`/],
    ['doc:a#viewer@group:eng#owner', /unknown relation `owner` on subject type `group`/],
    ['doc:a#viewer@doc:b', /subjects `doc` are not allowed by `doc#viewer: user \| user:\* \| group#member \| user with on_day`/],
    ['doc:a#viewer@group:eng', /subjects `group` are not allowed/],
    ['doc:a#owner@user:*', /subjects `user:\*` are not allowed by `doc#owner/],
    ['doc:a#viewer@user:tom[other]', /unknown caveat `other`/],
    ['doc:a#viewer@user:*[on_day]', /`user:\*` with caveat `on_day` and no expiration is not allowed/],
    ['doc:a#viewer@user:tom[expiration:2030-01-01T00:00:00Z]', /`user` with no caveat and an expiration is not allowed/],
    ['doc:a#owner@user:tom', /`user` with no caveat and no expiration is not allowed by `doc#owner: user with expiration`/],
  ];
  for (const [text, message] of bad) {
    t.throws(() => schema.validateRelationship(parseRelationship(text), 'updates[3]'), { code: 'FAILED_PRECONDITION', field: 'updates[3]', message }, text);
  }
});
