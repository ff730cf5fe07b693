import { spawnSync } from 'node:child_process';
import { credentials, status } from '@grpc/grpc-js';
import { protobuf, v1 } from '@authzed/authzed-node';
import t from 'tap';
import { readStatusDetails } from '../../src/errors/status-details.js';
import { keyAuthenticate } from '../../src/server/auth.js';
import { startServer } from '../../src/server/server.js';
import { createKey } from '../../src/store/access.js';
import { openDatastore } from '../../src/store/open-datastore.js';
import { databaseWithKey } from '../helpers/postgres.js';
import { serveProcess, WARDEN_BIN } from '../helpers/warden-process.js';
import { NODE, nodeArgs } from '../helpers/node-process.js';

// SpiceDB's own Node client (@authzed/authzed-node), unchanged, against a Warden server: the
// authzed.api.v1 surface on the native port, with a Warden key as its bearer token.

const SCHEMA = `use expiration
caveat on_day(day string) { day == 'tue' }
definition user {}
definition group { relation member: user | group#member }
definition doc {
  relation viewer: user | user:* | group#member | user with on_day | user with expiration
  relation banned: user
  permission view = viewer - banned
}`;

const obj = (type: string, id: string) => v1.ObjectReference.create({ objectType: type, objectId: id });
const sub = (type: string, id: string, relation = '') => v1.SubjectReference.create({ object: obj(type, id), optionalRelation: relation });
const rel = (type: string, id: string, relation: string, s: v1.SubjectReference, caveat?: string) =>
  v1.Relationship.create({ resource: obj(type, id), relation, subject: s, ...(caveat ? { optionalCaveat: v1.ContextualizedCaveat.create({ caveatName: caveat }) } : {}) });
const touch = (r: v1.Relationship) => v1.RelationshipUpdate.create({ operation: v1.RelationshipUpdate_Operation.TOUCH, relationship: r });
const full = v1.Consistency.create({ requirement: { oneofKind: 'fullyConsistent', fullyConsistent: true } });

