import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { status, type ChannelCredentials } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { packageRoot } from '../config/package-root.js';
import { gatewayError, GrpcGateway, requestError, type GatewayError } from './gateway.js';

/** The largest request body the gateway reads (the API's own limits apply behind it). */
export const MAX_GATEWAY_BODY_BYTES = 1024 * 1024;
/** Deadline of a unary call through the gateway. */
const UNARY_DEADLINE_MS = 30_000;
/** Deadline of a listing or Read stream (a Watch has none: it ends when the browser goes). */
const STREAM_DEADLINE_MS = 120_000;

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

/** Sent with every answer: nothing from elsewhere runs in the console, and nothing frames it. */
const SECURITY_HEADERS = {
  'content-security-policy': "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** Where the built console is (`dist/console`, made by `npm run build`); null when it was not built. */
export function consoleAssetsDir(): string | null {
  const dir = join(packageRoot(), 'dist', 'console');
  return existsSync(join(dir, 'index.html')) ? dir : null;
}

/** A running console. */
export interface ConsoleServer {
  readonly port: number;
  close(): Promise<void>;
}

/** Where the console's gateway finds the API: the gRPC server it runs beside. */
export interface ConsoleOptions {
  readonly grpcAddress: string;
  readonly credentials: ChannelCredentials;
  readonly definition: PackageDefinition;
  /** The built assets (default: found from here). */
  readonly assets?: string | null;
}

/**
 * Serves the web console at `address`: its static assets (built with the project; nothing from a
 * CDN) and, under `/api/<Service>/<Method>`, an HTTP/JSON gateway to the gRPC API (POST a JSON
 * request; a unary call answers JSON, a streaming one JSON lines). The caller's key comes in the
 * `Authorization` header and goes on to the API as it is: the console can do what the key can.
 */
export async function startConsole(address: string, options: ConsoleOptions): Promise<ConsoleServer> {
  const assets = options.assets === undefined ? consoleAssetsDir() : options.assets;
  const gateway = new GrpcGateway(options.grpcAddress, options.credentials, options.definition);
  const files = new Map<string, Buffer>();
  const asset = (name: string): Buffer | null => {
    if (!assets) return null;
    let b = files.get(name);
    if (!b) {
      const path = join(assets, name);
      if (!existsSync(path)) return null;
      b = readFileSync(path);
      files.set(name, b);
    }
    return b;
  };
  const server = createServer((req, res) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) res.setHeader(k, v);
    const url = new URL(req.url ?? '/', 'http://console');
    if (url.pathname.startsWith('/api/')) {
      api(gateway, url.pathname.slice('/api/'.length), req, res).catch(() => {
        // Nothing a request sends may take the server down: whatever escaped is a plain 500.
        if (!res.headersSent) sendError(res, gatewayError(null));
        else res.end();
      });
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const name = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    // Only the built files by name: no paths.
    const body = /^[a-z0-9][a-z0-9._-]*$/i.test(name) ? asset(name) : null;
    if (!body) {
      if (!assets && name === 'index.html') {
        res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8' }).end('The console was not built: run `npm run build`.\n');
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(name)] ?? 'application/octet-stream', 'cache-control': name === 'index.html' ? 'no-cache' : 'max-age=300' });
    res.end(req.method === 'HEAD' ? undefined : body);
  });
  // A browser's keep-alive connections must not hold a shutdown up.
  server.keepAliveTimeout = 5000;
  const [host, portText] = splitAddress(address);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(portText), host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        gateway.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function splitAddress(address: string): [string, string] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i).replace(/^\[(.*)\]$/, '$1'), address.slice(i + 1)];
}

/** The gateway's own errors as they are; a failed call's mapped from its status. */
function asGatewayError(e: unknown): GatewayError {
  return e !== null && typeof e === 'object' && typeof (e as GatewayError).http === 'number' ? (e as GatewayError) : gatewayError(e);
}

function sendError(res: ServerResponse, e: GatewayError): void {
  const { http, ...error } = e;
  res.writeHead(http, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', ...(http === 413 ? { connection: 'close' } : {}) }).end(JSON.stringify({ error }));
}

/** Reads a JSON body of at most MAX_GATEWAY_BODY_BYTES. */
function readBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_GATEWAY_BODY_BYTES) {
        reject({ ...requestError(status.RESOURCE_EXHAUSTED, `the request body is over ${MAX_GATEWAY_BODY_BYTES} bytes`, 'body'), http: 413 });
        // The rest is read and dropped (the answer goes out meanwhile), then the connection closes.
        req.removeAllListeners('data');
        req.resume();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      try {
        resolve(text.trim() ? JSON.parse(text) : {});
      } catch (e) {
        reject(requestError(status.INVALID_ARGUMENT, `the request body is not JSON: ${(e as Error).message}`, 'body'));
      }
    });
    req.on('error', reject);
  });
}

async function api(gateway: GrpcGateway, name: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const method = gateway.method(name);
  if (!method) return sendError(res, requestError(status.UNIMPLEMENTED, `the console's gateway has no method \`${name}\``, 'path'));
  if (req.method !== 'POST') {
    res.setHeader('allow', 'POST');
    return sendError(res, { ...requestError(status.INVALID_ARGUMENT, 'call the API with POST and a JSON body', 'method'), http: 405 });
  }
  if (!/^application\/json\b/i.test(req.headers['content-type'] ?? '')) {
    return sendError(res, { ...requestError(status.INVALID_ARGUMENT, 'the body must be JSON (content-type: application/json)', 'content-type'), http: 415 });
  }
  let body: unknown;
  try {
    body = await readBody(req);
  } catch (e) {
    return sendError(res, asGatewayError(e));
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return sendError(res, requestError(status.INVALID_ARGUMENT, 'the body must be a JSON object: the request message', 'body'));
  const auth = req.headers.authorization;
  if (!method.streaming) {
    try {
      const out = await gateway.unary(name, body as never, auth, UNARY_DEADLINE_MS);
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }).end(JSON.stringify(out));
    } catch (e) {
      sendError(res, asGatewayError(e));
    }
    return;
  }
  // A stream answers JSON lines: each message a line, and an error (if any) as the last line.
  let call: ReturnType<GrpcGateway['stream']>;
  try {
    call = gateway.stream(name, body as never, auth, name === 'WatchService/Watch' ? 0 : STREAM_DEADLINE_MS, (m) => {
      if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
      res.write(`${JSON.stringify(m)}\n`);
    });
  } catch (e) {
    return sendError(res, asGatewayError(e));
  }
  // The browser went away (a Watch stopped, a page left): so does the call.
  res.on('close', () => call.cancel());
  try {
    await call.done;
    if (!res.headersSent) res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' });
    res.end();
  } catch (e) {
    const err = asGatewayError(e);
    if (!res.headersSent) return sendError(res, err);
    const { http: _h, ...error } = err;
    res.end(`${JSON.stringify({ error })}\n`);
  }
}
