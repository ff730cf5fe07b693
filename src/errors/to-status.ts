import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { SchemaError, formatDiagnostic } from '../../schema-dsl/index.js';
import { WardenError, type ErrorCode, type ErrorReason } from './error-code.js';
import { statusDetails } from './status-details.js';

const STATUS: Record<ErrorCode, status> = {
  INVALID_ARGUMENT: status.INVALID_ARGUMENT,
  NOT_FOUND: status.NOT_FOUND,
  ALREADY_EXISTS: status.ALREADY_EXISTS,
  FAILED_PRECONDITION: status.FAILED_PRECONDITION,
  RESOURCE_EXHAUSTED: status.RESOURCE_EXHAUSTED,
  DEADLINE_EXCEEDED: status.DEADLINE_EXCEEDED,
  CANCELLED: status.CANCELLED,
  UNAUTHENTICATED: status.UNAUTHENTICATED,
  PERMISSION_DENIED: status.PERMISSION_DENIED,
  UNAVAILABLE: status.UNAVAILABLE,
  UNIMPLEMENTED: status.UNIMPLEMENTED,
  INTERNAL: status.INTERNAL,
};

/**
 * The most characters of a status message. Statuses travel in HTTP/2 trailers, which peers cap
 * (grpc-js at 8 KiB of headers by default; larger ones are never delivered), so a longer message
 * is cut and says how much was left out. Lists that can be long (schema diagnostics) are returned
 * in full in a response body where the API has one (ValidateSchema).
 */
export const MAX_STATUS_MESSAGE_CHARS = 2048;

/** The most characters of the `warden-field` trailer. */
export const MAX_FIELD_CHARS = 256;

/** A gRPC status for an error, and whether it is an internal one whose cause must be logged. */
export interface MappedStatus {
  readonly error: Partial<ServiceError> & { code: status; details: string };
  readonly internal: boolean;
}

/**
 * The one place errors become gRPC statuses. Warden's own errors keep their code and message;
 * schema errors are INVALID_ARGUMENT with their line:column diagnostics; anything else is
 * INTERNAL with a generic message (the caller logs the cause), so no stack trace, SQL or driver
 * text reaches a client.
 */
export function toStatus(e: unknown): MappedStatus {
  if (e instanceof WardenError) {
    const internal = e.code === 'INTERNAL';
    const mapped = withMetadata(STATUS[e.code], internal ? 'internal error' : e.message, e.field, internal ? undefined : e.reason);
    // gRPC's retry advice, which grpc-js and other clients' retry policies honour.
    if (e.retryAfterMs !== undefined) mapped.metadata!.set('grpc-retry-pushback-ms', String(e.retryAfterMs));
    return { error: mapped, internal };
  }
  if (e instanceof SchemaError) return { error: withMetadata(status.INVALID_ARGUMENT, schemaMessage(e), 'schema', 'ERROR_REASON_SCHEMA_PARSE_ERROR'), internal: false };
  return { error: withMetadata(status.INTERNAL, 'internal error', undefined), internal: true };
}

/** The most diagnostics shown in a status message; the rest are counted (ValidateSchema returns them all). */
const SHOWN_DIAGNOSTICS = 20;

/** The schema diagnostics as a status message: as many as fit, then how many more there are. */
function schemaMessage(e: SchemaError): string {
  const d = e.diagnostics;
  const lines: string[] = [];
  let size = 0;
  for (const x of d.slice(0, SHOWN_DIAGNOSTICS)) {
    const line = truncate(formatDiagnostic(x), 400);
    if (size + line.length > MAX_STATUS_MESSAGE_CHARS - 200) break;
    lines.push(line);
    size += line.length + 1;
  }
  if (lines.length === d.length) return `schema: ${lines.join('\n')}`;
  return `schema: ${d.length} errors, the first ${lines.length}:\n${lines.join('\n')}\n… and ${d.length - lines.length} more (ValidateSchema returns them all)`;
}

/** The status a last-resort guard answers with when mapping or sending an error failed. */
export function internalStatus(): MappedStatus['error'] {
  return { code: status.INTERNAL, details: 'internal error', message: 'internal error', metadata: new Metadata() };
}

function withMetadata(code: status, details: string, field: string | undefined, reason?: ErrorReason): MappedStatus['error'] {
  const metadata = new Metadata();
  if (field) metadata.set('warden-field', metadataValue(truncate(field, MAX_FIELD_CHARS)));
  const message = truncate(details, MAX_STATUS_MESSAGE_CHARS);
  if (reason) metadata.set('grpc-status-details-bin', statusDetails(code, message, reason, field ? { field: truncate(field, MAX_FIELD_CHARS) } : {}));
  return { code, details: message, message, metadata };
}

/** Cuts text to `max` characters, saying how many were left out. */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  const note = ` … (${text.length - max} more characters)`;
  return text.slice(0, Math.max(0, max - note.length)) + note;
}

/**
 * A string made safe for an ASCII metadata value: gRPC allows only printable ASCII (0x20-0x7E)
 * there, and grpc-js throws on anything else. Other characters (and `%` itself) are
 * percent-encoded as UTF-8 (a lone surrogate as U+FFFD), so a field path that names a caveat context key such as `é` or
 * `a\nb` reads back unambiguously with `decodeURIComponent`.
 */
export function metadataValue(s: string): string {
  return s.replace(/[^\x20-\x24\x26-\x7e]/gu, (c) => [...Buffer.from(c, 'utf8')].map((b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join(''));
}
