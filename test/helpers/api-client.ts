import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadApi, serviceClient } from '../../src/server/proto.js';

type Unary = (req: unknown, options?: { deadline?: number; metadata?: Metadata }) => Promise<any>;
type Stream = (req: unknown, options?: { deadline?: number; metadata?: Metadata }) => Promise<any[]>;

/** A promise-returning client for every service, talking to a real server over the network. */
export interface ApiClient {
  permission: Record<'Check' | 'BatchCheck' | 'Expand' | 'ListPermissions', Unary> & Record<'ListObjects' | 'ListSubjects', Stream>;
  relationship: Record<'Write' | 'Delete', Unary> & Record<'Read' | 'Export', Stream> & {
    Import: (chunks: unknown[]) => Promise<any>;
    /** An Import whose stream stays open until `end()`: `write` sends a chunk. */
    openImport: () => { write(chunk: unknown): void; end(): Promise<any>; cancel(): Promise<any> };
  };
  schema: Record<'WriteSchema' | 'ReadSchema' | 'ValidateSchema' | 'SimulateSchema', Unary>;
  raw: Record<string, Client>;
  close(): void;
}

/** Connects to a server at `address`; `ownConnection` opens a connection of its own rather than sharing the process's. */
export function apiClient(address: string, token?: string, ownConnection = false): ApiClient {
  const { v1 } = loadApi();
  const raw: Record<string, Client> = {};
  const wrap = (service: string, methods: { unary: string[]; stream: string[] }): Record<string, Unary | Stream> => {
    const Ctor = serviceClient(v1, service);
    const c = new Ctor(address, credentials.createInsecure(), ownConnection ? { 'grpc.use_local_subchannel_pool': 1 } : {}) as unknown as Record<string, Function> & Client;
    raw[service] = c;
    const out: Record<string, Unary | Stream> = {};
    const meta = (m?: Metadata): Metadata => {
      const md = m ?? new Metadata();
      if (token) md.set('authorization', `Bearer ${token}`);
      return md;
    };
    for (const m of methods.unary) {
      out[m] = (req, o = {}) =>
        new Promise((resolve, reject) =>
          c[m]!.call(c, req, meta(o.metadata), { deadline: o.deadline ?? Date.now() + 30_000 }, (err: ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res))),
        );
    }
    for (const m of methods.stream) {
      out[m] = (req, o = {}) =>
        new Promise((resolve, reject) => {
          const items: unknown[] = [];
          const call = c[m]!.call(c, req, meta(o.metadata), { deadline: o.deadline ?? Date.now() + 30_000 });
          call.on('data', (d: unknown) => items.push(d));
          call.on('error', reject);
          call.on('end', () => resolve(items));
        });
    }
    return out;
  };
  return {
    permission: wrap('PermissionService', { unary: ['Check', 'BatchCheck', 'Expand', 'ListPermissions'], stream: ['ListObjects', 'ListSubjects'] }) as ApiClient['permission'],
    relationship: {
      ...(wrap('RelationshipService', { unary: ['Write', 'Delete'], stream: ['Read', 'Export'] }) as object),
      Import: (chunks: unknown[]) =>
        new Promise((resolve, reject) => {
          const c = raw['RelationshipService'] as unknown as Record<string, Function>;
          const md = new Metadata();
          if (token) md.set('authorization', `Bearer ${token}`);
          const call = c['Import']!.call(c, md, { deadline: Date.now() + 30_000 }, (err: ServiceError | null, res: unknown) => (err ? reject(err) : resolve(res)));
          for (const chunk of chunks) call.write(chunk);
          call.end();
        }),
      openImport: () => {
        const c = raw['RelationshipService'] as unknown as Record<string, Function>;
        const md = new Metadata();
        if (token) md.set('authorization', `Bearer ${token}`);
        let settle!: { resolve: (v: unknown) => void; reject: (e: unknown) => void };
        const done = new Promise((resolve, reject) => (settle = { resolve, reject }));
        const call = c['Import']!.call(c, md, { deadline: Date.now() + 60_000 }, (err: ServiceError | null, res: unknown) => (err ? settle.reject(err) : settle.resolve(res)));
        return {
          write: (chunk: unknown) => call.write(chunk),
          end: () => {
            call.end();
            return done;
          },
          cancel: () => {
            call.cancel();
            return done;
          },
        };
      },
    } as ApiClient['relationship'],
    schema: wrap('SchemaService', { unary: ['WriteSchema', 'ReadSchema', 'ValidateSchema', 'SimulateSchema'], stream: [] }) as ApiClient['schema'],
    raw,
    close: () => Object.values(raw).forEach((c) => c.close()),
  };
}

/** Builders for request fields. */
export const obj = (s: string) => {
  const [object_type, object_id] = s.split(':');
  return { object_type, object_id };
};
export const subj = (s: string) => {
  const [o, rel] = s.split('#');
  return { object: obj(o!), optional_relation: rel ?? '' };
};
/** A relationship message from the text syntax (no caveats). */
export const relMsg = (s: string) => {
  const [left, right] = s.split('@');
  const hash = left!.lastIndexOf('#');
  return { resource: obj(left!.slice(0, hash)), relation: left!.slice(hash + 1), subject: subj(right!) };
};

/** One TenantService call with a key (admin scope), on a client of its own. */
export function tenantCall(address: string, token: string, method: string, req: unknown): Promise<any> {
  return serviceCall(address, token, 'TenantService', method, req);
}

/** One unary call of any native service with a key, on a connection of its own. */
export function serviceCall(address: string, token: string, service: string, method: string, req: unknown): Promise<any> {
  const Ctor = serviceClient(loadApi().v1, service);
  return new Promise((resolve, reject) => {
    const c = new Ctor(address, credentials.createInsecure()) as unknown as Record<string, Function> & Client;
    const md = new Metadata();
    md.set('authorization', `Bearer ${token}`);
    c[method]!.call(c, req, md, (err: unknown, res: unknown) => {
      c.close();
      if (err) reject(err);
      else resolve(res);
    });
  });
}
