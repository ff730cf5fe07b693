import { status } from '@grpc/grpc-js';
import type { Engine } from '../engine/engine.js';
import { invalidArgument } from '../errors/error-code.js';
import { toStatus } from '../errors/to-status.js';
import type { Revision } from '../store/store.js';
import type { CallContext } from '../server/call.js';
import {
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
import { decodeListCursor, encodeListCursor, listLimit } from './list-cursor.js';

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
export function permissionService(engine: Engine) {
  return {
    async Check(
      req: CheckItem & { consistency: PbConsistency | null; contextual_relationships: PbRelationship[] },
      { tenant, signal }: CallContext,
    ) {
      const resource = toObject(req.resource, 'resource');
      const permission = toName(req.permission, 'permission');
      const subject = toSubject(req.subject, 'subject');
      const contextualRelationships = toRelationships(req.contextual_relationships, 'contextual_relationships');
      const snap = await tenant.snapshot(toConsistency(req.consistency));
      const r = await engine.check(snap, { resource, permission, subject, context: context(req.context), contextualRelationships, signal });
      return { checked_at: tenant.zookie(snap.revision), ...fromDecision(r.decision) };
    },

    async BatchCheck(req: { consistency: PbConsistency | null; items: CheckItem[] }, { tenant, signal }: CallContext) {
      if (req.items.length > MAX_BATCH_ITEMS) throw invalidArgument('items', `${req.items.length} items, at most ${MAX_BATCH_ITEMS} allowed`);
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
            context: context(item.context),
          };
        } catch (e) {
          return itemError(e);
        }
      });
      const snap = await tenant.snapshot(toConsistency(req.consistency));
      // Identical items are computed once.
      const answers = new Map<string, Promise<unknown>>();
      const results = await Promise.all(
        parsed.map((item) => {
          if ('error' in item) return item;
          const key = JSON.stringify(item);
          let answer = answers.get(key);
          if (!answer) {
            answer = engine.check(snap, { ...item, signal }).then(
              (r) => ({ item: { checked_at: tenant.zookie(snap.revision), ...fromDecision(r.decision) } }),
              (e: unknown) => {
                if (signal.aborted) throw e;
                return itemError(e);
              },
            );
            answers.set(key, answer);
          }
          return answer;
        }),
      );
      return { checked_at: tenant.zookie(snap.revision), results };
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
      },
      { tenant, signal }: CallContext,
      send: (res: unknown) => Promise<void>,
    ) {
      const resourceType = toTypeName(req.resource_type, 'resource_type');
      const permission = toName(req.permission, 'permission');
      const subject = toSubject(req.subject, 'subject');
      const contextualRelationships = toRelationships(req.contextual_relationships, 'contextual_relationships');
      const listing = await resume(tenant, req.consistency, req.cursor, req.limit);
      const found = await engine.lookupResources(listing.snap, { resourceType, permission, subject, context: context(req.context), contextualRelationships, signal });
      await listing.stream(found, send, (r, cursor) => ({ looked_up_at: listing.zookie, object_id: r.id, ...fromDecision(r.decision), cursor }));
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
      },
      { tenant, signal }: CallContext,
      send: (res: unknown) => Promise<void>,
    ) {
      const resource = toObject(req.resource, 'resource');
      const permission = toName(req.permission, 'permission');
      const subjectType = toTypeName(req.subject_type, 'subject_type');
      const subjectRelation = req.optional_subject_relation ? toName(req.optional_subject_relation, 'optional_subject_relation') : undefined;
      const contextualRelationships = toRelationships(req.contextual_relationships, 'contextual_relationships');
      const listing = await resume(tenant, req.consistency, req.cursor, req.limit);
      const found = await engine.lookupSubjects(listing.snap, {
        resource,
        permission,
        subjectType,
        ...(subjectRelation ? { subjectRelation } : {}),
        context: context(req.context),
        contextualRelationships,
        signal,
      });
      // The wildcard sorts first (`*` is before every id character).
      const all = [
        ...(found.wildcard ? [{ id: '*', decision: found.wildcard.decision, excluded: found.wildcard.excluded }] : []),
        ...found.subjects.map((s) => ({ ...s, excluded: [] as readonly string[] })),
      ];
      await listing.stream(all, send, (s, cursor) => ({
        looked_up_at: listing.zookie,
        subject_id: s.id,
        ...fromDecision(s.decision),
        excluded_subject_ids: s.excluded,
        cursor,
      }));
    },

    async ListPermissions(
      req: { consistency: PbConsistency | null; resource: PbObject | null; subject: PbSubject | null; context: PbStruct | null },
      { tenant, signal }: CallContext,
    ) {
      const resource = toObject(req.resource, 'resource');
      const subject = toSubject(req.subject, 'subject');
      const snap = await tenant.snapshot(toConsistency(req.consistency));
      const def = snap.schema.definition(resource.type);
      if (!def) throw invalidArgument('resource.object_type', `unknown type \`${resource.type}\``);
      const permissions = [];
      for (const m of def.members) {
        const r = await engine.check(snap, { resource, permission: m.name, subject, context: context(req.context), signal });
        permissions.push({ permission: m.name, ...fromDecision(r.decision) });
      }
      return { checked_at: tenant.zookie(snap.revision), permissions };
    },
  };
}

/**
 * Where a listing starts: a cursor's revision and position, or the consistency's revision from
 * the top; and how it streams one page of results sorted by id, the last one carrying the cursor
 * to continue when more remain.
 */
async function resume(tenant: CallContext['tenant'], consistency: PbConsistency | null, cursor: string, requested: number) {
  const limit = listLimit(requested);
  let revision: Revision;
  let after: string | null = null;
  if (cursor) {
    ({ revision, after } = decodeListCursor(cursor));
    await tenant.store.checkRevision(revision);
  } else {
    revision = await tenant.pick(toConsistency(consistency));
  }
  const snap = { revision, schema: await tenant.schemaAt(revision), reader: tenant.store.snapshot(revision) };
  return {
    snap,
    zookie: tenant.zookie(revision),
    async stream<T extends { id: string }>(items: readonly T[], send: (res: unknown) => Promise<void>, message: (item: T, cursor: string) => unknown): Promise<void> {
      const rest = after === null ? items : items.filter((x) => x.id > after!);
      const page = rest.slice(0, limit);
      for (const [i, x] of page.entries()) {
        const more = i === page.length - 1 && rest.length > page.length;
        await send(message(x, more ? encodeListCursor(revision, x.id) : ''));
      }
    },
  };
}
