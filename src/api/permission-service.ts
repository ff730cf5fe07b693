import { status } from '@grpc/grpc-js';
import type { Engine, FoundResource, FoundSubject } from '../engine/engine.js';
import { FALSE, type Condition, type Decision } from '../engine/condition.js';
import { subjectKey, type ObjectRef, type SubjectRef } from '../model/relationship.js';
import { invalidArgument } from '../errors/error-code.js';
import { toStatus } from '../errors/to-status.js';
import type { Revision } from '../store/store.js';
import type { CallContext } from '../server/call.js';
import {
  fromDate,
  fromDecision,
  structToJson,
  toConsistency,
  toName,
  toObject,
  toRelationships,
  toSubject,
  toTypeName,
  type PbConsistency,
  type PbObject,
  type PbRelationship,
  type PbStruct,
  type PbSubject,
} from './convert.js';
import { expandToMessage } from './expand-tree.js';
import type { DecisionLog } from '../telemetry/decision-log.js';
import { auditImpersonated, impersonation, underImpersonation, type AskedFor } from './impersonation.js';
import { explanationToMessage } from './explain-tree.js';
import { decodeListCursor, listLimit, requestDigest } from './list-cursor.js';
import type { Listings, OpenListing } from './listings.js';

/** The most items one BatchCheck may carry. */
export const MAX_BATCH_ITEMS = 10_000;

interface CheckItem {
  resource: PbObject | null;
  permission: string;
  subject: PbSubject | null;
  context: PbStruct | null;
}

const context = (s: PbStruct | null | undefined): Record<string, unknown> => (s ? structToJson(s) : {});

