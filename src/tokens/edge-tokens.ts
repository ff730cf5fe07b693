import { randomUUID } from 'node:crypto';
import { createLocalJWKSet, exportJWK, generateKeyPair, importJWK, jwtVerify, SignJWT, type JSONWebKeySet, type JWK, type JWTPayload } from 'jose';
import type { SigningKey, SigningKeyStore } from '../store/signing-keys.js';

/** The issuer every edge token names. */
export const EDGE_TOKEN_ISSUER = 'warden';
/** The longest an edge token may live: what a revocation can take to reach the edge. */
export const MAX_EDGE_TOKEN_TTL_S = 3600;
/** How long signing keys are cached between reads of the datastore. */
const KEYS_CACHE_MS = 10_000;

/** What an edge token states: who, in which tenant, at which revision, may do what on which resources. */
export interface EdgeTokenClaims extends JWTPayload {
  /** The subject: `user:alice`. */
  readonly sub: string;
  /** The tenant. */
  readonly tnt: string;
  /** The zookie of the revision the permissions were checked at. */
  readonly zkt: string;
  /** Resource (`document:q3`) to the permissions the subject has on it (HAS only; never a conditional one). */
  readonly perms: Readonly<Record<string, readonly string[]>>;
  /** False when a listing by type stopped at its limit: resources beyond it are not stated (nor denied). */
  readonly complete: boolean;
}

/**
 * Signs edge tokens (JWTs, EdDSA over Ed25519) with the datastore's newest signing key, and
 * publishes every live key as a JWKS, so a gateway verifies tokens offline. The first key is made
 * on first use; rotation adds a key and keeps the old ones verifying for an overlap.
 */
export class EdgeTokens {
  readonly #keys: SigningKeyStore;
  #cached: { keys: readonly SigningKey[]; until: number } | null = null;

  constructor(keys: SigningKeyStore) {
    this.#keys = keys;
  }

  async #live(): Promise<readonly SigningKey[]> {
    const now = Date.now();
    if (this.#cached && this.#cached.until > now) return this.#cached.keys;
    const keys = await this.#keys.live(new Date(now));
    this.#cached = { keys, until: now + KEYS_CACHE_MS };
    return keys;
  }

  /** The key that signs: the newest not retired (made now if there is none). */
  async #signer(): Promise<SigningKey> {
    const signing = (await this.#live()).find((k) => k.retiresAt === null);
    if (signing) return signing;
    // (Were two servers to make the first key at once, each keeps the other's verifying for a token's longest life.)
    await this.rotate(MAX_EDGE_TOKEN_TTL_S);
    return (await this.#live()).find((k) => k.retiresAt === null)!;
  }

  /** Signs claims valid for `ttlSeconds`. */
  async sign(claims: Omit<EdgeTokenClaims, 'iss' | 'iat' | 'exp' | 'jti'>, ttlSeconds: number): Promise<{ token: string; kid: string; expiresAt: Date }> {
    const key = await this.#signer();
    const now = Math.floor(Date.now() / 1000);
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: 'EdDSA', kid: key.kid, typ: 'JWT' })
      .setIssuer(EDGE_TOKEN_ISSUER)
      .setIssuedAt(now)
      .setExpirationTime(now + ttlSeconds)
      .setJti(randomUUID())
      .sign(await importJWK(key.privateJwk as JWK, 'EdDSA'));
    return { token, kid: key.kid, expiresAt: new Date((now + ttlSeconds) * 1000) };
  }

  /** Every live key's public half: what a gateway verifies with. */
  async jwks(): Promise<JSONWebKeySet> {
    return { keys: (await this.#live()).map((k) => ({ ...(k.publicJwk as JWK), kid: k.kid, alg: 'EdDSA', use: 'sig' })) };
  }

  /** A new signing key; the others stop signing now and verify for `overlapSeconds` more (tokens they signed stay valid until they expire). */
  async rotate(overlapSeconds: number): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });
    const kid = randomUUID().replace(/-/g, '').slice(0, 16);
    await this.#keys.rotate({ kid, privateJwk: await exportJWK(privateKey), publicJwk: await exportJWK(publicKey) }, new Date(Date.now() + overlapSeconds * 1000));
    this.#cached = null;
    return (await this.#live()).find((k) => k.kid === kid)!;
  }
}

/** Verifies an edge token against a JWKS, offline: signature, issuer, expiry. Throws with jose's reason when it does not hold. */
export async function verifyEdgeToken(token: string, jwks: JSONWebKeySet): Promise<EdgeTokenClaims> {
  const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: EDGE_TOKEN_ISSUER, algorithms: ['EdDSA'] });
  return payload as EdgeTokenClaims;
}
