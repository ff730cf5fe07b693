import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { SchemaError } from '../../schema-dsl/index.js';
import { WardenError, type ErrorCode } from './error-code.js';

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
    return { error: withMetadata(STATUS[e.code], internal ? 'internal error' : e.message, e.field), internal };
  }
  if (e instanceof SchemaError) return { error: withMetadata(status.INVALID_ARGUMENT, `schema: ${e.message}`, 'schema'), internal: false };
  return { error: withMetadata(status.INTERNAL, 'internal error', undefined), internal: true };
}

function withMetadata(code: status, details: string, field: string | undefined): MappedStatus['error'] {
  const metadata = new Metadata();
  if (field) metadata.set('warden-field', field);
  return { code, details, message: details, metadata };
}
