import * as hdr from 'hdr-histogram-js';
import { compileSchema } from '../schema-dsl/index.js';
import { Engine, type Snapshot } from '../src/engine/engine.js';
import { parseRelationship } from '../src/model/relationship-syntax.js';
import { subject } from '../src/model/relationship.js';
import { TypeSystem } from '../src/schema/type-system.js';
import { MemoryStore } from '../src/store/memory/memory-store.js';
import { BENCH_SCHEMA, generateDataset, random } from './dataset.js';

/**
 * In-process engine benchmark on the memory store: how many Checks (and LookupResources) one
 * core answers per second over a generated graph, with latency percentiles. No network, no
 * database: this measures the evaluator alone.
 *
 *   npm run bench:engine -- [seconds per phase, default 5]
 */
async function main(): Promise<void> {
  const seconds = Number(process.argv[2] ?? 5);
  const shape = { users: 10_000, groups: 1_000, folders: 2_000, documents: 50_000, seed: 42 };
  const store = new MemoryStore();
  const schema = new TypeSystem(compileSchema(BENCH_SCHEMA));
  const rels = generateDataset(shape).map((r) => parseRelationship(r));
  const t0 = performance.now();
  let revision = await store.headRevision();
  for (let i = 0; i < rels.length; i += 1000) {
    revision = await store.write(rels.slice(i, i + 1000).map((relationship) => ({ operation: 'touch' as const, relationship })));
  }
  const loadMs = performance.now() - t0;
  const snap: Snapshot = { schema, reader: store.snapshot(revision) };
  const engine = new Engine();
  const rnd = random(7);
  const pick = (n: number): number => Math.floor(rnd() * n);

  const phase = async (name: string, op: () => Promise<boolean>): Promise<void> => {
    const h = hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 });
    let yes = 0;
    let n = 0;
    const end = performance.now() + seconds * 1000;
    while (performance.now() < end) {
      const s = performance.now();
      if (await op()) yes++;
      h.recordValue(Math.max(1, Math.round((performance.now() - s) * 1000)));
      n++;
    }
    const us = (p: number): string => `${h.getValueAtPercentile(p)}µs`;
    console.log(
      `${name.padEnd(18)} ${String(Math.round(n / seconds)).padStart(8)} ops/s  p50 ${us(50)}  p90 ${us(90)}  p99 ${us(99)}  max ${h.maxValue}µs  (${Math.round((100 * yes) / n)}% allowed)`,
    );
  };

  console.log(`dataset: ${rels.length} relationships (${JSON.stringify(shape)}), loaded in ${Math.round(loadMs)} ms`);
  await phase('check document#view', async () => {
    const r = await engine.check(snap, {
      resource: { type: 'document', id: `d${pick(shape.documents)}` },
      permission: 'view',
      subject: subject('user', `u${pick(shape.users)}`),
    });
    return r.decision.kind === 'has';
  });
  await phase('check folder#edit', async () => {
    const r = await engine.check(snap, {
      resource: { type: 'folder', id: `f${pick(shape.folders)}` },
      permission: 'edit',
      subject: subject('user', `u${pick(shape.users)}`),
    });
    return r.decision.kind === 'has';
  });
  await phase('lookup folder#view', async () => {
    const r = await engine.lookupResources(snap, { resourceType: 'folder', permission: 'view', subject: subject('user', `u${pick(shape.users)}`) });
    return r.length > 0;
  });
}

await main();
