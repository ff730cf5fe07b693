import { SignJWT, decodeJwt } from 'jose';
import t from 'tap';
import { startOpsServer } from '../../src/server/ops-server.js';
import { createKey } from '../../src/store/access.js';
import { KEYED_DATASTORES, keyedServer } from '../helpers/key-server.js';
import { verifyEdgeToken } from '../../src/tokens/edge-tokens.js';
import { apiClient, obj, relMsg, serviceCall, subj } from '../helpers/api-client.js';

// Signed edge tokens end to end: issue, verify offline with the JWKS, refuse a tampered token,
// rotate the signing key (old tokens still verify until they expire), never state more than Check.

const SCHEMA = `caveat weekday(day string) { day != 'sun' }
definition user {}
definition doc {
  relation viewer: user | user with weekday
  relation editor: user
  permission view = viewer + editor
  permission edit = editor
}`;

for (const [name, open] of KEYED_DATASTORES) {
  t.test(`edge tokens (${name})`, async (t) => {
    const { ds, server, address } = await keyedServer(t, open);
    const key = await createKey(ds.access, 'default', ['check', 'write', 'schema']);
    const admin = await createKey(ds.access, 'default', ['admin']);
    const api = apiClient(address, key.token);
    const ops = await startOpsServer('127.0.0.1:0', { readiness: () => server.readiness.state, jwks: () => server.tokens.jwks() });
    t.teardown(async () => {
      api.close();
      await ops.close();
    });
    await api.schema.WriteSchema({ schema: SCHEMA });
    await api.relationship.Write({
      updates: [
        ...['doc:a#viewer@user:alice', 'doc:b#editor@user:alice', 'doc:d#viewer@user:bob'].map(relMsg),
        { ...relMsg('doc:c#viewer@user:alice'), optional_caveat: { caveat_name: 'weekday', context: null } },
      ].map((relationship) => ({ operation: 'OPERATION_TOUCH', relationship })),
    });
    const tokens = (method: string, req: object, token = key.token) => serviceCall(address, token, 'TokenService', method, req);
    const jwks = async () => JSON.parse((await tokens('GetJwks', {})).jwks);
    const full = { fully_consistent: true };

    const issued = await tokens('IssueToken', { consistency: full, subject: subj('user:alice'), permissions: ['view', 'edit'], resources: ['doc:a', 'doc:b', 'doc:c', 'doc:d'].map(obj), ttl_seconds: 60 });
    const claims = await verifyEdgeToken(issued.token, await jwks());
    t.same(claims.perms, { 'doc:a': ['view'], 'doc:b': ['view', 'edit'] }, 'exactly what Check answers HAS: not the conditional doc:c, not bob\'s doc:d');
    t.match(claims, { iss: 'warden', sub: 'user:alice', tnt: 'default', zkt: issued.issued_at.token, complete: true });
    t.equal(claims.exp! - claims.iat!, 60, 'lives as long as asked');
    t.equal(issued.key_id, (await jwks()).keys[0].kid, 'signed with the key the JWKS names');

    // The JWKS over HTTP, for gateways.
    const res = await fetch(`http://127.0.0.1:${ops.port}/.well-known/jwks.json`);
    t.equal(res.status, 200);
    t.same(await res.json(), await jwks(), 'the same keys over HTTP');

    // Tampered: another payload under the same signature, or a token signed by some other key.
    const [h, , sig] = issued.token.split('.');
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(issued.token), perms: { 'doc:d': ['edit'] } })).toString('base64url')}.${sig}`;
    await t.rejects(verifyEdgeToken(forged, await jwks()), /signature verification failed/, 'a changed payload is refused');
    const { generateKeyPair } = await import('jose');
    const stranger = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const foreign = await new SignJWT({ perms: {} }).setProtectedHeader({ alg: 'EdDSA', kid: issued.key_id }).setIssuer('warden').setExpirationTime('1m').sign(stranger.privateKey);
    await t.rejects(verifyEdgeToken(foreign, await jwks()), /signature verification failed/, 'a token signed by another key is refused');

    // By type: the resources the subject can view, bounded.
    const listed = decodeJwt((await tokens('IssueToken', { consistency: full, subject: subj('user:alice'), permissions: ['view'], resource_type: 'doc', limit: 1 })).token);
    t.equal(Object.keys(listed['perms'] as object).length, 1, 'at most the limit');
    t.equal(listed['complete'], false, 'and says so');

    // Rotation: a new key signs; tokens of the old one verify until they expire.
    const rotated = await tokens('RotateSigningKey', { overlap_seconds: 120 }, admin.token);
    t.not(rotated.key_id, issued.key_id);
    const after = await jwks();
    t.same(after.keys.map((k: any) => k.kid).sort(), [issued.key_id, rotated.key_id].sort(), 'both keys are published during the overlap');
    t.ok(await verifyEdgeToken(issued.token, after), 'the old token still verifies');
    const next = await tokens('IssueToken', { consistency: full, subject: subj('user:alice'), permissions: ['view'], resources: [obj('doc:a')] });
    t.equal(next.key_id, rotated.key_id, 'new tokens are signed with the new key');
    const third = await tokens('RotateSigningKey', { overlap_seconds: 1 }, admin.token);
    await new Promise((r) => setTimeout(r, 1200));
    t.same((await ds.signingKeys.live(new Date())).map((k) => k.kid), [third.key_id], 'once the overlap ends, only the newest key is live');

    await t.rejects(tokens('IssueToken', { subject: subj('user:alice'), permissions: ['view'], resources: [obj('doc:a')], ttl_seconds: 7200 }), { code: 3, details: /ttl_seconds/ });
    await t.rejects(tokens('IssueToken', { subject: subj('user:alice'), permissions: [], resources: [obj('doc:a')] }), { code: 3, details: /permissions/ });
    await t.rejects(tokens('RotateSigningKey', {}), { code: 7 }, 'rotation needs the admin scope');
  });
}
