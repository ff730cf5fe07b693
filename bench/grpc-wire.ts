/**
 * gRPC's wire format over HTTP/2, as much as a load driver needs: length-prefixed messages and
 * the status in trailers (or in the headers of a trailers-only answer).
 */

/** A message body with its 5-byte prefix (not compressed, 4-byte big-endian length). */
export function frame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + body.length);
  out[0] = 0;
  out.writeUInt32BE(body.length, 1);
  out.set(body, 5);
  return out;
}

/** Splits a response's bytes into message bodies. */
export function unframe(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at + 5 <= data.length) {
    const len = data.readUInt32BE(at + 1);
    if (at + 5 + len > data.length) break;
    out.push(data.subarray(at + 5, at + 5 + len));
    at += 5 + len;
  }
  return out;
}

/** gRPC status codes by number, for reports. */
export const STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

/** A status code's name (or `HTTP_<n>` / `TRANSPORT` for failures below gRPC). */
export function statusName(code: number | string): string {
  return typeof code === 'string' ? code : (STATUS_NAMES[code] ?? `STATUS_${code}`);
}
