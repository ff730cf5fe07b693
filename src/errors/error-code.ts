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

/**
 * Why an error happened, in SpiceDB's words (authzed.api.v1.ErrorReason): sent with the status as
 * a google.rpc.ErrorInfo in `grpc-status-details-bin`, so SpiceDB clients can tell errors apart.
 */
export type ErrorReason =
  | 'ERROR_REASON_SCHEMA_PARSE_ERROR'
  | 'ERROR_REASON_UNKNOWN_DEFINITION'
  | 'ERROR_REASON_UNKNOWN_RELATION_OR_PERMISSION'
  | 'ERROR_REASON_TOO_MANY_UPDATES_IN_REQUEST'
  | 'ERROR_REASON_TOO_MANY_PRECONDITIONS_IN_REQUEST'
  | 'ERROR_REASON_WRITE_OR_DELETE_PRECONDITION_FAILURE'
  | 'ERROR_REASON_UNKNOWN_CAVEAT'
  | 'ERROR_REASON_INVALID_SUBJECT_TYPE'
  | 'ERROR_REASON_CANNOT_UPDATE_PERMISSION'
  | 'ERROR_REASON_INVALID_CURSOR'
  | 'ERROR_REASON_TOO_MANY_RELATIONSHIPS_FOR_TRANSACTIONAL_DELETE'
  | 'ERROR_REASON_ATTEMPT_TO_RECREATE_RELATIONSHIP'
  | 'ERROR_REASON_MAXIMUM_DEPTH_EXCEEDED'
  | 'ERROR_REASON_TOO_MANY_CHECKS_IN_REQUEST'
  | 'ERROR_REASON_EXCEEDS_MAXIMUM_ALLOWABLE_LIMIT';

/** An error Warden raises on purpose: a code from the closed union, a message for users, an optional field. */
export class WardenError extends Error {
  readonly code: ErrorCode;
  /** The request field the error is about, e.g. `resource.object_type`, when there is one. */
  readonly field: string | undefined;
  /** For an overloaded server: how long the caller should wait before retrying. */
  readonly retryAfterMs: number | undefined;
  /** SpiceDB's reason for it, where it has one. */
  readonly reason: ErrorReason | undefined;

  constructor(code: ErrorCode, message: string, options: { field?: string; cause?: unknown; retryAfterMs?: number; reason?: ErrorReason } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'WardenError';
    this.code = code;
    this.field = options.field;
    this.retryAfterMs = options.retryAfterMs;
    this.reason = options.reason;
  }
}

/** Shorthand for an INVALID_ARGUMENT error about one field. */
export function invalidArgument(field: string, message: string, reason?: ErrorReason): WardenError {
  return new WardenError('INVALID_ARGUMENT', `${field}: ${message}`, reason ? { field, reason } : { field });
}

/** Shorthand for a FAILED_PRECONDITION error, used when a request does not fit the schema. */
export function failedPrecondition(message: string, field?: string, reason?: ErrorReason): WardenError {
  return new WardenError('FAILED_PRECONDITION', field ? `${field}: ${message}` : message, { ...(field ? { field } : {}), ...(reason ? { reason } : {}) });
}
