import { compileSchema, SchemaError } from '../../schema-dsl/index.js';
import type { Decision } from '../engine/condition.js';
import type { Engine } from '../engine/engine.js';
import { changedReader, changedRelations, simulate, type Flip, type FlipCount, type ProposedChanges } from '../engine/simulate/simulation.js';
import { failedPrecondition, invalidArgument } from '../errors/error-code.js';
import { TypeSystem } from '../schema/type-system.js';
import type { CallContext } from '../server/call.js';
import { fromDecision, fromSubject, toConsistency, toName, toTypeName, toUpdates, type PbConsistency, type PbRelationship } from './convert.js';
import { orphanedBy } from './schema-changes.js';

/** The most relationship changes one simulation takes. */
export const MAX_SIMULATED_CHANGES = 1000;
/** The most flipped answers one response lists. */
export const MAX_SIMULATION_SAMPLE = 10_000;

/** The request, as proto-loader gives it. */
export interface SimulateSchemaRequest {
  consistency: PbConsistency | null;
  schema: string;
  changes: { operation: string; relationship: PbRelationship | null }[];
  base_schema: string;
  resource_type: string;
  permission: string;
  sample: number;
}

function compiled(text: string, field: string, check: (text: string) => void): TypeSystem {
  check(text);
  try {
    return new TypeSystem(compileSchema(text));
  } catch (e) {
    if (e instanceof SchemaError && field !== 'schema') throw invalidArgument(field, e.message.split('\n')[0]!);
    throw e;
  }
}

/**
 * SimulateSchema: the proposed side is the proposed schema (or the one in force) over the stored
 * relationships with the proposed changes applied; the base side is the schema in force (or
 * `base_schema`) over the stored relationships, both at the revision the consistency picks.
 * Checked like the writes they stand for: changes fit the proposed schema, and the proposed
 * schema orphans no stored relationship.
 */
export async function simulateSchema(engine: Engine, req: SimulateSchemaRequest, { tenant, signal }: CallContext, checkSize: (text: string) => void) {
  if (!req.schema && !req.changes.length) throw invalidArgument('schema', 'give a proposed schema, relationship changes, or both');
  if (req.changes.length > MAX_SIMULATED_CHANGES) throw invalidArgument('changes', `${req.changes.length} changes, at most ${MAX_SIMULATED_CHANGES} allowed`);
  if (req.sample > MAX_SIMULATION_SAMPLE) throw invalidArgument('sample', `at most ${MAX_SIMULATION_SAMPLE}`);
  const type = req.resource_type ? toTypeName(req.resource_type, 'resource_type') : undefined;
  const permission = req.permission ? toName(req.permission, 'permission') : undefined;
  // A CREATE is a TOUCH here: nothing is written, so there is nothing for it to collide with.
  const parsed = toUpdates(req.changes, 'changes');
  const changes: ProposedChanges = {
    touch: parsed.filter((c) => c.operation !== 'delete').map((c) => c.relationship),
    remove: parsed.filter((c) => c.operation === 'delete').map((c) => c.relationship),
  };
  const revision = await tenant.pick(toConsistency(req.consistency));
  const current = await tenant.schemaAt(revision);
  const base = req.base_schema ? compiled(req.base_schema, 'base_schema', checkSize) : current;
  const proposed = req.schema ? compiled(req.schema, 'schema', checkSize) : current;
  parsed.forEach((c, i) => c.operation !== 'delete' && proposed.validateRelationship(c.relationship, `changes[${i}].relationship`));
  if (type !== undefined && !base.definition(type) && !proposed.definition(type)) throw failedPrecondition(`unknown type \`${type}\``, 'resource_type', 'ERROR_REASON_UNKNOWN_DEFINITION');
  if (req.schema) {
    const problems = await orphanedBy(base.ir, proposed.ir, (f, o) => tenant.store.readPage(revision, f, o));
    if (problems.length) throw failedPrecondition(`the proposed schema would orphan stored relationships: ${problems.join('; ')}; it could not be written as it is`, 'schema');
  }
  const reader = tenant.store.snapshot(revision);
  const report = await simulate(engine, { schema: base, reader }, { schema: proposed, reader: changedReader(reader, changes) }, {
    changed: changedRelations(changes),
    ...(type !== undefined ? { type } : {}),
    ...(permission !== undefined ? { permission } : {}),
    sample: req.sample || 100,
    signal,
  });
  const count = (c: FlipCount) => ({ answers: c.answers, resources: c.resources, subjects: c.subjects });
  return {
    simulated_at: tenant.zookie(revision),
    permissions: report.members.map((m) => ({
      resource_type: m.type,
      permission: m.permission,
      resources: m.resources,
      gained: count(m.gained),
      lost: count(m.lost),
      became_conditional: count(m.conditional),
    })),
    flips: report.flips.map(flipMessage),
    total_flips: report.totalFlips,
    sample: report.sample,
  };
}

const decided = (kind: Decision['kind']): string => fromDecision(kind === 'conditional' ? { kind, missing: [] } : { kind }).permissionship;

function flipMessage(f: Flip) {
  return {
    kind: `KIND_${f.kind.toUpperCase()}`,
    resource: { object_type: f.resource.type, object_id: f.resource.id },
    permission: f.permission,
    subject: fromSubject(f.subject),
    before: decided(f.before),
    after: decided(f.after),
  };
}
