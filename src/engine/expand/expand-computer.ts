import type { RelationIR, RewriteIR } from '../../../schema-dsl/index.js';
import { WardenError } from '../../errors/error-code.js';
import { ELLIPSIS, type ObjectRef } from '../../model/relationship.js';
import { TRUE } from '../condition.js';
import { CycleTracker, type ExpandAnswer, type ExpandProblem } from '../dispatch/dispatcher.js';
import { tupleCondition, type Scope } from '../scope.js';
import type { ExpandNode } from './expand-node.js';

/** Counts the nodes one Expand request builds, against the configured limit. */
export class NodeBudget {
  #left: number;

  constructor(limit: number) {
    this.#left = limit;
  }

  /** Takes one node from the budget, failing the request once it runs out. */
  take(): void {
    if (--this.#left < 0) {
      throw new WardenError('RESOURCE_EXHAUSTED', 'the expanded tree is larger than the configured limit (max_expand_nodes)', {
        field: 'max_expand_nodes',
      });
    }
  }
}

/**
 * Computes one ExpandProblem: the full userset tree of `resource#relation`, recursing into every
 * userset and arrow, so the leaves hold every subject that can reach it.
 */
export class ExpandComputer {
  readonly #scope: Scope;
  readonly #p: ExpandProblem;
  readonly #budget: NodeBudget;
  readonly #cycles = new CycleTracker();

  constructor(scope: Scope, p: ExpandProblem, budget: NodeBudget) {
    this.#scope = scope;
    this.#p = p;
    this.#budget = budget;
  }

  async compute(): Promise<ExpandAnswer> {
    const p = this.#p;
    const m = this.#scope.schema.member(p.resource.type, p.relation);
    let tree: ExpandNode;
    if (!m) tree = this.#node('leaf', [], p.relation);
    else if (m.kind === 'relation') tree = await this.#relation(m);
    else {
      tree = await this.#rewrite(m.rewrite);
      // `permission p = r` answers with r's tree; name the node for p, so the tree says what it expands.
      // (An arrow's node names the permission too, but it is the arrow's: it gets a node above it.)
      if (tree.relation !== p.relation || tree.resource !== p.resource || (tree.kind !== 'leaf' && tree.arrow)) tree = this.#node('union', [tree]);
    }
    return { tree, cycles: this.#cycles.without([]) };
  }

  #node(kind: 'leaf', subjects: [], relation?: string): ExpandNode;
  #node(kind: 'union' | 'intersection' | 'exclusion', children: ExpandNode[], relation?: string): ExpandNode;
  #node(kind: ExpandNode['kind'], items: ExpandNode[] | [], relation = this.#p.relation): ExpandNode {
    this.#budget.take();
    const base = { resource: this.#p.resource, relation, condition: TRUE };
    return kind === 'leaf' ? { kind, ...base, subjects: [] } : { kind, ...base, children: items };
  }

  async #dispatch(resource: ObjectRef, relation: string): Promise<ExpandNode> {
    const p = this.#p;
    const a = await this.#scope.dispatcher.expand({ ...p, resource, relation, depthLeft: p.depthLeft - 1 });
    this.#cycles.add(a.cycles);
    return a.tree;
  }

  async #relation(rel: RelationIR): Promise<ExpandNode> {
    const p = this.#p;
    const tuples = await this.#scope.reader.query({ resourceType: p.resource.type, resourceIds: [p.resource.id], relation: rel.name });
    this.#budget.take();
    const leaf: ExpandNode = {
      kind: 'leaf',
      resource: p.resource,
      relation: rel.name,
      condition: TRUE,
      subjects: tuples.map((t) => ({ subject: t.subject, condition: tupleCondition(t) })),
    };
    const children: ExpandNode[] = [leaf];
    for (const t of tuples) {
      if (t.subject.relation === ELLIPSIS) continue;
      const sub = await this.#dispatch({ type: t.subject.type, id: t.subject.id }, t.subject.relation);
      children.push({ ...sub, condition: tupleCondition(t) });
    }
    if (children.length === 1) return leaf;
    this.#budget.take();
    return { kind: 'union', resource: p.resource, relation: rel.name, condition: TRUE, children };
  }

  async #rewrite(e: RewriteIR): Promise<ExpandNode> {
    switch (e.kind) {
      case 'nil':
        return this.#node('leaf', []);
      case 'computed':
        return this.#dispatch(this.#p.resource, e.relation);
      case 'union':
      case 'intersection': {
        const children: ExpandNode[] = [];
        for (const c of e.children) children.push(await this.#rewrite(c));
        return this.#node(e.kind, children);
      }
      case 'exclusion':
        return this.#node('exclusion', [await this.#rewrite(e.base), await this.#rewrite(e.subtract)]);
      case 'arrow': {
        const p = this.#p;
        const tuples = await this.#scope.reader.query({ resourceType: p.resource.type, resourceIds: [p.resource.id], relation: e.tupleset });
        const children: ExpandNode[] = [];
        for (const t of tuples) {
          if (!this.#scope.schema.member(t.subject.type, e.computed)) {
            // `.all()` counts a subject without the permission as a no.
            if (e.fn === 'all') children.push({ ...this.#node('leaf', [], e.computed), resource: t.subject, condition: tupleCondition(t) });
            continue;
          }
          const sub = await this.#dispatch({ type: t.subject.type, id: t.subject.id }, e.computed);
          children.push({ ...sub, condition: tupleCondition(t) });
        }
        const arrow = e.fn === 'all' ? `${e.tupleset}.all(${e.computed})` : `${e.tupleset}->${e.computed}`;
        this.#budget.take();
        return { kind: e.fn === 'all' ? 'intersection' : 'union', resource: p.resource, relation: this.#p.relation, condition: TRUE, children, arrow };
      }
      default: {
        const never: never = e;
        throw new Error(`unknown rewrite ${JSON.stringify(never)}`);
      }
    }
  }
}
