import { compileSchema, type SchemaIR } from '../../../schema-dsl/index.js';
import { invalidArgument, WardenError } from '../../errors/error-code.js';
import type { CallContext } from '../../server/call.js';
import { toConsistency, toFilter as wardenFilter, toRelationship, type PbConsistency, type PbFilter, type PbObject, type PbRelationship, type PbStruct, type PbSubject } from '../convert.js';
import { MAX_LIST_LIMIT } from '../list-cursor.js';
import type { permissionService } from '../permission-service.js';
import type { relationshipService } from '../relationship-service.js';
import { MAX_SCHEMA_BYTES, type schemaService } from '../schema-service.js';
import { computablePermissions, dependentRelations, diffSchemas, reflectSchema, type ReflectionFilter } from './schema-reflection.js';
import type { watchService } from '../watch-service.js';
import { filterMatcher } from '../../store/filter.js';
import type { Revision } from '../../store/store.js';

// SpiceDB's API (authzed.api.v1) over Warden's own handlers: each method turns SpiceDB's request
// into Warden's, calls the Warden handler (which validates, picks the revision and asks the
// engine or the store), and turns the answer back. The two APIs share their core messages
// (ObjectReference, SubjectReference, Relationship, Consistency; a ZedToken is a Zookie), so
// most fields pass through under the same names; what differs is converted here and nowhere else.

/** The Warden handlers the SpiceDB surface is served by. */
export interface WardenHandlers {
  readonly permissions: ReturnType<typeof permissionService>;
  readonly relationships: ReturnType<typeof relationshipService>;
  readonly schema: ReturnType<typeof schemaService>;
}

type Send = (res: unknown) => Promise<void>;

/** authzed.api.v1.RelationshipFilter: Warden's, plus an id prefix, and the subject relation as a message. */
interface AzFilter {
  resource_type: string;
  optional_resource_id: string;
  optional_resource_id_prefix: string;
  optional_relation: string;
  optional_subject_filter: { subject_type: string; optional_subject_id: string; optional_relation: { relation: string } | null } | null;
}

interface AzCheckItem {
  resource: PbObject | null;
  permission: string;
  subject: PbSubject | null;
  context: PbStruct | null;
}

interface AzCursor {
  token: string;
}

/**
 * A SpiceDB filter as Warden's (the same fields, validated by Warden's conversion). A subject
 * relation filter with an empty relation means "no relation" (`...`).
 */
function toFilter(f: AzFilter | null): PbFilter | null {
  if (!f) return null;
  const s = f.optional_subject_filter;
  return {
    resource_type: f.resource_type,
    optional_resource_id: f.optional_resource_id,
    optional_resource_id_prefix: f.optional_resource_id_prefix,
    optional_relation: f.optional_relation,
    optional_subject_filter: s ? { subject_type: s.subject_type, optional_subject_id: s.optional_subject_id, optional_relation: s.optional_relation ? s.optional_relation.relation || '...' : '' } : null,
  };
}

/** Warden's permissionship and missing context as SpiceDB's CheckPermissionResponse fields. */
function checkResult(r: { permissionship: string; missing_context_params: readonly string[] }) {
  return { permissionship: r.permissionship, partial_caveat_info: caveatInfo(r.missing_context_params) };
}

const caveatInfo = (missing: readonly string[]) => (missing.length ? { missing_required_context: missing } : null);

/** Lookups answer only HAS or CONDITIONAL, in an enum of their own. */
const lookupPermissionship = (p: string): string =>
  p === 'PERMISSIONSHIP_CONDITIONAL_PERMISSION' ? 'LOOKUP_PERMISSIONSHIP_CONDITIONAL_PERMISSION' : 'LOOKUP_PERMISSIONSHIP_HAS_PERMISSION';

const cursorOf = (token: string): AzCursor | null => (token ? { token } : null);

/**
 * Runs a Warden listing to its end when SpiceDB's request sets no limit (SpiceDB then returns
 * everything; Warden pages, at most 10,000 a page), or one page of `limit`. `page(limit, cursor,
 * onResult)` runs one Warden call; `onResult` hears the cursor each message carries. A page that
 * came back full goes on from its last cursor; a shorter one was the end. (`size`: the page size
 * when every page is wanted.)
 */
