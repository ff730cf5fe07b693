import { isIP } from 'node:net';
import { celUint } from '@bufbuild/cel';
import { create } from '@bufbuild/protobuf';
import { DurationSchema, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { CaveatTypeRef } from '../../schema-dsl/index.js';

/** A context value that does not fit its parameter's declared type. */
export class CaveatValueError extends Error {}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/i;
const DURATION_PART = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/gy;
const NANOS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/**
 * Converts a JSON context value to the CEL value of a declared parameter type. Integers may be
 * JSON numbers or decimal strings; bytes are base64; durations are Go-style (`1h30m`, `1.5s`);
 * timestamps are RFC 3339; an ipaddress is an IPv4 or IPv6 address in text.
 */
export function toCelValue(v: unknown, type: CaveatTypeRef): unknown {
  switch (type.name) {
    case 'any':
      return anyValue(v);
    case 'bool':
      if (typeof v !== 'boolean') throw new CaveatValueError('expected a bool');
      return v;
    case 'string':
      if (typeof v !== 'string') throw new CaveatValueError('expected a string');
      return v;
    case 'int': {
      const n = integer(v);
      if (n < INT64_MIN || n > INT64_MAX) throw new CaveatValueError('integer out of the int64 range');
      return n;
    }
    case 'uint': {
      const n = integer(v);
      if (n < 0n || n > UINT64_MAX) throw new CaveatValueError('expected an unsigned integer');
      return celUint(n);
    }
    case 'double':
      if (typeof v !== 'number') throw new CaveatValueError('expected a number');
      return v;
    case 'bytes':
      if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) throw new CaveatValueError('expected base64 text');
      return new Uint8Array(Buffer.from(v, 'base64'));
    case 'duration':
      return duration(v);
    case 'timestamp': {
      if (typeof v !== 'string' || !RFC3339.test(v)) throw new CaveatValueError('expected an RFC 3339 timestamp');
      const d = new Date(v);
      if (Number.isNaN(d.getTime())) throw new CaveatValueError('expected an RFC 3339 timestamp');
      return timestampFromDate(d);
    }
    case 'ipaddress':
      if (typeof v !== 'string' || !isIP(v)) throw new CaveatValueError('expected an IPv4 or IPv6 address');
      return v;
    case 'list': {
      if (!Array.isArray(v)) throw new CaveatValueError('expected a list');
      const elem = type.args[0]!;
      return v.map((x, i) => {
        try {
          return toCelValue(x, elem);
        } catch (e) {
          throw new CaveatValueError(`element ${i}: ${(e as Error).message}`);
        }
      });
    }
    case 'map': {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new CaveatValueError('expected a map (a JSON object)');
      const value = type.args[0]!;
      const out = new Map<string, unknown>();
      for (const [k, x] of Object.entries(v)) {
        try {
          out.set(k, toCelValue(x, value));
        } catch (e) {
          throw new CaveatValueError(`key ${JSON.stringify(k)}: ${(e as Error).message}`);
        }
      }
      return out;
    }
    default:
      throw new CaveatValueError(`unknown parameter type \`${type.name}\``);
  }
}

function integer(v: unknown): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d{1,20}$/.test(v)) return BigInt(v);
  throw new CaveatValueError('expected an integer');
}

function duration(v: unknown): unknown {
  if (typeof v !== 'string') throw new CaveatValueError('expected a duration such as "1h30m" or "2.5s"');
  let text = v;
  let sign = 1n;
  if (text.startsWith('-')) {
    sign = -1n;
    text = text.slice(1);
  }
  let nanos = 0n;
  DURATION_PART.lastIndex = 0;
  let consumed = 0;
  for (let m = DURATION_PART.exec(text); m; m = DURATION_PART.exec(text)) {
    nanos += BigInt(Math.round(Number(m[1]) * NANOS[m[2]!]!));
    consumed = DURATION_PART.lastIndex;
  }
  if (text === '0') consumed = 1;
  if (!text || consumed !== text.length) throw new CaveatValueError('expected a duration such as "1h30m" or "2.5s"');
  nanos *= sign;
  return create(DurationSchema, { seconds: nanos / 1_000_000_000n, nanos: Number(nanos % 1_000_000_000n) });
}

/** JSON as CEL's dynamic values: numbers are doubles, objects are maps. */
function anyValue(v: unknown): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string' || typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map(anyValue);
  if (typeof v === 'object') return new Map(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, anyValue(x)]));
  throw new CaveatValueError('expected a JSON value');
}

/** How many elements the largest list or map among the values holds, counting nested ones. */
export function largestCollection(values: Iterable<unknown>): number {
  let max = 0;
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) {
      max = Math.max(max, v.length);
      v.forEach(walk);
    } else if (v instanceof Map) {
      max = Math.max(max, v.size);
      v.forEach(walk);
    } else if (typeof v === 'string') {
      // A string can be split or matched character by character.
      max = Math.max(max, Math.ceil(v.length / 16));
    }
  };
  for (const v of values) walk(v);
  return max;
}
