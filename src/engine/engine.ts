import { WardenError, failedPrecondition, invalidArgument } from '../errors/error-code.js';
import { ELLIPSIS, WILDCARD_ID, relationshipKey, type ObjectRef, type Relationship, type SubjectRef } from '../model/relationship.js';
import type { TypeSystem } from '../schema/type-system.js';
import type { SnapshotReader } from '../store/store.js';
import { CelCaveatEvaluator } from './caveats/cel-caveat-evaluator.js';
import { CancellableReader } from './cancellable-reader.js';
import { ContextualReader } from './contextual-reader.js';
import { FALSE, decide, type CaveatEvaluator, type Condition, type Decision } from './condition.js';
import { InProgress, type Dispatcher } from './dispatch/dispatcher.js';
import { LocalDispatcher } from './dispatch/local-dispatcher.js';
import { MemoDispatcher } from './dispatch/memo-dispatcher.js';
import { CacheDispatcher, checkCacheKey } from './dispatch/cache-dispatcher.js';
import { Singleflight } from './dispatch/singleflight.js';
import { LruCheckCache, type CheckCacheTier, type TierStats } from '../cache/check-cache.js';
import { NodeBudget } from './expand/expand-computer.js';
import type { ExpandNode } from './expand/expand-node.js';
import { lookupResources } from './lookup/lookup-resources.js';
import { MemoReader } from './memo-reader.js';
import { Memberships } from './check/memberships.js';
import { DEFAULT_LIMITS, type EngineLimits, type RequestStats, type Scope } from './scope.js';
import type { EngineObserver } from './engine-observer.js';
import type { SubjectSet } from './subject-set.js';
import { Explainer } from './explain/explainer.js';
import type { ExplainNode } from './explain/explain-node.js';

/** Caveat context given with a request. */
export type RequestContext = Readonly<Record<string, unknown>>;

/** The work of a check answered whole from the in-process cache. */
const CACHED: Readonly<RequestStats> = Object.freeze({ dispatches: 0, cachedDispatches: 1, reads: 0 });

/** The most contextual relationships one request may carry. */
export const MAX_CONTEXTUAL_RELATIONSHIPS = 100;

/** What every question may carry besides itself: caveat context and contextual relationships. */
export interface RequestExtras {
  readonly context?: RequestContext;
  /** Relationships that count for this request only, validated like written ones. */
  readonly contextualRelationships?: readonly Relationship[];
  /** Aborted when the caller gives up (cancel, deadline): the walk stops reading the store. */
  readonly signal?: AbortSignal;
}

/** A check's answer: the decision, the condition it was decided from, and the work it took. */
export interface CheckResult {
  readonly decision: Decision;
  readonly condition: Condition;
  /** What answering took (for a check that joined an identical one in flight, that one's work). */
  readonly metadata: Readonly<RequestStats>;
  /**
   * When the answer may change by time alone: the earliest expiration among the relationships
   * read to compute it (conservative), or null when none expires.
   */
  readonly expiresAt: Date | null;
}

/** One resource found by LookupResources. */
export interface FoundResource {
  readonly id: string;
  readonly decision: Decision;
}

/** One subject found by LookupSubjects. */
export interface FoundSubject {
  readonly id: string;
  readonly decision: Decision;
}

/** LookupSubjects' answer: explicit subjects, and the wildcard with its exclusions when it applies. */
export interface FoundSubjects {
  readonly subjects: readonly FoundSubject[];
  readonly wildcard: { readonly decision: Decision; readonly excluded: readonly string[] } | null;
}

/** LookupSubjects' answer, decided, for bulk use: each subject named on the way, and the decision for every other (the wildcard's). */
export interface DecidedSubjects {
  readonly members: ReadonlyMap<string, Decision>;
  readonly wildcard: Decision;
}

/** Everything a request is evaluated against. */
export interface Snapshot {
  readonly schema: TypeSystem;
  readonly reader: SnapshotReader;
  /**
   * Names this exact snapshot (datastore, tenant, schema version, revision) for the shared check
   * cache; absent, nothing is cached. Two snapshots with one key must answer alike.
   */
  readonly cacheKey?: string;
}