async function allPages(
  limit: number,
  cursor: string,
  page: (limit: number, cursor: string, onResult: (c: string) => void) => Promise<void>,
  size = limit || MAX_LIST_LIMIT,
): Promise<void> {
  let next = cursor;
  for (;;) {
    let last = '';
    let results = 0;
    await page(size, next, (c) => {
      results++;
      if (c) last = c;
    });
    if (limit || results < size || !last) return;
    next = last;
  }
}

/** authzed.api.v1.PermissionsService over Warden's handlers. */
export function authzedPermissionsService(w: WardenHandlers) {
  return {
    async CheckPermission(req: AzCheckItem & { consistency: PbConsistency | null; with_tracing: boolean }, ctx: CallContext) {
      const r = await w.permissions.Check({ ...req, contextual_relationships: [], explain: false }, ctx);
      return { checked_at: r.checked_at, ...checkResult(r), optional_expires_at: r.optional_expires_at };
    },

    async CheckBulkPermissions(req: { consistency: PbConsistency | null; items: AzCheckItem[]; with_tracing: boolean }, ctx: CallContext) {
      const r = await w.permissions.BatchCheck({ consistency: req.consistency, items: req.items }, ctx);
      return {
        checked_at: r.checked_at,
        pairs: r.results.map((x, i) =>
          'item' in x ? { request: req.items[i], item: checkResult(x.item) } : { request: req.items[i], error: { code: x.error.code, message: x.error.message, details: [] } },
        ),
      };
    },

    async ExpandPermissionTree(req: { consistency: PbConsistency | null; resource: PbObject | null; permission: string }, ctx: CallContext) {
      const r = await w.permissions.Expand({ ...req, contextual_relationships: [] }, ctx);
      return { expanded_at: r.expanded_at, tree_root: toTree(r.tree as WardenTree) };
    },

    async LookupResources(
      req: { consistency: PbConsistency | null; resource_object_type: string; permission: string; subject: PbSubject | null; context: PbStruct | null; optional_limit: number; optional_cursor: AzCursor | null },
      ctx: CallContext,
      send: Send,
    ) {
      const question = { consistency: req.consistency, resource_type: req.resource_object_type, permission: req.permission, subject: req.subject, context: req.context, contextual_relationships: [] };
      await allPages(req.optional_limit, req.optional_cursor?.token ?? '', (limit, cursor, onCursor) =>
        w.permissions.ListObjects({ ...question, limit, cursor, every_result_cursor: true }, ctx, (m) => {
          const x = m as { looked_up_at: unknown; object_id: string; permissionship: string; missing_context_params: string[]; cursor: string };
          onCursor(x.cursor);
          return send({
            looked_up_at: x.looked_up_at,
            resource_object_id: x.object_id,
            permissionship: lookupPermissionship(x.permissionship),
            partial_caveat_info: caveatInfo(x.missing_context_params),
            after_result_cursor: cursorOf(x.cursor),
          });
        }),
      );
    },

    async LookupSubjects(
      req: {
        consistency: PbConsistency | null;
        resource: PbObject | null;
        permission: string;
        subject_object_type: string;
        optional_subject_relation: string;
        context: PbStruct | null;
        optional_concrete_limit: number;
        optional_cursor: AzCursor | null;
        wildcard_option: string;
      },
      ctx: CallContext,
      send: Send,
    ) {
      const question = {
        consistency: req.consistency,
        resource: req.resource,
        permission: req.permission,
        subject_type: req.subject_object_type,
        optional_subject_relation: req.optional_subject_relation,
        context: req.context,
        contextual_relationships: [],
      };
      const wildcards = req.wildcard_option !== 'WILDCARD_OPTION_EXCLUDE_WILDCARDS';
      await allPages(req.optional_concrete_limit, req.optional_cursor?.token ?? '', (limit, cursor, onCursor) =>
        w.permissions.ListSubjects({ ...question, limit, cursor, every_result_cursor: true }, ctx, async (m) => {
          const x = m as { looked_up_at: unknown; subject_id: string; permissionship: string; missing_context_params: string[]; excluded_subject_ids: string[]; cursor: string };
          onCursor(x.cursor);
          if (x.subject_id === '*' && !wildcards) return;
          const permissionship = lookupPermissionship(x.permissionship);
          const partial = caveatInfo(x.missing_context_params);
          await send({
            looked_up_at: x.looked_up_at,
            subject: { subject_object_id: x.subject_id, permissionship, partial_caveat_info: partial },
            excluded_subjects: x.excluded_subject_ids.map((id) => ({ subject_object_id: id, permissionship: 'LOOKUP_PERMISSIONSHIP_HAS_PERMISSION', partial_caveat_info: null })),
            after_result_cursor: cursorOf(x.cursor),
            // The fields older clients read, deprecated in SpiceDB's API but still filled by SpiceDB.
            subject_object_id: x.subject_id,
            excluded_subject_ids: x.excluded_subject_ids,
            permissionship,
            partial_caveat_info: partial,
          });
        }),
      );
    },

    async WriteRelationships(
      req: {
        updates: { operation: string; relationship: PbRelationship | null }[];
        optional_preconditions: { operation: string; filter: AzFilter | null }[];
        optional_transaction_metadata: PbStruct | null;
      },
      ctx: CallContext,
    ) {
      const preconditions = req.optional_preconditions.map((p) => ({ operation: p.operation, filter: toFilter(p.filter) }));
      return w.relationships.Write({ updates: req.updates, preconditions, metadata: req.optional_transaction_metadata }, ctx);
    },

    async DeleteRelationships(
      req: {
        relationship_filter: AzFilter | null;
        optional_preconditions: { operation: string; filter: AzFilter | null }[];
        optional_limit: number;
        optional_allow_partial_deletions: boolean;
        optional_transaction_metadata: PbStruct | null;
      },
      ctx: CallContext,
    ) {
      const preconditions = req.optional_preconditions.map((p) => ({ operation: p.operation, filter: toFilter(p.filter) }));
      const r = await w.relationships.Delete(
        {
          filter: toFilter(req.relationship_filter),
          limit: req.optional_limit,
          allow_partial: req.optional_allow_partial_deletions,
          metadata: req.optional_transaction_metadata,
          preconditions,
        },
        ctx,
      );
      return { deleted_at: r.deleted_at, deletion_progress: r.more_remain ? 'DELETION_PROGRESS_PARTIAL' : 'DELETION_PROGRESS_COMPLETE', relationships_deleted_count: r.deleted_count };
    },

    async ReadRelationships(
      req: { consistency: PbConsistency | null; relationship_filter: AzFilter | null; optional_limit: number; optional_cursor: AzCursor | null },
      ctx: CallContext,
      send: Send,
    ) {
      const filter = toFilter(req.relationship_filter);
      await allPages(req.optional_limit, req.optional_cursor?.token ?? '', (limit, cursor, onCursor) =>
        w.relationships.Read({ consistency: req.consistency, filter, limit, cursor }, ctx, (m) => {
          const x = m as { read_at: unknown; relationship: unknown; cursor: string };
          onCursor(x.cursor);
          return send({ read_at: x.read_at, relationship: x.relationship, after_result_cursor: cursorOf(x.cursor) });
        }),
      );
    },

    async ImportBulkRelationships(requests: AsyncIterable<{ relationships: PbRelationship[] }>, ctx: CallContext) {
      const r = await w.relationships.Import(requests, ctx);
      return { num_loaded: r.count };
    },

    async ExportBulkRelationships(
      req: { consistency: PbConsistency | null; optional_limit: number; optional_cursor: AzCursor | null; optional_relationship_filter: AzFilter | null },
      ctx: CallContext,
      send: Send,
    ) {
      if (req.optional_relationship_filter) {
        // A filtered export is a read, sent a page a message.
        const filter = toFilter(req.optional_relationship_filter);
        let batch: unknown[] = [];
        await allPages(
          0,
          req.optional_cursor?.token ?? '',
          (limit, cursor, onCursor) =>
            w.relationships.Read({ consistency: req.consistency, filter, limit, cursor }, ctx, async (m) => {
              const x = m as { relationship: unknown; cursor: string };
              batch.push(x.relationship);
              onCursor(x.cursor);
              if (x.cursor) {
                await send({ relationships: batch, after_result_cursor: cursorOf(x.cursor) });
                batch = [];
              }
            }),
          req.optional_limit || 1000,
        );
        if (batch.length) await send({ relationships: batch, after_result_cursor: null });
        return;
      }
      await w.relationships.Export({ consistency: req.consistency, page_size: req.optional_limit, cursor: req.optional_cursor?.token ?? '' }, ctx, (m) => {
        const x = m as { relationships: unknown[]; cursor: string };
        return send({ relationships: x.relationships, after_result_cursor: cursorOf(x.cursor) });
      });
    },
  };
}

