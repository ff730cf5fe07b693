import t from 'tap';
import { v1 as authzed } from '@authzed/authzed-node';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { AUTHZED_PROTO_FILES, googleProtos, loadApi, PROTO_ROOT } from '../../src/server/proto.js';

// Our proto/authzed/api/v1 files against the messages @authzed/authzed-node was generated from:
// every service, method, message, field (name, number, type, label, oneof) and enum value the
// SpiceDB clients use. A changed field number, a renamed field or a missing enum value fails here.

const SERVICES = ['PermissionsService', 'SchemaService', 'WatchService', 'ExperimentalService'] as const;

/** FieldDescriptorProto.Type numbers, which protobuf-ts uses for its scalar types too. */
const TYPES: Record<string, number> = {
  TYPE_DOUBLE: 1, TYPE_FLOAT: 2, TYPE_INT64: 3, TYPE_UINT64: 4, TYPE_INT32: 5, TYPE_FIXED64: 6, TYPE_FIXED32: 7, TYPE_BOOL: 8,
  TYPE_STRING: 9, TYPE_MESSAGE: 11, TYPE_BYTES: 12, TYPE_UINT32: 13, TYPE_ENUM: 14, TYPE_SFIXED32: 15, TYPE_SFIXED64: 16, TYPE_SINT32: 17, TYPE_SINT64: 18,
};

// protobuf-ts reflection (the generated client's metadata).
interface TsField {
  no: number;
  name: string;
  kind: 'scalar' | 'message' | 'enum' | 'map';
  T?: number | (() => TsMessage) | (() => [string, Record<string, string | number>, string?]);
  K?: number;
  V?: { kind: 'scalar' | 'message' | 'enum'; T: number | (() => TsMessage) | (() => [string, Record<string, string | number>, string?]) };
  oneof?: string;
  repeat?: number;
  opt?: boolean;
}
interface TsMessage {
  typeName: string;
  fields: readonly TsField[];
}
interface TsService {
  typeName: string;
  methods: readonly { name: string; I: TsMessage; O: TsMessage; serverStreaming?: boolean; clientStreaming?: boolean }[];
}

// Our files, through protobufjs (what proto-loader builds the served definitions from).
const root = new protobuf.Root();
root.resolvePath = (_origin, target) => [PROTO_ROOT, googleProtos()].map((d) => join(d, target)).find((p) => existsSync(p)) ?? target;
root.loadSync(AUTHZED_PROTO_FILES, { keepCase: true });
root.resolveAll();
const { definition } = loadApi({ authzed: true });

/** One line per fact of a type: `Type.field = no label type`, `Enum.NAME = n`. Compared as sets. */
function theirFacts(m: TsMessage, out: Set<string>, seen: Set<string>): void {
  // The well-known types are protobuf's own (and protobufjs spells their fields in camelCase): named, not compared.
  if (seen.has(m.typeName) || m.typeName.startsWith('google.protobuf.')) return;
  seen.add(m.typeName);
  for (const f of m.fields) {
    // (protobuf-ts marks every singular message field optional: a message field always has presence.)
    const label = f.repeat || f.kind === 'map' ? 'repeated' : f.opt && f.kind !== 'message' ? 'optional' : 'single';
    out.add(`${m.typeName}.${f.name} = ${f.no} ${label} ${theirType(f.kind, f.K !== undefined ? mapEntryName(m, f) : f.T!, out, seen)}${f.oneof ? ` oneof ${f.oneof}` : ''}`);
    if (f.kind === 'map') {
      out.add(`${mapEntryName(m, f)}.key = 1 single ${f.K}`);
      out.add(`${mapEntryName(m, f)}.value = 2 single ${theirType(f.V!.kind, f.V!.T, out, seen)}`);
    }
  }
}

const mapEntryName = (m: TsMessage, f: TsField): string => `${m.typeName}.${f.name.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase())}Entry`;