/**
 * Engine answers the four permission questions (Check, Expand, LookupResources,
 * LookupSubjects) over one snapshot. It validates each request against the schema, builds the
 * request's dispatcher chain (memo over local computation) and decides caveats at the end.
 */
export class Engine {
  readonly limits: EngineLimits;
  readonly #makeEvaluator: (schema: TypeSystem) => CaveatEvaluator;
  /** One evaluator per schema, so each caveat is parsed and planned once. */
  readonly #evaluators = new WeakMap<TypeSystem, CaveatEvaluator>();

  readonly #lru: LruCheckCache | null;
  /** The check cache's tiers, nearest first. */
  readonly #tiers: readonly CheckCacheTier[];
  /** The same, farthest first: the order the chain is built in. */
  readonly #tiersInward: readonly CheckCacheTier[];
  readonly #flights = new Singleflight<{ condition: Condition; metadata: RequestStats; expiresAt: Date | null }>();
  readonly #observer: EngineObserver | null;

  /**
   * `cacheBytes` bounds the in-process check cache shared by every request (0: none);
   * `sharedCache` is a tier behind it shared by processes (Redis). They serve snapshots that carry
   * a `cacheKey`; identical checks in flight at once on such snapshots are computed once.
   */
  constructor(
    options: { limits?: Partial<EngineLimits>; caveats?: (schema: TypeSystem) => CaveatEvaluator; cacheBytes?: number; sharedCache?: CheckCacheTier; observer?: EngineObserver } = {},
  ) {
    this.#observer = options.observer ?? null;
    this.limits = Object.freeze({ ...DEFAULT_LIMITS, ...options.limits });
    this.#lru = options.cacheBytes ? new LruCheckCache(options.cacheBytes) : null;
    this.#tiers = [...(this.#lru ? [this.#lru] : []), ...(options.sharedCache ? [options.sharedCache] : [])];
    this.#tiersInward = [...this.#tiers].reverse();
    this.#makeEvaluator = options.caveats ?? ((schema) => new CelCaveatEvaluator(schema, { maxCost: this.limits.maxCaveatCost }));
  }

  /**
   * The check cache's counters (null without one): the in-process tier's hits, misses and
   * entries, checks that joined an identical one in flight, and every tier's own counters.
   */
  get cacheStats(): { hits: number; misses: number; entries: number; shared: number; tiers: Readonly<Record<string, TierStats>> } | null {
    if (!this.#tiers.length) return null;
    return {
      hits: this.#lru?.stats.hits ?? 0,
      misses: this.#lru?.stats.misses ?? 0,
      entries: this.#lru?.size ?? 0,
      shared: this.#flights.shared,
      tiers: Object.fromEntries(this.#tiers.map((t) => [t.name, { ...t.stats }])),
    };
  }

  /**
   * A whole check's answer from the in-process cache, counted as a hit, when it holds one computed
   * with no more depth than this engine allows (so a cached answer never hides a depth limit).
   */
  #cached(key: string): Condition | undefined {
    const hit = this.#lru?.get(key);
    if (!hit || hit.depthLeft > this.limits.maxDepth) return undefined;
    this.#lru!.stats.hits++;
    return hit.condition;
  }

  #caveats(schema: TypeSystem): CaveatEvaluator {
    let ev = this.#evaluators.get(schema);
    if (!ev) this.#evaluators.set(schema, (ev = this.#makeEvaluator(schema)));
    return ev;
  }