/** authzed.api.v1.SchemaService over Warden's handlers and compiled schema. */
export function authzedSchemaService(w: WardenHandlers) {
  return {
    async ReadSchema(_req: unknown, { tenant }: CallContext) {
      // SpiceDB reads the schema fully consistent, and answers NOT_FOUND before one is written (zed tests for it).
      const revision = await tenant.pick(toConsistency({ requirement: 'fully_consistent', fully_consistent: true } as PbConsistency));
      const found = await tenant.store.readSchema(revision);
      if (!found) throw new WardenError('NOT_FOUND', 'no schema has been written for this tenant yet');
      return { schema_text: found.text, read_at: tenant.zookie(revision) };
    },

    async WriteSchema(req: { schema: string }, ctx: CallContext) {
      return w.schema.WriteSchema(req, ctx);
    },

    async ReflectSchema(req: { consistency: PbConsistency | null; optional_filters: ReflectionFilter[] }, { tenant }: CallContext) {
      const { ir, revision } = await schemaAt(tenant, req.consistency);
      return { ...reflectSchema(ir, req.optional_filters), read_at: tenant.zookie(revision) };
    },

    async ComputablePermissions(req: { consistency: PbConsistency | null; definition_name: string; relation_name: string; optional_definition_name_filter: string }, { tenant }: CallContext) {
      const { ir, revision } = await schemaAt(tenant, req.consistency);
      memberOf(ir, req.definition_name, req.relation_name, 'relation_name');
      return { permissions: computablePermissions(ir, req.definition_name, req.relation_name, req.optional_definition_name_filter), read_at: tenant.zookie(revision) };
    },

    async DependentRelations(req: { consistency: PbConsistency | null; definition_name: string; permission_name: string }, { tenant }: CallContext) {
      const { ir, revision } = await schemaAt(tenant, req.consistency);
      if (memberOf(ir, req.definition_name, req.permission_name, 'permission_name').kind !== 'permission') {
        throw new WardenError('FAILED_PRECONDITION', `permission_name: \`${req.definition_name}#${req.permission_name}\` is a relation, not a permission`, { field: 'permission_name' });
      }
      return { relations: dependentRelations(ir, req.definition_name, req.permission_name), read_at: tenant.zookie(revision) };
    },

    async DiffSchema(req: { consistency: PbConsistency | null; comparison_schema: string }, { tenant }: CallContext) {
      const { ir, revision } = await schemaAt(tenant, req.consistency);
      if (!req.comparison_schema.trim()) throw invalidArgument('comparison_schema', 'is empty');
      if (Buffer.byteLength(req.comparison_schema) > MAX_SCHEMA_BYTES) throw invalidArgument('comparison_schema', `is larger than ${MAX_SCHEMA_BYTES} bytes`);
      return { diffs: diffSchemas(ir, compileSchema(req.comparison_schema)), read_at: tenant.zookie(revision) };
    },
  };
}

