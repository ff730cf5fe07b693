import { DEFINITION_NAME, OBJECT_ID, RELATION_NAME } from '../../schema-dsl/names.js';
import type { Consistency } from '../consistency/consistency.js';
import type { Decision } from '../engine/condition.js';
import { invalidArgument } from '../errors/error-code.js';
import { ELLIPSIS, WILDCARD_ID, type ObjectRef, type Relationship, type SubjectRef } from '../model/relationship.js';
import type { RelationshipFilter, RelationshipUpdate } from '../store/store.js';

// Message shapes as @grpc/proto-loader gives them (keepCase, defaults, oneofs, enums as names).

/** google.protobuf.Value. */
export interface PbValue {
  kind?: string;
  nullValue?: unknown;
  numberValue?: number;
  stringValue?: string;
  boolValue?: boolean;
  structValue?: PbStruct | null;
  listValue?: { values: PbValue[] } | null;
}
/** google.protobuf.Struct. */
export interface PbStruct {
  fields: Record<string, PbValue>;
}
export interface PbObject {
  object_type: string;
  object_id: string;
}
export interface PbSubject {
  object: PbObject | null;
  optional_relation: string;
}
export interface PbTimestamp {
  seconds: string;
  nanos: number;
}
export interface PbRelationship {
  resource: PbObject | null;
  relation: string;
  subject: PbSubject | null;
  optional_caveat: { caveat_name: string; context: PbStruct | null } | null;
  optional_expires_at: PbTimestamp | null;
}
export interface PbConsistency {
  requirement?: 'minimize_latency' | 'at_least_as_fresh' | 'at_exact_snapshot' | 'fully_consistent';
  at_least_as_fresh?: { token: string } | null;
  at_exact_snapshot?: { token: string } | null;
}
export interface PbFilter {
  resource_type: string;
  optional_resource_id: string;
  optional_resource_id_prefix?: string;
  optional_relation: string;
  optional_subject_filter: { subject_type: string; optional_subject_id: string; optional_relation: string } | null;
}

/** The most relationships a request may carry inline (contextual ones). */
export const MAX_INLINE_RELATIONSHIPS = 100;

/** An object reference, checked: a valid type and id. */
export function toObject(v: PbObject | null | undefined, field: string): ObjectRef {
  if (!v) throw invalidArgument(field, 'is required');
  if (!DEFINITION_NAME.test(v.object_type)) throw invalidArgument(`${field}.object_type`, `\`${v.object_type}\` is not a valid type name`);
  if (!OBJECT_ID.test(v.object_id)) throw invalidArgument(`${field}.object_id`, `\`${v.object_id.slice(0, 100)}\` is not a valid object id`);
  return { type: v.object_type, id: v.object_id };
}

/** A subject reference, checked; the wildcard id `*` only where `allowWildcard`. */
export function toSubject(v: PbSubject | null | undefined, field: string, allowWildcard = false): SubjectRef {
  if (!v) throw invalidArgument(field, 'is required');
  const o = v.object;
  if (!o) throw invalidArgument(`${field}.object`, 'is required');
  const relation = v.optional_relation || ELLIPSIS;
  if (relation !== ELLIPSIS && !RELATION_NAME.test(relation)) throw invalidArgument(`${field}.optional_relation`, `\`${relation}\` is not a valid relation name`);
  if (allowWildcard && o.object_id === WILDCARD_ID) {
    if (!DEFINITION_NAME.test(o.object_type)) throw invalidArgument(`${field}.object.object_type`, `\`${o.object_type}\` is not a valid type name`);
    if (relation !== ELLIPSIS) throw invalidArgument(`${field}.optional_relation`, 'a wildcard subject cannot have a relation');
    return { type: o.object_type, id: WILDCARD_ID, relation };
  }
  const obj = toObject(o, `${field}.object`);
  return { type: obj.type, id: obj.id, relation };
}

/** A type name, checked. */
export function toTypeName(v: string, field: string): string {
  if (!DEFINITION_NAME.test(v)) throw invalidArgument(field, v ? `\`${v}\` is not a valid type name` : 'is required');
  return v;
}

/** A permission or relation name, checked. */
export function toName(v: string, field: string): string {
  if (!RELATION_NAME.test(v)) throw invalidArgument(field, v ? `\`${v}\` is not a valid relation or permission name` : 'is required');
  return v;
}