  /**
   * Validates a request's extras and returns the snapshot it is answered over: the store's,
   * plus its contextual relationships.
   */
  #prepare(snap: Snapshot, extras: RequestExtras): Snapshot {
    if (extras.context !== undefined) this.validateContext(extras.context);
    if (extras.signal) snap = { ...snap, reader: new CancellableReader(snap.reader, extras.signal) };
    const extra = extras.contextualRelationships ?? [];
    if (!extra.length) return snap;
    if (extra.length > MAX_CONTEXTUAL_RELATIONSHIPS) {
      throw invalidArgument('contextual_relationships', `${extra.length} given, at most ${MAX_CONTEXTUAL_RELATIONSHIPS} allowed`);
    }
    const seen = new Set<string>();
    extra.forEach((r, i) => {
      const field = `contextual_relationships[${i}]`;
      snap.schema.validateRelationship(r, field);
      const key = relationshipKey(r);
      if (seen.has(key)) throw invalidArgument(field, `\`${key}\` appears more than once`);
      seen.add(key);
    });
    // Answers that depend on contextual relationships are this request's alone: no cache key.
    return { schema: snap.schema, reader: new ContextualReader(snap.reader, extra) };
  }

  #scope(snap: Snapshot): Scope {
    const budget = new NodeBudget(this.limits.maxExpandNodes);
    let scope: Scope;
    const observer = this.#observer;
    const traced = observer?.tracing() ?? false;
    const local = new LocalDispatcher(() => scope, budget);
    const stats: RequestStats = { dispatches: 0, cachedDispatches: 0, reads: 0 };
    const memo = new MemoReader(observer && (traced || observer.measuresReads) ? observer.reader(snap.reader, traced) : snap.reader, stats);
    let dispatcher: Dispatcher = traced ? observer!.dispatcher(local) : local;
    if (this.#tiers.length && snap.cacheKey) {
      // A relationship that expires changes the answer at the same revision as time passes: once
      // a request has read one, it stores nothing more (what it stored before did not depend on it).
      const mayStore = (): boolean => memo.earliestExpiry === null;
      const onHits = (n: number): void => void (stats.cachedDispatches += n);
      for (const tier of this.#tiersInward) dispatcher = new CacheDispatcher(dispatcher, traced ? observer!.tier(tier) : tier, snap.cacheKey, mayStore, onHits);
    }
    scope = {
      schema: snap.schema,
      reader: memo,
      dispatcher: new MemoDispatcher(dispatcher),
      limits: this.limits,
      stats,
      earliestExpiry: () => memo.earliestExpiry,
      memberships: new Memberships(snap.schema, memo),
      prefetch: memo.batches ? (filters) => memo.prefetch(filters) : null,
    };
    return scope;
  }

  /** Does `subject` have `permission` on `resource`? */
  async check(
    snap: Snapshot,
    req: { resource: ObjectRef; permission: string; subject: SubjectRef } & RequestExtras,
  ): Promise<CheckResult> {
    validateObject(snap.schema, req.resource, 'resource');
    validatePermission(snap.schema, req.resource.type, req.permission, 'permission');
    validateSubject(snap.schema, req.subject, 'subject');
    const prepared = this.#prepare(snap, req);
    // The whole check's cache key, when it may be cached (a named snapshot, no contextual relationships).
    const key = this.#tiers.length && prepared.cacheKey ? checkCacheKey(prepared.cacheKey, req.resource.type, req.resource.id, req.permission, req.subject) : null;
    // A check the in-process cache holds is answered here, before any request machinery is built.
    const hit = key !== null ? this.#cached(key) : undefined;
    if (hit) {
      // (The cache holds no answer that read an expiring relationship.)
      const decision = decide(hit, this.#caveats(prepared.schema), req.context ?? {});
      this.#observer?.checked(decision, CACHED);
      return { condition: hit, metadata: CACHED, expiresAt: null, decision };
    }
    const compute = async (): Promise<{ condition: Condition; metadata: RequestStats; expiresAt: Date | null }> => this.#walk(this.#scope(prepared), req);
    // A cacheable check is the same question for every caller: identical ones in flight at once
    // share one walk. Only whole checks share, so flights never wait on each other.
    const { condition, metadata, expiresAt } = key !== null ? await this.#flights.run(key, compute) : await compute();
    const decision = decide(condition, this.#caveats(prepared.schema), req.context ?? {});
    this.#observer?.checked(decision, metadata);
    return { condition, metadata, expiresAt, decision };
  }

  /**
   * A check with its explanation (see `Explainer`): why the answer is what it is, at the same
   * revision, by the same walk. Computed whole, without the check cache, so a cached answer never
   * hides its path; the answer is the walk's own.
   */
  async explain(
    snap: Snapshot,
    req: { resource: ObjectRef; permission: string; subject: SubjectRef } & RequestExtras,
  ): Promise<CheckResult & { readonly explanation: ExplainNode }> {
    validateObject(snap.schema, req.resource, 'resource');
    validatePermission(snap.schema, req.resource.type, req.permission, 'permission');
    validateSubject(snap.schema, req.subject, 'subject');
    const prepared = this.#prepare({ schema: snap.schema, reader: snap.reader }, req);
    const scope = this.#scope(prepared);
    const { condition, metadata, expiresAt } = await this.#walk(scope, req);
    const caveats = this.#caveats(prepared.schema);
    const decision = decide(condition, caveats, req.context ?? {});
    const explanation = await new Explainer(scope, caveats, req.context ?? {}, req.subject, snap.reader).explain(req.resource.type, req.resource.id, req.permission);
    this.#observer?.checked(decision, metadata);
    return { condition, decision, metadata, expiresAt, explanation };
  }

  /** One check's walk through a request's chain: its condition, the work it took, and when it may change by time. */
  async #walk(scope: Scope, req: { resource: ObjectRef; permission: string; subject: SubjectRef }): Promise<{ condition: Condition; metadata: RequestStats; expiresAt: Date | null }> {
    const a = await scope.dispatcher.check({
      resourceType: req.resource.type,
      resourceIds: [req.resource.id],
      relation: req.permission,
      subject: req.subject,
      revision: scope.reader.revision,
      depthLeft: this.limits.maxDepth,
      inProgress: InProgress.ROOT,
    });
    const { dispatches, cachedDispatches, reads } = scope.stats;
    const expiry = scope.earliestExpiry();
    return { condition: a.results.get(req.resource.id) ?? FALSE, metadata: { dispatches, cachedDispatches, reads }, expiresAt: expiry === null ? null : new Date(expiry) };
  }

  /**
   * The conditions (context-free) under which `subject` has `permission` on each of many
   * resources of one type, computed as one batched dispatch with one memo, so subproblems the
   * resources share are computed once. Decide each with `decide` and its own context.
   */
  async checkMany(
    snap: Snapshot,
    req: { resourceType: string; resourceIds: readonly string[]; permission: string; subject: SubjectRef } & Omit<RequestExtras, 'context'>,
  ): Promise<ReadonlyMap<string, Condition>> {
    req.resourceIds.forEach((id) => validateObject(snap.schema, { type: req.resourceType, id }, 'resource'));
    validatePermission(snap.schema, req.resourceType, req.permission, 'permission');
    validateSubject(snap.schema, req.subject, 'subject');
    snap = this.#prepare(snap, req);
    let ids = [...new Set(req.resourceIds)];
    // Answers the in-process cache holds are taken here, as Check's are, before any request
    // machinery is built; only the rest are walked.
    const cached = new Map<string, Condition>();
    if (this.#lru && snap.cacheKey) {
      for (const id of ids) {
        const hit = this.#cached(checkCacheKey(snap.cacheKey, req.resourceType, id, req.permission, req.subject));
        if (hit) cached.set(id, hit);
      }
      if (cached.size) ids = ids.filter((id) => !cached.has(id));
      if (!ids.length) return cached;
    }
    const a = await this.#scope(snap).dispatcher.check({
      resourceType: req.resourceType,
      resourceIds: ids,
      relation: req.permission,
      subject: req.subject,
      revision: snap.reader.revision,
      depthLeft: this.limits.maxDepth,
      inProgress: InProgress.ROOT,
    });
    if (!cached.size) return a.results;
    for (const [id, c] of a.results) cached.set(id, c);
    return cached;
  }

  /** Checks a request's caveat context: an object, within the size limit. */
  validateContext(context: RequestContext, field = 'context'): void {
    const ctx = context as unknown;
    if (typeof ctx !== 'object' || ctx === null || Array.isArray(ctx)) throw invalidArgument(field, 'must be an object');
    const bytes = Buffer.byteLength(JSON.stringify(ctx));
    if (bytes > this.limits.maxContextBytes) throw invalidArgument(field, `is ${bytes} bytes, more than the limit of ${this.limits.maxContextBytes}`);
  }

  /** Decides one BatchCheck item's condition (from `checkMany`) against its context, and counts it as a check answered. */
  decideCheck(snap: Snapshot, condition: Condition, context: RequestContext = {}): Decision {
    const decision = decide(condition, this.#caveats(snap.schema), context);
    this.#observer?.checked(decision, null);
    return decision;
  }

  /** Decides a condition (from Expand, say) against a request's caveat context. */
  decide(snap: Snapshot, condition: Condition, context: RequestContext = {}): Decision {
    return decide(condition, this.#caveats(snap.schema), context);
  }

  /** The full userset tree of `resource#permission`. */
  async expand(snap: Snapshot, req: { resource: ObjectRef; permission: string } & RequestExtras): Promise<ExpandNode> {
    validateObject(snap.schema, req.resource, 'resource');
    validatePermission(snap.schema, req.resource.type, req.permission, 'permission');
    snap = this.#prepare(snap, req);
    const scope = this.#scope(snap);
    const a = await scope.dispatcher.expand({
      resource: req.resource,
      relation: req.permission,
      revision: snap.reader.revision,
      depthLeft: this.limits.maxDepth,
      inProgress: InProgress.ROOT,
    });
    return a.tree;
  }

  /** Every resource of `resourceType` on which `subject` has `permission`, sorted by id. */
  async lookupResources(
    snap: Snapshot,
    req: { resourceType: string; permission: string; subject: SubjectRef } & RequestExtras,
  ): Promise<FoundResource[]> {
    const out: FoundResource[] = [];
    for await (const batch of this.streamResources(snap, req)) out.push(...batch.found);
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /**
   * The resources of `resourceType` on which `subject` has `permission`, in batches as they are
   * found, in the walk's order (deterministic for a revision). `skip` (a batch's `offset`)
   * resumes after the candidates of the batches before it. The request is validated before the
   * first batch is asked for.
   */
  streamResources(
    snap: Snapshot,
    req: { resourceType: string; permission: string; subject: SubjectRef } & RequestExtras,
    skip = 0,
  ): AsyncGenerator<{ readonly offset: number; readonly found: readonly FoundResource[] }> {
    if (!snap.schema.definition(req.resourceType)) throw failedPrecondition(`unknown type \`${req.resourceType}\``, 'resource_type', 'ERROR_REASON_UNKNOWN_DEFINITION');
    validatePermission(snap.schema, req.resourceType, req.permission, 'permission');
    validateSubject(snap.schema, req.subject, 'subject');
    const prepared = this.#prepare(snap, req);
    const ev = this.#caveats(prepared.schema);
    const ctx = req.context ?? {};
    const batches = lookupResources(() => this.#scope(prepared), {
      resourceType: req.resourceType,
      permission: req.permission,
      subject: req.subject,
      revision: prepared.reader.revision,
    }, skip);
    return (async function* () {
      for await (const b of batches) {
        const found: FoundResource[] = [];
        for (const [id, c] of b.found) {
          const decision = decide(c, ev, ctx);
          if (decision.kind !== 'no') found.push({ id, decision });
        }
        yield { offset: b.offset, found };
      }
    })();
  }

  /** Every subject of `subjectType` (with `subjectRelation`, default `...`) that has `permission` on `resource`. */
  async lookupSubjects(
    snap: Snapshot,
    req: { resource: ObjectRef; permission: string; subjectType: string; subjectRelation?: string } & RequestExtras,
  ): Promise<FoundSubjects> {
    validateObject(snap.schema, req.resource, 'resource');
    const subjectRelation = this.#validateSubjectsQuestion(snap, req.resource.type, req.permission, req.subjectType, req.subjectRelation);
    snap = this.#prepare(snap, req);
    const set = await this.#subjectSet(this.#scope(snap), snap, req.resource, req.permission, req.subjectType, subjectRelation);
    const ev = this.#caveats(snap.schema);
    const ctx = req.context ?? {};
    const subjects: FoundSubject[] = [];
    const excluded: string[] = [];
    for (const [id, c] of [...set.members].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) {
      const decision = decide(c, ev, ctx);
      if (decision.kind !== 'no') subjects.push({ id, decision });
      else excluded.push(id);
    }
    const wd = decide(set.wildcard, ev, ctx);
    return { subjects, wildcard: wd.kind === 'no' ? null : { decision: wd, excluded } };
  }

  /**
   * LookupSubjects for many resources of one type, one after another in one request: what they
   * share (a parent's subjects, a group's members) is computed once. Answers in the order of
   * `resourceIds`, each every subject named on the way with its decision (denied ones included),
   * and the decision for every other subject (the wildcard's).
   */
  async lookupSubjectsMany(
    snap: Snapshot,
    req: { resourceType: string; resourceIds: readonly string[]; permission: string; subjectType: string; subjectRelation?: string } & RequestExtras,
  ): Promise<DecidedSubjects[]> {
    req.resourceIds.forEach((id) => validateObject(snap.schema, { type: req.resourceType, id }, 'resource'));
    const subjectRelation = this.#validateSubjectsQuestion(snap, req.resourceType, req.permission, req.subjectType, req.subjectRelation);
    snap = this.#prepare(snap, req);
    const scope = this.#scope(snap);
    const ev = this.#caveats(snap.schema);
    const ctx = req.context ?? {};
    const out: DecidedSubjects[] = [];
    for (const id of req.resourceIds) {
      const set = await this.#subjectSet(scope, snap, { type: req.resourceType, id }, req.permission, req.subjectType, subjectRelation);
      const members = new Map<string, Decision>();
      for (const [subjectId, c] of set.members) members.set(subjectId, decide(c, ev, ctx));
      out.push({ members, wildcard: decide(set.wildcard, ev, ctx) });
    }
    return out;
  }

  /** Checks a LookupSubjects question against the schema; returns the subject relation (`...` by default). */
  #validateSubjectsQuestion(snap: Snapshot, type: string, permission: string, subjectType: string, relation: string | undefined): string {
    validatePermission(snap.schema, type, permission, 'permission');
    if (!snap.schema.definition(subjectType)) throw failedPrecondition(`unknown type \`${subjectType}\``, 'subject_type', 'ERROR_REASON_UNKNOWN_DEFINITION');
    const subjectRelation = relation ?? ELLIPSIS;
    if (subjectRelation !== ELLIPSIS) validatePermission(snap.schema, subjectType, subjectRelation, 'subject_relation');
    return subjectRelation;
  }

  /** The subjects of one resource's permission as the walk found them (conditions undecided), bounded in size. */
  async #subjectSet(scope: Scope, snap: Snapshot, resource: ObjectRef, permission: string, subjectType: string, subjectRelation: string): Promise<SubjectSet> {
    const a = await scope.dispatcher.lookupSubjects({
      resource,
      relation: permission,
      subjectType,
      subjectRelation,
      revision: snap.reader.revision,
      depthLeft: this.limits.maxDepth,
      inProgress: InProgress.ROOT,
    });
    // The set is whole in memory (its operators need all of it), and a listing keeps it between pages: bound it.
    if (a.subjects.members.size > this.limits.maxLookupVisits) {
      throw new WardenError('RESOURCE_EXHAUSTED', `the lookup found more than ${this.limits.maxLookupVisits} subjects (max_lookup_visits)`, { field: 'max_lookup_visits' });
    }
    return a.subjects;
  }
}

