import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { invalidArgument } from '../errors/error-code.js';
import type { AccessFeed } from './access-feed.js';

/** What an API key may do: permission reads, relationship and schema reads, writes, schema writes, tenant admin. */
export type KeyScope = 'check' | 'read' | 'write' | 'schema' | 'admin';

/** Every scope, in order. */
export const KEY_SCOPES: readonly KeyScope[] = ['check', 'read', 'write', 'schema', 'admin'];

/** An API key as stored and listed: never its secret. */
export interface ApiKeyInfo {
  readonly id: string;
  readonly tenant: string;
  readonly scopes: readonly KeyScope[];
  readonly description: string;
  readonly createdAt: Date;
  readonly revokedAt: Date | null;
  /** When the key stops working by itself (null: never). */
  readonly expiresAt: Date | null;
  /** When it last authenticated a call, coarsely (recorded at most every few minutes; null: never). */
  readonly lastUsedAt: Date | null;
  /** The resource types its calls may name (null: any); calls that name none are refused. */
  readonly resourceTypes?: readonly string[] | null;
  /** Calls a second it may make (null: no limit of its own). */
  readonly maxRatePerSecond?: number | null;
  /** Calls it may have running at once, per server process (null: no limit of its own). */
  readonly maxInFlight?: number | null;
}

/** What a key may be held to besides its scopes. */
export interface KeyLimits {
  readonly resourceTypes?: readonly string[] | null;
  readonly maxRatePerSecond?: number | null;
  readonly maxInFlight?: number | null;
}

/** A tenant and when it was made. */
export interface TenantInfo {
  readonly name: string;
  readonly createdAt: Date;
}

/**
 * A tenant's own limits and choices, each absent for the server's default: request rate and
 * calls in flight (admission), stored relationships (a quota on writes and imports), and the
 * permission that lets someone act for a subject (impersonation).
 */
export interface TenantSettings {
  readonly maxRatePerSecond?: number;
  readonly maxInFlight?: number;
  readonly maxRelationships?: number;
  readonly impersonatePermission?: string;
}

/** Tenants and API keys, kept by the datastore. */
export interface AccessStore {
  /** A tenant's settings (empty: the server's defaults); NOT_FOUND if there is no such tenant. */
  tenantSettings(name: string): Promise<TenantSettings>;
  /** Replaces a tenant's settings; NOT_FOUND if there is no such tenant. */
  setTenantSettings(name: string, settings: TenantSettings): Promise<void>;
  /** Creates a tenant; ALREADY_EXISTS if it does. */
  createTenant(name: string): Promise<TenantInfo>;
  listTenants(): Promise<readonly TenantInfo[]>;
  /** True if the tenant exists. */
  hasTenant(name: string): Promise<boolean>;
  /**
   * Deletes a tenant with its relationships, schemas and keys; NOT_FOUND if there is none. Its
   * keys stop working at once (the feed announces it), writes racing the deletion fail, and the
   * name is free only once everything is gone, so a tenant made again under it starts empty.
   */
  deleteTenant(name: string): Promise<void>;
  /** Stores a new key (its hash only) for an existing tenant. */
  insertKey(info: ApiKeyInfo, hash: string): Promise<void>;
  listKeys(tenant?: string): Promise<readonly ApiKeyInfo[]>;
  /** Revokes a key; false if there is no such live key. */
  revokeKey(id: string): Promise<boolean>;
  /** Makes a live key expire at `at` unless it expires sooner already; false if there is no such live key. */
  expireKey(id: string, at: Date): Promise<boolean>;
  /** Records that a key was used at `at` (best effort, coarse). */
  touchKey(id: string, at: Date): Promise<void>;
  /** The key with this id and its hash, if live. */
  findKey(id: string): Promise<{ info: ApiKeyInfo; hash: string } | null>;
  /** Revocations and deletions as they commit, from every process on the datastore. */
  readonly feed: AccessFeed;
}

/** Tenant names: lowercase letters, digits, `_` and `-`, 1 to 64 characters. */
export const TENANT_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Checks a tenant name. */
export function validateTenantName(name: string, field = 'name'): void {
  if (!TENANT_NAME.test(name)) throw invalidArgument(field, `\`${name}\` is not a tenant name: lowercase letters, digits, _ and -, up to 64`);
}

