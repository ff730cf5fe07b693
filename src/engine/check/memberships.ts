import type { RelationIR } from '../../../schema-dsl/index.js';
import { ELLIPSIS, type Relationship, type SubjectRef } from '../../model/relationship.js';
import type { TypeSystem } from '../../schema/type-system.js';
import type { MemoReader } from '../memo-reader.js';
import type { Maybe } from '../maybe.js';
import { inner } from '../../model/nested-map.js';

/** The most objects one subject-side walk may collect before it gives way to the downward walk. */
export const MAX_MEMBERSHIPS = 10_000;

/** Which relations nest only themselves, per schema. */
const nestingCache = new WeakMap<TypeSystem, Map<string, Map<string, boolean>>>();

/**
 * Is `type#relation` a stored relation whose subject sets are only itself, nested
 * (`group#member: user | group#member`)? Membership in such a relation is found from the
 * subject's side: the groups the subject is in directly, then the groups those are nested in, and
 * so on, a read per level, however many groups a resource names.
 */
export function nestsOnlyItself(schema: TypeSystem, type: string, relation: string): boolean {
  const byRelation = inner(inner(nestingCache, schema), type);
  let yes = byRelation.get(relation);
  if (yes === undefined) {
    const m = schema.member(type, relation);
    yes = m?.kind === 'relation' && selfNesting(m, type);
    byRelation.set(relation, yes);
  }
  return yes;
}

function selfNesting(m: RelationIR, type: string): boolean {
  let self = false;
  for (const a of m.allowed) {
    if (a.wildcard || a.relation === ELLIPSIS) continue;
    if (a.type !== type || a.relation !== m.name) return false;
    self = true;
  }
  return self;
}

/**
 * One request's subject-side membership walks (see `nestsOnlyItself`), each made once and only as
 * far as a question needs: a walk stops climbing as soon as every set asked about is found, and
 * resumes where it stopped for the next question. A walk answers null, and the caller walks down
 * from the resource instead, where the subject side cannot give the same answer cheaply or
 * exactly: a relationship on the way carries a caveat (its condition would have to be carried
 * along each path), the walk goes deeper than the request may, or the subject belongs to more
 * than MAX_MEMBERSHIPS sets.
 */
export class Memberships {
  readonly #schema: TypeSystem;
  readonly #reader: MemoReader;
  /** Walks by subject (the request's subject object: no key string is built), type and relation. */
  readonly #walks = new Map<SubjectRef, Map<string, Map<string, MembershipWalk>>>();

  constructor(schema: TypeSystem, reader: MemoReader) {
    this.#schema = schema;
    this.#reader = reader;
  }

  /**
   * Which of `wanted` (ids of `type`) hold `subject` in `relation`: directly or through nested
   * `type#relation` sets (a set holds itself); or null as above.
   * `depthLeft` is the depth the downward walk would have had: a walk needing as many levels
   * answers null.
   */
  of(type: string, relation: string, subject: SubjectRef, wanted: readonly string[], depthLeft: number): Maybe<{ has(id: string): boolean } | null> {
    if (!nestsOnlyItself(this.#schema, type, relation)) return null;
    const byRelation = inner(inner(this.#walks, subject), type);
    let walk = byRelation.get(relation);
    if (!walk) byRelation.set(relation, (walk = new MembershipWalk(this.#schema.member(type, relation) as RelationIR, type, subject, this.#reader)));
    return walk.until(wanted, depthLeft);
  }
}

/** One subject's walk up one nesting relation: the sets found so far, and where to go on from. */
class MembershipWalk {
  readonly #rel: RelationIR;
  readonly #type: string;
  readonly #subject: SubjectRef;
  readonly #reader: MemoReader;
  /** The sets found, each with the level it was found at (0: the subject is in it directly). */
  readonly #ids = new Map<string, number>();
  #frontier: string[] | null = null;
  #levels = 0;
  /** No set is left to find. */
  #done = false;
  /** The subject side cannot answer (a caveat, or too many sets): null from now on. */
  #failed = false;
  /** Questions take turns: each climbs from where the one before it stopped (null: none is waiting on a read). */
  #turn: Promise<unknown> | null = null;

  constructor(rel: RelationIR, type: string, subject: SubjectRef, reader: MemoReader) {
    this.#rel = rel;
    this.#type = type;
    this.#subject = subject;
    this.#reader = reader;
  }

  /**
   * The sets found, once every one of `wanted` is found or none is left to find; null if the
   * walk failed, or if answering would take as many levels as `depthLeft` (a set found that deep
   * included: the downward walk would have stopped there with the depth error). At hand when no
   * read had to wait.
   */
  until(wanted: readonly string[], depthLeft: number): Maybe<ReadonlyMap<string, number> | null> {
    const run = (): Maybe<ReadonlyMap<string, number> | null> => this.#run(wanted, depthLeft);
    const answer = this.#turn ? this.#turn.then(run) : run();
    if (answer instanceof Promise) {
      const turn: Promise<unknown> = answer.catch(() => undefined);
      this.#turn = turn;
      void turn.then(() => {
        if (this.#turn === turn) this.#turn = null;
      });
    }
    return answer;
  }

  #run(wanted: readonly string[], depthLeft: number): Maybe<ReadonlyMap<string, number> | null> {
    while (!this.#done && !this.#failed && this.#levels < depthLeft && wanted.some((id) => !this.#ids.has(id))) {
      const climbed = this.#climb();
      if (climbed instanceof Promise) return climbed.then(() => this.#run(wanted, depthLeft));
    }
    if (this.#failed) return null;
    for (const id of wanted) {
      const level = this.#ids.get(id);
      if (level === undefined ? !this.#done : level >= depthLeft) return null;
    }
    return this.#ids;
  }

  /** One read: the subject's own sets first, then the sets that nest the last ones found. */
  #climb(): Maybe<void> {
    const type = this.#type;
    const relation = this.#rel.name;
    const s = this.#subject;
    let rels: Maybe<readonly Relationship[]>;
    if (this.#frontier === null) {
      this.#frontier = [];
      if (s.type === type && s.relation === relation) {
        // A set holds itself.
        this.#ids.set(s.id, 0);
        this.#frontier.push(s.id);
        return;
      }
      // (No wildcard: the schema language forbids one in a relation used as a subject set.)
      if (!this.#rel.allowed.some((a) => a.type === s.type && !a.wildcard && a.relation === s.relation)) {
        this.#done = true;
        return;
      }
      rels = this.#reader.read({ resourceType: type, relation, subjectType: s.type, subjectIds: [s.id], subjectRelation: s.relation });
    } else {
      this.#levels++;
      rels = this.#reader.read({ resourceType: type, relation, subjectType: type, subjectIds: this.#frontier, subjectRelation: relation });
    }
    return rels instanceof Promise ? rels.then((r) => this.#found(r)) : this.#found(rels);
  }

  /** Takes one level's relationships: the sets found at it are the next frontier. */
  #found(rels: readonly Relationship[]): void {
    const next: string[] = [];
    for (const r of rels) {
      if (r.caveat) {
        this.#failed = true;
        return;
      }
      if (!this.#ids.has(r.resource.id)) {
        this.#ids.set(r.resource.id, this.#levels);
        next.push(r.resource.id);
      }
    }
    if (this.#ids.size > MAX_MEMBERSHIPS) this.#failed = true;
    this.#frontier = next;
    if (!next.length) this.#done = true;
  }
}
