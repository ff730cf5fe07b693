import { readFileSync } from 'node:fs';
import { styleText } from 'node:util';
import type { ServiceError } from '@grpc/grpc-js';
import type { Command } from 'commander';
import { parseObject, parseRelationship, parseSubject } from '../model/relationship-syntax.js';
import type { ApiClient } from './api-client.js';
import { resolveConnection, UsageError, type ConnectOptions } from './connection.js';
import { WardenError } from '../errors/error-code.js';
import { fromRelationship, type PbConsistency } from '../api/convert.js';
import type { Relationship } from '../model/relationship.js';

/** Options every client command takes. */
export interface GlobalOptions extends ConnectOptions {
  json?: boolean;
  timeoutMs?: number;
}

/** Adds the connection and output options to a command. */
export function clientOptions(cmd: Command): Command {
  return cmd
    .option('--endpoint <host:port>', 'server address (WARDEN_ENDPOINT, else the current context)')
    .option('--token <key>', 'API key (WARDEN_TOKEN, else the current context)')
    .option('--tls', 'use TLS')
    .option('--insecure', 'plaintext, even if the context says TLS')
    .option('--ca-cert <file>', 'trust this CA for TLS')
    .option('--profile <name>', 'use this saved context instead of the current one (WARDEN_CONTEXT)')
    .option('--json', 'print JSON, one object a line')
    .option('--timeout-ms <ms>', 'deadline of each call', (v) => Number(v), 30_000);
}

/** Adds the consistency options of a read. */
export function consistencyOptions(cmd: Command): Command {
  return cmd
    .option('--consistency <mode>', 'full | min-latency (default: at least as fresh as your last write through this connection, else min-latency)')
    .option('--at-least <zookie>', 'at least as fresh as this zookie')
    .option('--at-exact <zookie>', 'exactly at this zookie');
}

/**
 * Marks a read that gave no consistency: the client reads it at least as fresh as the last write
 * it made through the same connection (so a check right after a write sees it), else at
 * minimize_latency.
 */
export const AUTO_CONSISTENCY = Symbol('auto-consistency');

/** The consistency message from the options. */
export function consistencyOf(o: { consistency?: string; atLeast?: string; atExact?: string }): PbConsistency {
  if (o.atLeast && o.atExact) throw new UsageError('--at-least and --at-exact go one at a time');
  if (o.atLeast) return { requirement: 'at_least_as_fresh', at_least_as_fresh: { token: o.atLeast } };
  if (o.atExact) return { requirement: 'at_exact_snapshot', at_exact_snapshot: { token: o.atExact } };
  if (o.consistency === 'full') return { requirement: 'fully_consistent', fully_consistent: true } as PbConsistency;
  if (o.consistency && o.consistency !== 'min-latency') throw new UsageError(`--consistency must be full or min-latency, not \`${o.consistency}\``);
  const minimize = { requirement: 'minimize_latency', minimize_latency: true } as PbConsistency;
  return o.consistency ? minimize : ({ ...minimize, [AUTO_CONSISTENCY]: true } as PbConsistency);
}

/** Runs `fn` with a client for the command's connection, closing it afterwards. */
export async function withApi<T>(cmd: Command, fn: (api: ApiClient, g: GlobalOptions) => Promise<T>): Promise<T> {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const { endpoint, token, tls, insecure, caCert, profile } = g;
  // The gRPC client is loaded only by the commands that call the server: help and offline commands start without it.
  const { ApiClient } = await import('./api-client.js');
  const conn = resolveConnection({ endpoint, token, tls, insecure, caCert, profile });
  const api = new ApiClient(conn, g.timeoutMs ?? 30_000);
  try {
    return await fn(api, g);
  } catch (e) {
    // The one line printed for it names the server it could not reach.
    if (isServiceError(e)) Object.assign(e, { endpoint: conn.endpoint });
    throw e;
  } finally {
    api.close();
  }
}

/** Prints several results: with --json one JSON object a line, else the readable lines. */
export function emitEach<T>(g: { json?: boolean | undefined }, items: readonly T[], text: (item: T) => string, json: (item: T) => unknown = (x) => x): void {
  for (const item of items) process.stdout.write(`${g.json ? JSON.stringify(json(item)) : text(item)}\n`);
}