t.test('SpiceDB clients work against Warden unchanged', async (t) => {
  const ds = await openDatastore('memory');
  await ds.access.createTenant('acme');
  const server = await startServer({ datastore: ds, authenticate: keyAuthenticate(ds.access, { cacheMs: 0 }), log: () => {} }, '127.0.0.1:0');
  const endpoint = `127.0.0.1:${server.port}`;
  const token = (await createKey(ds.access, 'acme', ['check', 'read', 'write', 'schema'])).token;
  const client = v1.NewClient(token, endpoint, v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS);
  const p = client.promises;
  t.teardown(async () => {
    client.close();
    await server.shutdown(500);
    await ds.close();
  });

  await t.rejects(p.readSchema(v1.ReadSchemaRequest.create({})), { code: status.NOT_FOUND }, 'no schema yet: NOT_FOUND, as SpiceDB answers');
  const written = await p.writeSchema(v1.WriteSchemaRequest.create({ schema: SCHEMA }));
  t.ok(written.writtenAt?.token, 'WriteSchema returns a ZedToken');
  t.match((await p.readSchema(v1.ReadSchemaRequest.create({}))).schemaText, /definition doc/);

  const w = await p.writeRelationships(
    v1.WriteRelationshipsRequest.create({
      updates: [
        touch(rel('doc', 'plan', 'viewer', sub('user', 'ann'))),
        touch(rel('doc', 'plan', 'viewer', sub('group', 'eng', 'member'))),
        touch(rel('group', 'eng', 'member', sub('user', 'bob'))),
        touch(rel('doc', 'plan', 'viewer', sub('user', 'tue'), 'on_day')),
        touch(rel('doc', 'open', 'viewer', sub('user', '*'))),
        touch(rel('doc', 'open', 'banned', sub('user', 'eve'))),
      ],
    }),
  );
  const fresh = v1.Consistency.create({ requirement: { oneofKind: 'atLeastAsFresh', atLeastAsFresh: w.writtenAt! } });

  await t.test('CheckPermission and CheckBulkPermissions', async (t) => {
    const check = (resource: v1.ObjectReference, s: v1.SubjectReference, context?: Record<string, unknown>) =>
      p.checkPermission(v1.CheckPermissionRequest.create({ consistency: fresh, resource, permission: 'view', subject: s, ...(context ? { context: v1.createStructFromObject(context) } : {}) }));
    t.equal((await check(obj('doc', 'plan'), sub('user', 'ann'))).permissionship, v1.CheckPermissionResponse_Permissionship.HAS_PERMISSION);
    t.equal((await check(obj('doc', 'plan'), sub('user', 'bob'))).permissionship, v1.CheckPermissionResponse_Permissionship.HAS_PERMISSION, 'through a group');
    t.equal((await check(obj('doc', 'plan'), sub('user', 'zed'))).permissionship, v1.CheckPermissionResponse_Permissionship.NO_PERMISSION);
    const cond = await check(obj('doc', 'plan'), sub('user', 'tue'));
    t.equal(cond.permissionship, v1.CheckPermissionResponse_Permissionship.CONDITIONAL_PERMISSION);
    t.same(cond.partialCaveatInfo?.missingRequiredContext, ['day']);
    t.equal((await check(obj('doc', 'plan'), sub('user', 'tue'), { day: 'tue' })).permissionship, v1.CheckPermissionResponse_Permissionship.HAS_PERMISSION, 'with its context');
    t.ok((await check(obj('doc', 'plan'), sub('user', 'ann'))).checkedAt?.token, 'checked_at');
    t.equal((await check(obj('doc', 'plan'), sub('user', 'ann'))).optionalExpiresAt, undefined, 'nothing read expires: no expiry');
    const until = new Date('2300-01-01T00:00:00Z');
    const expiring = v1.Relationship.create({ ...rel('doc', 'temp', 'viewer', sub('user', 'ann')), optionalExpiresAt: protobuf.Timestamp.fromDate(until) });
    const wx = await p.writeRelationships(v1.WriteRelationshipsRequest.create({ updates: [touch(expiring)] }));
    const temp = await p.checkPermission(
      v1.CheckPermissionRequest.create({ consistency: v1.Consistency.create({ requirement: { oneofKind: 'atLeastAsFresh', atLeastAsFresh: wx.writtenAt! } }), resource: obj('doc', 'temp'), permission: 'view', subject: sub('user', 'ann') }),
    );
    t.equal(temp.permissionship, v1.CheckPermissionResponse_Permissionship.HAS_PERMISSION);
    t.same(temp.optionalExpiresAt && protobuf.Timestamp.toDate(temp.optionalExpiresAt).toISOString(), until.toISOString(), 'granted through an expiring relationship: optional_expires_at');
    await t.rejects(check(obj('Not A Type', 'x'), sub('user', 'ann')), { code: status.INVALID_ARGUMENT, details: /resource\.object_type/ }, 'bad input names the field');

    const bulk = await p.checkBulkPermissions(
      v1.CheckBulkPermissionsRequest.create({
        consistency: fresh,
        items: [
          v1.CheckBulkPermissionsRequestItem.create({ resource: obj('doc', 'open'), permission: 'view', subject: sub('user', 'anyone') }),
          v1.CheckBulkPermissionsRequestItem.create({ resource: obj('doc', 'open'), permission: 'view', subject: sub('user', 'eve') }),
          v1.CheckBulkPermissionsRequestItem.create({ resource: obj('doc', 'open'), permission: 'nope', subject: sub('user', 'ann') }),
        ],
      }),
    );
    t.equal(bulk.pairs.length, 3);
    const legacy = await p.bulkCheckPermission(v1.BulkCheckPermissionRequest.create({ consistency: fresh, items: [v1.BulkCheckPermissionRequestItem.create({ resource: obj('doc', 'plan'), permission: 'view', subject: sub('user', 'ann') })] }));
    t.match(legacy.pairs[0], { response: { oneofKind: 'item', item: { permissionship: v1.CheckPermissionResponse_Permissionship.HAS_PERMISSION } } }, 'the experimental BulkCheckPermission answers alike');
    t.match(bulk.pairs[0], { request: { resource: { objectId: 'open' } }, response: { oneofKind: 'item', item: { permissionship: v1.CheckPermissionResponse_Permissionship.HAS_PERMISSION } } });
    t.match(bulk.pairs[1], { response: { oneofKind: 'item', item: { permissionship: v1.CheckPermissionResponse_Permissionship.NO_PERMISSION } } }, 'the wildcard less the banned');
    t.match(bulk.pairs[2], { response: { oneofKind: 'error', error: { code: Number, message: /nope/ } } }, 'a bad item is its own error');
  });

  await t.test('LookupResources, LookupSubjects and ExpandPermissionTree', async (t) => {
    const resources = await p.lookupResources(v1.LookupResourcesRequest.create({ consistency: fresh, resourceObjectType: 'doc', permission: 'view', subject: sub('user', 'bob') }));
    t.same(resources.map((r) => r.resourceObjectId).sort(), ['open', 'plan']);
    t.ok(resources.every((r) => r.permissionship === v1.LookupPermissionship.HAS_PERMISSION));
    t.ok(resources.every((r) => r.afterResultCursor?.token), 'after_result_cursor on every result');
    const first = await p.lookupResources(v1.LookupResourcesRequest.create({ consistency: fresh, resourceObjectType: 'doc', permission: 'view', subject: sub('user', 'bob'), optionalLimit: 1 }));
    t.equal(first.length, 1, 'optional_limit');
    const rest = await p.lookupResources(v1.LookupResourcesRequest.create({ resourceObjectType: 'doc', permission: 'view', subject: sub('user', 'bob'), optionalCursor: first[0]!.afterResultCursor! }));
    t.same([...first, ...rest].map((r) => r.resourceObjectId).sort(), ['open', 'plan'], 'resumed from optional_cursor: the rest, nothing twice');
    const subjects = await p.lookupSubjects(v1.LookupSubjectsRequest.create({ consistency: fresh, resource: obj('doc', 'open'), permission: 'view', subjectObjectType: 'user' }));
    t.same(subjects.map((s) => [s.subject?.subjectObjectId, s.excludedSubjects.map((x) => x.subjectObjectId)]), [['*', ['eve']]], 'the wildcard, with its exclusions');
    const none = await p.lookupSubjects(
      v1.LookupSubjectsRequest.create({ consistency: fresh, resource: obj('doc', 'open'), permission: 'view', subjectObjectType: 'user', wildcardOption: v1.LookupSubjectsRequest_WildcardOption.EXCLUDE_WILDCARDS }),
    );
    t.same(none, [], 'EXCLUDE_WILDCARDS leaves the wildcard out');
    const tree = await p.expandPermissionTree(v1.ExpandPermissionTreeRequest.create({ consistency: fresh, resource: obj('doc', 'plan'), permission: 'view' }));
    t.match(tree.treeRoot, { expandedObject: { objectType: 'doc', objectId: 'plan' }, expandedRelation: 'view', treeType: { oneofKind: 'intermediate', intermediate: { operation: v1.AlgebraicSubjectSet_Operation.EXCLUSION } } });
  });

  await t.test('ReadRelationships, DeleteRelationships, bulk import and export', async (t) => {
    // More than one of Warden's pages (1,000): with no limit, SpiceDB returns them all.
    const many = Array.from({ length: 1200 }, (_, i) => rel('doc', `d${i}`, 'viewer', sub('user', 'bulk')));
    // Client streaming has no promise form in the client: its call, as SpiceDB's docs use it.
    const imported = await new Promise<v1.ImportBulkRelationshipsResponse>((resolve, reject) => {
      const call = client.importBulkRelationships((err, res) => (err ? reject(err) : resolve(res!)));
      for (const r of many.slice(0, 600)) call.write(v1.ImportBulkRelationshipsRequest.create({ relationships: [r] }));
      call.write(v1.ImportBulkRelationshipsRequest.create({ relationships: many.slice(600) }));
      call.end();
    });
    t.equal(imported.numLoaded, '1200');
    const filter = v1.RelationshipFilter.create({ resourceType: 'doc', optionalRelation: 'viewer', optionalSubjectFilter: v1.SubjectFilter.create({ subjectType: 'user', optionalSubjectId: 'bulk' }) });
    const read = await p.readRelationships(v1.ReadRelationshipsRequest.create({ consistency: full, relationshipFilter: filter }));
    t.equal(read.length, 1200, 'every relationship, past a page');
    t.equal(new Set(read.map((r) => r.relationship?.resource?.objectId)).size, 1200);
    const limited = await p.readRelationships(v1.ReadRelationshipsRequest.create({ consistency: full, relationshipFilter: filter, optionalLimit: 10 }));
    t.equal(limited.length, 10);
    const rest = await p.readRelationships(v1.ReadRelationshipsRequest.create({ relationshipFilter: filter, optionalLimit: 2000, optionalCursor: limited[9]!.afterResultCursor! }));
    t.equal(rest.length, 1190, 'resumed from the cursor');

    const exported = await p.exportBulkRelationships(v1.ExportBulkRelationshipsRequest.create({ consistency: full }));
    t.equal(exported.flatMap((b) => b.relationships).length, 1207, 'export: everything');
    const filtered = await p.exportBulkRelationships(v1.ExportBulkRelationshipsRequest.create({ consistency: full, optionalRelationshipFilter: filter, optionalLimit: 500 }));
    t.same(filtered.map((b) => b.relationships.length), [500, 500, 200], 'a filtered export in batches of the limit');

    const mustMatch = (id: string) => v1.Precondition.create({ operation: v1.Precondition_Operation.MUST_MATCH, filter: v1.RelationshipFilter.create({ resourceType: 'doc', optionalResourceId: id }) });
    await t.rejects(p.deleteRelationships(v1.DeleteRelationshipsRequest.create({ relationshipFilter: filter, optionalPreconditions: [mustMatch('nowhere')] })), { code: status.FAILED_PRECONDITION }, 'a failed precondition deletes nothing');
    t.equal((await p.readRelationships(v1.ReadRelationshipsRequest.create({ consistency: full, relationshipFilter: filter }))).length, 1200);
    const deleted = await p.deleteRelationships(v1.DeleteRelationshipsRequest.create({ relationshipFilter: filter, optionalPreconditions: [mustMatch('d0')] }));
    t.equal(deleted.relationshipsDeletedCount, '1200');
    t.equal(deleted.deletionProgress, v1.DeleteRelationshipsResponse_DeletionProgress.COMPLETE);
    t.same(await p.readRelationships(v1.ReadRelationshipsRequest.create({ consistency: full, relationshipFilter: filter })), []);
    const byPrefix = await p.readRelationships(v1.ReadRelationshipsRequest.create({ consistency: full, relationshipFilter: v1.RelationshipFilter.create({ resourceType: 'doc', optionalResourceIdPrefix: 'pl' }) }));
    t.same([...new Set(byPrefix.map((r) => r.relationship?.resource?.objectId))], ['plan'], 'optional_resource_id_prefix');
    await t.rejects(
      p.readRelationships(v1.ReadRelationshipsRequest.create({ relationshipFilter: v1.RelationshipFilter.create({ resourceType: 'doc', optionalResourceId: 'plan', optionalResourceIdPrefix: 'pl' }) })),
      { code: status.INVALID_ARGUMENT, details: /optional_resource_id_prefix: cannot be given with optional_resource_id/ },
    );
  });

  await t.test('schema reflection: ReflectSchema, ComputablePermissions, DependentRelations, DiffSchema', async (t) => {
    const reflected = await p.reflectSchema(v1.ReflectSchemaRequest.create({ consistency: full }));
    t.same(reflected.definitions.map((d) => d.name), ['user', 'group', 'doc']);
    const doc = reflected.definitions.find((d) => d.name === 'doc')!;
    t.same(doc.permissions.map((x) => x.name), ['view']);
    t.same(
      doc.relations.find((r) => r.name === 'viewer')!.subjectTypes.map((x) => [x.subjectDefinitionName, x.optionalCaveatName, x.typeref.oneofKind]),
      [['user', '', 'isTerminalSubject'], ['user', '', 'isPublicWildcard'], ['group', '', 'optionalRelationName'], ['user', 'on_day', 'isTerminalSubject'], ['user', '', 'isTerminalSubject']],
    );
    t.match(reflected.caveats, [{ name: 'on_day', expression: "day == 'tue'", parameters: [{ name: 'day', type: 'string', parentCaveatName: 'on_day' }] }]);
    const filtered = await p.reflectSchema(v1.ReflectSchemaRequest.create({ consistency: full, optionalFilters: [v1.ReflectionSchemaFilter.create({ optionalDefinitionNameFilter: 'gr' })] }));
    t.same([filtered.definitions.map((d) => d.name), filtered.caveats], [['group'], []], 'filters match names by prefix');
    const old = await p.experimentalReflectSchema(v1.ExperimentalReflectSchemaRequest.create({ consistency: full }));
    t.same(old.definitions.map((d) => d.name), ['user', 'group', 'doc'], 'the experimental method answers alike');

    const computable = await p.computablePermissions(v1.ComputablePermissionsRequest.create({ consistency: full, definitionName: 'doc', relationName: 'banned' }));
    t.same(computable.permissions.map((x) => [x.definitionName, x.relationName, x.isPermission]), [['doc', 'view', true]]);
    const dependent = await p.dependentRelations(v1.DependentRelationsRequest.create({ consistency: full, definitionName: 'doc', permissionName: 'view' }));
    t.same(dependent.relations.map((x) => `${x.definitionName}#${x.relationName}`), ['doc#banned', 'doc#viewer']);
    await t.rejects(p.dependentRelations(v1.DependentRelationsRequest.create({ consistency: full, definitionName: 'doc', permissionName: 'viewer' })), { code: status.FAILED_PRECONDITION, details: /not a permission/ });
    await t.rejects(p.computablePermissions(v1.ComputablePermissionsRequest.create({ consistency: full, definitionName: 'nope', relationName: 'x' })), { code: status.NOT_FOUND, details: /definition_name/ });

    const diff = await p.diffSchema(v1.DiffSchemaRequest.create({ consistency: full, comparisonSchema: SCHEMA.replace('  relation banned: user\n', '').replace('viewer - banned', 'viewer').replace('definition user {}', 'definition user {}\ndefinition team {}') }));
    t.same(diff.diffs.map((d) => d.diff.oneofKind).sort(), ['definitionAdded', 'permissionExprChanged', 'relationRemoved']);
    await t.rejects(p.diffSchema(v1.DiffSchemaRequest.create({ consistency: full, comparisonSchema: 'definition {' })), { code: status.INVALID_ARGUMENT });
  });

  await t.test('Watch streams relationship updates, filtered, with checkpoints when asked', async (t) => {
    const start = (await p.readSchema(v1.ReadSchemaRequest.create({}))).readAt!;
    const seen: v1.WatchResponse[] = [];
    const call = client.watch(
      v1.WatchRequest.create({
        optionalStartCursor: start,
        optionalRelationshipFilters: [v1.RelationshipFilter.create({ resourceType: 'doc', optionalRelation: 'viewer' })],
        optionalUpdateKinds: [v1.WatchKind.INCLUDE_RELATIONSHIP_UPDATES, v1.WatchKind.INCLUDE_CHECKPOINTS],
      }),
    );
    call.on('data', (m: v1.WatchResponse) => seen.push(m));
    call.on('error', () => {});
    await p.writeRelationships(v1.WriteRelationshipsRequest.create({ updates: [touch(rel('doc', 'w1', 'viewer', sub('user', 'wat'))), touch(rel('doc', 'w1', 'banned', sub('user', 'wat')))] }));
    for (let i = 0; i < 100 && !seen.some((m) => m.updates.length); i++) await new Promise((r) => setTimeout(r, 50));
    call.cancel();
    const updates = seen.flatMap((m) => m.updates);
    t.same(updates.map((u) => [u.operation, u.relationship?.resource?.objectId, u.relationship?.relation]), [[v1.RelationshipUpdate_Operation.TOUCH, 'w1', 'viewer']], 'the viewer change, not the banned one');
    t.ok(seen.every((m) => m.changesThrough?.token), 'each message says how far it goes');
  });

  await t.test('errors carry the codes and ErrorInfo reasons SpiceDB sends', async (t) => {
    const reasonOf = async (call: Promise<unknown>): Promise<{ code: number; reason: string; domain: string }> => {
      const e = (await call.then(() => null, (err: unknown) => err)) as { code: number; metadata: { get(k: string): unknown[] } } | null;
      if (!e) return { code: 0, reason: 'no error', domain: '' };
      const bin = e.metadata.get('grpc-status-details-bin')[0] as Buffer | undefined;
      const r = bin ? readStatusDetails(bin).reasons[0] : undefined;
      return { code: e.code, reason: r?.reason ?? 'none', domain: r?.domain ?? '' };
    };
    const check = (type: string, permission: string) => p.checkPermission(v1.CheckPermissionRequest.create({ consistency: full, resource: obj(type, 'x'), permission, subject: sub('user', 'ann') }));
    t.same(await reasonOf(check('nosuchtype', 'view')), { code: status.FAILED_PRECONDITION, reason: 'ERROR_REASON_UNKNOWN_DEFINITION', domain: 'authzed.com' }, 'an unknown type on Check');
    t.same(await reasonOf(check('doc', 'nosuch')), { code: status.FAILED_PRECONDITION, reason: 'ERROR_REASON_UNKNOWN_RELATION_OR_PERMISSION', domain: 'authzed.com' });
    const create = v1.RelationshipUpdate.create({ operation: v1.RelationshipUpdate_Operation.CREATE, relationship: rel('doc', 'plan', 'viewer', sub('user', 'ann')) });
    t.same(await reasonOf(p.writeRelationships(v1.WriteRelationshipsRequest.create({ updates: [create] }))), { code: status.ALREADY_EXISTS, reason: 'ERROR_REASON_ATTEMPT_TO_RECREATE_RELATIONSHIP', domain: 'authzed.com' });
    const onPermission = touch(rel('doc', 'plan', 'view', sub('user', 'ann')));
    t.same(await reasonOf(p.writeRelationships(v1.WriteRelationshipsRequest.create({ updates: [onPermission] }))), { code: status.FAILED_PRECONDITION, reason: 'ERROR_REASON_CANNOT_UPDATE_PERMISSION', domain: 'authzed.com' });
    t.same(await reasonOf(p.writeSchema(v1.WriteSchemaRequest.create({ schema: 'definition {' }))), { code: status.INVALID_ARGUMENT, reason: 'ERROR_REASON_SCHEMA_PARSE_ERROR', domain: 'authzed.com' });
    const mustMatch = v1.Precondition.create({ operation: v1.Precondition_Operation.MUST_MATCH, filter: v1.RelationshipFilter.create({ resourceType: 'doc', optionalResourceId: 'none' }) });
    t.same(await reasonOf(p.writeRelationships(v1.WriteRelationshipsRequest.create({ updates: [touch(rel('doc', 'p2', 'viewer', sub('user', 'ann')))], optionalPreconditions: [mustMatch] }))), {
      code: status.FAILED_PRECONDITION,
      reason: 'ERROR_REASON_WRITE_OR_DELETE_PRECONDITION_FAILURE',
      domain: 'authzed.com',
    });
  });

  await t.test('the same keys, tenants and limits as the native API', async (t) => {
    const stranger = v1.NewClient('wdn_0123456789abcdef_' + 'A'.repeat(43), endpoint, v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS);
    t.teardown(() => stranger.close());
    await t.rejects(stranger.promises.readSchema(v1.ReadSchemaRequest.create({})), { code: status.UNAUTHENTICATED });
    await ds.access.createTenant('globex');
    const globex = v1.NewClient((await createKey(ds.access, 'globex', ['check', 'read'])).token, endpoint, v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS);
    t.teardown(() => globex.close());
    await t.rejects(globex.promises.readSchema(v1.ReadSchemaRequest.create({})), { code: status.NOT_FOUND }, "another tenant's schema is not seen");
    await t.rejects(globex.promises.writeSchema(v1.WriteSchemaRequest.create({ schema: SCHEMA })), { code: status.PERMISSION_DENIED }, 'a key without the schema scope');
    await t.rejects(p.experimentalCountRelationships(v1.ExperimentalCountRelationshipsRequest.create({ name: 'n' })), { code: status.UNIMPLEMENTED }, 'relationship counters are not served');
  });
});

