import type { Kysely } from 'kysely';
import type { SigningKey, SigningKeyStore } from '../signing-keys.js';
import type { Database } from './tables.js';

/** Token signing keys in `warden_signing_keys`, shared by every server on the database. */
export class PostgresSigningKeys implements SigningKeyStore {
  readonly #db: Kysely<Database>;

  constructor(db: Kysely<Database>) {
    this.#db = db;
  }

  async live(now: Date): Promise<readonly SigningKey[]> {
    const rows = await this.#db
      .selectFrom('warden_signing_keys')
      .selectAll()
      .where((eb) => eb.or([eb('retires_at', 'is', null), eb('retires_at', '>', now)]))
      .orderBy('created_at', 'desc')
      .execute();
    return rows.map((r) => ({
      kid: r.kid,
      privateJwk: JSON.parse(r.private_jwk) as Record<string, unknown>,
      publicJwk: JSON.parse(r.public_jwk) as Record<string, unknown>,
      createdAt: new Date(r.created_at),
      retiresAt: r.retires_at ? new Date(r.retires_at) : null,
    }));
  }

  async rotate(key: Omit<SigningKey, 'createdAt' | 'retiresAt'>, retireAt: Date): Promise<void> {
    await this.#db.transaction().execute(async (trx) => {
      await trx
        .updateTable('warden_signing_keys')
        .set({ retires_at: retireAt })
        .where((eb) => eb.or([eb('retires_at', 'is', null), eb('retires_at', '>', retireAt)]))
        .execute();
      await trx.insertInto('warden_signing_keys').values({ kid: key.kid, private_jwk: JSON.stringify(key.privateJwk), public_jwk: JSON.stringify(key.publicJwk), retires_at: null }).execute();
    });
  }
}
