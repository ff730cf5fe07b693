import { readFileSync } from 'node:fs';
import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadApi, serviceClient } from '../server/proto.js';
import type { resolveConnection } from './connection.js';
import { AUTO_CONSISTENCY } from './cli-support.js';
import { lastWrite, rememberWrite } from './last-writes.js';

/** The zookie a write's answer carries, if it is one. */
function writtenAt(res: unknown): string | null {
  const r = res as { written_at?: { token?: string }; deleted_at?: { token?: string }; imported_at?: { token?: string } } | null;
  return r?.written_at?.token || r?.deleted_at?.token || r?.imported_at?.token || null;
}

/** A small promise API over the generated clients. */
export class ApiClient {
  readonly #clients = new Map<string, Client>();
  readonly #conn: ReturnType<typeof resolveConnection>;
  readonly #v1 = loadApi().v1;
  readonly timeoutMs: number;

  constructor(conn: ReturnType<typeof resolveConnection>, timeoutMs = 30_000) {
    this.#conn = conn;
    this.timeoutMs = timeoutMs;
  }

  #client(service: string): Record<string, Function> {
    let c = this.#clients.get(service);
    if (!c) {
      const creds = this.#conn.tls ? credentials.createSsl(this.#conn.caCert ? readFileSync(this.#conn.caCert) : null) : credentials.createInsecure();
      c = new (serviceClient(this.#v1, service))(this.#conn.endpoint, creds);
      this.#clients.set(service, c);
    }
    return c as unknown as Record<string, Function>;
  }

  #metadata(): Metadata {
    const md = new Metadata();
    if (this.#conn.token) md.set('authorization', `Bearer ${this.#conn.token}`);
    return md;
  }

  /**
   * A read that gave no consistency is read at least as fresh as this connection's last write.
   * If the server refuses that zookie (a server restarted on a new in-memory store, say), it is
   * forgotten and the read is made again at minimize_latency.
   */
  async #fresh<T>(req: unknown, run: (req: unknown) => Promise<T>): Promise<T> {
    const consistency = (req as { consistency?: Record<string | symbol, unknown> } | null)?.consistency;
    const zookie = consistency?.[AUTO_CONSISTENCY] ? lastWrite(this.#conn) : null;
    if (!zookie) return run(req);
    try {
      return await run({ ...(req as object), consistency: { requirement: 'at_least_as_fresh', at_least_as_fresh: { token: zookie } } });
    } catch (e) {
      const field = (e as ServiceError).metadata?.get('warden-field')[0];
      if (typeof field !== 'string' || !field.startsWith('consistency')) throw e;
      rememberWrite(this.#conn, null);
      return run(req);
    }
  }

  /** A unary call. A write's zookie is remembered for this connection's later reads. */
  async call<T = any>(service: string, method: string, req: unknown): Promise<T> {
    const c = this.#client(service);
    const res = await this.#fresh(req, (r) =>
      new Promise<T>((resolve, reject) =>
        c[method]!.call(c, r, this.#metadata(), { deadline: Date.now() + this.timeoutMs }, (err: ServiceError | null, res: T) => (err ? reject(err) : resolve(res))),
      ),
    );
    const zookie = writtenAt(res);
    if (zookie) rememberWrite(this.#conn, zookie);
    return res;
  }

  /** A server-streaming call; `onData` sees each message. `deadlineMs` 0 means none. */
  stream(service: string, method: string, req: unknown, onData: (m: any) => void, deadlineMs = this.timeoutMs): Promise<void> {
    const c = this.#client(service);
    return this.#fresh(req, (r) =>
      new Promise<void>((resolve, reject) => {
        const call = c[method]!.call(c, r, this.#metadata(), deadlineMs ? { deadline: Date.now() + deadlineMs } : {});
        call.on('data', onData);
        call.on('error', reject);
        call.on('end', resolve);
      }),
    );
  }

  /** A client-streaming call fed by an async iterable of messages. */
  async upload<T = any>(service: string, method: string, messages: AsyncIterable<unknown>): Promise<T> {
    const c = this.#client(service);
    let call: any;
    const done = new Promise<T>((resolve, reject) => {
      call = c[method]!.call(c, this.#metadata(), { deadline: Date.now() + 10 * this.timeoutMs }, (err: ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
    });
    for await (const m of messages) {
      if (!call.write(m)) await new Promise((r) => call.once('drain', r));
    }
    call.end();
    const res = await done;
    const zookie = writtenAt(res);
    if (zookie) rememberWrite(this.#conn, zookie);
    return res;
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
  }
}