/** Checks scopes. */
export function validateScopes(scopes: readonly string[], field = 'scopes'): KeyScope[] {
  if (!scopes.length) throw invalidArgument(field, `at least one of ${KEY_SCOPES.join(', ')}`);
  for (const s of scopes) if (!KEY_SCOPES.includes(s as KeyScope)) throw invalidArgument(field, `unknown scope \`${s}\`; scopes are ${KEY_SCOPES.join(', ')}`);
  return [...new Set(scopes as KeyScope[])];
}

/** The hash a key's secret is stored as. Keys are 256 random bits, so a fast hash suffices. */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

/** A new key: `wdn_<id>_<secret>`, shown once; only the secret's hash is kept. */
export function newKey(): { id: string; secret: string; token: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(32).toString('base64url');
  return { id, secret, token: `wdn_${id}_${secret}` };
}

/** Splits a presented key into id and secret, or null if it is not one. */
export function parseKey(token: string): { id: string; secret: string } | null {
  const m = /^wdn_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/.exec(token);
  return m ? { id: m[1]!, secret: m[2]! } : null;
}

/** Compares a secret with a stored hash in constant time. */
export function secretMatches(secret: string, hash: string): boolean {
  const a = Buffer.from(hashSecret(secret), 'hex');
  const b = Buffer.from(hash, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Creates a key for a tenant with scopes; returns the token to show once. */
export async function createKey(
  access: AccessStore,
  tenant: string,
  scopes: readonly string[],
  description = '',
  expiresAt: Date | null = null,
  limits: KeyLimits = {},
): Promise<{ info: ApiKeyInfo; token: string }> {
  validateTenantName(tenant, 'tenant');
  const valid = validateScopes(scopes);
  const { id, secret, token } = newKey();
  const info: ApiKeyInfo = {
    id,
    tenant,
    scopes: valid,
    description,
    createdAt: new Date(),
    revokedAt: null,
    expiresAt,
    lastUsedAt: null,
    resourceTypes: limits.resourceTypes?.length ? [...limits.resourceTypes] : null,
    maxRatePerSecond: limits.maxRatePerSecond || null,
    maxInFlight: limits.maxInFlight || null,
  };
  await access.insertKey(info, hashSecret(secret));
  return { info, token };
}

/** True while a key works: not revoked, and not past its expiry at `now` (ms). */
export function isLiveKey(info: ApiKeyInfo, now = Date.now()): boolean {
  return !info.revokedAt && !(info.expiresAt && info.expiresAt.getTime() <= now);
}

/**
 * Replaces a live key: a new key with the same tenant, scopes and description (expiring after
 * `lifetimeMs`, 0: never), then the old one set to expire after `graceMs` (never later than it
 * would have). The new key exists before the old one is given its end, so a failure between leaves
 * both working, never neither. Null when there is no live key `id`.
 */
export async function rotateKey(access: AccessStore, id: string, graceMs: number, lifetimeMs: number): Promise<{ info: ApiKeyInfo; token: string; replaced: ApiKeyInfo } | null> {
  const old = await access.findKey(id);
  if (!old || !isLiveKey(old.info)) return null;
  const made = await createKey(access, old.info.tenant, old.info.scopes, old.info.description, lifetimeMs ? new Date(Date.now() + lifetimeMs) : null, {
    resourceTypes: old.info.resourceTypes ?? null,
    maxRatePerSecond: old.info.maxRatePerSecond ?? null,
    maxInFlight: old.info.maxInFlight ?? null,
  });
  await access.expireKey(id, new Date(Date.now() + graceMs));
  return { ...made, replaced: (await access.findKey(id))?.info ?? old.info };
}

/** The key a token stands for, if it is a live one. */
export async function verifyKey(access: AccessStore, token: string): Promise<ApiKeyInfo | null> {
  const parsed = parseKey(token);
  if (!parsed) return null;
  const found = await access.findKey(parsed.id);
  if (!found || !isLiveKey(found.info) || !secretMatches(parsed.secret, found.hash)) return null;
  return found.info;
}
