import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { RedisCheckCache } from '../../src/cache/redis-check-cache.js';
import { Engine } from '../../src/engine/engine.js';
import { conformanceDir } from '../helpers/conformance-dir.js';
import { privateRedis, privateRedisUnavailable } from '../helpers/private-redis.js';
import { MIN_FILES, reportFolder, runFolder } from './run-files.js';

// Every conformance file, answered through every cache tier (in-process LRU, then Redis): from a
// cold Redis, then by fresh engines (new processes, as it were) from the warm one, then with
// Redis killed part-way and started again. Each answer must be what the uncached engine gives.

const shared = conformanceDir();
const own = fileURLToPath(new URL('./cases', import.meta.url));

t.test('conformance with the Redis tier: cold, warm, and Redis killed mid-run', async (t) => {
  const why = privateRedisUnavailable();
  if (why) {
    if (process.env['WARDEN_REQUIRE_CONFORMANCE']) t.fail(why);
    else t.skip(why);
    return;
  }
  const folders: [string, number][] = [[own, MIN_FILES.own]];
  if (existsSync(shared)) folders.push([shared, MIN_FILES.shared]);
  else if (process.env['WARDEN_REQUIRE_CONFORMANCE']) t.fail(`the shared conformance files are required but ${shared} is missing`);
  const redis = await privateRedis();
  t.teardown(() => redis.destroy());
  const namespace = randomUUID();
  const round = async (name: string, during?: () => Promise<void>) => {
    const tier = new RedisCheckCache(redis.url, { openMs: 50, timeoutMs: 1000 });
    await tier.ready();
    const engine = new Engine({ cacheBytes: 8 << 20, sharedCache: tier });
    // A connection left open (ioredis reconnects for ever) would keep the test process alive.
    try {
      const side = during?.();
      for (const [dir, min] of folders) {
        reportFolder(t, await runFolder(dir, { engine, cache: { namespace }, crossCheckExcept: ['fan-out.yaml'] }), min);
      }
      await side;
    } finally {
      await tier.close();
    }
    const s = engine.cacheStats!.tiers['redis']!;
    t.comment(`${name}: ${JSON.stringify(s)}`);
    return s;
  };
  const cold = await round('cold');
  t.ok((cold.stored as number) > 0, 'the cold run filled Redis');
  const warm = await round('warm');
  t.ok(warm.hits > 0 && warm.hits >= warm.misses, `the warm run was served from Redis (${warm.hits} hits, ${warm.misses} misses)`);
  const killed = await round('killed', async () => {
    await new Promise((r) => setTimeout(r, 300));
    await redis.kill();
    await new Promise((r) => setTimeout(r, 1000));
    await redis.start();
  });
  t.ok((killed.errors as number) + (killed.skipped as number) > 0, 'Redis was down for part of the run');
});
