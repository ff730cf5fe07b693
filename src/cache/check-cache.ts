import { LRUCache } from 'lru-cache';
import type { Condition } from '../engine/condition.js';

/** A cached check answer: its condition (context-free; caveats are decided per request) and the depth it was computed with. */
export interface CheckEntry {
  readonly condition: Condition;
  readonly depthLeft: number;
}

/** How a tier has served: lookups answered, lookups missed, and tier-specific counters. */
export interface TierStats {
  hits: number;
  misses: number;
  [counter: string]: number;
}

/**
 * One tier of the check cache, shared by every request of a process (in-process LRU) or of a
 * deployment (Redis). Keys carry the datastore, tenant, schema version and revision, so an entry
 * is only ever the answer at that exact snapshot. A tier never throws and never blocks a request
 * for long: a tier that cannot answer (down, slow, garbage) reports misses.
 */
export interface CheckCacheTier {
  /** A short name for logs and metrics (`lru`, `redis`). */
  readonly name: string;
  /** Counters, updated by the tier and by the dispatcher in front of it. */
  readonly stats: TierStats;
  /** The entries for `keys`, in order, undefined where the tier has none. */
  getMany(keys: readonly string[]): readonly (CheckEntry | undefined)[] | Promise<readonly (CheckEntry | undefined)[]>;
  /** Stores entries, without waiting: a failure to store is the tier's to count, not the caller's. */
  setMany(entries: readonly (readonly [string, CheckEntry])[]): void;
}

/** A rough size in bytes of a condition (its JSON). */
function conditionSize(c: Condition): number {
  return c.op === 'true' || c.op === 'false' ? 8 : JSON.stringify(c).length * 2;
}

/** The in-process tier: an LRU bounded in bytes (lru-cache). */
export class LruCheckCache implements CheckCacheTier {
  readonly name = 'lru';
  readonly stats: TierStats = { hits: 0, misses: 0 };
  readonly #lru: LRUCache<string, CheckEntry>;

  constructor(maxBytes: number) {
    this.#lru = new LRUCache<string, CheckEntry>({ maxSize: maxBytes, sizeCalculation: (v, k) => 64 + k.length * 2 + conditionSize(v.condition) });
  }

  /** The entry for one key (what `getMany` does for each). */
  get(key: string): CheckEntry | undefined {
    return this.#lru.get(key);
  }

  getMany(keys: readonly string[]): (CheckEntry | undefined)[] {
    return keys.map((k) => this.#lru.get(k));
  }

  setMany(entries: readonly (readonly [string, CheckEntry])[]): void {
    for (const [key, entry] of entries) {
      const old = this.#lru.peek(key);
      // The answer computed with the least depth left is valid for more requests.
      if (!old || entry.depthLeft < old.depthLeft) this.#lru.set(key, entry);
    }
  }

  /** Entries held now. */
  get size(): number {
    return this.#lru.size;
  }
}

/** An entry as a short string: `depth|T`, `depth|F` or `depth|{condition JSON}`. */
export function encodeEntry(e: CheckEntry): string {
  const c = e.condition;
  return `${e.depthLeft}|${c.op === 'true' ? 'T' : c.op === 'false' ? 'F' : JSON.stringify(c)}`;
}

/** An entry from `encodeEntry`'s string, or null when the string is not one (garbage is never trusted). */
export function decodeEntry(s: string): CheckEntry | null {
  const bar = s.indexOf('|');
  if (bar < 1) return null;
  const depthLeft = Number(s.slice(0, bar));
  if (!Number.isInteger(depthLeft) || depthLeft < 0) return null;
  const body = s.slice(bar + 1);
  if (body === 'T') return { depthLeft, condition: { op: 'true' } };
  if (body === 'F') return { depthLeft, condition: { op: 'false' } };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  return isCondition(parsed, 0) ? { depthLeft, condition: parsed } : null;
}

function isCondition(v: unknown, depth: number): v is Condition {
  if (depth > 64 || typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const c = v as Record<string, unknown>;
  switch (c['op']) {
    case 'true':
    case 'false':
      return true;
    case 'caveat':
      return typeof c['name'] === 'string' && (c['context'] === null || (typeof c['context'] === 'object' && !Array.isArray(c['context'])));
    case 'and':
    case 'or':
      return Array.isArray(c['children']) && c['children'].length > 0 && c['children'].every((x) => isCondition(x, depth + 1));
    case 'not':
      return isCondition(c['child'], depth + 1);
    default:
      return false;
  }
}
