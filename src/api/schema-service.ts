import { recordAudit } from './audit-trail.js';
import { compileSchema, formatSchema, SchemaError } from '../../schema-dsl/index.js';
import { failedPrecondition, invalidArgument } from '../errors/error-code.js';
import type { CallContext } from '../server/call.js';
import { toConsistency, type PbConsistency } from './convert.js';
import { orphanedBy } from './schema-changes.js';
import type { Engine } from '../engine/engine.js';
import { simulateSchema, type SimulateSchemaRequest } from './simulate-schema.js';

/** The largest schema text accepted. */
export const MAX_SCHEMA_BYTES = 1_000_000;

function checkSize(text: string): void {
  if (!text.trim()) throw invalidArgument('schema', 'is empty');
  if (Buffer.byteLength(text) > MAX_SCHEMA_BYTES) throw invalidArgument('schema', `is larger than ${MAX_SCHEMA_BYTES} bytes`);
}

/** SchemaService: one function per RPC. */
export function schemaService(engine: Engine) {
  return {
    async WriteSchema(req: { schema: string }, ctx: CallContext) {
      const { tenant } = ctx;
      checkSize(req.schema);
      const next = compileSchema(req.schema);
      // The orphan check runs inside the store's write serialization, against the live
      // relationships, so no write the new schema would disallow can commit meanwhile.
      const text = formatSchema(next);
      const revision = await tenant.store.writeSchema(text, {
        guard: async (current, live) => {
          if (!current) return;
          const problems = await orphanedBy(tenant.compiled(current).ir, next, live);
          if (problems.length) throw failedPrecondition(`the new schema would orphan stored relationships: ${problems.join('; ')}; delete them first`, 'schema');
        },
      });
      await recordAudit(tenant.audit, ctx, { method: 'SchemaService.WriteSchema', tenant: tenant.name, revision, changes: [{ operation: 'schema', target: `${next.definitions.length} definitions, ${next.caveats.length} caveats` }], metadata: { schema: text } });
      return { written_at: tenant.zookie(revision) };
    },

    async ReadSchema(req: { consistency: PbConsistency | null }, { tenant }: CallContext) {
      const revision = await tenant.pick(toConsistency(req.consistency));
      const found = await tenant.store.readSchema(revision);
      if (!found) throw failedPrecondition('no schema has been written for this tenant yet');
      return { read_at: tenant.zookie(revision), schema: found.text, version: found.revision };
    },

    SimulateSchema(req: SimulateSchemaRequest, ctx: CallContext) {
      return simulateSchema(engine, req, ctx, checkSize);
    },

    async ValidateSchema(req: { schema: string }) {
      checkSize(req.schema);
      try {
        return { valid: true, diagnostics: [], formatted: formatSchema(compileSchema(req.schema)) };
      } catch (e) {
        if (!(e instanceof SchemaError)) throw e;
        return { valid: false, diagnostics: e.diagnostics.map((d) => ({ message: d.message, line: d.line, column: d.column })), formatted: '' };
      }
    },
  };
}