/** A relationship, checked for form (the schema checks meaning later). */
export function toRelationship(v: PbRelationship | null | undefined, field: string): Relationship {
  if (!v) throw invalidArgument(field, 'is required');
  const caveat = v.optional_caveat && v.optional_caveat.caveat_name ? v.optional_caveat : null;
  if (caveat && !DEFINITION_NAME.test(caveat.caveat_name)) {
    throw invalidArgument(`${field}.optional_caveat.caveat_name`, `\`${caveat.caveat_name}\` is not a valid caveat name`);
  }
  return {
    resource: toObject(v.resource, `${field}.resource`),
    relation: toName(v.relation, `${field}.relation`),
    subject: toSubject(v.subject, `${field}.subject`, true),
    caveat: caveat ? { name: caveat.caveat_name, context: caveat.context ? storedStruct(caveat.context, `${field}.optional_caveat.context`) : null } : null,
    expiresAt: v.optional_expires_at ? toDate(v.optional_expires_at, `${field}.optional_expires_at`) : null,
  };
}

const OPERATIONS = { OPERATION_CREATE: 'create', OPERATION_TOUCH: 'touch', OPERATION_DELETE: 'delete' } as const;

/** Relationship updates (Write's, SimulateSchema's changes), each checked for form; `field` names the list. */
export function toUpdates(list: readonly { operation: string; relationship: PbRelationship | null }[], field: string): RelationshipUpdate[] {
  return list.map((u, i) => {
    const operation = OPERATIONS[u.operation as keyof typeof OPERATIONS];
    if (!operation) throw invalidArgument(`${field}[${i}].operation`, 'must be CREATE, TOUCH or DELETE');
    return { operation, relationship: toRelationship(u.relationship, `${field}[${i}].relationship`) };
  });
}

/** Contextual relationships, checked for number and form. */
export function toRelationships(list: readonly PbRelationship[] | undefined, field: string): Relationship[] {
  const items = list ?? [];
  if (items.length > MAX_INLINE_RELATIONSHIPS) throw invalidArgument(field, `${items.length} given, at most ${MAX_INLINE_RELATIONSHIPS} allowed`);
  return items.map((r, i) => toRelationship(r, `${field}[${i}]`));
}

function toDate(t: PbTimestamp, field: string): Date {
  const ms = Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6);
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15) throw invalidArgument(field, 'is not a valid timestamp');
  return new Date(ms);
}

/** A timestamp message for a date. */
export function fromDate(d: Date): PbTimestamp {
  const ms = d.getTime();
  return { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

/** A consistency requirement; unset is minimize_latency. */
export function toConsistency(v: PbConsistency | null | undefined): Consistency {
  switch (v?.requirement) {
    case undefined:
    case 'minimize_latency':
      return { mode: 'minimize_latency' };
    case 'fully_consistent':
      return { mode: 'fully_consistent' };
    case 'at_least_as_fresh':
      return { mode: 'at_least_as_fresh', zookie: v.at_least_as_fresh?.token ?? '' };
    case 'at_exact_snapshot':
      return { mode: 'at_exact_snapshot', zookie: v.at_exact_snapshot?.token ?? '' };
    default:
      throw invalidArgument('consistency', 'unknown requirement');
  }
}

/** A relationship filter, checked. */
export function toFilter(v: PbFilter | null | undefined, field: string): RelationshipFilter {
  if (!v) throw invalidArgument(field, 'is required');
  if (!DEFINITION_NAME.test(v.resource_type)) throw invalidArgument(`${field}.resource_type`, v.resource_type ? `\`${v.resource_type}\` is not a valid type name` : 'is required');
  const f: { -readonly [K in keyof RelationshipFilter]: RelationshipFilter[K] } = { resourceType: v.resource_type };
  if (v.optional_resource_id) {
    if (!OBJECT_ID.test(v.optional_resource_id)) throw invalidArgument(`${field}.optional_resource_id`, 'is not a valid object id');
    f.resourceIds = [v.optional_resource_id];
  }
  if (v.optional_resource_id_prefix) {
    if (v.optional_resource_id) throw invalidArgument(`${field}.optional_resource_id_prefix`, 'cannot be given with optional_resource_id');
    if (!OBJECT_ID.test(v.optional_resource_id_prefix)) throw invalidArgument(`${field}.optional_resource_id_prefix`, 'is not the start of a valid object id');
    f.resourceIdPrefix = v.optional_resource_id_prefix;
  }
  if (v.optional_relation) f.relation = toName(v.optional_relation, `${field}.optional_relation`);
  const s = v.optional_subject_filter;
  if (s) {
    const sf = `${field}.optional_subject_filter`;
    if (!DEFINITION_NAME.test(s.subject_type)) throw invalidArgument(`${sf}.subject_type`, s.subject_type ? `\`${s.subject_type}\` is not a valid type name` : 'is required');
    f.subjectType = s.subject_type;
    if (s.optional_subject_id) {
      if (s.optional_subject_id !== WILDCARD_ID && !OBJECT_ID.test(s.optional_subject_id)) throw invalidArgument(`${sf}.optional_subject_id`, 'is not a valid object id');
      f.subjectIds = [s.optional_subject_id];
    }
    if (s.optional_relation) f.subjectRelation = s.optional_relation === ELLIPSIS ? ELLIPSIS : toName(s.optional_relation, `${sf}.optional_relation`);
  }
  return f;
}

/**
 * Struct JSON that a datastore will store (metadata, a written relationship's caveat context):
 * no NUL character and no unpaired surrogate in any key or string, which PostgreSQL's jsonb
 * cannot hold. INVALID_ARGUMENT names the path of the first offender.
 */
export function storableJson(v: unknown, field: string): void {
  const bad = /\u0000|\p{Cs}/u;
  if (typeof v === 'string') {
    if (bad.test(v)) throw invalidArgument(field, 'contains a NUL character or an unpaired surrogate, which cannot be stored');
  } else if (Array.isArray(v)) {
    v.forEach((x, i) => storableJson(x, `${field}[${i}]`));
  } else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      if (bad.test(k)) throw invalidArgument(`${field}.${k}`, 'is a key with a NUL character or an unpaired surrogate, which cannot be stored');
      storableJson(x, `${field}.${k}`);
    }
  }
}

