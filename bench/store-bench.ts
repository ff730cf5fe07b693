import { parseRelationship } from '../src/model/relationship-syntax.js';
import type { Relationship } from '../src/model/relationship.js';
import { openDatastore } from '../src/store/open-datastore.js';

/**
 * Write and import throughput of a datastore.
 *
 *   npm run bench:store -- <datastore spec> [seconds per write phase, default 5] [relationships to import, default 200000]
 *
 * Use a scratch database: it migrates it and writes a tenant of its own.
 */
async function main(): Promise<void> {
  const spec = process.argv[2];
  if (!spec) throw new Error('usage: store-bench <datastore spec> [seconds] [import count]');
  const seconds = Number(process.argv[3] ?? 5);
  const importCount = Number(process.argv[4] ?? 200_000);
  const ds = await openDatastore(spec);
  await ds.migrate();
  const tenant = `bench_${Date.now()}`;
  await ds.access.createTenant(tenant);
  const store = ds.store(tenant);
  let n = 0;
  const rel = (): Relationship => parseRelationship(`doc:d${n}#viewer@user:u${n++ % 1000}`);

  const writes = async (writers: number, perWrite: number): Promise<void> => {
    const end = performance.now() + seconds * 1000;
    let txs = 0;
    await Promise.all(
      Array.from({ length: writers }, async () => {
        while (performance.now() < end) {
          await store.write(Array.from({ length: perWrite }, () => ({ operation: 'touch' as const, relationship: rel() })));
          txs++;
        }
      }),
    );
    console.log(
      `write: ${String(writers).padStart(2)} writers x ${String(perWrite).padStart(3)} updates  ${Math.round(txs / seconds)} transactions/s, ${Math.round((txs * perWrite) / seconds)} relationships/s`,
    );
  };
  await writes(1, 1);
  await writes(8, 1);
  await writes(8, 100);

  const t0 = performance.now();
  const { count } = await store.importRelationships(
    (function* () {
      for (let i = 0; i < importCount; i++) yield parseRelationship(`bulk:b${i}#viewer@user:u${i % 5000}`);
    })(),
  );
  const s = (performance.now() - t0) / 1000;
  console.log(`import: ${count} relationships in ${s.toFixed(1)} s, ${Math.round(count / s)} relationships/s`);
  await ds.close();
}

await main();