/** Prints a result: JSON with --json, else the readable text. */
export function emit(g: GlobalOptions, json: unknown, text: string): void {
  process.stdout.write(g.json ? `${JSON.stringify(json)}\n` : text.endsWith('\n') || !text ? text : `${text}\n`);
}

/** Reads a file named on the command line; one that cannot be read is a usage error. */
export function readFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read ${file}: ${(e as Error).message}`);
  }
}

/** Imports relationships in one Import call (one transaction), streamed in messages of 1,000. */
export function importRelationships(api: ApiClient, rels: readonly Relationship[]): Promise<any> {
  return api.upload(
    'RelationshipService',
    'Import',
    (async function* () {
      for (let i = 0; i < rels.length; i += 1000) yield { relationships: rels.slice(i, i + 1000).map(fromRelationship) };
    })(),
  );
}

/** Parses local input, turning its errors into usage errors (exit 3). */
export function local<T>(fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    if (e instanceof WardenError) throw new UsageError(e.message);
    throw e;
  }
}

export const parseTuple = (text: string, field = 'tuple') => local(() => parseRelationship(text, field));
export const parseObjectArg = (text: string, field: string) => local(() => parseObject(text, field));
export const parseSubjectArg = (text: string, field: string) => local(() => parseSubject(text, field));

/** A context JSON option as a Struct message. */
export function contextArg(text: string | undefined): unknown {
  if (!text) return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new UsageError('--context must be a JSON object');
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new UsageError('--context must be a JSON object');
  return v;
}

/** Is this a gRPC error from the server or the connection? */
export function isServiceError(e: unknown): e is ServiceError {
  return typeof e === 'object' && e !== null && typeof (e as ServiceError).code === 'number' && 'details' in e;
}

/** The gRPC status codes by number, as the gRPC specification names them (grpc-js is not loaded to print one). */
export const GRPC_CODE_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS', 'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE', 'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
] as const;

/** Why a connection failed, in words, from grpc-js's details (which end in driver notes). */
const CONNECT_FAILURES: readonly [RegExp, string][] = [
  [/ECONNREFUSED/, 'connection refused (is the server running, on this port?)'],
  [/ENOTFOUND|EAI_AGAIN|Name resolution failed|DNS resolution failed/i, 'no such host'],
  [/ETIMEDOUT|EHOSTUNREACH|ENETUNREACH/, 'no route to the host, or no answer'],
  [/ECONNRESET|EPIPE|Connection dropped|write EPIPE/i, 'the connection was dropped'],
  [/SSL|TLS|certificate|handshake/i, 'the TLS handshake failed (plaintext server, or a certificate not trusted: --ca-cert)'],
];

/** One line for a gRPC error; a failure to connect names the endpoint and the reason, without grpc-js's notes. */
export function serviceErrorLine(e: ServiceError, endpoint = (e as { endpoint?: string }).endpoint): string {
  const name = GRPC_CODE_NAMES[e.code] ?? String(e.code);
  if (GRPC_CODE_NAMES[e.code] === 'UNAVAILABLE' && /No connection established|ECONNREFUSED|ENOTFOUND|connect|Name resolution|DNS/i.test(e.details)) {
    const reason = CONNECT_FAILURES.find(([re]) => re.test(e.details))?.[1] ?? e.details.replace(/\.?\s*(Resolution note|Last error):.*$/s, '').trim();
    return `cannot reach the server${endpoint ? ` at ${endpoint}` : ''}: ${reason}`;
  }
  return `${name}: ${e.details}`;
}

type Style = Parameters<typeof styleText>[0];

/** Colour for a terminal only: never when piped, or with NO_COLOR; always with FORCE_COLOR=1. */
export function paint(style: Style, text: string, stream: NodeJS.WriteStream = process.stdout): string {
  const env = process.env;
  const force = env['FORCE_COLOR'] !== undefined && env['FORCE_COLOR'] !== '0';
  const on = force || (!!stream.isTTY && env['NO_COLOR'] === undefined && env['TERM'] !== 'dumb');
  return on ? styleText(style, text) : text;
}
