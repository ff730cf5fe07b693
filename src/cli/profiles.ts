import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { invalidArgument } from '../errors/error-code.js';

/** A saved connection: where the server is, the key to use, and whether to use TLS. */
export interface Profile {
  readonly endpoint: string;
  readonly token?: string;
  readonly tls: boolean;
}

/** The profiles file: every profile by name and the one in use. */
export interface Profiles {
  current: string | null;
  profiles: Record<string, Profile>;
}

/** Where profiles are kept: $WARDEN_CONFIG_DIR, else $XDG_CONFIG_HOME/warden, else ~/.config/warden. */
export function profilesPath(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env['WARDEN_CONFIG_DIR'] ?? join(env['XDG_CONFIG_HOME'] ?? join(homedir(), '.config'), 'warden');
  return join(dir, 'contexts.json');
}

/** Reads the profiles file (empty when there is none). */
export function loadProfiles(path = profilesPath()): Profiles {
  if (!existsSync(path)) return { current: null, profiles: {} };
  try {
    const v = JSON.parse(readFileSync(path, 'utf8')) as Profiles;
    return { current: v.current ?? null, profiles: v.profiles ?? {} };
  } catch {
    throw invalidArgument('contexts', `${path} is not a valid contexts file`);
  }
}

/** Writes the profiles file, readable by its owner only (it holds API keys). */
export function saveProfiles(p: Profiles, path = profilesPath()): void {
  writePrivateFile(path, `${JSON.stringify(p, null, 2)}\n`);
}

/**
 * Writes a file only its owner may read (mode 0600, its directory made 0700 if new). The mode of
 * a file that was already there is narrowed too: writeFile's mode applies to new files only.
 */
export function writePrivateFile(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, text, { mode: 0o600 });
  chmodSync(path, 0o600);
}
