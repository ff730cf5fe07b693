import type { RelationshipFilter, Revision } from '../store.js';

/** One statement for the driver: a name makes it a prepared statement, parsed and planned once per connection. */
export interface NamedStatement {
  readonly name: string;
  readonly text: string;
  readonly values: unknown[];
}

/** Runs a named statement and returns its rows. */
export type RawQuery = (statement: NamedStatement) => Promise<Record<string, unknown>[]>;

/** The columns a snapshot read returns (those a relationship is made of). */
const COLUMNS = 'resource_type, resource_id, relation, subject_type, subject_id, subject_relation, caveat_name, caveat_context, expires_at';

/** Statement texts by filter shape: a schema has few shapes, so this stays small. */
const texts = new Map<string, { name: string; text: string }>();

/**
 * The snapshot read of a filter at a revision as a prepared statement. Lists travel as array
 * parameters (`= any($n)`), so a shape (which fields the filter has, not their values) is one
 * statement text, parsed and planned once per connection instead of once per read.
 */
export function snapshotStatement(tenant: string, f: RelationshipFilter, revision: Revision, now: Date | null): NamedStatement {
  const values: unknown[] = [];
  const { where, shape } = snapshotWhere(tenant, f, revision, now, values);
  let t = texts.get(shape);
  if (!t) texts.set(shape, (t = { name: `warden_snapshot_${texts.size + 1}`, text: `select ${COLUMNS} from warden_relationships where ${where}` }));
  return { name: t.name, text: t.text, values };
}

/** The column that says which filter of a `snapshotStatements` read a row answers. */
export const FILTER_COLUMN = 'warden_filter';

/**
 * Several snapshot reads as one prepared statement (`union all`, each row tagged with its
 * filter's index in FILTER_COLUMN): one round trip for what would be as many.
 */
export function snapshotStatements(tenant: string, filters: readonly RelationshipFilter[], revision: Revision, now: Date | null): NamedStatement {
  const values: unknown[] = [];
  const parts = filters.map((f) => snapshotWhere(tenant, f, revision, now, values));
  const shape = `*${parts.map((p) => p.shape).join('+')}`;
  let t = texts.get(shape);
  if (!t) {
    const text = parts.map((p, i) => `select ${i} as ${FILTER_COLUMN}, ${COLUMNS} from warden_relationships where ${p.where}`).join(' union all ');
    texts.set(shape, (t = { name: `warden_snapshot_${texts.size + 1}`, text }));
  }
  return { name: t.name, text: t.text, values };
}

/** The where clause of one snapshot read, its parameters appended to `values`, and its shape (which fields it has). */
function snapshotWhere(tenant: string, f: RelationshipFilter, revision: Revision, now: Date | null, values: unknown[]): { where: string; shape: string } {
  const first = values.length;
  values.push(tenant, f.resourceType, revision);
  const where: string[] = [`tenant = $${first + 1}`, `resource_type = $${first + 2}`, `created_rev <= $${first + 3}`, `(deleted_rev is null or deleted_rev > $${first + 3})`];
  let shape = '';
  const param = (v: unknown): string => {
    values.push(v);
    return `$${values.length}`;
  };
  if (now) {
    where.push(`(expires_at is null or expires_at > ${param(now)}::timestamptz)`);
    shape += 'c';
  } else where.push('(expires_at is null or expires_at > now())');
  /** A condition on a field the filter may leave out: present, it adds a parameter and a letter to the shape. */
  const narrow = (into: string[], letter: string, value: unknown, clause: (p: string) => string): void => {
    if (value === undefined) return;
    into.push(clause(param(value)));
    shape += letter;
  };
  narrow(where, 'i', f.resourceIds, (p) => `resource_id = any(${p}::text[])`);
  narrow(where, 'p', f.resourceIdPrefix, (p) => `starts_with(resource_id, ${p})`);
  narrow(where, 'r', f.relation, (p) => `relation = ${p}`);
  const subject = (m: { type?: string | undefined; ids?: readonly string[] | undefined; relation?: string | undefined }): string[] => {
    const parts: string[] = [];
    narrow(parts, 't', m.type, (p) => `subject_type = ${p}`);
    narrow(parts, 's', m.ids, (p) => `subject_id = any(${p}::text[])`);
    narrow(parts, 'l', m.relation, (p) => `subject_relation = ${p}`);
    return parts;
  };
  where.push(...subject({ type: f.subjectType, ids: f.subjectIds, relation: f.subjectRelation }));
  if (f.subjectsAnyOf) {
    const alternatives = f.subjectsAnyOf.map((m) => {
      shape += '|';
      return `(${subject(m).join(' and ')})`;
    });
    where.push(`(${alternatives.join(' or ')})`);
  }
  return { where: where.join(' and '), shape };
}
