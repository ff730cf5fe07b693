import { sql, type Transaction } from 'kysely';
import { WardenError } from '../../errors/error-code.js';
import type { LockLimits } from '../lock-limits.js';
import type { Database } from './tables.js';

/** Writers take this advisory lock, so revisions are assigned in commit order. */
const WRITE_LOCK = 0x77617264;

export { DEFAULT_LOCK_LIMITS, type LockLimits } from '../lock-limits.js';

/** A held writer lock: `check()` before each statement fails the write once it has held the lock too long. */
export interface HeldLock {
  check(): void;
}

/**
 * Takes the writer lock inside a transaction, bounded both ways: waiting for it by the session's
 * `lock_timeout` (set on every connection, see `sessionSettings`), holding it by
 * `statement_timeout` on each statement and by `check()` between them, so no request (however
 * large) stalls other writers for longer than `maxLockMs` plus one statement. In the same round
 * trip it reads whether `tenant` exists and is not being deleted (`null` for no tenant check).
 */
export async function takeWriteLock(trx: Transaction<Database>, limits: LockLimits, tenant: string | null): Promise<HeldLock & { tenantLive: boolean }> {
  try {
    await sql`select pg_advisory_xact_lock(${WRITE_LOCK})`.execute(trx);
  } catch (e) {
    if ((e as { code?: unknown }).code === '55P03') {
      throw new WardenError('UNAVAILABLE', `other writes held the writer lock for more than ${limits.lockWaitMs} ms; try again shortly`, { cause: e });
    }
    throw e;
  }
  const since = Date.now();
  const r = await sql<{ live: boolean | null }>`
    select set_config('statement_timeout', ${`${limits.maxLockMs}ms`}, true) as t,
           (select not deleting from warden_tenants where name = ${tenant ?? ''}) as live`.execute(trx);
  return {
    tenantLive: r.rows[0]?.live === true,
    check() {
      if (Date.now() - since > limits.maxLockMs) {
        throw new WardenError('UNAVAILABLE', `the write held the writer lock for more than ${limits.maxLockMs} ms and was rolled back: split it into smaller ones`);
      }
    },
  };
}

/** The settings every connection starts with: how long any statement waits for a lock. */
export function sessionSettings(limits: LockLimits): string {
  return `set lock_timeout = ${lockTimeout(limits)}`;
}

/** The same settings as startup options of a connection (node-postgres' `options`). */
export function sessionOptions(limits: LockLimits): string {
  return `-c lock_timeout=${lockTimeout(limits)}`;
}

/** The session's lock_timeout (ms) for these limits. */
function lockTimeout(limits: LockLimits): number {
  return Math.max(0, Math.floor(limits.lockWaitMs));
}

/** Maps the statement timeout under the lock to the same clear error. */
export function isLockTimeout(e: unknown): boolean {
  return (e as { code?: unknown })?.code === '57014';
}
