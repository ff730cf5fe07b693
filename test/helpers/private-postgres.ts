import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { portBelowEphemeralRange } from './listen-port.js';

/** A PostgreSQL server of a test's own, which it may stop and restart without disturbing others. */
export interface PrivatePostgres {
  readonly url: string;
  stop(): void;
  start(): void;
  restart(): void;
  destroy(): void;
}

const BIN = '/usr/lib/postgresql/15/bin';

/** Why a private server cannot be made here, or null when it can. */
export function privatePostgresUnavailable(): string | null {
  if (!existsSync(`${BIN}/initdb`)) return `no PostgreSQL binaries at ${BIN}`;
  if (process.getuid?.() !== 0) return 'making a private cluster needs root (to run initdb as postgres)';
  return null;
}

/** initdb's a cluster in a temporary directory and starts it on a free port. */
export function privatePostgres(): PrivatePostgres {
  const dir = mkdtempSync(join(tmpdir(), 'warden-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
  chownSync(dir, uid, gid);
  const port = portBelowEphemeralRange();
  const asPostgres = (cmd: string, args: string[]): void => {
    execFileSync('runuser', ['-u', 'postgres', '--', `${BIN}/${cmd}`, ...args], { stdio: 'ignore', timeout: 60_000 });
  };
  asPostgres('initdb', ['-D', `${dir}/data`, '-A', 'trust', '-U', 'postgres', '--no-sync']);
  const ctl = (action: string): void =>
    asPostgres('pg_ctl', ['-D', `${dir}/data`, '-w', '-m', 'fast', '-l', `${dir}/log`, '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off`, action]);
  ctl('start');
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: () => ctl('stop'),
    start: () => ctl('start'),
    restart: () => ctl('restart'),
    destroy: () => {
      try {
        ctl('stop');
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
