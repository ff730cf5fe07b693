import type { Engine } from '../engine/engine.js';
import { invalidArgument } from '../errors/error-code.js';
import { subjectKey } from '../model/relationship.js';
import type { CallContext } from '../server/call.js';
import { EdgeTokens, MAX_EDGE_TOKEN_TTL_S } from '../tokens/edge-tokens.js';
import { fromDate, structToJson, toConsistency, toName, toObject, toSubject, toTypeName, type PbConsistency, type PbObject, type PbStruct, type PbSubject } from './convert.js';

/** The most resources, and permissions, one token states. */
export const MAX_TOKEN_RESOURCES = 100;
export const MAX_TOKEN_PERMISSIONS = 10;
/** The most resources a token listed by type states. */
export const MAX_TOKEN_LISTED = 1000;

/** TokenService: one function per RPC. */
export function tokenService(engine: Engine, tokens: EdgeTokens) {
  return {
    async IssueToken(
      req: {
        consistency: PbConsistency | null;
        subject: PbSubject | null;
        permissions: string[];
        resources: PbObject[];
        resource_type: string;
        limit: number;
        ttl_seconds: number;
        context: PbStruct | null;
      },
      { tenant, signal }: CallContext,
    ) {
      const subject = toSubject(req.subject, 'subject');
      if (!req.permissions.length || req.permissions.length > MAX_TOKEN_PERMISSIONS) throw invalidArgument('permissions', `give 1 to ${MAX_TOKEN_PERMISSIONS} permissions`);
      const permissions = req.permissions.map((p, i) => toName(p, `permissions[${i}]`));
      if (req.resources.length && req.resource_type) throw invalidArgument('resource_type', 'give resources or a resource type, not both');
      if (!req.resources.length && !req.resource_type) throw invalidArgument('resources', 'give resources, or a resource type to list');
      if (req.resources.length > MAX_TOKEN_RESOURCES) throw invalidArgument('resources', `${req.resources.length} resources, at most ${MAX_TOKEN_RESOURCES} allowed`);
      const ttl = req.ttl_seconds || 300;
      if (ttl > MAX_EDGE_TOKEN_TTL_S) throw invalidArgument('ttl_seconds', `at most ${MAX_EDGE_TOKEN_TTL_S}`);
      const limit = req.limit || 100;
      if (limit > MAX_TOKEN_LISTED) throw invalidArgument('limit', `at most ${MAX_TOKEN_LISTED}`);
      const context = req.context ? structToJson(req.context) : {};
      const snap = await tenant.snapshot(toConsistency(req.consistency));
      const perms: Record<string, string[]> = {};
      const grant = (resource: string, permission: string): void => void (perms[resource] ??= []).push(permission);
      let complete = true;
      if (req.resource_type) {
        const resourceType = toTypeName(req.resource_type, 'resource_type');
        for (const permission of permissions) {
          let n = 0;
          walk: for await (const batch of engine.streamResources(snap, { resourceType, permission, subject, context, signal })) {
            for (const r of batch.found) {
              if (r.decision.kind !== 'has') continue;
              if (n++ === limit) {
                complete = false;
                break walk;
              }
              grant(`${resourceType}:${r.id}`, permission);
            }
          }
        }
      } else {
        const resources = req.resources.map((r, i) => toObject(r, `resources[${i}]`));
        for (const resource of resources) {
          for (const permission of permissions) {
            // Only what Check answers HAS: a conditional answer is not a grant the edge can decide.
            const r = await engine.check(snap, { resource, permission, subject, context, signal });
            if (r.decision.kind === 'has') grant(`${resource.type}:${resource.id}`, permission);
          }
        }
      }
      const zookie = tenant.zookie(snap.revision);
      const signed = await tokens.sign({ sub: subjectKey(subject), tnt: tenant.name, zkt: zookie.token, perms, complete }, ttl);
      return { token: signed.token, issued_at: zookie, expires_at: fromDate(signed.expiresAt), key_id: signed.kid };
    },

    async GetJwks() {
      return { jwks: JSON.stringify(await tokens.jwks()) };
    },

    async RotateSigningKey(req: { overlap_seconds: number }) {
      const overlap = req.overlap_seconds || MAX_EDGE_TOKEN_TTL_S;
      const key = await tokens.rotate(overlap);
      return { key_id: key.kid };
    },
  };
}
