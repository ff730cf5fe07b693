import { Client, Metadata, status, type ChannelCredentials, type ServiceError } from '@grpc/grpc-js';
import type { MethodDefinition, PackageDefinition, ServiceDefinition } from '@grpc/proto-loader';
import { jsonToStruct, structToJson } from '../api/convert.js';

/** The API methods the console may call through the gateway, by service: no admin services, no client streams. */
export const GATEWAY_METHODS: Readonly<Record<string, readonly string[]>> = {
  PermissionService: ['Check', 'BatchCheck', 'Expand', 'ListObjects', 'ListSubjects', 'ListPermissions'],
  RelationshipService: ['Write', 'Delete', 'Read'],
  SchemaService: ['ReadSchema', 'WriteSchema', 'ValidateSchema', 'SimulateSchema'],
  WatchService: ['Watch'],
};

/** How a gRPC status reads over HTTP (as grpc-gateway maps them). */
const HTTP_STATUS: Readonly<Record<number, number>> = {
  [status.OK]: 200,
  [status.CANCELLED]: 499,
  [status.INVALID_ARGUMENT]: 400,
  [status.DEADLINE_EXCEEDED]: 504,
  [status.NOT_FOUND]: 404,
  [status.ALREADY_EXISTS]: 409,
  [status.PERMISSION_DENIED]: 403,
  [status.RESOURCE_EXHAUSTED]: 429,
  [status.FAILED_PRECONDITION]: 400,
  [status.ABORTED]: 409,
  [status.OUT_OF_RANGE]: 400,
  [status.UNIMPLEMENTED]: 501,
  [status.UNAVAILABLE]: 503,
  [status.UNAUTHENTICATED]: 401,
};

/** An error as the gateway answers it: the gRPC status, its name, the message and the field it names. */
export interface GatewayError {
  readonly code: number;
  readonly status: string;
  readonly message: string;
  readonly field?: string;
  /** The HTTP status it is sent with. */
  readonly http: number;
}

/** A gateway error from a failed call (or anything thrown on the way). */
export function gatewayError(e: unknown): GatewayError {
  const se = e as Partial<ServiceError>;
  if (typeof se.code === 'number' && se.code in status) {
    const field = se.metadata?.get('warden-field')[0];
    return {
      code: se.code,
      status: status[se.code] as string,
      message: se.details || se.message || 'failed',
      ...(typeof field === 'string' ? { field } : {}),
      http: HTTP_STATUS[se.code] ?? 500,
    };
  }
  return { code: status.INTERNAL, status: 'INTERNAL', message: 'the gateway failed to make the call', http: 500 };
}

/** A gateway error of the gateway's own (bad path, bad body), before any call is made. */
export function requestError(code: status, message: string, field?: string): GatewayError {
  return { code, status: status[code] as string, message, ...(field ? { field } : {}), http: HTTP_STATUS[code] ?? 400 };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** A field of a message as proto-loader describes it (a DescriptorProto's field). */
interface FieldInfo {
  readonly name: string;
  readonly label: string;
  readonly type: string;
  readonly typeName: string;
}
interface MessageInfo {
  readonly field: readonly FieldInfo[];
  readonly oneofDecl: readonly { readonly name: string }[];
}

const INTEGER = new Set(['TYPE_INT32', 'TYPE_UINT32', 'TYPE_INT64', 'TYPE_UINT64', 'TYPE_SINT32', 'TYPE_SINT64', 'TYPE_FIXED32', 'TYPE_FIXED64', 'TYPE_SFIXED32', 'TYPE_SFIXED64']);
const describe = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'a list' : typeof v === 'object' ? 'an object' : `${typeof v} ${JSON.stringify(v)}`.slice(0, 60));

/**
 * Request JSON checked against the message it must be and turned into what proto-loader takes:
 * an unknown field, or a value of the wrong kind, is INVALID_ARGUMENT naming its path
 * (`updates[0].relationship.resource`); google.protobuf.Struct fields (`context`, `metadata`) take a
 * plain JSON object, Timestamps an RFC 3339 string.
 */
export function requestMessage(definition: PackageDefinition, typeName: string, v: Json, path = ''): unknown {
  const info = (definition[typeName] as { type?: MessageInfo } | undefined)?.type;
  const here = path || 'body';
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw requestError(status.INVALID_ARGUMENT, `${here}: expected an object (a ${typeName.split('.').pop()} message), got ${describe(v)}`, here);
  if (!info) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    const at = path ? `${path}.${k}` : k;
    const f = info.field.find((g) => g.name === k);
    if (!f) {
      // The virtual field naming a oneof's member (proto-loader's `oneofs`) may come back as sent.
      if (info.oneofDecl.some((o) => o.name === k) && typeof x === 'string') continue;
      throw requestError(status.INVALID_ARGUMENT, `${at}: ${typeName.split('.').pop()} has no field \`${k}\``, at);
    }
    if (f.label === 'LABEL_REPEATED') {
      if (x === null) continue;
      if (!Array.isArray(x)) throw requestError(status.INVALID_ARGUMENT, `${at}: expected a list, got ${describe(x)}`, at);
      out[k] = x.map((e, i) => fieldValue(definition, typeName, f, e, `${at}[${i}]`));
    } else out[k] = fieldValue(definition, typeName, f, x, at);
  }
  return out;
}

