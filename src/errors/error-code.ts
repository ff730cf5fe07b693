/**
 * The closed set of error codes Warden reports. Each maps to exactly one gRPC status (see
 * `to-status.ts` when the API arrives); internals never leak past this set.
 */
export type ErrorCode =
  | 'INVALID_ARGUMENT'
  | 'NOT_FOUND'
  | 'ALREADY_EXISTS'
  | 'FAILED_PRECONDITION'
  | 'RESOURCE_EXHAUSTED'
  | 'DEADLINE_EXCEEDED'
  | 'CANCELLED'
  | 'UNAUTHENTICATED'
  | 'PERMISSION_DENIED'
  | 'UNAVAILABLE'
  | 'UNIMPLEMENTED'
  | 'INTERNAL';

/** An error Warden raises on purpose: a code from the closed union, a message for users, an optional field. */
export class WardenError extends Error {
  readonly code: ErrorCode;
  /** The request field the error is about, e.g. `resource.object_type`, when there is one. */
  readonly field: string | undefined;
  /** For an overloaded server: how long the caller should wait before retrying. */
  readonly retryAfterMs: number | undefined;

  constructor(code: ErrorCode, message: string, options: { field?: string; cause?: unknown; retryAfterMs?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WardenError';
    this.code = code;
    this.field = options.field;
    this.retryAfterMs = options.retryAfterMs;
  }
}

/** Shorthand for an INVALID_ARGUMENT error about one field. */
export function invalidArgument(field: string, message: string): WardenError {
  return new WardenError('INVALID_ARGUMENT', `${field}: ${message}`, { field });
}

/** Shorthand for a FAILED_PRECONDITION error, used when a request does not fit the schema. */
export function failedPrecondition(message: string, field?: string): WardenError {
  return new WardenError('FAILED_PRECONDITION', field ? `${field}: ${message}` : message, field ? { field } : {});
}
