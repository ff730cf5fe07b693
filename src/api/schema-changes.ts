import { ELLIPSIS, type AllowedSubjectIR, type SchemaIR } from '../../schema-dsl/index.js';
import { WILDCARD_ID, type Relationship } from '../model/relationship.js';
import type { LivePages, RelationshipFilter } from '../store/store.js';

/** How many stored relationships an orphan check counts before it says "at least". */
const COUNT_CAP = 10_000;

/**
 * What a new schema would orphan: live relationships whose type, relation or allowed subject
 * type (with its caveat and expiration) the new schema no longer has. Each problem says what and
 * how many relationships (counted up to 10,000).
 */
export async function orphanedBy(before: SchemaIR, after: SchemaIR, live: LivePages): Promise<string[]> {
  const problems: string[] = [];
  const count = async (filter: RelationshipFilter, keep: (r: Relationship) => boolean = () => true): Promise<number> => {
    let n = 0;
    let cursor: string | null = null;
    do {
      const page = await live(filter, { limit: 1000, cursor });
      n += page.relationships.filter(keep).length;
      cursor = page.cursor;
    } while (cursor && n < COUNT_CAP);
    return n;
  };
  const many = (n: number): string => (n >= COUNT_CAP ? `at least ${COUNT_CAP} relationships` : `${n} relationship${n === 1 ? '' : 's'}`);
  const newDefs = new Map(after.definitions.map((d) => [d.name, d]));
  for (const def of before.definitions) {
    const next = newDefs.get(def.name);
    for (const m of def.members) {
      if (m.kind !== 'relation') continue;
      const nextRel = next?.members.find((x) => x.name === m.name);
      if (!nextRel || nextRel.kind !== 'relation') {
        const n = await count({ resourceType: def.name, relation: m.name });
        if (n) problems.push(`${next ? 'relation' : 'definition'} \`${next ? `${def.name}#${m.name}` : def.name}\` is removed but ${many(n)} use it`);
        continue;
      }
      for (const a of m.allowed) {
        if (nextRel.allowed.some((b) => sameAllowed(a, b))) continue;
        const stillFits = (r: Relationship): boolean => nextRel.allowed.some((b) => fits(r, b));
        const n = await count(
          {
            resourceType: def.name,
            relation: m.name,
            subjectType: a.type,
            ...(a.wildcard ? { subjectIds: [WILDCARD_ID] } : {}),
            subjectRelation: a.relation,
          },
          (r) => fits(r, a) && !stillFits(r),
        );
        if (n) problems.push(`allowed subject type \`${shown(a)}\` of \`${def.name}#${m.name}\` is removed but ${many(n)} use it`);
      }
    }
  }
  return problems;
}

function sameAllowed(a: AllowedSubjectIR, b: AllowedSubjectIR): boolean {
  return a.type === b.type && a.relation === b.relation && a.wildcard === b.wildcard && a.caveat === b.caveat && a.expiration === b.expiration;
}

function fits(r: Relationship, a: AllowedSubjectIR): boolean {
  const wildcard = r.subject.id === WILDCARD_ID;
  return (
    r.subject.type === a.type &&
    wildcard === a.wildcard &&
    (wildcard || r.subject.relation === a.relation) &&
    (r.caveat?.name ?? null) === a.caveat &&
    (r.expiresAt !== null) === a.expiration
  );
}

function shown(a: AllowedSubjectIR): string {
  let s = a.wildcard ? `${a.type}:*` : a.relation === ELLIPSIS ? a.type : `${a.type}#${a.relation}`;
  if (a.caveat) s += ` with ${a.caveat}`;
  if (a.expiration) s += a.caveat ? ' and expiration' : ' with expiration';
  return s;
}
