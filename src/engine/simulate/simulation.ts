import { WardenError } from '../../errors/error-code.js';
import { WILDCARD_ID, relationshipKey, type ObjectRef, type Relationship, type SubjectRef } from '../../model/relationship.js';
import type { SnapshotReader } from '../../store/store.js';
import type { Decision } from '../condition.js';
import { ContextualReader } from '../contextual-reader.js';
import type { DecidedSubjects, Engine, Snapshot } from '../engine.js';
import { affectedMembers, subjectTypes, type Member } from './affected.js';

/** How an answer changed: now granted, now denied, or now granted only under caveats. */
export type FlipKind = 'gained' | 'lost' | 'conditional';

/** One (resource, permission, subject) whose answer differs between the two sides. */
export interface Flip {
  readonly resource: ObjectRef;
  readonly permission: string;
  /** A plain subject, or `type:*` for the wildcard (every subject of the type). */
  readonly subject: SubjectRef;
  readonly kind: FlipKind;
  readonly before: Decision['kind'];
  readonly after: Decision['kind'];
}

/** How many answers flipped one way, on how many resources, for how many subjects. */
export interface FlipCount {
  answers: number;
  resources: number;
  subjects: number;
}

/** The flips of one member (relation or permission) of one type. */
export interface MemberReport {
  readonly type: string;
  readonly permission: string;
  /** Resources of the type evaluated on both sides. */
  readonly resources: number;
  readonly gained: FlipCount;
  readonly lost: FlipCount;
  readonly conditional: FlipCount;
}

/** What a proposed change would do to the answers. */
export interface SimulationReport {
  /** Every member whose answers were evaluated (those the change can reach), with its flips. */
  readonly members: readonly MemberReport[];
  /** Flipped answers, in order of type, permission, resource and subject: all of them, or the first `sample`. */
  readonly flips: readonly Flip[];
  /** All flipped answers (`flips` holds at most the sample). */
  readonly totalFlips: number;
  readonly sample: number;
}

/** The most resources one simulation evaluates (summed over members); past it, RESOURCE_EXHAUSTED. */
export const MAX_SIMULATED_RESOURCES = 2_000_000;
/** Resources evaluated in one request a side: what they share is computed once. */
const CHUNK = 1024;
/** Chunks evaluated at once (so reads from a database overlap). */
const CONCURRENCY = 4;

/** A proposed set of relationship changes, as Write takes them. */
export interface ProposedChanges {
  readonly touch: readonly Relationship[];
  readonly remove: readonly Relationship[];
}

/** The reader of the proposed side: the stored relationships with the proposed changes applied. */
export function changedReader(reader: SnapshotReader, changes: ProposedChanges): SnapshotReader {
  if (!changes.touch.length && !changes.remove.length) return reader;
  return new ContextualReader(reader, changes.touch, Date.now, new Set(changes.remove.map(relationshipKey)));
}

/** The `type#relation` each change writes to. */
export function changedRelations(changes: ProposedChanges): string[] {
  return [...new Set([...changes.touch, ...changes.remove].map((r) => `${r.resource.type}#${r.relation}`))];
}

/**
 * Evaluates the members a change can reach on both sides (the current schema and relationships,
 * and the proposed ones) and reports every answer that differs. For each such member and each
 * resource of its type that either side stores, the subjects come from LookupSubjects on both
 * sides, so the sets compared are exact: every plain subject (and the wildcard) either side
 * grants, with its decision (caveats undecided: no context). Members the change cannot reach are
 * not evaluated. The proposed side must carry no cache key of its own (it is not a stored snapshot).
 */