t.test('warden serve --testing: each token its own empty tenant, for client test suites', async (t) => {
  const refused = spawnSync(NODE, nodeArgs(WARDEN_BIN, 'serve', '--testing', '--address', '0.0.0.0:0'), { encoding: 'utf8' });
  t.equal(refused.status, 3, 'a non-loopback address is refused');
  t.match(refused.stderr, /--testing listens on loopback only.*--testing-any-address/);
  const { address: endpoint, log } = await serveProcess(t, ['--testing', '--address', '127.0.0.1:0', '--grace-ms', '200']);
  t.match(log(), /TESTING MODE/, 'says so loudly');
  const [a, b] = ['token-a', 'token-b'].map((token) => v1.NewClient(token, endpoint, v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS));
  t.teardown(() => [a, b].forEach((c) => c!.close()));
  await a!.promises.writeSchema(v1.WriteSchemaRequest.create({ schema: SCHEMA }));
  const w = await a!.promises.writeRelationships(v1.WriteRelationshipsRequest.create({ updates: [touch(rel('doc', 'x', 'viewer', sub('user', 'ann')))] }));
  const check = await a!.promises.checkPermission(
    v1.CheckPermissionRequest.create({ consistency: v1.Consistency.create({ requirement: { oneofKind: 'atLeastAsFresh', atLeastAsFresh: w.writtenAt! } }), resource: obj('doc', 'x'), permission: 'view', subject: sub('user', 'ann') }),
  );
  t.equal(check.permissionship, v1.CheckPermissionResponse_Permissionship.HAS_PERMISSION, 'one token writes and reads its own data');
  await t.rejects(b!.promises.readSchema(v1.ReadSchemaRequest.create({})), { code: status.NOT_FOUND }, 'another token starts empty');
  const anonymous = v1.NewClientWithChannelCredentials(endpoint, credentials.createInsecure());
  t.teardown(() => anonymous.close());
  await t.rejects(anonymous.promises.readSchema(v1.ReadSchemaRequest.create({})), { code: status.UNAUTHENTICATED }, 'a token is still needed');
});

