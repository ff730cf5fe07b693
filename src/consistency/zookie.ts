import { invalidArgument } from '../errors/error-code.js';
import type { Revision } from '../store/store.js';

/** The zookie format version this server writes. */
const VERSION = 1;

/**
 * Encodes a revision of a datastore as a zookie: an opaque, versioned, URL-safe base64 token.
 * Clients hand it back to ask for reads at least as fresh as (or exactly at) that revision.
 */
export function encodeZookie(datastoreId: string, revision: Revision): string {
  return Buffer.from(JSON.stringify({ v: VERSION, d: datastoreId, r: revision })).toString('base64url');
}

/**
 * Decodes a zookie, refusing one that is malformed, of an unknown version, or from another
 * datastore: INVALID_ARGUMENT naming the field.
 */
export function decodeZookie(token: string, datastoreId: string, field = 'consistency.zookie'): Revision {
  if (typeof token !== 'string' || !token || token.length > 512 || !/^[A-Za-z0-9_-]+$/.test(token)) {
    throw invalidArgument(field, 'is not a zookie this server issued');
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalidArgument(field, 'is not a zookie this server issued');
  }
  const z = v as { v?: unknown; d?: unknown; r?: unknown };
  if (typeof z !== 'object' || z === null || typeof z.r !== 'string' || !/^\d{1,19}$/.test(z.r) || typeof z.d !== 'string') {
    throw invalidArgument(field, 'is not a zookie this server issued');
  }
  if (z.v !== VERSION) throw invalidArgument(field, `has version ${String(z.v)}, which this server does not read`);
  if (z.d !== datastoreId) throw invalidArgument(field, 'was issued by another datastore');
  return z.r as Revision;
}
