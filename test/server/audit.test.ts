import t from 'tap';
import { createKey } from '../../src/store/access.js';
import { KEYED_DATASTORES, keyedServer } from '../helpers/key-server.js';
import { apiClient, relMsg, serviceCall } from '../helpers/api-client.js';

// The audit history through the real server: mixed writes by two keys, then queries by
// resource, subject, actor, time and revision, with paging; nothing missing, every actor right.

const SCHEMA = 'definition user {}\ndefinition group { relation member: user }\ndefinition doc { relation viewer: user | group#member  permission view = viewer }';

for (const [name, open] of KEYED_DATASTORES) {
  t.test(`audit history (${name})`, async (t) => {
    const { ds, address } = await keyedServer(t, open);
    await ds.access.createTenant('acme');
    const admin = await createKey(ds.access, 'acme', ['admin']);
    const alice = await createKey(ds.access, 'acme', ['write', 'schema', 'read']);
    const bob = await createKey(ds.access, 'acme', ['write', 'read']);
    const events = async (req: object = {}): Promise<any[]> => (await serviceCall(address, admin.token, 'AuditService', 'ListAuditEvents', req)).events;
    const started = new Date(Date.now() - 1000);

    const a = apiClient(address, alice.token);
    const b = apiClient(address, bob.token);
    t.teardown(() => (a.close(), b.close()));
    await a.schema.WriteSchema({ schema: SCHEMA });
    const w1 = await a.relationship.Write({
      updates: [
        { operation: 'OPERATION_TOUCH', relationship: relMsg('doc:q3#viewer@user:ann') },
        { operation: 'OPERATION_CREATE', relationship: relMsg('group:eng#member@user:ann') },
      ],
      metadata: { fields: { ticket: { stringValue: 'SEC-42' } } },
    });
    const w2 = await b.relationship.Write({ updates: [{ operation: 'OPERATION_TOUCH', relationship: relMsg('doc:q4#viewer@group:eng#member') }] });
    await b.relationship.Import(Array.from({ length: 3 }, (_, i) => ({ relationships: [relMsg(`doc:bulk${i}#viewer@user:u${i}`)] })));
    await a.relationship.Delete({ filter: { resource_type: 'doc', optional_resource_id: 'q3' } });
    const made = await serviceCall(address, admin.token, 'KeyService', 'CreateKey', { tenant: 'acme', scopes: ['check'], description: 'later' });
    await serviceCall(address, admin.token, 'KeyService', 'RevokeKey', { id: made.key.id });

    const all = await events();
    t.same(
      all.map((e) => e.method),
      ['SchemaService.WriteSchema', 'RelationshipService.Write', 'RelationshipService.Write', 'RelationshipService.Import', 'RelationshipService.Delete', 'KeyService.CreateKey', 'KeyService.RevokeKey'],
      'every change, in order, nothing missing',
    );
    t.same(
      all.map((e) => e.actor_key),
      [alice.info.id, alice.info.id, bob.info.id, bob.info.id, alice.info.id, admin.info.id, admin.info.id],
      'each with the key that made it',
    );
    t.ok(all.every((e) => e.tenant === 'acme' && e.actor_tenant === 'acme'));
    const write = all[1];
    t.same(write.changes, [
      { operation: 'touch', target: 'doc:q3#viewer@user:ann' },
      { operation: 'create', target: 'group:eng#member@user:ann' },
    ]);
    t.equal(write.revision.token, w1.written_at.token, 'at the revision the write committed at');
    t.equal(write.metadata.fields.ticket.stringValue, 'SEC-42', "with the request's metadata");
    t.ok(write.metadata.fields.request_id.stringValue, 'and its request id');
    t.match(all[3], { changes_total: '3', changes: [{ operation: 'import' }, {}, {}] }, 'an import: its relationships, counted');
    t.match(all[4], { changes_total: '1', changes: [{ operation: 'delete-filter', target: 'doc:q3#*@*:*' }] }, 'a delete by filter: the filter, and how many went');
    t.match(all[0].metadata.fields.schema.stringValue, /definition doc/, 'a schema change keeps the schema written');

    // Queries.
    const methods = (list: any[]) => list.map((e) => e.method.split('.')[1]);
    t.same(methods(await events({ resource: 'doc:q3' })), ['Write', 'Delete'], 'by object (a filter on it included)');
    t.same(methods(await events({ resource: 'group' })), ['Write'], 'by type');
    t.same(methods(await events({ subject: 'user:ann' })), ['Write'], 'by subject');
    t.same(methods(await events({ actor_key: bob.info.id })), ['Write', 'Import'], 'by actor');
    t.same(methods(await events({ from_revision: w2.written_at, to_revision: w2.written_at })), ['Write'], 'by revision');
    t.same((await events({ since: { seconds: String(Math.floor(started.getTime() / 1000)) } })).length, 7, 'since');
    t.same(await events({ until: { seconds: String(Math.floor(started.getTime() / 1000) - 3600) } }), [], 'until');
    const p1 = await serviceCall(address, admin.token, 'AuditService', 'ListAuditEvents', { limit: 4 });
    const p2 = await serviceCall(address, admin.token, 'AuditService', 'ListAuditEvents', { limit: 4, cursor: p1.cursor });
    t.same([...p1.events, ...p2.events].map((e: any) => e.id), all.map((e) => e.id), 'paged without loss or repeats');
    t.equal(p2.cursor, '', 'the last page says so');
    await t.rejects(serviceCall(address, admin.token, 'AuditService', 'ListAuditEvents', { limit: 5000 }), { code: 3, details: /limit/ });
    await t.rejects(serviceCall(address, alice.token, 'AuditService', 'ListAuditEvents', {}), { code: 7 }, 'needs the admin scope');

    // Retention is the audit log's own.
    t.equal(await ds.audit.prune(new Date(Date.now() - 3600_000)), 0, 'nothing older than an hour');
    t.equal(await ds.audit.prune(new Date(Date.now() + 1000)), 7, 'everything older than now');
    t.same(await events(), []);
  });
}
