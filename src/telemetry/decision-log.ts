import { invalidArgument } from '../errors/error-code.js';

/** One Check decision, as the decision log records it. */
export interface DecisionRecord {
  readonly tenant: string;
  /** The id of the key that asked (empty without keys). */
  readonly keyId: string;
  readonly resource: string;
  readonly permission: string;
  readonly subject: string;
  readonly result: 'has' | 'no' | 'conditional';
  readonly revision: string;
  readonly requestId: string;
  /** Under impersonation, the person acting. */
  readonly actingAs?: string;
}

/** Which decisions are logged: a sampled share, narrowed by resource type, permission and result. */
export interface DecisionFilter {
  readonly rate: number;
  readonly types: ReadonlySet<string> | null;
  readonly permissions: ReadonlySet<string> | null;
  readonly results: ReadonlySet<string> | null;
}

/**
 * Parses `--decision-log`: `off`, or comma-separated `key=value` parts: `rate=0.01` (the share
 * of matching decisions logged, default 1), `types=document|folder`, `permissions=view|edit`,
 * `results=no|conditional` (each a `|`-separated list; absent: any). Null for `off`.
 */
export function parseDecisionFilter(text: string, field = '--decision-log'): DecisionFilter | null {
  if (!text || text === 'off') return null;
  let rate = 1;
  let types: Set<string> | null = null;
  let permissions: Set<string> | null = null;
  let results: Set<string> | null = null;
  for (const part of text.split(',')) {
    const [k, v, ...rest] = part.split('=');
    if (v === undefined || rest.length || !v) throw invalidArgument(field, `expected key=value parts (rate, types, permissions, results), got \`${part}\``);
    const list = new Set(v.split('|'));
    if (k === 'rate') {
      rate = Number(v);
      if (!(rate > 0 && rate <= 1)) throw invalidArgument(field, `rate must be above 0 and at most 1, got \`${v}\``);
    } else if (k === 'types') types = list;
    else if (k === 'permissions') permissions = list;
    else if (k === 'results') {
      for (const r of list) if (!['has', 'no', 'conditional'].includes(r)) throw invalidArgument(field, `results are has, no or conditional, got \`${r}\``);
      results = list;
    } else throw invalidArgument(field, `unknown part \`${k}\` (rate, types, permissions, results)`);
  }
  return { rate, types, permissions, results };
}

/** A decision log: records the decisions its filter lets through (sampled), a log line each. */
export class DecisionLog {
  readonly #filter: DecisionFilter;
  readonly #write: (record: DecisionRecord) => void;
  readonly #random: () => number;

  constructor(filter: DecisionFilter, write: (record: DecisionRecord) => void, random: () => number = Math.random) {
    this.#filter = filter;
    this.#write = write;
    this.#random = random;
  }

  /** Whether decisions of this resource type and permission may be logged at all (a cheap test before building a record). */
  wants(resourceType: string, permission: string): boolean {
    const f = this.#filter;
    return (!f.types || f.types.has(resourceType)) && (!f.permissions || f.permissions.has(permission));
  }

  /** Records a decision of a type and permission `wants` let through, if its result passes and the sample takes it. */
  record(r: DecisionRecord): void {
    const f = this.#filter;
    if (f.results && !f.results.has(r.result)) return;
    if (f.rate < 1 && this.#random() >= f.rate) return;
    this.#write(r);
  }
}
