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
  const c = settings(o, env);
  return { endpoint: c.endpoint.value, tls: c.tls.value, ...(c.token.value ? { token: c.token.value } : {}), ...(o.caCert ? { caCert: o.caCert } : {}) };
}

/** Where each connection setting comes from, for `warden context show` (the key only as set or not). */
export function describeConnection(o: ConnectOptions, env: NodeJS.ProcessEnv = process.env): {
  context: string | null;
  endpoint: { value: string; from: string };
  token: { value: 'set' | 'none'; from: string };
  tls: { value: boolean; from: string };
} {
  const c = settings(o, env);
  return { ...c, token: { value: c.token.value ? 'set' : 'none', from: c.token.from } };
}

/** Flags, then WARDEN_ENDPOINT / WARDEN_TOKEN, then the context (named, or current), then defaults; each with its source. */
function settings(o: ConnectOptions, env: NodeJS.ProcessEnv) {
  const profiles = loadProfiles();
  const name = o.profile || env['WARDEN_CONTEXT'] || profiles.current || null;
  const profile = name ? profiles.profiles[name] : undefined;
  if (name && !profile && (o.profile || env['WARDEN_CONTEXT'])) throw new UsageError(`no context named \`${name}\`: see \`warden context list\``);
  const ctx = `context ${name}`;
  const endpoint = o.endpoint ? { value: o.endpoint, from: '--endpoint' } : env['WARDEN_ENDPOINT'] ? { value: env['WARDEN_ENDPOINT'], from: 'WARDEN_ENDPOINT' } : profile ? { value: profile.endpoint, from: ctx } : { value: '127.0.0.1:50051', from: 'default' };
  const token = o.token ? { value: o.token, from: '--token' } : env['WARDEN_TOKEN'] ? { value: env['WARDEN_TOKEN'], from: 'WARDEN_TOKEN' } : profile?.token ? { value: profile.token, from: ctx } : { value: undefined, from: 'none' };
  const tls = o.insecure ? { value: false, from: '--insecure' } : o.tls ? { value: true, from: '--tls' } : profile ? { value: profile.tls, from: ctx } : { value: false, from: 'default' };
  return { context: profile ? name : null, endpoint, token, tls };
}