/**
 * authzed.api.v1.ExperimentalService: the methods older clients still call, each the same as its
 * stable successor (their messages have the same fields), named here as [service, method]. The
 * relationship counters are not served.
 */
export const EXPERIMENTAL_ALIASES = {
  BulkImportRelationships: ['PermissionsService', 'ImportBulkRelationships'],
  BulkExportRelationships: ['PermissionsService', 'ExportBulkRelationships'],
  BulkCheckPermission: ['PermissionsService', 'CheckBulkPermissions'],
  ExperimentalReflectSchema: ['SchemaService', 'ReflectSchema'],
  ExperimentalComputablePermissions: ['SchemaService', 'ComputablePermissions'],
  ExperimentalDependentRelations: ['SchemaService', 'DependentRelations'],
  ExperimentalDiffSchema: ['SchemaService', 'DiffSchema'],
} as const;

/** The compiled schema at the request's revision; NOT_FOUND before one is written, as SpiceDB answers. */
async function schemaAt(tenant: CallContext['tenant'], consistency: PbConsistency | null): Promise<{ ir: SchemaIR; revision: Revision }> {
  const revision = await tenant.pick(toConsistency(consistency));
  const found = await tenant.store.readSchema(revision);
  if (!found) throw new WardenError('NOT_FOUND', 'no schema has been written for this tenant yet');
  return { ir: tenant.compiled(found).ir, revision };
}

