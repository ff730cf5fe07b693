import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { loadSync, type MessageTypeDefinition } from '@grpc/proto-loader';

type Codec = MessageTypeDefinition<object, object>;
import type { ErrorReason } from './error-code.js';

/** SpiceDB's error domain: its clients read an ErrorInfo's reason only under it. */
export const ERROR_DOMAIN = 'authzed.com';

let codecs: { status: Codec; errorInfo: Codec } | null = null;

/** google.rpc.Status and ErrorInfo, from the google-proto-files package, loaded on the first error that needs them. */
function load(): NonNullable<typeof codecs> {
  if (!codecs) {
    const dir = dirname(createRequire(import.meta.url).resolve('google-proto-files/package.json'));
    const def = loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto'], { includeDirs: [dir], keepCase: true, defaults: true });
    codecs = { status: def['google.rpc.Status'] as Codec, errorInfo: def['google.rpc.ErrorInfo'] as Codec };
  }
  return codecs;
}

/**
 * The `grpc-status-details-bin` trailer for an error with a reason: a google.rpc.Status with the
 * same code and message and one google.rpc.ErrorInfo (the reason, domain authzed.com), the way
 * SpiceDB reports it, so SpiceDB clients that branch on reasons work against Warden.
 */
export function statusDetails(code: number, message: string, reason: ErrorReason, metadata: Record<string, string> = {}): Buffer {
  const { status, errorInfo } = load();
  const info = errorInfo.serialize({ reason, domain: ERROR_DOMAIN, metadata });
  return status.serialize({ code, message, details: [{ type_url: 'type.googleapis.com/google.rpc.ErrorInfo', value: info }] });
}

/** Reads a `grpc-status-details-bin` trailer back: the ErrorInfo reasons it carries, with their domains. */
export function readStatusDetails(bin: Buffer): { code: number; message: string; reasons: { reason: string; domain: string }[] } {
  const { status, errorInfo } = load();
  const s = status.deserialize(bin) as unknown as { code: number; message: string; details: { type_url: string; value: Buffer }[] };
  const reasons = s.details
    .filter((d) => d.type_url === 'type.googleapis.com/google.rpc.ErrorInfo')
    .map((d) => errorInfo.deserialize(d.value) as unknown as { reason: string; domain: string });
  return { code: s.code, message: s.message, reasons: reasons.map((r) => ({ reason: r.reason, domain: r.domain })) };
}
