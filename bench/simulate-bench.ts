import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileSchema } from '../schema-dsl/index.js';
import { Engine } from '../src/engine/engine.js';
import { simulate } from '../src/engine/simulate/simulation.js';
import { parseRelationship } from '../src/model/relationship-syntax.js';
import { TypeSystem } from '../src/schema/type-system.js';
import { MemoryStore } from '../src/store/memory/memory-store.js';

/**
 * How long an impact simulation takes, in-process on the memory store: a dataset from
 * `warden bench dataset`, and a schema change given as `FROM=>TO` (text replaced in its schema).
 *
 *   npm run bench:simulate -- <dataset dir> 'permission view = (manage + parent->view) - banned=>permission view = manage + parent->view'
 */
async function main(): Promise<void> {
  const [dir, change] = process.argv.slice(2);
  if (!dir || !change?.includes('=>')) throw new Error('usage: simulate-bench.js <dataset dir> "FROM=>TO"');
  const text = readFileSync(join(dir, 'schema.zed'), 'utf8');
  const [from, to] = change.split('=>') as [string, string];
  const next = text.replace(from, to);
  if (next === text) throw new Error(`\`${from}\` is not in the schema`);
  const rels = readFileSync(join(dir, 'relationships.txt'), 'utf8').split('\n').filter(Boolean).map((l) => parseRelationship(l));
  const store = new MemoryStore();
  const { revision } = await store.importRelationships(rels);
  const reader = store.snapshot(revision);
  const t0 = performance.now();
  const r = await simulate(new Engine(), { schema: new TypeSystem(compileSchema(text)), reader }, { schema: new TypeSystem(compileSchema(next)), reader }, { sample: 10 });
  const ms = performance.now() - t0;
  console.log(`${rels.length} relationships: simulated in ${(ms / 1000).toFixed(1)} s, ${r.totalFlips} answers change`);
  for (const m of r.members) console.log(`  ${m.type}#${m.permission}: ${m.resources} resources; lost ${m.lost.answers}, gained ${m.gained.answers}, became conditional ${m.conditional.answers}`);
}

await main();