function validateObject(schema: TypeSystem, o: ObjectRef, field: string): void {
  if (!schema.definition(o.type)) throw failedPrecondition(`unknown type \`${o.type}\``, `${field}.object_type`, 'ERROR_REASON_UNKNOWN_DEFINITION');
  if (o.id === WILDCARD_ID) throw invalidArgument(`${field}.object_id`, 'a wildcard cannot be a resource');
}

function validatePermission(schema: TypeSystem, type: string, name: string, field: string): void {
  if (!schema.member(type, name)) throw failedPrecondition(`\`${name}\` is not a relation or permission of \`${type}\``, field, 'ERROR_REASON_UNKNOWN_RELATION_OR_PERMISSION');
}

function validateSubject(schema: TypeSystem, s: SubjectRef, field: string): void {
  if (!schema.definition(s.type)) throw failedPrecondition(`unknown type \`${s.type}\``, `${field}.object_type`, 'ERROR_REASON_UNKNOWN_DEFINITION');
  if (s.id === WILDCARD_ID) throw invalidArgument(`${field}.object_id`, 'a wildcard cannot be the subject of a question');
  if (s.relation !== ELLIPSIS && !schema.member(s.type, s.relation)) {
    throw failedPrecondition(`\`${s.relation}\` is not a relation or permission of \`${s.type}\``, `${field}.relation`, 'ERROR_REASON_UNKNOWN_RELATION_OR_PERMISSION');
  }
}
