/** A key that signs edge tokens: its id, its key pair as JWKs, and until when it may verify once retired. */
export interface SigningKey {
  readonly kid: string;
  /** The private key (Ed25519, as a JWK). */
  readonly privateJwk: Readonly<Record<string, unknown>>;
  /** The public key (as a JWK), published in the JWKS. */
  readonly publicJwk: Readonly<Record<string, unknown>>;
  readonly createdAt: Date;
  /** Null while it signs or may; once set, it no longer signs and leaves the JWKS at this time. */
  readonly retiresAt: Date | null;
}

/**
 * The datastore's token signing keys, shared by every server on it: the newest key that is not
 * retired signs; every key not yet past its retirement verifies (is in the JWKS).
 */
export interface SigningKeyStore {
  /** Every key not past its retirement at `now`, newest first. */
  live(now: Date): Promise<readonly SigningKey[]>;
  /** Adds a key and retires every other live key at `retireAt` (they verify until then, and sign no more). */
  rotate(key: Omit<SigningKey, 'createdAt' | 'retiresAt'>, retireAt: Date): Promise<void>;
}

/** The signing keys of the memory datastore. */
export class MemorySigningKeys implements SigningKeyStore {
  #keys: SigningKey[] = [];

  async live(now: Date): Promise<readonly SigningKey[]> {
    return this.#keys.filter((k) => k.retiresAt === null || k.retiresAt > now).sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime());
  }

  async rotate(key: Omit<SigningKey, 'createdAt' | 'retiresAt'>, retireAt: Date): Promise<void> {
    this.#keys = this.#keys.map((k) => (k.retiresAt === null || k.retiresAt > retireAt ? { ...k, retiresAt: retireAt } : k));
    this.#keys.push({ ...key, createdAt: new Date(), retiresAt: null });
  }
}
