import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { profilesPath, writePrivateFile } from './profiles.js';

/** How many connections' last writes are kept (the oldest are dropped). */
const KEEP = 50;

/** Where the zookie of each connection's last write is kept: beside the contexts file. */
export function lastWritesPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(dirname(profilesPath(env)), 'last-writes.json');
}

/** A connection as far as its zookies go: the server and the key (a tenant), the key only as a hash. */
export function connectionKey(conn: { endpoint: string; token?: string | undefined }): string {
  return `${conn.endpoint}|${createHash('sha256').update(conn.token ?? '').digest('hex').slice(0, 16)}`;
}

type Entries = Record<string, { zookie: string; at: string }>;

function load(path: string): Entries {
  if (!existsSync(path)) return {};
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Entries;
  } catch {
    return {};
  }
}

/** The zookie of the last write this CLI made through a connection, or null. */
export function lastWrite(conn: { endpoint: string; token?: string | undefined }, path = lastWritesPath()): string | null {
  return load(path)[connectionKey(conn)]?.zookie ?? null;
}

/** Remembers a write's zookie for the connection (or forgets it, with null). Never fails the command. */
export function rememberWrite(conn: { endpoint: string; token?: string | undefined }, zookie: string | null, path = lastWritesPath()): void {
  try {
    const entries = load(path);
    const key = connectionKey(conn);
    if (zookie === null) delete entries[key];
    else entries[key] = { zookie, at: new Date().toISOString() };
    const kept = Object.entries(entries)
      .sort((a, b) => (a[1].at < b[1].at ? 1 : -1))
      .slice(0, KEEP);
    writePrivateFile(path, `${JSON.stringify(Object.fromEntries(kept), null, 2)}\n`);
  } catch {
    // Remembering is a convenience: a read-only config directory costs only freshness.
  }
}
