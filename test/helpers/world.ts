import { compileSchema } from '../../schema-dsl/index.js';
import type { Snapshot } from '../../src/engine/engine.js';
import { parseRelationship } from '../../src/model/relationship-syntax.js';
import { TypeSystem } from '../../src/schema/type-system.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import type { RelationshipFilter, SnapshotReader } from '../../src/store/store.js';

/** A snapshot over a memory store holding `relationships` under `schema`, with every read logged. */
export async function world(schema: string, relationships: readonly string[]): Promise<Snapshot & { reads: RelationshipFilter[] }> {
  const ts = new TypeSystem(compileSchema(schema));
  const store = new MemoryStore();
  const rels = relationships.map((r) => parseRelationship(r));
  for (const r of rels) ts.validateRelationship(r);
  const { revision: rev } = await store.importRelationships(rels);
  const inner = store.snapshot(rev);
  const reads: RelationshipFilter[] = [];
  const reader: SnapshotReader = {
    revision: rev,
    query: (f) => {
      reads.push(f);
      return inner.query(f);
    },
  };
  return { schema: ts, reader, reads };
}
