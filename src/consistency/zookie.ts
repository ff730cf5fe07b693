import { invalidArgument } from '../errors/error-code.js';
import type { Revision } from '../store/store.js';

/** The zookie format version this server writes: 2 names the tenant too. */
const VERSION = 2;

/**
 * Encodes a revision of a datastore as a zookie: an opaque, versioned, URL-safe base64 token.
 * Clients hand it back to ask for reads at least as fresh as (or exactly at) that revision.
 */
export function encodeZookie(datastoreId: string, tenant: string, revision: Revision): string {
  return Buffer.from(JSON.stringify({ v: VERSION, d: datastoreId, t: tenant, r: revision })).toString('base64url');
}

/**
 * Decodes a zookie, refusing one that is malformed, of an unknown version, from another
 * datastore or of another tenant: INVALID_ARGUMENT naming the field. (Version 1 zookies, which
 * named no tenant, are refused: a client falls back to a fresh read.)
 */
export function decodeZookie(token: string, datastoreId: string, tenant: string, field = 'consistency.zookie'): Revision {
  if (typeof token !== 'string' || !token || token.length > 512 || !/^[A-Za-z0-9_-]+$/.test(token)) {
    throw invalidArgument(field, 'is not a zookie this server issued');
  }
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalidArgument(field, 'is not a zookie this server issued');
  }
  const z = v as { v?: unknown; d?: unknown; t?: unknown; r?: unknown };
  if (typeof z !== 'object' || z === null || typeof z.r !== 'string' || !/^\d{1,19}$/.test(z.r) || typeof z.d !== 'string') {
    throw invalidArgument(field, 'is not a zookie this server issued');
  }
  if (z.v !== VERSION) throw invalidArgument(field, `has version ${String(z.v)}, which this server does not read`);
  if (z.d !== datastoreId) throw invalidArgument(field, 'was issued by another datastore');
  if (z.t !== tenant) throw invalidArgument(field, 'was issued for another tenant');
  return z.r as Revision;
}
