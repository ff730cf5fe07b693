import type { MethodDefinition } from '@grpc/grpc-js';
import { loadApi } from '../src/server/proto.js';
import { random } from './dataset.js';
import type { Op } from './load-job.js';
import { zipf, type DatasetMeta } from './shapes.js';

/** The scenarios `warden bench` runs. */
export const SCENARIOS = ['check-hot', 'check-zipf', 'check-cold', 'batch-check', 'list-objects', 'list-subjects', 'expand', 'mixed', 'import'] as const;
export type Scenario = (typeof SCENARIOS)[number];

/** What each scenario measures, for `--help` and the report. */
export const SCENARIO_TEXT: Record<Scenario, string> = {
  'check-hot': 'a small set of checks, repeated: the cache path',
  'check-zipf': 'many distinct checks, Zipf-skewed: the realistic path',
  'check-cold': 'never-repeated checks at a fixed, modest rate (open loop): the store path',
  'batch-check': 'BatchCheck of --items items (100 or 1,000)',
  'list-objects': 'ListObjects of a subject that sees many resources, every page: time to first result, total',
  'list-subjects': 'ListSubjects of a widely seen resource, every page',
  expand: 'Expand of a widely seen resource',
  mixed: 'Zipf checks with 1% writes; the check after each write asks at_least_as_fresh its zookie and must see it (violations counted)',
  import: 'the dataset loaded through the Import RPC: relationships a second',
};

/** The defaults each scenario runs with unless told otherwise. */
export const SCENARIO_DEFAULTS: Record<Scenario, { mode: 'closed' | 'open'; concurrency: number; rate: number }> = {
  'check-hot': { mode: 'closed', concurrency: 64, rate: 0 },
  'check-zipf': { mode: 'closed', concurrency: 64, rate: 0 },
  'check-cold': { mode: 'open', concurrency: 0, rate: 200 },
  'batch-check': { mode: 'closed', concurrency: 8, rate: 0 },
  'list-objects': { mode: 'closed', concurrency: 2, rate: 0 },
  'list-subjects': { mode: 'closed', concurrency: 4, rate: 0 },
  expand: { mode: 'closed', concurrency: 16, rate: 0 },
  mixed: { mode: 'closed', concurrency: 64, rate: 0 },
  import: { mode: 'closed', concurrency: 1, rate: 0 },
};

const { definition } = loadApi();
function method(service: string, name: string): MethodDefinition<unknown, unknown> {
  return (definition[`warden.v1.${service}`] as Record<string, MethodDefinition<unknown, unknown>>)[name]!;
}
const CHECK = method('PermissionService', 'Check');
const BATCH = method('PermissionService', 'BatchCheck');
const EXPAND = method('PermissionService', 'Expand');

const obj = (ref: string) => ({ object_type: ref.slice(0, ref.indexOf(':')), object_id: ref.slice(ref.indexOf(':') + 1) });
const user = (id: number | string) => ({ object: { object_type: 'user', object_id: typeof id === 'number' ? `u${id}` : id }, optional_relation: '' });
const prefix = (type: string): string => type[0]!;

/** A check of a resource of the dataset's check type by a user, as a request message. */
function checkRequest(meta: DatasetMeta, resource: number, u: number): Record<string, unknown> {
  return { resource: { object_type: meta.checkType, object_id: `${prefix(meta.checkType)}${resource}` }, permission: meta.checkPermission, subject: user(u) };
}

/**
 * The calls a scenario makes, encoded once up front (listings page at run time). `count` is how
 * many distinct calls to prepare (never-repeated checks need one per call of the run).
 */
export function scenarioOps(
  scenario: Exclude<Scenario, 'import'>,
  meta: DatasetMeta,
  options: { items: number; count: number; seed: number; consistency: unknown },
): { ops: Op[]; order: 'cycle' | 'once' } {
  const rnd = random(options.seed);
  const fresh = options.consistency ? { consistency: options.consistency } : {};
  const resources = meta.counts[meta.checkType]!;
  const users = meta.counts['user']!;
  const unary = (m: MethodDefinition<unknown, unknown>, request: object, items = 1): Op => ({ kind: 'unary', path: m.path, body: m.requestSerialize({ ...fresh, ...request }), items });
  switch (scenario) {
    case 'check-hot':
      return { ops: Array.from({ length: 10 }, () => unary(CHECK, checkRequest(meta, Math.floor(rnd() * resources), Math.floor(rnd() * users)))), order: 'cycle' };
    case 'check-zipf':
    case 'mixed': {
      // 10,000 distinct checks; the calls draw from them with Zipf-skewed frequency.
      const distinct = Array.from({ length: 10_000 }, () => checkRequest(meta, Math.floor(rnd() * resources), Math.floor(rnd() * users)));
      const draw = zipf(distinct.length, 1.0, rnd);
      return { ops: Array.from({ length: Math.min(200_000, Math.max(10_000, options.count)) }, () => unary(CHECK, distinct[draw()]!)), order: 'cycle' };
    }
    case 'check-cold': {
      // Every call a (resource, user) pair asked nowhere else in the run.
      const seen = new Set<number>();
      const ops: Op[] = [];
      while (ops.length < options.count && seen.size < resources * users) {
        const r = Math.floor(rnd() * resources);
        const u = Math.floor(rnd() * users);
        const key = r * users + u;
        if (seen.has(key)) continue;
        seen.add(key);
        ops.push(unary(CHECK, checkRequest(meta, r, u)));
      }
      return { ops, order: 'once' };
    }
    case 'batch-check': {
      const ops = Array.from({ length: 50 }, () =>
        unary(BATCH, { items: Array.from({ length: options.items }, () => checkRequest(meta, Math.floor(rnd() * resources), Math.floor(rnd() * users))) }, options.items),
      );
      return { ops, order: 'cycle' };
    }
    case 'list-objects':
      return {
        ops: [{ kind: 'listing', service: 'PermissionService', method: 'ListObjects', request: { ...fresh, resource_type: meta.checkType, permission: meta.checkPermission, subject: user(meta.wideSubject.slice('user:'.length)), limit: 10_000 } }],
        order: 'cycle',
      };
    case 'list-subjects':
      return {
        ops: [{ kind: 'listing', service: 'PermissionService', method: 'ListSubjects', request: { ...fresh, resource: obj(meta.wideResource), permission: meta.checkPermission, subject_type: 'user', limit: 10_000 } }],
        order: 'cycle',
      };
    case 'expand':
      return { ops: [unary(EXPAND, { resource: obj(meta.wideResource), permission: meta.checkPermission })], order: 'cycle' };
  }
}

/** The Check the echo baseline answers: the same message shape as the scenarios' checks. */
export function echoOps(meta: DatasetMeta, seed: number): Op[] {
  const rnd = random(seed);
  return Array.from({ length: 10 }, () => {
    const request = checkRequest(meta, Math.floor(rnd() * meta.counts[meta.checkType]!), Math.floor(rnd() * meta.counts['user']!));
    return { kind: 'unary' as const, path: CHECK.path, body: CHECK.requestSerialize(request), items: 1 };
  });
}
