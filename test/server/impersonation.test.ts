import t from 'tap';
import { keyAuthenticate } from '../../src/server/auth.js';
import { startServer } from '../../src/server/server.js';
import { createKey } from '../../src/store/access.js';
import { MemoryDatastore } from '../../src/store/memory/memory-datastore.js';
import { apiClient, obj, relMsg, serviceCall, subj } from '../helpers/api-client.js';

// Support staff acting as a customer: granted only where the customer has the permission AND the
// actor holds the schema's `impersonate` on the customer; every such answer audited with both.

const SCHEMA = `use expiration
definition user {
  relation support: user | user with expiration
  permission impersonate = support
}
definition bot {}
definition doc {
  relation viewer: user | bot
  permission view = viewer
}`;

t.test('impersonation: the matrix, an expiring grant, lists, and the audit history', async (t) => {
  const ds = new MemoryDatastore();
  await ds.migrate();
  const server = await startServer({ datastore: ds, authenticate: keyAuthenticate(ds.access, { cacheMs: 0 }), log: () => {} }, '127.0.0.1:0');
  const address = `127.0.0.1:${server.port}`;
  const key = await createKey(ds.access, 'default', ['check', 'write', 'schema', 'read']);
  const admin = await createKey(ds.access, 'default', ['admin']);
  const api = apiClient(address, key.token);
  t.teardown(async () => {
    api.close();
    await server.shutdown(500);
    await ds.close();
  });
  await api.schema.WriteSchema({ schema: SCHEMA });
  const soon = new Date(Date.now() + 2500).toISOString();
  await api.relationship.Write({
    updates: [
      relMsg('doc:a#viewer@user:alice'),
      relMsg('doc:a#viewer@bot:b1'),
      relMsg('user:alice#support@user:agent7'),
      { ...relMsg('user:alice#support@user:temp'), optional_expires_at: { seconds: String(Math.floor(Date.parse(soon) / 1000)) } },
    ].map((relationship) => ({ operation: 'OPERATION_TOUCH', relationship })),
    acting_as: subj('user:agent7'),
  });
  const full = { fully_consistent: true };
  const check = async (doc: string, who: string, actor?: string): Promise<string> =>
    (await api.permission.Check({ consistency: full, resource: obj(doc), permission: 'view', subject: subj(who), ...(actor ? { acting_as: subj(actor) } : {}) })).permissionship.replace('PERMISSIONSHIP_', '');

  t.equal(await check('doc:a', 'user:alice'), 'HAS_PERMISSION', 'alice herself');
  t.equal(await check('doc:a', 'user:alice', 'user:agent7'), 'HAS_PERMISSION', 'her support agent, acting for her');
  t.equal(await check('doc:b', 'user:alice', 'user:agent7'), 'NO_PERMISSION', 'never more than she has');
  t.equal(await check('doc:a', 'user:alice', 'user:mallory'), 'NO_PERMISSION', 'an actor without the grant gets NO where she has HAS');
  t.equal(await check('doc:a', 'user:alice', 'user:temp'), 'HAS_PERMISSION', 'an expiring grant, before it expires');
  await t.rejects(check('doc:a', 'bot:b1', 'user:agent7'), { code: 9, details: /`bot` defines no `impersonate` permission.*acting_as|acting_as/s }, 'a subject type that allows no impersonation');

  const batch = await api.permission.BatchCheck({
    consistency: full,
    acting_as: subj('user:agent7'),
    items: ['user:alice', 'user:bob'].map((who) => ({ resource: obj('doc:a'), permission: 'view', subject: subj(who) })),
  });
  t.same(batch.results.map((r: any) => r.item.permissionship), ['PERMISSIONSHIP_HAS_PERMISSION', 'PERMISSIONSHIP_NO_PERMISSION'], 'BatchCheck: per item, each subject its own grant');
  const listed = async (actor: string) =>
    (await api.permission.ListObjects({ consistency: full, resource_type: 'doc', permission: 'view', subject: subj('user:alice'), acting_as: subj(actor) })).map((r: any) => r.object_id);
  t.same(await listed('user:agent7'), ['a'], 'ListObjects for her');
  t.same(await listed('user:mallory'), [], 'nothing listed for an actor without the grant');
  const perms = await api.permission.ListPermissions({ consistency: full, resource: obj('doc:a'), subject: subj('user:alice'), acting_as: subj('user:mallory') });
  t.ok(perms.permissions.every((p: any) => p.permissionship === 'PERMISSIONSHIP_NO_PERMISSION'), 'ListPermissions: nothing for an actor without the grant');

  await new Promise((r) => setTimeout(r, Date.parse(soon) - Date.now() + 300));
  t.equal(await check('doc:a', 'user:alice', 'user:temp'), 'NO_PERMISSION', 'the expiring grant ends on time');
  t.equal(await check('doc:a', 'user:alice'), 'HAS_PERMISSION', 'while she still has it');

  const events = (await serviceCall(address, admin.token, 'AuditService', 'ListAuditEvents', { limit: 1000 })).events;
  const acted = events.filter((e: any) => e.acting_as);
  t.match(acted[0], { method: 'RelationshipService.Write', acting_as: 'user:agent7', actor_key: key.info.id }, 'a write made for someone records both');
  const checks = acted.filter((e: any) => e.method === 'PermissionService.Check');
  t.match(checks[0], { acting_as: 'user:agent7', actor_key: key.info.id, changes: [{ operation: 'check', target: 'doc:a#view@user:alice -> has' }] }, 'each impersonated answer, with both identities');
  t.ok(checks.some((e: any) => e.acting_as === 'user:mallory' && e.changes[0].target.endsWith('-> no')), 'refusals too');
  t.ok(acted.some((e: any) => e.method === 'PermissionService.ListObjects'), 'and lists');
  const byAlice = (await serviceCall(address, admin.token, 'AuditService', 'ListAuditEvents', { subject: 'user:alice' })).events;
  t.ok(byAlice.some((e: any) => e.acting_as === 'user:agent7'), 'found by the subject acted for');
});
