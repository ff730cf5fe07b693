import { filterChange, recordAudit, relationshipChange } from './audit-trail.js';
import { MAX_AUDIT_CHANGES, type AuditChange } from '../store/audit.js';
import type { Precondition as StorePrecondition, Revision, StoredSchema } from '../store/store.js';
import { WardenError, failedPrecondition, invalidArgument } from '../errors/error-code.js';
import { cursorRevision } from '../store/store-support.js';
import type { CallContext } from '../server/call.js';
import {
  fromRelationship,
  storedStruct,
  toConsistency,
  toFilter,
  toRelationship,
  toUpdates,
  type PbConsistency,
  type PbFilter,
  type PbRelationship,
  type PbStruct,
  type PbSubject,
} from './convert.js';
import { actingAsText } from './impersonation.js';
import { listLimit } from './list-cursor.js';

const PRECONDITIONS = { OPERATION_MUST_MATCH: 'must_match', OPERATION_MUST_NOT_MATCH: 'must_not_match' } as const;

/** A precondition message: MUST_MATCH or MUST_NOT_MATCH a filter. */
interface PbPrecondition {
  operation: string;
  filter: PbFilter | null;
}

function toPreconditions(list: readonly PbPrecondition[]): StorePrecondition[] {
  return list.map((p, i) => {
    const operation = PRECONDITIONS[p.operation as keyof typeof PRECONDITIONS];
    if (!operation) throw invalidArgument(`preconditions[${i}].operation`, 'must be MUST_MATCH or MUST_NOT_MATCH');
    return { operation, filter: toFilter(p.filter, `preconditions[${i}].filter`) };
  });
}

/** How many more relationships a tenant may hold under its quota (Infinity without one). */
async function quotaRoom(tenant: CallContext['tenant']): Promise<number> {
  const { maxRelationships } = await tenant.settings();
  if (!maxRelationships) return Infinity;
  return Math.max(0, maxRelationships - (await tenant.store.countRelationships()));
}

function overQuota(room: number, adding: number, field: string): WardenError {
  return new WardenError('RESOURCE_EXHAUSTED', `this tenant's relationship quota leaves room for ${room} more; this would add ${adding}: delete some, or raise max_relationships`, { field });
}

