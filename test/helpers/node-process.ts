/**
 * How tests start `node` (the warden binary, a script): `spawn(NODE, nodeArgs(bin, ...args), ...)`.
 *
 * tap puts its process-info hook into every process a test starts (NODE_OPTIONS, put back at each
 * spawn even where a test's env leaves it out): a module loader on a thread of its own, which here
 * makes each start of the binary ~240 ms slower (0.13 s -> 0.37 s for `warden schema validate`).
 * Coverage is off, so the processes the tests start need nothing from it: they run through
 * `env -u NODE_OPTIONS`, which execs node in its own place (same pid, so signals reach it).
 */
export const NODE = 'env';

/** The arguments for `NODE`: node with these arguments, without tap's NODE_OPTIONS. */
export function nodeArgs(...args: string[]): string[] {
  return ['-u', 'NODE_OPTIONS', process.execPath, ...args];
}
