import { invalidArgument } from '../errors/error-code.js';
import type { Revision } from '../store/store.js';

/** Results a listing returns when the request names no limit. */
export const DEFAULT_LIST_LIMIT = 1000;
/** The most results one listing call may return. */
export const MAX_LIST_LIMIT = 10_000;

/** The limit of a listing: 0 is the default; more than the maximum is an error. */
export function listLimit(limit: number): number {
  if (!limit) return DEFAULT_LIST_LIMIT;
  if (limit > MAX_LIST_LIMIT) throw invalidArgument('limit', `${limit} is more than the maximum of ${MAX_LIST_LIMIT}`);
  return limit;
}

/** A listing cursor: the revision listed at and the last id returned. */
export function encodeListCursor(revision: Revision, after: string): string {
  return Buffer.from(JSON.stringify({ r: revision, a: after })).toString('base64url');
}

/** Decodes a listing cursor. */
export function decodeListCursor(cursor: string): { revision: Revision; after: string } {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { r?: unknown; a?: unknown };
    if (typeof v.r === 'string' && /^\d{1,19}$/.test(v.r) && typeof v.a === 'string') return { revision: v.r as Revision, after: v.a };
  } catch {
    // fall through
  }
  throw invalidArgument('cursor', 'is not a cursor this server issued');
}