export async function simulate(
  engine: Engine,
  before: Snapshot,
  after: Snapshot,
  options: { changed?: readonly string[]; type?: string; permission?: string; sample?: number; signal?: AbortSignal },
): Promise<SimulationReport> {
  const sample = options.sample ?? 100;
  const members = affectedMembers(before.schema, after.schema, options.changed ?? []).filter(
    (m) => (options.type === undefined || m.type === options.type) && (options.permission === undefined || m.name === options.permission),
  );
  const flips: Flip[] = [];
  let total = 0;
  let budget = MAX_SIMULATED_RESOURCES;
  const reports: MemberReport[] = [];
  for (const m of members) {
    const ids = await resourceIds(m.type, [before, after]);
    budget -= ids.length;
    if (budget < 0) {
      throw new WardenError('RESOURCE_EXHAUSTED', `the simulation would evaluate more than ${MAX_SIMULATED_RESOURCES} resources; narrow it to a type or permission`, { field: 'resource_type' });
    }
    const types = [...new Set([...subjectTypes(before.schema, m.type, m.name), ...subjectTypes(after.schema, m.type, m.name)])].sort();
    const counts = { gained: new Tally(), lost: new Tally(), conditional: new Tally() };
    // Resources go in chunks, each chunk one request a side (what its resources share is computed
    // once); a few chunks at once, counted in order, so the sample is the first flips in order and
    // memory holds a few chunks' flips, not all of them.
    const chunks: string[][] = [];
    for (let i = 0; i < ids.length; i += CHUNK) chunks.push(ids.slice(i, i + CHUNK));
    for (let c = 0; c < chunks.length; c += CONCURRENCY) {
      options.signal?.throwIfAborted();
      const done = await Promise.all(chunks.slice(c, c + CONCURRENCY).map((chunk) => chunkFlips(engine, before, after, m, chunk, types, options.signal)));
      for (const list of done) {
        for (const f of list) {
          counts[f.kind].add(f.resource.id, `${f.subject.type}:${f.subject.id}`);
          total++;
          if (flips.length < sample) flips.push(f);
        }
      }
    }
    reports.push({ type: m.type, permission: m.name, resources: ids.length, gained: counts.gained.count(), lost: counts.lost.count(), conditional: counts.conditional.count() });
  }
  return { members: reports, flips, totalFlips: total, sample };
}

/** Distinct answers, resources and subjects of one kind of flip. */
class Tally {
  #answers = 0;
  readonly #resources = new Set<string>();
  readonly #subjects = new Set<string>();

  add(resource: string, subject: string): void {
    this.#answers++;
    this.#resources.add(resource);
    this.#subjects.add(subject);
  }

  count(): FlipCount {
    return { answers: this.#answers, resources: this.#resources.size, subjects: this.#subjects.size };
  }
}

/** Every id of `type` that some relationship names as its resource, on any of the sides, sorted. */
async function resourceIds(type: string, sides: readonly Snapshot[]): Promise<string[]> {
  const ids = new Set<string>();
  for (const s of sides) {
    if (!s.schema.definition(type)) continue;
    for (const r of await s.reader.query({ resourceType: type })) ids.add(r.resource.id);
  }
  return [...ids].sort();
}

/** The flips of one chunk of resources, in order of resource, subject type and subject. */
async function chunkFlips(engine: Engine, before: Snapshot, after: Snapshot, m: Member, ids: readonly string[], types: readonly string[], signal: AbortSignal | undefined): Promise<Flip[]> {
  const byType = await Promise.all(types.map(async (subjectType) => Promise.all([answers(engine, before, m, ids, subjectType, signal), answers(engine, after, m, ids, subjectType, signal)])));
  const out: Flip[] = [];
  ids.forEach((id, i) => {
    types.forEach((subjectType, t) => {
      const [b, a] = byType[t]!.map((side) => side[i]!) as [DecidedSubjects, DecidedSubjects];
      const flipped: string[] = effective(b, WILDCARD_ID) !== effective(a, WILDCARD_ID) ? [WILDCARD_ID] : [];
      for (const subjectId of b.members.keys()) if (effective(b, subjectId) !== effective(a, subjectId)) flipped.push(subjectId);
      for (const subjectId of a.members.keys()) if (!b.members.has(subjectId) && effective(b, subjectId) !== effective(a, subjectId)) flipped.push(subjectId);
      for (const subjectId of flipped.sort()) {
        const was = effective(b, subjectId);
        const now = effective(a, subjectId);
        const kind: FlipKind = now === 'has' ? 'gained' : now === 'no' ? 'lost' : 'conditional';
        out.push({ resource: { type: m.type, id }, permission: m.name, subject: { type: subjectType, id: subjectId, relation: '...' }, kind, before: was, after: now });
      }
    });
  });
  return out;
}

/** One side's answers for a member of each resource and plain subjects of one type (empty where the side lacks either). */
async function answers(engine: Engine, side: Snapshot, m: Member, ids: readonly string[], subjectType: string, signal: AbortSignal | undefined): Promise<readonly DecidedSubjects[]> {
  if (!side.schema.member(m.type, m.name) || !side.schema.definition(subjectType)) return ids.map(() => NONE);
  return engine.lookupSubjectsMany(side, { resourceType: m.type, resourceIds: ids, permission: m.name, subjectType, ...(signal ? { signal } : {}) });
}

const NONE: DecidedSubjects = { members: new Map(), wildcard: { kind: 'no' } };

/** A subject's answer on one side (`*`: the wildcard's, for every subject not named). */
function effective(side: DecidedSubjects, subjectId: string): Decision['kind'] {
  return subjectId === WILDCARD_ID ? side.wildcard.kind : (side.members.get(subjectId) ?? side.wildcard).kind;
}
