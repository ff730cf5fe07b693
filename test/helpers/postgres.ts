import pg from 'pg';
import type { Test } from 'tap';
import { createKey } from '../../src/store/access.js';
import { openDatastore } from '../../src/store/open-datastore.js';

/** The server tests use: this machine's PostgreSQL, unless WARDEN_TEST_POSTGRES says otherwise. */
export const POSTGRES_SERVER = process.env['WARDEN_TEST_POSTGRES'] ?? 'postgres://postgres@127.0.0.1:5432';

/** Creates a database of this test run's own, dropped when the test ends; returns its URL. */
export async function freshDatabase(t: Test): Promise<string> {
  const name = `warden_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: `${POSTGRES_SERVER}/postgres` });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  t.teardown(async () => {
    const a = new pg.Client({ connectionString: `${POSTGRES_SERVER}/postgres` });
    await a.connect();
    await a.query(`drop database if exists ${name} with (force)`);
    await a.end();
  });
  return `${POSTGRES_SERVER}/${name}`;
}

/** A fresh, migrated database with a tenant and a key with every scope but admin; returns its URL and the key. */
export async function databaseWithKey(t: Test, tenant = 'acme'): Promise<{ url: string; token: string }> {
  const url = await freshDatabase(t);
  const ds = await openDatastore(url);
  try {
    await ds.migrate();
    await ds.access.createTenant(tenant);
    return { url, token: (await createKey(ds.access, tenant, ['check', 'read', 'write', 'schema'])).token };
  } finally {
    await ds.close();
  }
}
