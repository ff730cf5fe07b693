import type { Precondition as StorePrecondition, RelationshipUpdate } from '../store/store.js';
import { invalidArgument } from '../errors/error-code.js';
import { cursorRevision } from '../store/store-support.js';
import type { CallContext } from '../server/call.js';
import {
  fromRelationship,
  structToJson,
  toConsistency,
  toFilter,
  toRelationship,
  type PbConsistency,
  type PbFilter,
  type PbRelationship,
  type PbStruct,
} from './convert.js';
import { listLimit } from './list-cursor.js';

const OPERATIONS = { OPERATION_CREATE: 'create', OPERATION_TOUCH: 'touch', OPERATION_DELETE: 'delete' } as const;
const PRECONDITIONS = { OPERATION_MUST_MATCH: 'must_match', OPERATION_MUST_NOT_MATCH: 'must_not_match' } as const;

/** RelationshipService: one function per RPC. */
export function relationshipService() {
  return {
    async Write(
      req: {
        updates: { operation: string; relationship: PbRelationship | null }[];
        preconditions: { operation: string; filter: PbFilter | null }[];
        metadata: PbStruct | null;
      },
      { tenant }: CallContext,
    ) {
      if (!req.updates.length) throw invalidArgument('updates', 'at least one update is required');
      const head = await tenant.store.headRevision();
      const schema = await tenant.schemaAt(head);
      const updates: RelationshipUpdate[] = req.updates.map((u, i) => {
        const operation = OPERATIONS[u.operation as keyof typeof OPERATIONS];
        if (!operation) throw invalidArgument(`updates[${i}].operation`, 'must be CREATE, TOUCH or DELETE');
        const relationship = toRelationship(u.relationship, `updates[${i}].relationship`);
        if (operation !== 'delete') schema.validateRelationship(relationship, `updates[${i}].relationship`);
        return { operation, relationship };
      });
      const preconditions: StorePrecondition[] = req.preconditions.map((p, i) => {
        const operation = PRECONDITIONS[p.operation as keyof typeof PRECONDITIONS];
        if (!operation) throw invalidArgument(`preconditions[${i}].operation`, 'must be MUST_MATCH or MUST_NOT_MATCH');
        return { operation, filter: toFilter(p.filter, `preconditions[${i}].filter`) };
      });
      const revision = await tenant.store.write(updates, { preconditions, ...(req.metadata ? { metadata: structToJson(req.metadata) } : {}) });
      return { written_at: tenant.zookie(revision) };
    },

    async Delete(req: { filter: PbFilter | null; limit: number; allow_partial: boolean; metadata: PbStruct | null }, { tenant }: CallContext) {
      const filter = toFilter(req.filter, 'filter');
      if (req.allow_partial && !req.limit) throw invalidArgument('allow_partial', 'needs a limit');
      const r = await tenant.store.deleteByFilter(filter, {
        ...(req.limit ? { limit: req.limit } : {}),
        allowPartial: req.allow_partial,
        ...(req.metadata ? { metadata: structToJson(req.metadata) } : {}),
      });
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
  };
}
