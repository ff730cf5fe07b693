import { formatRewrite, type RelationIR, type RewriteIR } from '../../../schema-dsl/index.js';
import { WardenError } from '../../errors/error-code.js';
import { formatRelationship } from '../../model/relationship-syntax.js';
import { WILDCARD_ID, subjectKey, type Relationship, type SubjectRef } from '../../model/relationship.js';
import type { RelationshipFilter, SnapshotReader } from '../../store/store.js';
import { relationRead } from '../check/check-computer.js';
import { FALSE, TRUE, and, decide, not, or, type CaveatEvaluator, type Condition, type Decision } from '../condition.js';
import { InProgress, checkProblem } from '../dispatch/dispatcher.js';
import { tupleCondition, type Scope } from '../scope.js';
import type { ExplainNode, ExplainedCaveat } from './explain-node.js';

/** The most steps one explanation holds; past it, objects are shown with their answer but not opened. */
export const MAX_EXPLAIN_NODES = 500;
/** The most failed branches listed under one step of a denied check; the rest are counted. */
export const MAX_EXPLAINED_BRANCHES = 20;

/** Where a path has no end (not granted, or not opened): longer than any real one. */
const NO_PATH = Number.MAX_SAFE_INTEGER;

/** One explained step: its node, its condition (context-free), and how many relationships its granting path takes. */
interface Part {
  readonly node: ExplainNode;
  readonly condition: Condition;
  readonly length: number;
  /** The step met an object already on its path, so its shape depends on that path: not remembered. */
  readonly cut: boolean;
}

/**
 * Explains one check with the engine that answers it: every object's answer on the way is the
 * request's own dispatcher's (uncached, at the request's revision), and every relationship shown
 * was read from the request's snapshot. The explainer only chooses what to show: for a granted
 * check the branch with the fewest relationships at each step, for a denied one every branch
 * tried (bounded), for a conditional one the branches that hold under caveats.
 */
export class Explainer {
  readonly #scope: Scope;
  readonly #caveats: CaveatEvaluator;
  readonly #context: Readonly<Record<string, unknown>>;
  readonly #subject: SubjectRef;
  /** The store's own reader, asked for expired relationships where it can tell (`queryExpired`). */
  readonly #store: SnapshotReader;
  readonly #memo = new Map<string, Part>();
  #nodes = 0;

  constructor(scope: Scope, caveats: CaveatEvaluator, context: Readonly<Record<string, unknown>>, subject: SubjectRef, store: SnapshotReader) {
    this.#scope = scope;
    this.#caveats = caveats;
    this.#context = context;
    this.#subject = subject;
    this.#store = store;
  }

  /** The explanation of `type:id#relation` for the subject. */
  async explain(type: string, id: string, relation: string): Promise<ExplainNode> {
    return (await this.#object(type, id, relation, new Set(), 0)).node;
  }

  #decide(c: Condition): Decision {
    return decide(c, this.#caveats, this.#context);
  }

  /** The engine's own answer for one object's relation (through the request's memo). */
  async #answer(type: string, id: string, relation: string): Promise<Condition> {
    const p = this.#scope.dispatcher.check(checkProblem(this.#scope.reader.revision, this.#scope.limits.maxDepth, InProgress.ROOT, type, [id], relation, this.#subject));
    return (await p).results.get(id) ?? FALSE;
  }