function fieldValue(definition: PackageDefinition, parent: string, f: FieldInfo, x: Json, at: string): unknown {
  if (x === null) return null;
  const bad = (what: string): never => {
    throw requestError(status.INVALID_ARGUMENT, `${at}: expected ${what}, got ${describe(x)}`, at);
  };
  switch (f.type) {
    case 'TYPE_MESSAGE': {
      const name = resolveType(definition, parent, f.typeName);
      if (name === 'google.protobuf.Struct') return typeof x === 'object' && !Array.isArray(x) ? jsonToStruct(x) : bad('a JSON object');
      if (name === 'google.protobuf.Timestamp') {
        const ms = typeof x === 'string' ? Date.parse(x) : NaN;
        return Number.isFinite(ms) ? { seconds: String(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 } : bad('an RFC 3339 time');
      }
      return requestMessage(definition, name, x, at);
    }
    case 'TYPE_STRING':
      return typeof x === 'string' ? x : bad('a string');
    case 'TYPE_BOOL':
      return typeof x === 'boolean' ? x : bad('true or false');
    case 'TYPE_ENUM':
      return typeof x === 'string' || (typeof x === 'number' && Number.isInteger(x)) ? x : bad('an enum name');
    case 'TYPE_BYTES':
      return typeof x === 'string' ? Buffer.from(x, 'base64') : bad('base64 text');
    default:
      if (INTEGER.has(f.type)) return (typeof x === 'number' && Number.isInteger(x)) || (typeof x === 'string' && /^-?\d+$/.test(x)) ? x : bad('a whole number');
      return typeof x === 'number' ? x : bad('a number');
  }
}

/** A field's message type by its full name (descriptors name them relative to the package). */
function resolveType(definition: PackageDefinition, parent: string, typeName: string): string {
  const name = typeName.replace(/^\./, '');
  if (definition[name]) return name;
  const pkg = parent.slice(0, parent.lastIndexOf('.'));
  return definition[`${pkg}.${name}`] ? `${pkg}.${name}` : name;
}

const isStruct = (v: object): v is { fields: Record<string, never> } =>
  Object.keys(v).length === 1 && 'fields' in v && typeof (v as { fields: unknown }).fields === 'object' && (v as { fields: unknown }).fields !== null;

/** A response message as JSON: Structs as plain objects, Timestamps as RFC 3339 strings, bytes as base64. */
export function responseJson(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (Buffer.isBuffer(v)) return v.toString('base64');
  if (Array.isArray(v)) return v.map(responseJson);
  if (typeof v !== 'object') return v;
  if (isStruct(v)) return structToJson(v as Parameters<typeof structToJson>[0]);
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o);
  if (keys.length === 2 && 'seconds' in o && 'nanos' in o) {
    const ms = Number(o['seconds']) * 1000 + Math.floor(Number(o['nanos']) / 1e6);
    return Number.isFinite(ms) ? new Date(ms).toISOString() : null;
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = responseJson(o[k]);
  return out;
}

/**
 * The console's HTTP/JSON gateway to the gRPC API: it calls the server it runs beside over
 * loopback with the caller's own key (the browser's `Authorization` header, passed on as is), so
 * every rule of the API (auth, scopes, limits, admission) applies to the console unchanged.
 */
export class GrpcGateway {
  readonly #client: Client;
  readonly #methods = new Map<string, MethodDefinition<object, object>>();
  readonly #definition: PackageDefinition;

  constructor(address: string, credentials: ChannelCredentials, definition: PackageDefinition) {
    this.#client = new Client(address, credentials);
    this.#definition = definition;
    for (const [service, methods] of Object.entries(GATEWAY_METHODS)) {
      const def = definition[`warden.v1.${service}`] as ServiceDefinition;
      for (const m of methods) this.#methods.set(`${service}/${m}`, def[m] as MethodDefinition<object, object>);
    }
  }

  /** The method at `Service/Method`, or null when the gateway does not offer it. */
  method(name: string): { readonly streaming: boolean } | null {
    const m = this.#methods.get(name);
    return m ? { streaming: m.responseStream } : null;
  }

  /** The request as the method's message, checked (throws a GatewayError naming the field). */
  #request(m: MethodDefinition<object, object>, body: Json): object {
    return requestMessage(this.#definition, `warden.v1.${(m.requestType.type as { name: string }).name}`, body) as object;
  }

  #metadata(authorization: string | undefined): Metadata {
    const md = new Metadata();
    if (authorization) md.set('authorization', authorization);
    return md;
  }

  /** A unary call: the response message as JSON (a GatewayError, naming the field, for a request that is not the method's message). */
  unary(name: string, body: Json, authorization: string | undefined, deadlineMs: number): Promise<unknown> {
    const m = this.#methods.get(name)!;
    const req = this.#request(m, body);
    return new Promise((resolve, reject) => {
      this.#client.makeUnaryRequest(m.path, m.requestSerialize, m.responseDeserialize, req, this.#metadata(authorization), { deadline: Date.now() + deadlineMs }, (err, res) =>
        err ? reject(err) : resolve(responseJson(res)),
      );
    });
  }

  /** A server-streaming call: each message as JSON to `onMessage`; resolves at the end, rejects on an error; `cancel` ends it early. Throws a GatewayError for a request that is not the method's message. */
  stream(name: string, body: Json, authorization: string | undefined, deadlineMs: number, onMessage: (m: unknown) => void): { done: Promise<void>; cancel: () => void } {
    const m = this.#methods.get(name)!;
    const call = this.#client.makeServerStreamRequest(m.path, m.requestSerialize, m.responseDeserialize, this.#request(m, body), this.#metadata(authorization), deadlineMs ? { deadline: Date.now() + deadlineMs } : {});
    const done = new Promise<void>((resolve, reject) => {
      call.on('data', (d: unknown) => onMessage(responseJson(d)));
      call.on('error', reject);
      call.on('end', resolve);
    });
    return { done, cancel: () => call.cancel() };
  }

  close(): void {
    this.#client.close();
  }
}