function theirType(kind: string, T: TsField['T'] | string, out: Set<string>, seen: Set<string>): string {
  if (typeof T === 'string') return T; // a map entry's name
  if (kind === 'scalar') return String(T);
  if (kind === 'message') {
    const m = (T as () => TsMessage)();
    theirFacts(m, out, seen);
    return m.typeName;
  }
  const [name, values, prefix] = (T as () => [string, Record<string, string | number>, string?])();
  for (const [k, v] of Object.entries(values)) if (typeof v === 'number') out.add(`${name}.${prefix ?? ''}${k} = ${v}`);
  return name;
}

function ourFacts(typeName: string, out: Set<string>, seen: Set<string>): void {
  if (seen.has(typeName) || typeName.startsWith('google.protobuf.')) return;
  seen.add(typeName);
  const type = root.lookupType(typeName);
  const typeOf = (f: protobuf.Field): string => {
    const resolved = f.resolvedType;
    if (!resolved) return String(TYPES[`TYPE_${f.type.toUpperCase()}`]);
    const name = resolved.fullName.replace(/^\./, '');
    if (resolved instanceof protobuf.Type) ourFacts(name, out, seen);
    else for (const [k, v] of Object.entries(resolved.values)) out.add(`${name}.${k} = ${v}`);
    return name;
  };
  for (const f of type.fieldsArray) {
    // proto3 `optional` is a oneof of one, named after the field with a leading `_`.
    const optional = !!f.partOf && f.partOf.name === `_${f.name}`;
    // (protobuf-ts keeps a oneof's name in camelCase.)
    const oneof = f.partOf && !optional ? ` oneof ${f.partOf.name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())}` : '';
    if (f.map) {
      const entry = `${typeName}.${f.name.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase())}Entry`;
      out.add(`${typeName}.${f.name} = ${f.id} repeated ${entry}`);
      out.add(`${entry}.key = 1 single ${TYPES[`TYPE_${(f as protobuf.MapField).keyType.toUpperCase()}`]}`);
      out.add(`${entry}.value = 2 single ${typeOf(f)}`);
      continue;
    }
    out.add(`${typeName}.${f.name} = ${f.id} ${f.repeated ? 'repeated' : optional ? 'optional' : 'single'} ${typeOf(f)}${oneof}`);
  }
}

for (const name of SERVICES) {
  t.test(`authzed.api.v1.${name}`, async (t) => {
    const theirs = (authzed as unknown as Record<string, TsService>)[name]!;
    const ours = (definition as Record<string, unknown>)[`authzed.api.v1.${name}`] as Record<string, { path: string; requestStream: boolean; responseStream: boolean; requestType: { type: { name: string } }; responseType: { type: { name: string } } }>;
    t.same(Object.keys(ours).sort(), theirs.methods.map((m) => m.name).sort(), 'the same methods');
    for (const m of theirs.methods) {
      const o = ours[m.name];
      if (!o) continue;
      t.same([o.requestStream, o.responseStream], [!!m.clientStreaming, !!m.serverStreaming], `${m.name}: streaming`);
      t.equal(o.path, `/authzed.api.v1.${name}/${m.name}`, `${m.name}: path`);
      for (const [msg, side] of [
        [m.I, o.requestType],
        [m.O, o.responseType],
      ] as const) {
        t.equal(side.type.name, msg.typeName.split('.').pop(), `${m.name}: takes and returns the same messages`);
        const a = new Set<string>();
        const b = new Set<string>();
        theirFacts(msg, a, new Set());
        ourFacts(msg.typeName, b, new Set());
        const missing = [...a].filter((f) => !b.has(f));
        const extra = [...b].filter((f) => !a.has(f));
        t.same({ missing, extra }, { missing: [], extra: [] }, `${m.name}: ${msg.typeName}, field by field (${a.size} facts)`);
      }
    }
  });
}

t.test('a changed field number is caught', async (t) => {
  const a = new Set<string>();
  const b = new Set<string>();
  theirFacts((authzed as unknown as Record<string, TsMessage>)['CheckPermissionRequest']!, a, new Set());
  ourFacts('authzed.api.v1.CheckPermissionRequest', b, new Set());
  t.same(a, b);
  const changed = new Set([...b].map((f) => f.replace(/^(authzed\.api\.v1\.CheckPermissionRequest\.permission) = 3 /, '$1 = 7 ')));
  t.notSame(a, changed, 'permission = 7 instead of 3 differs');
});
