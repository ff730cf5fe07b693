import { compileSchema } from '../../schema-dsl/index.js';
import type { Snapshot } from '../../src/engine/engine.js';
import { parseRelationship } from '../../src/model/relationship-syntax.js';
import { TypeSystem } from '../../src/schema/type-system.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import type { RelationshipFilter, SnapshotReader } from '../../src/store/store.js';

/**
 * A snapshot over a memory store holding `relationships` under `schema`, with every read logged;
 * `waited` lists the reads made through the promise-returning `query` (the memory store answers
 * `querySync` at once).
 */
export async function world(schema: string, relationships: readonly string[]): Promise<Snapshot & { reads: RelationshipFilter[]; waited: RelationshipFilter[] }> {
  const ts = new TypeSystem(compileSchema(schema));
  const store = new MemoryStore();
  const rels = relationships.map((r) => parseRelationship(r));
  for (const r of rels) ts.validateRelationship(r);
  const { revision: rev } = await store.importRelationships(rels);
  const inner = store.snapshot(rev);
  const reads: RelationshipFilter[] = [];
  const waited: RelationshipFilter[] = [];
  const reader: SnapshotReader = {
    revision: rev,
    query: (f) => {
      reads.push(f);
      waited.push(f);
      return inner.query(f);
    },
    querySync: (f) => {
      reads.push(f);
      return inner.querySync!(f);
    },
  };
  return { schema: ts, reader, reads, waited };
}
