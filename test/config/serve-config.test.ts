import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { ConfigError, printableConfig, serveConfig, SERVE_SETTINGS } from '../../src/config/serve-config.js';
import { WARDEN_BIN } from '../helpers/warden-process.js';
import { NODE, nodeArgs } from '../helpers/node-process.js';

t.test('defaults, then environment, then flags', async (t) => {
  const { config, sources } = serveConfig({}, {}, 4);
  t.match(config, { address: '127.0.0.1:50051', datastore: 'pglite:./warden-data', workers: 1, maxDepth: 50, logLevel: 'info', logFormat: 'auto', metricsAddress: undefined, otlpEndpoint: undefined, traceSampleRatio: 0.1, cacheRedisTtlMs: 10_000 });
  t.same(sources, {}, 'every value a default');
  t.ok(Object.isFrozen(config), 'frozen');

  const env = { WARDEN_MAX_DEPTH: '20', WARDEN_DATASTORE: 'postgres://x@db/w', WARDEN_INSECURE_NO_AUTH: 'false', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318', WARDEN_LOG_LEVEL: 'debug' };
  const fromEnv = serveConfig({}, env, 4);
  t.match(fromEnv.config, { maxDepth: 20, datastore: 'postgres://x@db/w', insecureNoAuth: false, otlpEndpoint: 'http://collector:4318', logLevel: 'debug', workers: 4 }, 'PostgreSQL: a worker per core');
  t.match(fromEnv.sources, { maxDepth: 'env WARDEN_MAX_DEPTH', otlpEndpoint: 'env OTEL_EXPORTER_OTLP_ENDPOINT' });
  const flags = serveConfig({ maxDepth: '30', otlpEndpoint: 'https://otel.example:4318' }, { ...env, WARDEN_OTLP_ENDPOINT: 'http://ignored:1' }, 4);
  t.match(flags.config, { maxDepth: 30, otlpEndpoint: 'https://otel.example:4318' }, 'a flag wins over the environment');
  t.equal(flags.sources.maxDepth, 'flag');
  t.equal(serveConfig({}, { WARDEN_OTLP_ENDPOINT: 'http://a:1', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b:2' }).config.otlpEndpoint, 'http://a:1', 'WARDEN_* before OTEL_*');
  t.equal(serveConfig({}, { WARDEN_QUANTIZATION_MS: '8000' }).config.cacheRedisTtlMs, 16_000, 'the Redis TTL follows the quantization window');
  t.match(serveConfig({ testing: true }, {}).config, { datastore: 'memory', workers: 1 }, '--testing implies memory and one process');
  t.match(serveConfig({ testing: true }, { WARDEN_DATASTORE: 'pglite:/var/lib/warden' }).config, { datastore: 'memory' }, 'over a WARDEN_DATASTORE from the environment (the Docker image sets one)');
});

t.test('a bad value is one line naming the flag or the variable', async (t) => {
  const cases: [Record<string, unknown>, Record<string, string>, RegExp][] = [
    [{ maxDepth: 'ten' }, {}, /^--max-depth must be a whole number, got `ten`$/],
    [{}, { WARDEN_MAX_DEPTH: '-1' }, /^WARDEN_MAX_DEPTH must be a whole number, got `-1`$/],
    [{}, { WARDEN_INSECURE_NO_AUTH: 'maybe' }, /^WARDEN_INSECURE_NO_AUTH must be true or false, got `maybe`$/],
    [{ logLevel: 'loud' }, {}, /^--log-level must be one of trace, debug, info, warn, error, fatal, silent, got `loud`$/],
    [{}, { WARDEN_TRACE_SAMPLE_RATIO: '2' }, /^WARDEN_TRACE_SAMPLE_RATIO must be a number from 0 to 1, got `2`$/],
    [{ metricsAddress: '9090' }, {}, /^--metrics-address must be host:port, got `9090`$/],
    [{ otlpEndpoint: 'collector:4318' }, {}, /^--otlp-endpoint must be an http:\/\/ or https:\/\/ URL/],
    [{ tlsCert: 'c.pem' }, {}, /^--tls-cert and --tls-key go together$/],
    [{ pgPoolSize: '0' }, {}, /^--pg-pool-size must be at least 1$/],
    [{ workers: '0' }, {}, /^--workers must be at least 1$/],
    [{ testing: true, datastore: 'pglite:x' }, {}, /^--testing serves from memory/],
    [{ testing: true, address: '0.0.0.0:1' }, {}, /^--testing listens on loopback only/],
  ];
  for (const [flags, env, message] of cases) {
    let error: unknown = null;
    try {
      serveConfig(flags, env);
    } catch (e) {
      error = e;
    }
    t.ok(error instanceof ConfigError, `${String(message)}: a ConfigError`);
    t.match((error as Error | null)?.message, message);
  }
});

t.test('--print-config shows every setting and its source, secrets redacted', async (t) => {
  const { config, sources } = serveConfig({ datastore: 'postgres://warden:s3cret@db:5432/w', cacheRedis: 'redis://:hunter2@cache:6379' }, { WARDEN_GRACE_MS: '500' });
  const printed = printableConfig(config, sources);
  t.same(Object.keys(printed), SERVE_SETTINGS.map((s) => s.key), 'every setting');
  t.same(printed['datastore'], { value: 'postgres://warden:***@db:5432/w', source: 'flag' });
  t.same(printed['cacheRedis'], { value: 'redis://:***@cache:6379', source: 'flag' });
  t.same(printed['graceMs'], { value: 500, source: 'env WARDEN_GRACE_MS' });
  t.notOk(JSON.stringify(printed).includes('s3cret') || JSON.stringify(printed).includes('hunter2'), 'no password anywhere');

  const r = spawnSync(NODE, nodeArgs(WARDEN_BIN, 'serve', '--print-config', '--max-depth', '12'), { encoding: 'utf8', env: { ...process.env, WARDEN_DATASTORE: 'postgres://u:pw@h/db', WARDEN_METRICS_ADDRESS: '0.0.0.0:9090' }, timeout: 30_000 });
  t.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as Record<string, { value: unknown; source: string }>;
  t.same(out['maxDepth'], { value: 12, source: 'flag' });
  t.same(out['datastore'], { value: 'postgres://u:***@h/db', source: 'env WARDEN_DATASTORE' });
  t.same(out['metricsAddress'], { value: '0.0.0.0:9090', source: 'env WARDEN_METRICS_ADDRESS' });
  const bad = spawnSync(NODE, nodeArgs(WARDEN_BIN, 'serve', '--print-config'), { encoding: 'utf8', env: { ...process.env, WARDEN_MAX_IN_FLIGHT: 'lots' }, timeout: 30_000 });
  t.equal(bad.status, 3, 'a bad value is a usage error');
  t.equal(bad.stderr.trim(), 'warden: WARDEN_MAX_IN_FLIGHT must be a whole number, got `lots`');
});

t.test("the README's configuration table lists every flag and variable", async (t) => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('## Configuration'), readme.indexOf('### Limits'));
  for (const s of SERVE_SETTINGS) {
    const flag = s.flag.split(' ')[0]!;
    t.match(section, new RegExp('`' + flag + '`'), flag);
    for (const e of s.env) t.match(section, new RegExp('`' + e + '`'), e);
  }
  t.match(section, /--print-config/);
});
