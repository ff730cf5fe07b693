import { status } from '@grpc/grpc-js';
import t from 'tap';
import { openDatastore } from '../../src/store/open-datastore.js';
import type { Datastore } from '../../src/store/datastore.js';
import { insecureAuthenticate, startServer } from '../../src/server/server.js';
import { apiClient, obj, relMsg, subj } from '../helpers/api-client.js';
import { freshDatabase } from '../helpers/postgres.js';

const SCHEMA = `caveat on_day(day string) { day == 'tue' }
definition user {}
definition group { relation member: user | group#member }
definition doc {
  relation viewer: user | user:* | group#member | user with on_day
  relation banned: user
  relation editor: user
  permission edit = editor
  permission view = viewer + edit - banned
}`;

for (const [name, open] of [
  ['PostgreSQL', async (tt: any) => openDatastore(await freshDatabase(tt))],
  ['PGlite', async () => openDatastore('pglite:memory://')],
] as [string, (t: any) => Promise<Datastore>][]) {
  t.test(`the API end to end on ${name}`, async (t) => {
    const ds = await open(t);
    await ds.migrate();
    const errors: unknown[] = [];
    const server = await startServer({ datastore: ds, authenticate: insecureAuthenticate(), quantizationMs: 60_000, log: (e) => errors.push(e) }, '127.0.0.1:0');
    const api = apiClient(`127.0.0.1:${server.port}`);
    t.teardown(async () => {
      api.close();
      await server.shutdown(1000);
      await ds.close();
    });

    await t.test('no schema yet is a clear FAILED_PRECONDITION', async (t) => {
      await t.rejects(api.permission.Check({ resource: obj('doc:a'), permission: 'view', subject: subj('user:tom') }), {
        code: status.FAILED_PRECONDITION,
        details: /no schema has been written/,
      });
    });

    const { written_at: schemaZ } = await api.schema.WriteSchema({ schema: SCHEMA });
    t.ok(schemaZ.token);

    await t.test('a write followed by a check at_least_as_fresh its zookie sees the write', async (t) => {
      const w = await api.relationship.Write({
        updates: [
          { operation: 'OPERATION_TOUCH', relationship: relMsg('doc:a#viewer@user:tom') },
          { operation: 'OPERATION_CREATE', relationship: relMsg('group:eng#member@user:ann') },
          { operation: 'OPERATION_TOUCH', relationship: relMsg('doc:a#viewer@group:eng#member') },
          { operation: 'OPERATION_TOUCH', relationship: { ...relMsg('doc:b#viewer@user:sam'), optional_caveat: { caveat_name: 'on_day', context: null } } },
        ],
        metadata: { fields: { by: { stringValue: 'test' } } },
      });
      const fresh = { at_least_as_fresh: w.written_at };
      for (const [who, doc, want] of [
        ['user:tom', 'doc:a', 'PERMISSIONSHIP_HAS_PERMISSION'],
        ['user:ann', 'doc:a', 'PERMISSIONSHIP_HAS_PERMISSION'],
        ['user:bob', 'doc:a', 'PERMISSIONSHIP_NO_PERMISSION'],
        ['user:sam', 'doc:b', 'PERMISSIONSHIP_CONDITIONAL_PERMISSION'],
      ] as const) {
        const r = await api.permission.Check({ consistency: fresh, resource: obj(doc), permission: 'view', subject: subj(who) });
        t.equal(r.permissionship, want, `${who} on ${doc}`);
        t.ok(r.checked_at.token);
      }
      const cond = await api.permission.Check({ consistency: fresh, resource: obj('doc:b'), permission: 'view', subject: subj('user:sam') });
      t.same(cond.missing_context_params, ['day']);
      const decided = await api.permission.Check({
        consistency: fresh,
        resource: obj('doc:b'),
        permission: 'view',
        subject: subj('user:sam'),
        context: { fields: { day: { stringValue: 'tue' } } },
      });
      t.equal(decided.permissionship, 'PERMISSIONSHIP_HAS_PERMISSION');
      const contextual = await api.permission.Check({
        consistency: fresh,
        resource: obj('doc:a'),
        permission: 'view',
        subject: subj('user:tom'),
        contextual_relationships: [relMsg('doc:a#banned@user:tom')],
      });
      t.equal(contextual.permissionship, 'PERMISSIONSHIP_NO_PERMISSION', 'contextual relationships count');
      await t.rejects(api.relationship.Write({ updates: [{ operation: 'OPERATION_CREATE', relationship: relMsg('group:eng#member@user:ann') }] }), {
        code: status.ALREADY_EXISTS,
      });
    });

    await t.test('BatchCheck answers each item, computing identical ones once', async (t) => {
      const item = { resource: obj('doc:a'), permission: 'view', subject: subj('user:tom') };
      const r = await api.permission.BatchCheck({
        consistency: { fully_consistent: true },
        items: [item, item, { ...item, permission: 'nope' }, { ...item, subject: subj('user:bob') }],
      });
      t.same(
        r.results.map((x: any) => x.result === 'item' ? x.item.permissionship : `${x.error.code} ${x.error.message}`),
        [
          'PERMISSIONSHIP_HAS_PERMISSION',
          'PERMISSIONSHIP_HAS_PERMISSION',
          `${status.FAILED_PRECONDITION} permission: \`nope\` is not a relation or permission of \`doc\``,
          'PERMISSIONSHIP_NO_PERMISSION',
        ],
      );
      await t.rejects(api.permission.BatchCheck({ items: Array.from({ length: 10_001 }, () => item) }), { code: status.INVALID_ARGUMENT, details: /items: 10001 items/ });
    });

    await t.test('Expand, ListPermissions', async (t) => {
      const e = await api.permission.Expand({ consistency: { fully_consistent: true }, resource: obj('doc:a'), permission: 'view' });
      t.match(JSON.stringify(e.tree), /"object_id":"ann"/, 'the tree reaches into the group');
      const p = await api.permission.ListPermissions({ consistency: { fully_consistent: true }, resource: obj('doc:a'), subject: subj('user:tom') });
      t.same(
        p.permissions.map((x: any) => `${x.permission}=${x.permissionship}`),
        ['viewer=PERMISSIONSHIP_HAS_PERMISSION', 'banned=PERMISSIONSHIP_NO_PERMISSION', 'editor=PERMISSIONSHIP_NO_PERMISSION', 'edit=PERMISSIONSHIP_NO_PERMISSION', 'view=PERMISSIONSHIP_HAS_PERMISSION'],
      );
    });

    await t.test('Check with explain: the path for a grant, the failed branches for a denial', async (t) => {
      const fresh = { fully_consistent: true };
      const ask = (who: string, explain: boolean) => api.permission.Check({ consistency: fresh, resource: obj('doc:a'), permission: 'view', subject: subj(who), explain });
      t.equal((await ask('user:ann', false)).explanation, null, 'no explanation unless asked');
      const ann = await ask('user:ann', true);
      t.equal(ann.permissionship, 'PERMISSIONSHIP_HAS_PERMISSION');
      t.equal(ann.explanation.path, 'doc:a#view <- viewer <- group:eng#member <- user:ann');
      t.match(ann.explanation.tree, { kind: 'KIND_PERMISSION', label: 'doc:a#view', permissionship: 'PERMISSIONSHIP_HAS_PERMISSION' });
      const bob = await ask('user:bob', true);
      t.equal(bob.permissionship, 'PERMISSIONSHIP_NO_PERMISSION');
      t.equal(bob.explanation.path, '');
      const texts: string[] = [];
      const walk = (n: any): void => {
        texts.push(`${n.kind} ${n.label}: ${n.reason}`);
        n.children.forEach(walk);
      };
      walk(bob.explanation.tree);
      t.ok(texts.includes('KIND_RELATION doc:a#editor: no relationship `doc:a#editor@user:bob`'), texts.join('\n'));
      const sam = await api.permission.Check({ consistency: fresh, resource: obj('doc:b'), permission: 'view', subject: subj('user:sam'), explain: true });
      const caveated: any[] = [];
      const find = (n: any): void => {
        if (n.caveat) caveated.push(n.caveat);
        n.children.forEach(find);
      };
      find(sam.explanation.tree);
      t.match(caveated, [{ name: 'on_day', permissionship: 'PERMISSIONSHIP_CONDITIONAL_PERMISSION', missing_context_params: ['day'] }], 'the caveat and what it misses');
    });

    await t.test('SimulateSchema: the answers a proposed schema or relationship change would flip, nothing written', async (t) => {
      const fresh = { fully_consistent: true };
      // doc:a's viewers are tom, the group eng (ann) and, through nobody yet, banned users.
      const withoutGroups = SCHEMA.replace('permission view = viewer + edit - banned', 'permission view = viewer - banned');
      const r = await api.schema.SimulateSchema({ consistency: fresh, schema: withoutGroups, sample: 10 });
      t.same(r.permissions.map((p: any) => `${p.resource_type}#${p.permission}`), ['doc#view'], 'only what the change reaches is evaluated');
      const before = await api.permission.Check({ consistency: fresh, resource: obj('doc:a'), permission: 'view', subject: subj('user:tom') });
      t.equal(before.permissionship, 'PERMISSIONSHIP_HAS_PERMISSION');
      const gone = await api.schema.SimulateSchema({
        consistency: fresh,
        changes: [{ operation: 'OPERATION_DELETE', relationship: relMsg('group:eng#member@user:ann') }],
        resource_type: 'doc',
        permission: 'view',
      });
      t.match(gone.permissions, [{ resource_type: 'doc', permission: 'view', lost: { answers: '1', resources: '1', subjects: '1' } }]);
      t.match(gone.flips, [{ kind: 'KIND_LOST', resource: { object_type: 'doc', object_id: 'a' }, permission: 'view', subject: { object: { object_type: 'user', object_id: 'ann' } }, before: 'PERMISSIONSHIP_HAS_PERMISSION', after: 'PERMISSIONSHIP_NO_PERMISSION' }]);
      const still = await api.permission.Check({ consistency: fresh, resource: obj('doc:a'), permission: 'view', subject: subj('user:ann') });
      t.equal(still.permissionship, 'PERMISSIONSHIP_HAS_PERMISSION', 'nothing was written');
      await t.rejects(api.schema.SimulateSchema({ consistency: fresh, schema: SCHEMA.replace(' | group#member | user with on_day', ' | user with on_day') }), {
        code: status.FAILED_PRECONDITION,
        details: /would orphan stored relationships: allowed subject type `group#member` of `doc#viewer` is removed/,
      });
      await t.rejects(api.schema.SimulateSchema({ consistency: fresh }), { code: status.INVALID_ARGUMENT, details: /schema/ }, 'nothing proposed');
      await t.rejects(api.schema.SimulateSchema({ consistency: fresh, changes: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:a#nope@user:tom') }] }), {
        code: status.FAILED_PRECONDITION,
        details: /changes\[0\]\.relationship/,
      });
    });

    await t.test('ListObjects and ListSubjects stream with a limit and a cursor that resumes without loss or repeats', async (t) => {
      const updates = Array.from({ length: 25 }, (_, i) => ({ operation: 'OPERATION_TOUCH', relationship: relMsg(`doc:many${String(i).padStart(2, '0')}#viewer@user:lou`) }));
      await api.relationship.Write({ updates });
      const seen: string[] = [];
      let cursor = '';
      let calls = 0;
      do {
        const page = await api.permission.ListObjects({ consistency: { fully_consistent: true }, resource_type: 'doc', permission: 'view', subject: subj('user:lou'), limit: 10, cursor });
        seen.push(...page.map((r: any) => r.object_id));
        cursor = page.at(-1)?.cursor ?? '';
        calls++;
      } while (cursor);
      t.equal(calls, 3);
      t.same(seen, updates.map((u) => u.relationship.resource.object_id));
      await api.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:w#viewer@user:*') }, { operation: 'OPERATION_TOUCH', relationship: relMsg('doc:w#banned@user:eve') }] });
      const subjects = await api.permission.ListSubjects({ consistency: { fully_consistent: true }, resource: obj('doc:w'), permission: 'view', subject_type: 'user' });
      t.same(subjects.map((s: any) => [s.subject_id, s.excluded_subject_ids]), [['*', ['eve']]]);
      await t.rejects(api.permission.ListObjects({ resource_type: 'doc', permission: 'view', subject: subj('user:lou'), cursor: 'bogus' }), { code: status.INVALID_ARGUMENT, details: /cursor/ });
    });

    await t.test('Read streams by filter with a cursor; Delete by filter', async (t) => {
      const all: string[] = [];
      let cursor = '';
      do {
        const page = await api.relationship.Read({ consistency: { fully_consistent: true }, filter: { resource_type: 'doc', optional_relation: 'viewer' }, limit: 7, cursor });
        all.push(...page.map((r: any) => `${r.relationship.resource.object_id}@${r.relationship.subject.object.object_id}`));
        cursor = page.at(-1)?.cursor ?? '';
      } while (cursor);
      t.equal(all.length, new Set(all).size, 'no repeats');
      t.ok(all.includes('many24@lou') && all.includes('a@tom'), 'no loss');
      const d = await api.relationship.Delete({ filter: { resource_type: 'doc', optional_relation: 'viewer', optional_subject_filter: { subject_type: 'user', optional_subject_id: 'lou' } }, limit: 10, allow_partial: true });
      t.match(d, { deleted_count: '10', more_remain: true });
      await t.rejects(api.relationship.Delete({ filter: { resource_type: 'doc', optional_subject_filter: { subject_type: 'user', optional_subject_id: 'lou' } }, limit: 5 }), {
        code: status.FAILED_PRECONDITION,
      });
    });

    await t.test('schemas: read, validate, and no write that would orphan relationships', async (t) => {
      const r = await api.schema.ReadSchema({ consistency: { fully_consistent: true } });
      t.match(r.schema, /definition doc/);
      t.ok(r.version);
      const v = await api.schema.ValidateSchema({ schema: 'definition user {}\ndefinition doc { relation viewer: usr }' });
      t.same(v.diagnostics, [{ message: 'unknown type `usr` in relation `doc#viewer`', line: 2, column: 35 }]);
      t.equal(v.valid, false);
      await t.rejects(api.schema.WriteSchema({ schema: SCHEMA.replace('relation banned: user', '') .replace(' - banned', '') }), {
        code: status.FAILED_PRECONDITION,
        details: /relation `doc#banned` is removed but 1 relationship use it/,
      });
      await t.rejects(api.schema.WriteSchema({ schema: SCHEMA.replace('| group#member |', '|') }), {
        code: status.FAILED_PRECONDITION,
        details: /allowed subject type `group#member` of `doc#viewer` is removed but 1 relationship use it/,
      });
      await t.rejects(api.schema.WriteSchema({ schema: 'definition {' }), { code: status.INVALID_ARGUMENT, details: /schema: 1:12/ });
    });

    await t.test('every malformed field gets INVALID_ARGUMENT naming it, and writes nothing', async (t) => {
      const head = await api.relationship.Read({ consistency: { fully_consistent: true }, filter: { resource_type: 'doc' } });
      const bad: [string, () => Promise<unknown>, RegExp][] = [
        ['resource', () => api.permission.Check({ permission: 'view', subject: subj('user:tom') }), /^resource: is required/],
        ['resource.object_type', () => api.permission.Check({ resource: obj('Doc:a'), permission: 'view', subject: subj('user:tom') }), /^resource.object_type/],
        ['resource.object_id', () => api.permission.Check({ resource: obj('doc:a b'), permission: 'view', subject: subj('user:tom') }), /^resource.object_id/],
        ['permission', () => api.permission.Check({ resource: obj('doc:a'), permission: '', subject: subj('user:tom') }), /^permission: is required/],
        ['subject.object', () => api.permission.Check({ resource: obj('doc:a'), permission: 'view', subject: { optional_relation: '' } }), /^subject.object/],
        ['subject.optional_relation', () => api.permission.Check({ resource: obj('doc:a'), permission: 'view', subject: subj('user:tom#X') }), /^subject.optional_relation/],
        ['consistency.zookie', () => api.permission.Check({ consistency: { at_least_as_fresh: { token: 'nope!' } }, resource: obj('doc:a'), permission: 'view', subject: subj('user:tom') }), /^consistency.zookie/],
        ['updates', () => api.relationship.Write({ updates: [] }), /^updates: at least one/],
        ['updates[1].operation', () => api.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:z#viewer@user:tom') }, { relationship: relMsg('doc:z#viewer@user:tim') }] }), /^updates\[1\].operation/],
        ['updates[0].relationship.relation', () => api.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:z#Viewer@user:tom') }] }), /^updates\[0\].relationship.relation/],
        ['updates[0].relationship', () => api.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:z#viewer@doc:y') }] }), /^updates\[0\].relationship: subjects `doc` are not allowed/],
        ['preconditions[0].filter.resource_type', () => api.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:z#viewer@user:tom') }], preconditions: [{ operation: 'OPERATION_MUST_MATCH', filter: { resource_type: '' } }] }), /^preconditions\[0\].filter.resource_type/],
        ['filter.resource_type', () => api.relationship.Delete({ filter: { resource_type: '' } }), /^filter.resource_type/],
        ['limit', () => api.relationship.Read({ filter: { resource_type: 'doc' }, limit: 20_000 }), /^limit/],
        ['resource_type', () => api.permission.ListObjects({ resource_type: 'Doc', permission: 'view', subject: subj('user:tom') }), /^resource_type/],
        ['subject_type', () => api.permission.ListSubjects({ resource: obj('doc:a'), permission: 'view', subject_type: '' }), /^subject_type/],
        ['items[1].subject', () => api.permission.BatchCheck({ consistency: { fully_consistent: true }, items: [{ resource: obj('doc:a'), permission: 'view', subject: subj('user:tom') }, { resource: obj('doc:a'), permission: 'view' }] }).then((r: any) => {
          const e = r.results[1].error;
          throw Object.assign(new Error(e.message), { code: e.code, details: e.message, metadata: { get: () => ['items[1].subject'] } });
        }), /^items\[1\].subject/],
        ['permission', () => api.permission.Expand({ resource: obj('doc:a'), permission: 'VIEW' }), /^permission/],
        ['schema', () => api.schema.WriteSchema({ schema: '' }), /^schema: is empty/],
        ['cursor', () => api.relationship.Read({ filter: { resource_type: 'doc' }, cursor: '!!' }), /^cursor/],
        ['contextual_relationships[0].subject', () => api.permission.Check({ resource: obj('doc:a'), permission: 'view', subject: subj('user:tom'), contextual_relationships: [{ ...relMsg('doc:a#viewer@user:x'), subject: null }] }), /^contextual_relationships\[0\].subject/],
      ];
      for (const [field, call, details] of bad) {
        const e = await call().then(
          () => null,
          (err: any) => err,
        );
        t.ok(e, `${field} fails`);
        if (!e) continue;
        t.equal(e.code === status.INVALID_ARGUMENT || e.code === status.FAILED_PRECONDITION, true, `${field}: ${e.details}`);
        t.match(e.details, details, field);
        t.equal(e.metadata.get('warden-field')[0], field.replace(/\.zookie$/, '.zookie'), `${field} is named in metadata`);
      }
      const after = await api.relationship.Read({ consistency: { fully_consistent: true }, filter: { resource_type: 'doc' } });
      t.equal(after.length, head.length, 'nothing was written');
    });

    await t.test('deadlines are honoured', async (t) => {
      await t.rejects(api.permission.Check({ resource: obj('doc:a'), permission: 'view', subject: subj('user:tom') }, { deadline: Date.now() - 1 }), {
        code: status.DEADLINE_EXCEEDED,
      });
    });

    t.same(errors, [], 'no internal errors');
  });
}
