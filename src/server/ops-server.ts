import { createServer, type Server, type ServerResponse } from 'node:http';
import type { ReadinessState } from './readiness.js';

/** A started ops endpoint. */
export interface OpsServer {
  readonly port: number;
  close(): Promise<void>;
}

/** What the ops endpoint serves. */
export interface OpsSources {
  /** The metrics in Prometheus' text format (absent: /metrics is 404). */
  readonly metrics?: (() => Promise<string>) | null;
  /** Readiness, read at each /readyz. */
  readonly readiness: () => ReadinessState | Promise<ReadinessState>;
  /** The edge tokens' JWKS (absent: /.well-known/jwks.json is 404). */
  readonly jwks?: (() => Promise<unknown>) | null;
}

function json(res: ServerResponse, code: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(code, { 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The HTTP endpoint beside the gRPC port (`--metrics-address`), for scrapers and probes:
 * `GET /metrics` (Prometheus), `GET /healthz` (liveness: 200 while the process serves at all),
 * `GET /readyz` (readiness: 200 when the datastore answers and is migrated and the server is not
 * draining, else 503; the body says which part failed and Redis's state), and
 * `GET /.well-known/jwks.json` (the edge tokens' public keys, for gateways). Nothing else.
 */
export function startOpsServer(address: string, sources: OpsSources): Promise<OpsServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') return json(res, 405, { error: 'only GET' });
    if (path === '/metrics' && sources.metrics) {
      sources.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8', 'cache-control': 'no-store' });
          res.end(text);
        },
        (e: unknown) => json(res, 500, { error: `metrics collection failed: ${e instanceof Error ? e.message : String(e)}` }),
      );
      return;
    }
    if (path === '/healthz' || path === '/livez') return json(res, 200, { status: 'alive' });
    if (path === '/.well-known/jwks.json' && sources.jwks) {
      sources.jwks().then(
        (jwks) => {
          const text = `${JSON.stringify(jwks)}\n`;
          // Gateways fetch it often: a minute's caching; a rotated key keeps verifying far longer.
          res.writeHead(200, { 'content-type': 'application/jwk-set+json', 'cache-control': 'max-age=60', 'content-length': Buffer.byteLength(text) });
          res.end(text);
        },
        (e: unknown) => json(res, 503, { error: `the signing keys could not be read: ${e instanceof Error ? e.message : String(e)}` }),
      );
      return;
    }
    if (path === '/readyz') {
      Promise.resolve(sources.readiness()).then(
        (state) => json(res, state.ready ? 200 : 503, { status: state.ready ? 'ready' : 'not ready', ...state }),
        (e: unknown) => json(res, 503, { status: 'not ready', error: e instanceof Error ? e.message : String(e) }),
      );
      return;
    }
    return json(res, 404, { error: `no such path: ${path}`, paths: [...(sources.metrics ? ['/metrics'] : []), '/healthz', '/readyz', ...(sources.jwks ? ['/.well-known/jwks.json'] : [])] });
  });
  // Probes and scrapes are small and quick: bound what a slow or idle client can hold.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(i + 1));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const a = server.address();
      resolve({
        port: typeof a === 'object' && a ? a.port : port,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}