/** PermissionService: one function per RPC, each validating, picking the revision, asking the engine. */
export function permissionService(engine: Engine, listings: Listings, decisions: DecisionLog | null = null) {
  /** Sends a decision to the decision log, when it wants one of this kind. */
  const logDecision = (ctx: CallContext, revision: Revision, resource: ObjectRef, permission: string, subject: SubjectRef, decision: Decision, actingAs?: SubjectRef): void => {
    if (!decisions?.wants(resource.type, permission)) return;
    decisions.record({
      tenant: ctx.tenant.name,
      keyId: ctx.actor?.keyId ?? '',
      resource: `${resource.type}:${resource.id}`,
      permission,
      subject: subjectKey(subject),
      result: decision.kind,
      revision,
      requestId: ctx.requestId?.() ?? '',
      ...(actingAs ? { actingAs: subjectKey(actingAs) } : {}),
    });
  };
  const checkedContext = (s: PbStruct | null | undefined, field: string): Record<string, unknown> => {
    const c = context(s);
    engine.validateContext(c, field);
    return c;
  };
  return {
    async Check(
      req: CheckItem & { consistency: PbConsistency | null; contextual_relationships: PbRelationship[]; explain: boolean; acting_as?: PbSubject | null },
      ctx: CallContext,
    ) {
      const { tenant, signal } = ctx;
      const resource = toObject(req.resource, 'resource');
      const permission = toName(req.permission, 'permission');
      const subject = toSubject(req.subject, 'subject');
      const contextualRelationships = toRelationships(req.contextual_relationships, 'contextual_relationships');
      const snap = await tenant.snapshot(toConsistency(req.consistency));
      const question = { resource, permission, subject, context: context(req.context), contextualRelationships, signal };
      const explained = req.explain ? await engine.explain(snap, question) : null;
      const r = explained ?? (await engine.check(snap, question));
      const expires = r.expiresAt && r.decision.kind !== 'no' ? fromDate(r.expiresAt) : null;
      const explanation = explained ? explanationToMessage(explained.explanation) : null;
      let decision = r.decision;
      const acting = await impersonation(engine, tenant, snap, req.acting_as, question.context, signal);
      if (acting) {
        decision = underImpersonation(decision, await acting.grant(subject));
        await auditImpersonated(ctx, 'PermissionService.Check', snap.revision, acting.actor, [{ resource, permission, subject, decision }]);
      }
      logDecision(ctx, snap.revision, resource, permission, subject, decision, acting?.actor);
      return { checked_at: tenant.zookie(snap.revision), ...fromDecision(decision), optional_expires_at: expires, explanation };
    },

    async BatchCheck(req: { consistency: PbConsistency | null; items: CheckItem[]; acting_as?: PbSubject | null }, ctx: CallContext) {
      const { tenant, signal } = ctx;
      if (req.items.length > MAX_BATCH_ITEMS) throw invalidArgument('items', `${req.items.length} items, at most ${MAX_BATCH_ITEMS} allowed`, 'ERROR_REASON_TOO_MANY_CHECKS_IN_REQUEST');
      const itemError = (e: unknown) => {
        const mapped = toStatus(e);
        if (mapped.internal) throw e;
        return { error: { code: mapped.error.code ?? status.UNKNOWN, message: mapped.error.details } };
      };
      // Form is checked for every item first, at the edge; then all are answered at one revision.
      const parsed = req.items.map((item, i) => {
        try {
          return {
            resource: toObject(item.resource, `items[${i}].resource`),
            permission: toName(item.permission, `items[${i}].permission`),
            subject: toSubject(item.subject, `items[${i}].subject`),
            context: checkedContext(item.context, `items[${i}].context`),
          };
        } catch (e) {
          return itemError(e);
        }
      });
      const snap = await tenant.snapshot(toConsistency(req.consistency));
      // Items asking the same permission of the same subject on resources of one type are one
      // batched dispatch (shared subproblems computed once); each is then decided with its own context.
      const groupOf = (item: { resource: ObjectRef; permission: string; subject: SubjectRef }): string =>
        `${item.resource.type}\u0000${item.permission}\u0000${item.subject.type}\u0000${item.subject.id}\u0000${item.subject.relation}`;
      const groups = new Map<string, { resourceType: string; permission: string; subject: SubjectRef; ids: Set<string> }>();
      const keys = parsed.map((item) => {
        if ('error' in item) return '';
        const key = groupOf(item);
        let g = groups.get(key);
        if (!g) groups.set(key, (g = { resourceType: item.resource.type, permission: item.permission, subject: item.subject, ids: new Set() }));
        g.ids.add(item.resource.id);
        return key;
      });
      const answers = new Map<string, Promise<ReadonlyMap<string, Condition> | { error: unknown }>>();
      for (const [key, { ids, ...g }] of groups) {
        // Never rejected (an unawaited rejection would be unhandled): a failure is the group's items' error.
        answers.set(key, engine.checkMany(snap, { ...g, resourceIds: [...ids], signal }).catch((e: unknown) => ({ error: e })));
      }
      const zookie = tenant.zookie(snap.revision);
      const acting = await impersonation(engine, tenant, snap, req.acting_as, {}, signal);
      const asked: AskedFor[] = [];
      const results = [];
      for (const [i, item] of parsed.entries()) {
        if ('error' in item) {
          results.push(item);
          continue;
        }
        const answer = await answers.get(keys[i]!)!;
        try {
          if ('error' in answer) throw answer.error;
          let decision = engine.decideCheck(snap, answer.get(item.resource.id) ?? FALSE, item.context);
          if (acting) {
            decision = underImpersonation(decision, await acting.grant(item.subject));
            asked.push({ ...item, decision });
          }
          logDecision(ctx, snap.revision, item.resource, item.permission, item.subject, decision, acting?.actor);
          results.push({ item: { checked_at: zookie, ...fromDecision(decision) } });
        } catch (e) {
          results.push(itemError(e));
        }
      }
      // A cancelled or timed-out call fails whole, not item by item.
      if (signal.aborted) throw signal.reason;
      if (acting) await auditImpersonated(ctx, 'PermissionService.BatchCheck', snap.revision, acting.actor, asked);
      return { checked_at: zookie, results };
    },

    async Expand(
      req: { consistency: PbConsistency | null; resource: PbObject | null; permission: string; contextual_relationships: PbRelationship[] },
      { tenant, signal }: CallContext,
    ) {
      const resource = toObject(req.resource, 'resource');
      const permission = toName(req.permission, 'permission');
      const contextualRelationships = toRelationships(req.contextual_relationships, 'contextual_relationships');
      const snap = await tenant.snapshot(toConsistency(req.consistency));
      const tree = await engine.expand(snap, { resource, permission, contextualRelationships, signal });
      return { expanded_at: tenant.zookie(snap.revision), tree: expandToMessage(tree) };
    },

    async ListObjects(
      req: {
        consistency: PbConsistency | null;
        resource_type: string;
        permission: string;
        subject: PbSubject | null;
        context: PbStruct | null;
        contextual_relationships: PbRelationship[];
        limit: number;
        cursor: string;
        /** Not in the native API: the SpiceDB surface asks for a cursor on every result. */
        every_result_cursor?: boolean;
        acting_as?: PbSubject | null;
      },
      ctx: CallContext,
      send: (res: unknown) => Promise<void>,
    ) {
      const { tenant, signal } = ctx;
      const resourceType = toTypeName(req.resource_type, 'resource_type');
      const permission = toName(req.permission, 'permission');
      const subject = toSubject(req.subject, 'subject');
      const contextualRelationships = toRelationships(req.contextual_relationships, 'contextual_relationships');
      const question = { resourceType, permission, subject, context: context(req.context), contextualRelationships };
      const listing = await resume(tenant, req.consistency, req.cursor, req.limit, question);
      // Made for someone: nothing is listed unless the actor may act for the subject.
      const acting = await impersonation(engine, tenant, listing.snap, req.acting_as, question.context, signal);
      const grant = acting ? await acting.grant(subject) : null;
      if (acting) await auditImpersonated(ctx, 'PermissionService.ListObjects', listing.snap.revision, acting.actor, [{ resource: { type: resourceType, id: '*' }, permission, subject, decision: grant! }]);
      if (grant?.kind === 'no') return;
      // Results stream as each batch of candidates is verified; the position [batch offset, n]
      // lets any server resume after the n-th result of that batch.
      const open: OpenListing<FoundResource> = (after, walkSignal) =>
        (async function* () {
          const [skip = 0, done = 0] = after ?? [];
          for await (const b of engine.streamResources(listing.snap, { ...question, signal: walkSignal }, skip)) {
            for (const [i, r] of b.found.entries()) {
              if (after && b.offset === skip && i < done) continue;
              yield { item: r, position: [b.offset, i + 1] };
            }
          }
        })();
      await listings.page(listing.scope, listing.cursor, listing.limit, signal, open, (r, cursor) => send({ looked_up_at: listing.zookie, object_id: r.id, ...fromDecision(grant ? underImpersonation(r.decision, grant) : r.decision), cursor }), {
        everyResult: req.every_result_cursor === true,
      });
    },

    async ListSubjects(
      req: {
        consistency: PbConsistency | null;
        resource: PbObject | null;
        permission: string;
        subject_type: string;
        optional_subject_relation: string;
        context: PbStruct | null;
        contextual_relationships: PbRelationship[];
        limit: number;
        cursor: string;
        /** Not in the native API: the SpiceDB surface asks for a cursor on every result. */
        every_result_cursor?: boolean;
      },
      { tenant, signal }: CallContext,
      send: (res: unknown) => Promise<void>,
    ) {
      const resource = toObject(req.resource, 'resource');
      const permission = toName(req.permission, 'permission');
      const subjectType = toTypeName(req.subject_type, 'subject_type');
      const subjectRelation = req.optional_subject_relation ? toName(req.optional_subject_relation, 'optional_subject_relation') : undefined;
      const contextualRelationships = toRelationships(req.contextual_relationships, 'contextual_relationships');
      const question = { resource, permission, subjectType, ...(subjectRelation ? { subjectRelation } : {}), context: context(req.context), contextualRelationships };
      const listing = await resume(tenant, req.consistency, req.cursor, req.limit, question);
      // The subject set is computed whole (its operators need all of it), then paged; the parked
      // listing keeps it between pages, and the position (results returned) resumes it anywhere.
      const open: OpenListing<FoundSubject & { excluded: readonly string[] }> = (after, walkSignal) =>
        (async function* () {
          const found = await engine.lookupSubjects(listing.snap, { ...question, signal: walkSignal });
          // The wildcard sorts first (`*` is before every id character).
          const all = [
            ...(found.wildcard ? [{ id: '*', decision: found.wildcard.decision, excluded: found.wildcard.excluded }] : []),
            ...found.subjects.map((x) => ({ ...x, excluded: [] as readonly string[] })),
          ];
          for (let i = after?.[0] ?? 0; i < all.length; i++) yield { item: all[i]!, position: [i + 1] };
        })();
      const result = (x: FoundSubject & { excluded: readonly string[] }, cursor: string) =>
        send({ looked_up_at: listing.zookie, subject_id: x.id, ...fromDecision(x.decision), excluded_subject_ids: x.excluded, cursor });
      await listings.page(listing.scope, listing.cursor, listing.limit, signal, open, result, { everyResult: req.every_result_cursor === true });
    },

    async ListPermissions(
      req: { consistency: PbConsistency | null; resource: PbObject | null; subject: PbSubject | null; context: PbStruct | null; acting_as?: PbSubject | null },
      ctx: CallContext,
    ) {
      const { tenant, signal } = ctx;
      const resource = toObject(req.resource, 'resource');
      const subject = toSubject(req.subject, 'subject');
      const snap = await tenant.snapshot(toConsistency(req.consistency));
      const def = snap.schema.definition(resource.type);
      if (!def) throw invalidArgument('resource.object_type', `unknown type \`${resource.type}\``);
      const acting = await impersonation(engine, tenant, snap, req.acting_as, context(req.context), signal);
      const grant = acting ? await acting.grant(subject) : null;
      const permissions = [];
      const asked: AskedFor[] = [];
      for (const m of def.members) {
        const r = await engine.check(snap, { resource, permission: m.name, subject, context: context(req.context), signal });
        const decision = grant ? underImpersonation(r.decision, grant) : r.decision;
        if (acting) asked.push({ resource, permission: m.name, subject, decision });
        permissions.push({ permission: m.name, ...fromDecision(decision) });
      }
      if (acting) await auditImpersonated(ctx, 'PermissionService.ListPermissions', snap.revision, acting.actor, asked);
      return { checked_at: tenant.zookie(snap.revision), permissions };
    },
  };
}

/**
 * Where a listing starts: a cursor's revision and position (checked to be of this tenant's
 * request), or the consistency's revision from the top.
 */
async function resume(tenant: CallContext['tenant'], consistency: PbConsistency | null, token: string, requested: number, question: unknown) {
  const limit = listLimit(requested);
  const cursor = token ? decodeListCursor(token) : null;
  let revision: Revision;
  if (cursor) {
    revision = cursor.revision;
    await tenant.store.checkRevision(revision);
  } else {
    revision = await tenant.pick(toConsistency(consistency));
  }
  const snap = await tenant.snapshotAt(revision);
  return { snap, limit, cursor, zookie: tenant.zookie(revision), scope: { tenant: tenant.name, revision, request: requestDigest(question) } };
}
