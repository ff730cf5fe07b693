/** What one driver worker runs: where, how hard, for how long, and which calls. */
export interface LoadJob {
  readonly target: { readonly host: string; readonly port: number; readonly tls: boolean; readonly ca: string | null };
  readonly token: string | null;
  /** HTTP/2 connections this worker opens. */
  readonly connections: number;
  /** Closed loop: this many calls in flight at all times; open loop: this many calls started a second, on schedule. */
  readonly mode: { readonly kind: 'closed'; readonly concurrency: number } | { readonly kind: 'open'; readonly rate: number };
  readonly warmupMs: number;
  readonly durationMs: number;
  readonly ops: readonly Op[];
  /** `cycle`: go round the ops; `once`: each op at most once (never-repeated checks), then stop. */
  readonly order: 'cycle' | 'once';
  /**
   * Mixed reads and writes: this share of calls write a new relationship `type:x#relation@user:y`,
   * and the next call of the same slot checks `permission` at_least_as_fresh the write's zookie:
   * it must see it (else a violation is counted).
   */
  readonly mixed: { readonly writeShare: number; readonly type: string; readonly relation: string; readonly permission: string } | null;
  /** Which worker this is (for the names mixed writes use), and of how many. */
  readonly worker: number;
}

/** One call a scenario makes. */
export type Op =
  /** A unary call, encoded once up front; `items` is how many answers it carries (BatchCheck). */
  | { readonly kind: 'unary'; readonly path: string; readonly body: Uint8Array; readonly items: number }
  /** A whole listing: the first page's request, then one call per cursor until the end. */
  | { readonly kind: 'listing'; readonly service: string; readonly method: string; readonly request: Readonly<Record<string, unknown>> };

/**
 * How a worker and the driver agree on the start: the worker says it is ready (its modules loaded,
 * its requests encoded, its connections open), and once every worker is, the driver tells them all
 * when to start (epoch ms), so their seconds line up and none loses measured time to its start-up.
 */
export type StartMessage = { readonly ready: true } | { readonly startAt: number };

/** What a worker measured. */
export interface WorkerResult {
  readonly histogram: string;
  readonly ttfb: string | null;
  readonly ops: number;
  readonly items: number;
  readonly errors: Readonly<Record<string, number>>;
  readonly violations: number;
  /** Writes whose read-after-write was made (mixed). */
  readonly writes: number;
  /** Per measured second: calls completed, errors, and that second's latency histogram. */
  readonly seconds: readonly { readonly ops: number; readonly errors: number; readonly histogram: string }[];
  /** Share of the worker's time its event loop was busy: near 1, the worker was the bottleneck. */
  readonly elu: number;
  /** Open loop: calls that could not start on schedule because too many were in flight. */
  readonly late: number;
  readonly exhausted: boolean;
  readonly results: number;
  /** Calls due in the measured time that finished after it (not in the figures). */
  readonly unfinished: number;
}