/** A Struct that will be stored, as JSON, checked with `storableJson`. */
export function storedStruct(s: PbStruct, field: string): Record<string, unknown> {
  const json = structToJson(s);
  storableJson(json, field);
  return json;
}

/** google.protobuf.Struct to plain JSON. */
export function structToJson(s: PbStruct): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(s.fields ?? {})) out[k] = valueToJson(v);
  return out;
}

function valueToJson(v: PbValue): unknown {
  switch (v.kind) {
    case 'numberValue':
      return v.numberValue;
    case 'stringValue':
      return v.stringValue;
    case 'boolValue':
      return v.boolValue;
    case 'structValue':
      return v.structValue ? structToJson(v.structValue) : {};
    case 'listValue':
      return (v.listValue?.values ?? []).map(valueToJson);
    default:
      return null;
  }
}

/** Plain JSON to google.protobuf.Struct. */
export function jsonToStruct(o: Readonly<Record<string, unknown>>): PbStruct {
  const fields: Record<string, PbValue> = {};
  for (const [k, v] of Object.entries(o)) fields[k] = jsonToValue(v);
  return { fields };
}

function jsonToValue(v: unknown): PbValue {
  if (v === null || v === undefined) return { nullValue: 'NULL_VALUE' };
  if (typeof v === 'number') return { numberValue: v };
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (Array.isArray(v)) return { listValue: { values: v.map(jsonToValue) } };
  return { structValue: jsonToStruct(v as Record<string, unknown>) };
}

/** A relationship as a message. */
export function fromRelationship(r: Relationship): PbRelationship {
  return {
    resource: { object_type: r.resource.type, object_id: r.resource.id },
    relation: r.relation,
    subject: fromSubject(r.subject),
    optional_caveat: r.caveat ? { caveat_name: r.caveat.name, context: r.caveat.context ? jsonToStruct(r.caveat.context) : null } : null,
    optional_expires_at: r.expiresAt ? fromDate(r.expiresAt) : null,
  };
}

/** A subject as a message. */
export function fromSubject(s: SubjectRef): PbSubject {
  return { object: { object_type: s.type, object_id: s.id }, optional_relation: s.relation === ELLIPSIS ? '' : s.relation };
}

/** A decision as Permissionship and missing parameters. */
export function fromDecision(d: Decision): { permissionship: string; missing_context_params: readonly string[] } {
  switch (d.kind) {
    case 'has':
      return { permissionship: 'PERMISSIONSHIP_HAS_PERMISSION', missing_context_params: [] };
    case 'no':
      return { permissionship: 'PERMISSIONSHIP_NO_PERMISSION', missing_context_params: [] };
    case 'conditional':
      return { permissionship: 'PERMISSIONSHIP_CONDITIONAL_PERMISSION', missing_context_params: d.missing };
  }
}
