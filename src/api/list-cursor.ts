import { createHash } from 'node:crypto';
import { invalidArgument } from '../errors/error-code.js';
import type { Revision } from '../store/store.js';

/** Results a listing returns when the request names no limit. */
export const DEFAULT_LIST_LIMIT = 1000;
/** The most results one listing call may return. */
export const MAX_LIST_LIMIT = 10_000;

/** The limit of a listing: 0 is the default; more than the maximum is an error. */
export function listLimit(limit: number): number {
  if (!limit) return DEFAULT_LIST_LIMIT;
  if (!Number.isInteger(limit) || limit < 0) throw invalidArgument('limit', 'must be a positive whole number');
  if (limit > MAX_LIST_LIMIT) throw invalidArgument('limit', `${limit} is more than the maximum of ${MAX_LIST_LIMIT}`, 'ERROR_REASON_EXCEEDS_MAXIMUM_ALLOWABLE_LIMIT');
  return limit;
}

/**
 * Where a listing stands: the revision it lists at, the listing it belongs to (parked on the
 * server that issued it), a digest of the request (a cursor continues only the same question) and
 * the position of the last result returned, from which any server can resume.
 */
export interface ListCursor {
  readonly revision: Revision;
  readonly listing: string;
  readonly request: string;
  readonly position: ListPosition;
}

/** The position of a result: for ListObjects `[batch offset, results of that batch returned]`; for ListSubjects `[results returned]`. */
export type ListPosition = readonly number[];

/** A digest of what a listing asks, so a cursor cannot be replayed against another question. */
export function requestDigest(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('base64url').slice(0, 22);
}

/** Encodes a listing cursor. */
export function encodeListCursor(c: ListCursor): string {
  return Buffer.from(JSON.stringify({ r: c.revision, l: c.listing, h: c.request, p: c.position })).toString('base64url');
}

/** Decodes a listing cursor; INVALID_ARGUMENT for one this server did not issue. */
export function decodeListCursor(cursor: string): ListCursor {
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as { r?: unknown; l?: unknown; h?: unknown; p?: unknown };
    if (
      typeof v.r === 'string' &&
      /^\d{1,19}$/.test(v.r) &&
      typeof v.l === 'string' &&
      typeof v.h === 'string' &&
      Array.isArray(v.p) &&
      v.p.length <= 2 &&
      v.p.every((n) => Number.isSafeInteger(n) && n >= 0)
    ) {
      return { revision: v.r as Revision, listing: v.l, request: v.h, position: v.p as number[] };
    }
  } catch {
    // fall through
  }
  throw invalidArgument('cursor', 'is not a cursor this server issued', 'ERROR_REASON_INVALID_CURSOR');
}