  async #object(type: string, id: string, relation: string, path: ReadonlySet<string>, depth: number): Promise<Part> {
    const label = `${type}:${id}#${relation}`;
    const s = this.#subject;
    if (s.type === type && s.id === id && s.relation === relation) {
      return { node: leaf('self', label, HAS, 'the subject is this very set'), condition: TRUE, length: 0, cut: false };
    }
    if (path.has(label)) {
      return { node: leaf('cycle', label, NO, 'already on this path (a cycle in the data): counts as no here'), condition: FALSE, length: NO_PATH, cut: true };
    }
    const known = this.#memo.get(label);
    if (known) return known;
    let condition: Condition;
    try {
      condition = await this.#answer(type, id, relation);
    } catch (e) {
      if (e instanceof WardenError && e.reason === 'ERROR_REASON_MAXIMUM_DEPTH_EXCEEDED') {
        return { node: leaf('limit', label, NO, e.message), condition: FALSE, length: NO_PATH, cut: false };
      }
      throw e;
    }
    const decision = this.#decide(condition);
    if (this.#nodes >= MAX_EXPLAIN_NODES || depth >= this.#scope.limits.maxDepth) {
      const why = depth >= this.#scope.limits.maxDepth ? 'not opened: deeper than max_depth' : `not opened: the explanation holds ${MAX_EXPLAIN_NODES} steps at most`;
      return { node: { ...leaf('limit', label, decision, why), omitted: 1 }, condition, length: NO_PATH, cut: false };
    }
    this.#nodes++;
    const m = this.#scope.schema.member(type, relation)!;
    const inner = new Set(path).add(label);
    const body = m.kind === 'relation' ? await this.#relation(m, type, id, inner, depth) : await this.#rewrite(m.rewrite, type, id, inner, depth);
    const node: ExplainNode =
      m.kind === 'relation'
        ? { ...body.node, kind: 'relation', label, decision }
        : { kind: 'permission', label, decision, reason: '', children: [body.node], omitted: 0 };
    const part = { node, condition, length: body.length, cut: body.cut };
    if (!part.cut) this.#memo.set(label, part);
    return part;
  }

  async #rewrite(e: RewriteIR, type: string, id: string, path: ReadonlySet<string>, depth: number): Promise<Part> {
    switch (e.kind) {
      case 'nil':
        return { node: leaf('nil', 'nil', NO, '`nil` never holds'), condition: FALSE, length: NO_PATH, cut: false };
      case 'computed':
        return this.#object(type, id, e.relation, path, depth + 1);
      case 'union':
      case 'intersection':
        return this.#combine(e.kind, formatRewrite(e), e.children, type, id, path, depth);
      case 'exclusion':
        return this.#exclusion(e, type, id, path, depth);
      case 'arrow':
        return this.#arrow(e, type, id, path, depth);
      default: {
        const never: never = e;
        throw new Error(`unknown rewrite ${JSON.stringify(never)}`);
      }
    }
  }

  /** Union and intersection: every branch asked (the engine stops early; an explanation wants the shortest path). */
  async #combine(kind: 'union' | 'intersection', label: string, children: readonly RewriteIR[], type: string, id: string, path: ReadonlySet<string>, depth: number): Promise<Part> {
    const parts: Part[] = [];
    for (const c of children) parts.push(await this.#rewrite(c, type, id, path, depth));
    const condition = parts.map((p) => p.condition).reduce(kind === 'union' ? or : and);
    const decision = this.#decide(condition);
    const cut = parts.some((p) => p.cut);
    if (kind === 'union') {
      const chosen = choose(parts, decision);
      const reason = decision.kind === 'no' ? 'no branch holds' : '';
      return { node: { kind, label, decision, reason, children: chosen.map((p) => p.node), omitted: 0 }, condition, length: Math.min(...chosen.map((p) => p.length)), cut };
    }
    const failing = parts.filter((p) => p.node.decision.kind === 'no');
    const shown = decision.kind === 'no' ? failing : parts;
    const reason = decision.kind === 'no' ? `${failing.map((p) => `\`${p.node.label}\``).join(', ')} ${failing.length === 1 ? 'does' : 'do'} not hold` : '';
    const length = decision.kind === 'no' ? NO_PATH : parts.reduce((n, p) => n + p.length, 0);
    return { node: { kind, label, decision, reason, children: shown.map((p) => p.node), omitted: 0 }, condition, length, cut };
  }

  async #exclusion(e: Extract<RewriteIR, { kind: 'exclusion' }>, type: string, id: string, path: ReadonlySet<string>, depth: number): Promise<Part> {
    const label = formatRewrite(e);
    const base = await this.#rewrite(e.base, type, id, path, depth);
    if (base.node.decision.kind === 'no') {
      const node: ExplainNode = { kind: 'exclusion', label, decision: NO, reason: `\`${base.node.label}\` does not hold`, children: [base.node], omitted: 0 };
      return { node, condition: FALSE, length: NO_PATH, cut: base.cut };
    }
    const subtract = await this.#rewrite(e.subtract, type, id, path, depth);
    const condition = and(base.condition, not(subtract.condition));
    const decision = this.#decide(condition);
    const cut = base.cut || subtract.cut;
    let node: ExplainNode;
    if (decision.kind === 'no') {
      // Excluded: the path into the excluded set is the explanation.
      node = { kind: 'exclusion', label, decision, reason: `excluded: \`${subtract.node.label}\` holds`, children: [collapsed(base.node), subtract.node], omitted: 0 };
    } else if (decision.kind === 'has') {
      node = { kind: 'exclusion', label, decision, reason: '', children: [base.node, collapsed(subtract.node, 'not excluded')], omitted: 0 };
    } else node = { kind: 'exclusion', label, decision, reason: '', children: [base.node, subtract.node], omitted: 0 };
    return { node, condition, length: decision.kind === 'no' ? NO_PATH : base.length, cut };
  }

  /** `tupleset->computed` or `tupleset.all(computed)`: each tupleset relationship and what its subject answers. */
  async #arrow(e: Extract<RewriteIR, { kind: 'arrow' }>, type: string, id: string, path: ReadonlySet<string>, depth: number): Promise<Part> {
    const label = formatRewrite(e);
    const all = e.fn === 'all';
    const tuples = (await this.#scope.reader.query({ resourceType: type, resourceIds: [id], relation: e.tupleset })).filter((t) => this.#scope.schema.member(t.subject.type, e.computed));
    if (!tuples.length) {
      const node: ExplainNode = { kind: 'arrow', label, decision: NO, reason: `no \`${e.tupleset}\` relationship on \`${type}:${id}\` leads to a \`${e.computed}\``, children: [], omitted: 0 };
      return { node, condition: FALSE, length: NO_PATH, cut: false };
    }
    const steps = await this.#through(tuples, (t) => this.#object(t.subject.type, t.subject.id, e.computed, path, depth + 1));
    const condition = steps.map((p) => p.condition).reduce(all ? and : or);
    const decision = this.#decide(condition);
    return this.#listing('arrow', label, decision, condition, steps, all, `no \`${e.tupleset}\` relationship leads to an object where \`${e.computed}\` holds`);
  }

  /** A stored relation: the subject itself (or the wildcard) written on it, or a subject set holding the subject. */
  async #relation(rel: RelationIR, type: string, id: string, path: ReadonlySet<string>, depth: number): Promise<Part> {
    const s = this.#subject;
    const read = relationRead(rel, type, [id], s);
    const wildcard = read?.subjectIds.includes(WILDCARD_ID) ? ` or \`${s.type}:*\`` : '';
    const written = `\`${type}:${id}#${rel.name}@${subjectKey(s)}\`${wildcard}`;
    if (!read) {
      return { node: leaf('relation', '', NO, `\`${type}#${rel.name}\` cannot hold \`${subjectKey(s)}\` or a subject set`), condition: FALSE, length: NO_PATH, cut: false };
    }
    const tuples = await this.#scope.reader.query(read.filter);
    const isDirect = (t: Relationship): boolean => read.direct.length > 0 && t.subject.type === s.type && t.subject.relation === s.relation && read.subjectIds.includes(t.subject.id);
    const usable = tuples.filter((t) => isDirect(t) || read.usersets.has(`${t.subject.type}#${t.subject.relation}`));
    if (!usable.length) {
      const expired = read.direct.length ? await this.#expired({ resourceType: type, resourceIds: [id], relation: rel.name, subjectType: s.type, subjectIds: read.subjectIds, subjectRelation: s.relation }) : [];
      const sets = read.usersets.size ? ` and no subject set (${[...read.usersets.keys()].map((k) => `\`${k}\``).join(', ')}) is written on it` : '';
      const node: ExplainNode = {
        ...leaf('relation', '', NO, read.direct.length ? `no relationship ${written}${sets}` : `no subject set (${[...read.usersets.keys()].map((k) => `\`${k}\``).join(', ')}) is written on it`),
        children: expired.map((r) => ({ ...leaf('expired', formatRelationship(r), NO, `expired at ${r.expiresAt!.toISOString()}`), relationship: r })),
      };
      return { node, condition: FALSE, length: NO_PATH, cut: false };
    }
    const steps = await this.#through(usable, (t) =>
      isDirect(t)
        ? Promise.resolve({ node: leaf('self', subjectKey(t.subject), HAS, t.subject.id === '*' ? 'the wildcard: every subject of the type' : ''), condition: TRUE, length: 0, cut: false })
        : this.#object(t.subject.type, t.subject.id, t.subject.relation, path, depth + 1),
    );
    const condition = steps.map((p) => p.condition).reduce(or);
    const decision = this.#decide(condition);
    return this.#listing('relation', '', decision, condition, steps, false, `no relationship written on it holds the subject`);
  }

  /** Each relationship as a step over what its subject answered (`sub`); opened only as far as the bounds allow. */
  async #through(tuples: readonly Relationship[], sub: (t: Relationship) => Promise<Part>): Promise<Part[]> {
    const out: Part[] = [];
    for (const t of tuples) {
      const inner = await sub(t);
      const tc = tupleCondition(t);
      const caveat = t.caveat ? this.#caveat(t) : undefined;
      const condition = and(tc, inner.condition);
      const decision = this.#decide(condition);
      const reason = caveat && caveat.decision.kind === 'no' ? `caveat \`${caveat.name}\` is false` : '';
      const children = inner.node.kind === 'self' && inner.node.reason === '' ? [] : [inner.node];
      const node: ExplainNode = { kind: 'relationship', label: formatRelationship(t), decision, reason, relationship: t, ...(caveat ? { caveat } : {}), children, omitted: 0 };
      out.push({ node, condition, length: inner.length === NO_PATH ? NO_PATH : inner.length + 1, cut: inner.cut });
    }
    return out;
  }

  /** A step over relationships: for a grant the shortest, for a denial those tried (bounded), for `.all()` every one. */
  #listing(kind: 'arrow' | 'relation', label: string, decision: Decision, condition: Condition, steps: readonly Part[], all: boolean, none: string): Part {
    const cut = steps.some((p) => p.cut);
    let shown: readonly Part[];
    let reason = '';
    if (all) {
      shown = decision.kind === 'no' ? steps.filter((p) => p.node.decision.kind === 'no') : steps;
      if (decision.kind === 'no') reason = 'not every relationship leads to an object where it holds';
    } else if (decision.kind === 'no') {
      shown = steps;
      reason = none;
    } else shown = choose(steps, decision);
    const bounded = shown.slice(0, MAX_EXPLAINED_BRANCHES);
    const length = decision.kind === 'no' ? NO_PATH : all ? steps.reduce((n, p) => n + p.length, 0) : Math.min(...shown.map((p) => p.length));
    const node: ExplainNode = { kind, label, decision, reason, children: bounded.map((p) => p.node), omitted: shown.length - bounded.length };
    return { node, condition, length, cut };
  }

  #caveat(t: Relationship): ExplainedCaveat {
    const { name, context } = t.caveat!;
    const values: Record<string, unknown> = {};
    for (const p of this.#scope.schema.caveat(name)?.params ?? []) {
      const v = context && p.name in context ? context[p.name] : this.#context[p.name];
      if (v !== undefined) values[p.name] = v;
    }
    return { name, values, decision: this.#decide(tupleCondition(t)) };
  }

  async #expired(f: RelationshipFilter): Promise<readonly Relationship[]> {
    return this.#store.queryExpired ? (await this.#store.queryExpired(f)).slice(0, MAX_EXPLAINED_BRANCHES) : [];
  }
}

const HAS: Decision = Object.freeze({ kind: 'has' });
const NO: Decision = Object.freeze({ kind: 'no' });

function leaf(kind: ExplainNode['kind'], label: string, decision: Decision, reason: string): ExplainNode {
  return { kind, label, decision, reason, children: [], omitted: 0 };
}

/** The node without its children (counted as left out), with a reason if it had none. */
function collapsed(node: ExplainNode, reason?: string): ExplainNode {
  return { ...node, reason: reason ?? node.reason, children: [], omitted: node.children.length + node.omitted };
}

/**
 * What a granting step shows: the branch with the shortest path among those that hold outright;
 * when none does (a conditional answer), every branch that holds under caveats.
 */
function choose(parts: readonly Part[], decision: Decision): readonly Part[] {
  if (decision.kind === 'no') return parts;
  const holding = parts.filter((p) => p.node.decision.kind === 'has');
  if (holding.length) return [holding.reduce((best, p) => (p.length < best.length ? p : best))];
  return parts.filter((p) => p.node.decision.kind !== 'no');
}