/** RelationshipService: one function per RPC. */
export function relationshipService() {
  return {
    async Write(
      req: {
        updates: { operation: string; relationship: PbRelationship | null }[];
        preconditions: { operation: string; filter: PbFilter | null }[];
        metadata: PbStruct | null;
        acting_as?: PbSubject | null;
      },
      ctx: CallContext,
    ) {
      const { tenant } = ctx;
      const actingAs = actingAsText(req.acting_as);
      if (!req.updates.length) throw invalidArgument('updates', 'at least one update is required');
      const updates = toUpdates(req.updates, 'updates');
      const preconditions = toPreconditions(req.preconditions);
      // Meaning is checked against the schema in force when the write commits, inside the store's
      // serialization: a schema change cannot slip in between the check and the write.
      const guard = (stored: StoredSchema | null): void => {
        const schema = tenant.compiled(stored);
        updates.forEach((u, i) => {
          if (u.operation !== 'delete') schema.validateRelationship(u.relationship, `updates[${i}].relationship`);
        });
      };
      const metadata = req.metadata ? storedStruct(req.metadata, 'metadata') : null;
      // Counted as if every write were new (a touch of an existing relationship adds nothing, but is not told apart here).
      const adding = updates.reduce((n, u) => n + (u.operation === 'delete' ? -1 : 1), 0);
      const room = await quotaRoom(tenant);
      if (adding > room) throw overQuota(room, adding, 'updates');
      const revision = await tenant.store.write(updates, { preconditions, guard, ...(metadata ? { metadata } : {}) });
      await recordAudit(tenant.audit, ctx, { method: 'RelationshipService.Write', tenant: tenant.name, revision, changes: updates.map((u) => relationshipChange(u.operation, u.relationship)), metadata, actingAs });
      return { written_at: tenant.zookie(revision) };
    },

    async Delete(
      req: { filter: PbFilter | null; limit: number; allow_partial: boolean; metadata: PbStruct | null; preconditions?: PbPrecondition[]; acting_as?: PbSubject | null },
      ctx: CallContext,
    ) {
      const { tenant } = ctx;
      const actingAs = actingAsText(req.acting_as);
      const filter = toFilter(req.filter, 'filter');
      if (req.allow_partial && !req.limit) throw invalidArgument('allow_partial', 'needs a limit');
      const metadata = req.metadata ? storedStruct(req.metadata, 'metadata') : null;
      const r = await tenant.store.deleteByFilter(filter, {
        ...(req.limit ? { limit: req.limit } : {}),
        allowPartial: req.allow_partial,
        preconditions: toPreconditions(req.preconditions ?? []),
        ...(metadata ? { metadata } : {}),
      });
      await recordAudit(tenant.audit, ctx, { method: 'RelationshipService.Delete', tenant: tenant.name, revision: r.revision, changes: [filterChange(filter)], total: r.deleted, metadata, actingAs });
      return { deleted_at: tenant.zookie(r.revision), deleted_count: String(r.deleted), more_remain: r.more };
    },

    async Read(
      req: { consistency: PbConsistency | null; filter: PbFilter | null; limit: number; cursor: string },
      { tenant, signal }: CallContext,
      send: (res: unknown) => Promise<void>,
    ) {
      const filter = toFilter(req.filter, 'filter');
      const limit = listLimit(req.limit);
      let revision;
      if (req.cursor) {
        revision = cursorRevision(req.cursor);
        await tenant.store.checkRevision(revision);
      } else {
        revision = await tenant.pick(toConsistency(req.consistency));
      }
      let cursor: string | null = req.cursor || null;
      let left = limit;
      // Read in store pages, stopping at the limit; the last message carries the cursor to go on.
      while (left > 0) {
        if (signal.aborted) throw signal.reason;
        const page = await tenant.store.readPage(revision, filter, { limit: Math.min(left, 1000), cursor });
        left -= page.relationships.length;
        cursor = page.cursor;
        for (const [i, r] of page.relationships.entries()) {
          const last = i === page.relationships.length - 1;
          await send({ read_at: tenant.zookie(revision), relationship: fromRelationship(r), cursor: last && cursor && left === 0 ? cursor : '' });
        }
        if (!cursor) break;
      }
    },

    async Import(requests: AsyncIterable<{ relationships: PbRelationship[] }>, ctx: CallContext) {
      const { tenant, signal } = ctx;
      // The first relationships are listed in the audit history; all are counted.
      const listed: AuditChange[] = [];
      const room = await quotaRoom(tenant);
      const { schema, revision: schemaRevision } = await tenant.schemaVersionAt(await tenant.store.headRevision());
      let n = 0;
      // Each relationship is checked as it arrives; the first bad one fails the whole import, which commits nothing.
      async function* relationships() {
        for await (const chunk of requests) {
          if (signal.aborted) throw signal.reason;
          for (const r of chunk.relationships) {
            const field = `relationships[${n}]`;
            if (++n > MAX_IMPORT) throw invalidArgument('relationships', `more than ${MAX_IMPORT} relationships in one import: split it`);
            if (n > room) throw overQuota(room, n, 'relationships');
            const rel = toRelationship(r, field);
            schema.validateRelationship(rel, field);
            if (listed.length < MAX_AUDIT_CHANGES) listed.push(relationshipChange('import', rel));
            yield rel;
          }
        }
        // The stream ended: only now may the import commit, and only if the call still stands.
        if (signal.aborted) throw signal.reason;
      }
      // Each relationship was checked against the schema as the import began; it must still be the one in force at commit.
      const guard = (stored: StoredSchema | null): void => {
        // The last moment to refuse: a client that went away while its stream was staged gets nothing committed.
        if (signal.aborted) throw signal.reason;
        if (stored?.revision !== schemaRevision) {
          throw failedPrecondition('the schema changed while the import was streaming; nothing was imported: run the import again', 'schema');
        }
      };
      const { revision, count } = await tenant.store.importRelationships(relationships(), { metadata: { import: true }, guard });
      await recordAudit(tenant.audit, ctx, { method: 'RelationshipService.Import', tenant: tenant.name, revision, changes: listed, total: count });
      return { imported_at: tenant.zookie(revision), count: String(count) };
    },

    async Export(req: { consistency: PbConsistency | null; page_size: number; cursor: string }, { tenant, signal }: CallContext, send: (res: unknown) => Promise<void>) {
      const pageSize = listLimit(req.page_size);
      let position = req.cursor ? decodeExportCursor(req.cursor) : null;
      const revision = position?.revision ?? (await tenant.pick(toConsistency(req.consistency)));
      if (position) await tenant.store.checkRevision(revision);
      const types = (await tenant.schemaAt(revision)).ir.definitions.map((d) => d.name).sort();
      const zookie = tenant.zookie(revision);
      for (let i = position ? types.indexOf(position.type) : 0; i >= 0 && i < types.length; i++) {
        const type = types[i]!;
        let cursor = position?.type === type ? position.cursor : null;
        position = null;
        do {
          if (signal.aborted) throw signal.reason;
          const page = await tenant.store.readPage(revision, { resourceType: type }, { limit: pageSize, cursor });
          cursor = page.cursor;
          const next = cursor ? { revision, type, cursor } : types[i + 1] ? { revision, type: types[i + 1]!, cursor: null } : null;
          if (page.relationships.length || !next) {
            await send({ exported_at: zookie, relationships: page.relationships.map(fromRelationship), cursor: next ? encodeExportCursor(next) : '' });
          }
        } while (cursor);
      }
    },
  };
}

/** The most relationships one Import may carry. */
export const MAX_IMPORT = 10_000_000;

interface ExportPosition {
  revision: Revision;
  type: string;
  cursor: string | null;
}

function encodeExportCursor(p: ExportPosition): string {
  return Buffer.from(JSON.stringify([p.revision, p.type, p.cursor])).toString('base64url');
}

function decodeExportCursor(c: string): ExportPosition {
  try {
    const [revision, type, cursor] = JSON.parse(Buffer.from(c, 'base64url').toString('utf8')) as unknown[];
    if (typeof revision === 'string' && /^\d{1,19}$/.test(revision) && typeof type === 'string' && (cursor === null || typeof cursor === 'string')) {
      return { revision: revision as Revision, type, cursor };
    }
  } catch {
    // fall through
  }
  throw invalidArgument('cursor', 'is not a cursor this server issued', 'ERROR_REASON_INVALID_CURSOR');
}