t.test('against `warden serve` itself, on PostgreSQL, with a key', async (t) => {
  const { url, token } = await databaseWithKey(t);
  const { address: endpoint } = await serveProcess(t, ['--datastore', url, '--address', '127.0.0.1:0', '--workers', '1', '--grace-ms', '200']);
  const client = v1.NewClient(token, endpoint, v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS);
  t.teardown(() => client.close());
  await client.promises.writeSchema(v1.WriteSchemaRequest.create({ schema: SCHEMA }));
  const w = await client.promises.writeRelationships(v1.WriteRelationshipsRequest.create({ updates: [touch(rel('group', 'eng', 'member', sub('user', 'bob'))), touch(rel('doc', 'x', 'viewer', sub('group', 'eng', 'member')))] }));
  const fresh = v1.Consistency.create({ requirement: { oneofKind: 'atLeastAsFresh', atLeastAsFresh: w.writtenAt! } });
  const r = await client.promises.checkPermission(v1.CheckPermissionRequest.create({ consistency: fresh, resource: obj('doc', 'x'), permission: 'view', subject: sub('user', 'bob') }));
  t.equal(r.permissionship, v1.CheckPermissionResponse_Permissionship.HAS_PERMISSION);
  const found = await client.promises.lookupResources(v1.LookupResourcesRequest.create({ consistency: fresh, resourceObjectType: 'doc', permission: 'view', subject: sub('user', 'bob') }));
  t.same(found.map((x) => x.resourceObjectId), ['x']);
  const wrongKey = v1.NewClient('wdn_0123456789abcdef_' + 'B'.repeat(43), endpoint, v1.ClientSecurity.INSECURE_PLAINTEXT_CREDENTIALS);
  t.teardown(() => wrongKey.close());
  await t.rejects(wrongKey.promises.readSchema(v1.ReadSchemaRequest.create({})), { code: status.UNAUTHENTICATED });
});