/** A definition's member named in a request, or NOT_FOUND naming the field. */
function memberOf(ir: SchemaIR, definition: string, name: string, field: string) {
  const def = ir.definitions.find((d) => d.name === definition);
  if (!def) throw new WardenError('NOT_FOUND', `definition_name: no definition \`${definition}\``, { field: 'definition_name' });
  const member = def.members.find((m) => m.name === name);
  if (!member) throw new WardenError('NOT_FOUND', `${field}: \`${definition}\` has no relation or permission \`${name}\``, { field });
  return member;
}

/** authzed.api.v1.WatchService over Warden's Watch. */
export function authzedWatchService(w: WardenHandlers & { readonly watch: ReturnType<typeof watchService> }) {
  return {
    async Watch(
      req: { optional_object_types: string[]; optional_start_cursor: { token: string } | null; optional_relationship_filters: AzFilter[]; optional_update_kinds: string[] },
      ctx: CallContext,
      send: Send,
    ) {
      if (req.optional_object_types.length && req.optional_relationship_filters.length) {
        throw invalidArgument('optional_relationship_filters', 'cannot be given with optional_object_types');
      }
      const matchers = req.optional_relationship_filters.map((f, i) => filterMatcher(wardenFilter(toFilter(f), `optional_relationship_filters[${i}]`)));
      // No kinds asked: relationship updates only, as SpiceDB does.
      const kinds = new Set(req.optional_update_kinds.length ? req.optional_update_kinds : ['WATCH_KIND_INCLUDE_RELATIONSHIP_UPDATES']);
      const relationships = kinds.has('WATCH_KIND_INCLUDE_RELATIONSHIP_UPDATES');
      const schema = kinds.has('WATCH_KIND_INCLUDE_SCHEMA_UPDATES');
      const checkpoints = kinds.has('WATCH_KIND_INCLUDE_CHECKPOINTS');
      await w.watch.Watch({ optional_resource_types: req.optional_object_types, optional_start: req.optional_start_cursor, heartbeat_ms: 0 }, ctx, async (m) => {
        const x = m as { changes: { operation: string; relationship: PbRelationship }[]; changes_through: unknown; metadata: PbStruct | null; schema_changed: boolean; is_heartbeat: boolean };
        if (x.is_heartbeat) {
          if (checkpoints) await send({ updates: [], changes_through: x.changes_through, optional_transaction_metadata: null, schema_updated: false, is_checkpoint: true, full_revision_metadata: [] });
          return;
        }
        const updates = relationships
          ? x.changes.filter((c) => !matchers.length || matchers.some((match) => match(toRelationship(c.relationship, 'relationship')))).map((c) => ({ operation: c.operation, relationship: c.relationship }))
          : [];
        const schemaUpdated = schema && x.schema_changed;
        if (!updates.length && !schemaUpdated) return;
        await send({
          updates,
          changes_through: x.changes_through,
          optional_transaction_metadata: x.metadata,
          schema_updated: schemaUpdated,
          is_checkpoint: false,
          full_revision_metadata: x.metadata ? [x.metadata] : [],
        });
      });
    },
  };
}

/** Warden's Expand tree message. */
interface WardenTree {
  kind: string;
  resource: PbObject;
  relation: string;
  children: WardenTree[];
  subjects: { subject: PbSubject }[];
}

const OPERATION: Record<string, string> = { KIND_UNION: 'OPERATION_UNION', KIND_INTERSECTION: 'OPERATION_INTERSECTION', KIND_EXCLUSION: 'OPERATION_EXCLUSION' };

/** Warden's Expand tree as SpiceDB's PermissionRelationshipTree. */
function toTree(n: WardenTree): unknown {
  const node = { expanded_object: n.resource, expanded_relation: n.relation };
  return n.kind === 'KIND_LEAF'
    ? { ...node, leaf: { subjects: n.subjects.map((s) => s.subject) } }
    : { ...node, intermediate: { operation: OPERATION[n.kind], children: n.children.map(toTree) } };
}
