import { loadProfiles, type Profile } from './profiles.js';

/** How the CLI reaches a server: flags, then WARDEN_ENDPOINT / WARDEN_TOKEN, then the current context. */
export interface ConnectOptions {
  endpoint?: string;
  token?: string;
  tls?: boolean;
  insecure?: boolean;
  caCert?: string;
  /** A saved context to use instead of the current one. */
  profile?: string;
}

/** A failure the CLI reports as a usage error (exit 3). */
export class UsageError extends Error {}

/** The connection settings in force. */
export function resolveConnection(o: ConnectOptions, env: NodeJS.ProcessEnv = process.env): Profile & { caCert?: string } {
  const profiles = loadProfiles();
  const name = o.profile || env['WARDEN_CONTEXT'] || profiles.current;
  const profile = name ? profiles.profiles[name] : undefined;
  if (name && !profile && (o.profile || env['WARDEN_CONTEXT'])) throw new UsageError(`no context named \`${name}\`: see \`warden context list\``);
  const endpoint = o.endpoint || env['WARDEN_ENDPOINT'] || profile?.endpoint || '127.0.0.1:50051';
  const token = o.token || env['WARDEN_TOKEN'] || profile?.token;
  const tls = o.insecure ? false : o.tls ? true : (profile?.tls ?? false);
  return { endpoint, tls, ...(token ? { token } : {}), ...(o.caCert ? { caCert: o.caCert } : {}) };
}
