import { readFileSync } from 'node:fs';
import { credentials, Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import { loadApi, serviceClient } from '../server/proto.js';
import type { resolveConnection } from './connection.js';

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

  /** A unary call. */
  call<T = any>(service: string, method: string, req: unknown): Promise<T> {
    const c = this.#client(service);
    return new Promise((resolve, reject) =>
      c[method]!.call(c, req, this.#metadata(), { deadline: Date.now() + this.timeoutMs }, (err: ServiceError | null, res: T) => (err ? reject(err) : resolve(res))),
    );
  }

  /** A server-streaming call; `onData` sees each message. `deadlineMs` 0 means none. */
  stream(service: string, method: string, req: unknown, onData: (m: any) => void, deadlineMs = this.timeoutMs): Promise<void> {
    const c = this.#client(service);
    return new Promise((resolve, reject) => {
      const call = c[method]!.call(c, req, this.#metadata(), deadlineMs ? { deadline: Date.now() + deadlineMs } : {});
      call.on('data', onData);
      call.on('error', reject);
      call.on('end', resolve);
    });
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
    return done;
  }

  close(): void {
    for (const c of this.#clients.values()) c.close();
  }
}
