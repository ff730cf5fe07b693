import t from 'tap';
import { createKey } from '../../src/store/access.js';
import { KEYED_DATASTORES, keyedServer } from '../helpers/key-server.js';
import { apiClient, obj, relMsg, serviceCall, subj } from '../helpers/api-client.js';

// Per-tenant settings through TenantService: a relationship quota, a request rate of its own
// (another tenant unaffected), and the name of the impersonation permission.

const SCHEMA = `definition user {
  relation helper: user
  permission act_for = helper
}
definition doc { relation viewer: user  permission view = viewer }`;

for (const [name, open] of KEYED_DATASTORES) {
  t.test(`tenant settings (${name})`, async (t) => {
    const { ds, address } = await keyedServer(t, open);
    for (const tenant of ['small', 'slow', 'busy']) await ds.access.createTenant(tenant);
    const admin = await createKey(ds.access, 'default', ['admin']);
    const tenants = (method: string, req: object) => serviceCall(address, admin.token, 'TenantService', method, req);
    const client = async (tenant: string) => {
      const c = apiClient(address, (await createKey(ds.access, tenant, ['check', 'write', 'schema'])).token);
      t.teardown(() => c.close());
      await c.schema.WriteSchema({ schema: SCHEMA });
      return c;
    };
    const write = (c: Awaited<ReturnType<typeof client>>, ...rels: string[]) => c.relationship.Write({ updates: rels.map((r) => ({ operation: 'OPERATION_TOUCH', relationship: relMsg(r) })) });

    t.match(await tenants('GetTenantSettings', { name: 'small' }), { tenant: 'small', max_rate_per_second: 0, max_relationships: '0', impersonate_permission: '' }, 'server defaults at first');
    const set = await tenants('UpdateTenantSettings', { name: 'small', settings: { max_relationships: '3', impersonate_permission: 'act_for' } });
    t.match(set, { max_relationships: '3', impersonate_permission: 'act_for' });
    await t.rejects(tenants('UpdateTenantSettings', { name: 'nobody', settings: {} }), { code: 5 }, 'NOT_FOUND for no such tenant');
    await t.rejects(tenants('UpdateTenantSettings', { name: 'small', settings: { impersonate_permission: 'Bad Name' } }), { code: 3, details: /impersonate_permission/ });

    // The quota.
    const small = await client('small');
    await write(small, 'doc:a#viewer@user:ann', 'doc:b#viewer@user:ann');
    await t.rejects(write(small, 'doc:c#viewer@user:ann', 'doc:d#viewer@user:ann'), { code: 8, details: /quota leaves room for 1 more; this would add 2/ }, 'a write past the quota is refused whole');
    await t.rejects(small.relationship.Import([{ relationships: [relMsg('doc:e#viewer@user:ann'), relMsg('doc:f#viewer@user:ann')] }]), { code: 8 }, 'and an import');
    await write(small, 'doc:c#viewer@user:ann');
    t.equal(await ds.store('small').countRelationships(), 3, 'up to the quota, nothing more');

    // Its impersonation permission.
    await write(await client('busy'), 'doc:x#viewer@user:zed');
    await small.relationship.Delete({ filter: { resource_type: 'doc', optional_resource_id: 'c' } });
    await write(small, 'user:ann#helper@user:agent');
    const asAgent = await small.permission.Check({ consistency: { fully_consistent: true }, resource: obj('doc:a'), permission: 'view', subject: subj('user:ann'), acting_as: subj('user:agent') });
    t.equal(asAgent.permissionship, 'PERMISSIONSHIP_HAS_PERMISSION', "impersonation through the tenant's own permission (act_for)");

    // Its own request rate; another tenant's calls go on.
    await tenants('UpdateTenantSettings', { name: 'slow', settings: { max_rate_per_second: 2 } });
    const slow = await client('slow');
    const busy = await client('busy');
    await new Promise((r) => setTimeout(r, 100)); // its settings reach admission (read at once from a cache)
    const ask = (c: typeof slow) => c.permission.Check({ consistency: { fully_consistent: true }, resource: obj('doc:x'), permission: 'view', subject: subj('user:zed') });
    await new Promise((r) => setTimeout(r, 1100)); // a full bucket
    const outcomes = await Promise.allSettled([ask(slow), ask(slow), ask(slow), ask(slow)]);
    const refused = outcomes.filter((o) => o.status === 'rejected');
    t.ok(refused.length >= 2, `calls past 2 a second refused (${refused.length} of 4)`);
    t.match((refused[0] as PromiseRejectedResult).reason, { code: 8, details: /over its request rate \(2 calls a second\)/ });
    const others = await Promise.allSettled(Array.from({ length: 8 }, () => ask(busy)));
    t.ok(others.every((o) => o.status === 'fulfilled'), 'another tenant is not limited by it');

    const audit = (await serviceCall(address, admin.token, 'AuditService', 'ListAuditEvents', { tenant: 'small' })).events;
    t.ok(audit.some((e: any) => e.method === 'TenantService.UpdateTenantSettings'), 'changes to settings are audited');
  });
}
