import { context, SpanStatusCode, trace, type Span, type Tracer } from '@opentelemetry/api';
import type { CheckCacheTier, CheckEntry } from '../cache/check-cache.js';
import type { CheckAnswer, CheckProblem, Dispatcher, ExpandAnswer, ExpandProblem, SubjectsAnswer, SubjectsProblem } from '../engine/dispatch/dispatcher.js';
import { subjectKey, type Relationship } from '../model/relationship.js';
import type { RelationshipFilter, SnapshotReader } from '../store/store.js';

/** Runs `fn` in a child span of the active one, ending it (with the error, if any) when `fn` settles. */
async function inSpan<T>(tracer: Tracer, name: string, attributes: Record<string, string | number | boolean>, fn: (span: Span) => Promise<T>): Promise<T> {
  const parent = context.active();
  const span = tracer.startSpan(name, { attributes }, parent);
  try {
    return await context.with(trace.setSpan(parent, span), () => fn(span));
  } catch (e) {
    span.recordException(e instanceof Error ? e : String(e));
    span.setStatus({ code: SpanStatusCode.ERROR, message: e instanceof Error ? e.message : String(e) });
    throw e;
  } finally {
    span.end();
  }
}

/**
 * Traces the computing dispatcher: one span per subproblem computed (`warden.dispatch.check`,
 * `.lookup_subjects`, `.expand`), nested as the walk nests them, with the depth it stood at.
 */
export class TracingDispatcher implements Dispatcher {
  readonly #inner: Dispatcher;
  readonly #tracer: Tracer;
  readonly #maxDepth: number;

  constructor(inner: Dispatcher, tracer: Tracer, maxDepth: number) {
    this.#inner = inner;
    this.#tracer = tracer;
    this.#maxDepth = maxDepth;
  }

  check(p: CheckProblem): Promise<CheckAnswer> {
    return inSpan(
      this.#tracer,
      'warden.dispatch.check',
      {
        'warden.resource_type': p.resourceType,
        'warden.resource_ids': p.resourceIds.length,
        'warden.relation': p.relation,
        'warden.subject': subjectKey(p.subject),
        'warden.depth': this.#maxDepth - p.depthLeft,
      },
      async (span) => {
        const a = await this.#inner.check(p);
        let found = 0;
        for (const c of a.results.values()) if (c.op !== 'false') found++;
        span.setAttribute('warden.members', found);
        return a;
      },
    );
  }

  lookupSubjects(p: SubjectsProblem): Promise<SubjectsAnswer> {
    return inSpan(
      this.#tracer,
      'warden.dispatch.lookup_subjects',
      { 'warden.resource': `${p.resource.type}:${p.resource.id}`, 'warden.relation': p.relation, 'warden.subject_type': p.subjectType, 'warden.depth': this.#maxDepth - p.depthLeft },
      () => this.#inner.lookupSubjects(p),
    );
  }

  expand(p: ExpandProblem): Promise<ExpandAnswer> {
    return inSpan(
      this.#tracer,
      'warden.dispatch.expand',
      { 'warden.resource': `${p.resource.type}:${p.resource.id}`, 'warden.relation': p.relation, 'warden.depth': this.#maxDepth - p.depthLeft },
      () => this.#inner.expand(p),
    );
  }
}

/** What a store read asked, as span attributes (never caveat context or metadata). */
function filterAttributes(f: RelationshipFilter): Record<string, string | number> {
  const out: Record<string, string | number> = { 'warden.resource_type': f.resourceType };
  if (f.resourceIds) out['warden.resource_ids'] = f.resourceIds.length;
  if (f.relation) out['warden.relation'] = f.relation;
  if (f.subjectType) out['warden.subject_type'] = f.subjectType;
  if (f.subjectsAnyOf) out['warden.subject_types'] = f.subjectsAnyOf.map((m) => m.type).join(',');
  return out;
}

/**
 * Measures the store's snapshot reads: a `warden.store.read` span per read when the request is
 * traced, and the read's latency in a histogram either way.
 */
export class ObservedReader implements SnapshotReader {
  readonly #inner: SnapshotReader;
  readonly #tracer: Tracer | null;
  readonly #record: (ms: number) => void;
  readonly queryMany: SnapshotReader['queryMany'];
  readonly querySync: SnapshotReader['querySync'];

  constructor(inner: SnapshotReader, tracer: Tracer | null, record: (ms: number) => void) {
    this.#inner = inner;
    this.#tracer = tracer;
    this.#record = record;
    // A read from memory is measured as it happens; a traced one goes through `query`, for its span.
    const sync = inner.querySync;
    this.querySync =
      sync && !tracer
        ? (filter) => {
            const start = performance.now();
            const rows = sync(filter);
            if (rows) this.#record(performance.now() - start);
            return rows;
          }
        : undefined;
    const many = inner.queryMany;
    this.queryMany = many ? (filters) => this.#measure(filters.length === 1 ? filterAttributes(filters[0]!) : { 'warden.filters': filters.length }, () => many(filters), (rows) => rows.reduce((n, r) => n + r.length, 0)) : undefined;
  }

  async #measure<T>(attributes: Record<string, string | number>, read: () => Promise<T>, rows: (r: T) => number): Promise<T> {
    const start = performance.now();
    try {
      if (!this.#tracer) return await read();
      return await inSpan(this.#tracer, 'warden.store.read', attributes, async (span) => {
        const r = await read();
        span.setAttribute('warden.rows', rows(r));
        return r;
      });
    } finally {
      this.#record(performance.now() - start);
    }
  }

  get revision(): SnapshotReader['revision'] {
    return this.#inner.revision;
  }

  query(filter: RelationshipFilter): Promise<readonly Relationship[]> {
    return this.#measure(filterAttributes(filter), () => this.#inner.query(filter), (rows) => rows.length);
  }
}

/** Traces a check cache tier: one `warden.cache.get` span per lookup, with its tier, keys and hits. */
export class TracingCacheTier implements CheckCacheTier {
  readonly #inner: CheckCacheTier;
  readonly #tracer: Tracer;

  constructor(inner: CheckCacheTier, tracer: Tracer) {
    this.#inner = inner;
    this.#tracer = tracer;
  }

  get name(): string {
    return this.#inner.name;
  }

  get stats(): CheckCacheTier['stats'] {
    return this.#inner.stats;
  }

  getMany(keys: readonly string[]): Promise<readonly (CheckEntry | undefined)[]> {
    return inSpan(this.#tracer, 'warden.cache.get', { 'warden.cache.tier': this.#inner.name, 'warden.cache.keys': keys.length }, async (span) => {
      const got = await this.#inner.getMany(keys);
      span.setAttribute('warden.cache.hits', got.filter((e) => e !== undefined).length);
      return got;
    });
  }

  setMany(entries: readonly (readonly [string, CheckEntry])[]): void {
    this.#inner.setMany(entries);
  }
}
