import { clientOptions, emitEach, withApi, type GlobalOptions } from './cli-support.js';
import { loadProfiles } from './profiles.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from './connection.js';
import { datastoreConfig } from '../config/datastore-config.js';
import { createKey, KEY_SCOPES, rotateKey } from '../store/access.js';
import type { Datastore } from '../store/datastore.js';

/**
 * Runs `fn` on the datastore. Only `create` may make a new embedded store (bootstrapping):
 * listing or revoking keys where there is no store names the missing store instead of silently
 * creating an empty one.
 */
async function withDatastore<T>(spec: string | undefined, fn: (ds: Datastore) => Promise<T>, options: { mayCreate?: boolean } = {}): Promise<T> {
  const config = datastoreConfig({ ...(spec ? { datastore: spec } : {}) });
  const dir = config.datastore.startsWith('pglite:') ? config.datastore.slice('pglite:'.length) : null;
  if (dir && dir !== 'memory://' && !options.mayCreate && !existsSync(join(dir, 'PG_VERSION'))) {
    throw new UsageError(`there is no embedded store at ${dir}: name the store with --datastore (or WARDEN_DATASTORE), e.g. --datastore pglite:./warden-data`);
  }
  const { openDatastore } = await import('../store/open-datastore.js');
  const ds = await openDatastore(config.datastore);
  try {
    if (config.datastore.startsWith('pglite:')) await ds.migrate();
    await ds.assertMigrated();
    return await fn(ds);
  } finally {
    await ds.close();
  }
}

/** The options every keys command takes: the datastore, or a server (with an admin key). */
type KeysOptions = GlobalOptions & { datastore?: string };

/**
 * Where a keys command acts: on the datastore when one is named (--datastore, WARDEN_DATASTORE);
 * else on a server when one is (--endpoint, WARDEN_ENDPOINT, --profile, WARDEN_CONTEXT, or a
 * current context); else on the default embedded store, as for bootstrapping.
 */
function onServer(o: KeysOptions, env: NodeJS.ProcessEnv = process.env): boolean {
  if (o.datastore || env['WARDEN_DATASTORE']) return false;
  return !!(o.endpoint || env['WARDEN_ENDPOINT'] || o.profile || env['WARDEN_CONTEXT'] || loadProfiles().current);
}

/** A key's state for `keys list`: revoked, expired, expiring, or active. */
function state(k: { revoked: string | null; expires: string | null }): string {
  if (k.revoked) return `revoked ${k.revoked}`;
  if (k.expires) return `${Date.parse(k.expires) <= Date.now() ? 'expired' : 'expires'} ${k.expires}`;
  return 'active';
}

const keyLine = (k: { id: string; tenant: string; scopes: readonly string[]; description: string; revoked: string | null; expires: string | null; lastUsed: string | null }): string =>
  `${k.id}  ${k.tenant}  ${k.scopes.join(',')}  ${state(k)}  ${k.lastUsed ? `used ${k.lastUsed}` : 'never used'}  ${k.description}`;

/** `90d`, `12h`, `30m`, `45s` as seconds. */
export function durationSeconds(text: string, flag: string): number {
  const m = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag} must be a duration such as 90d, 12h, 30m or 45s, got \`${text}\``);
  return Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as 's' | 'm' | 'h' | 'd'];
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** Registers `warden keys create|list|revoke`: through a running server (admin key), or on the datastore directly. */
export function registerKeys(program: Command): void {
  const keys = program
    .command('keys')
    .description('manage API keys: through a running server (KeyService, an admin key), or on the datastore directly (--datastore, for bootstrapping)');
  const datastoreFlag = '--datastore <spec>';
  const datastoreHelp = 'act on this datastore directly instead of a server: memory | pglite:DIR | postgres://... (WARDEN_DATASTORE)';
  const create = keys
    .command('create')
    .description('create an API key; the key is shown once')
    .option('--tenant <name>', 'the tenant the key acts for (on the datastore: created if missing)', 'default')
    .option('--scope <scopes>', `comma-separated: ${KEY_SCOPES.join(', ')}`, 'check,read,write,schema')
    .option('--description <text>', 'what the key is for', '')
    .option('--expires-in <duration>', 'the key stops working this long after it is made: 90d, 12h, 30m (default: never)')
    .option('--resource-types <types>', 'comma-separated: the only resource types its calls may name (default: any)')
    .option('--max-rate <n>', 'calls a second it may make (default: no limit of its own)')
    .option('--max-in-flight <n>', 'calls it may have running at once, per server process (default: no limit of its own)')
    .option(datastoreFlag, datastoreHelp)
    .addHelpText('after', '\nExamples:\n  $ warden keys create --tenant acme --scope check,read --description "web frontend" --expires-in 90d --token $ADMIN_KEY\n  $ warden keys create --tenant acme --datastore postgres://warden@db/warden   # bootstrapping, no server');
  clientOptions(create).action(async (opts: KeysOptions & { tenant: string; scope: string; description: string; expiresIn?: string; resourceTypes?: string; maxRate?: string; maxInFlight?: string }, cmd: Command) => {
    const scopes = opts.scope.split(',').map((s) => s.trim()).filter(Boolean);
    const resourceTypes = (opts.resourceTypes ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    if (opts.maxRate !== undefined && !/^[1-9]\d*$/.test(opts.maxRate)) throw new UsageError(`--max-rate must be a whole number above 0, got \`${opts.maxRate}\``);
    const maxRate = opts.maxRate ? Number(opts.maxRate) : 0;
    if (opts.maxInFlight !== undefined && !/^[1-9]\d*$/.test(opts.maxInFlight)) throw new UsageError(`--max-in-flight must be a whole number above 0, got \`${opts.maxInFlight}\``);
    const maxInFlight = opts.maxInFlight ? Number(opts.maxInFlight) : 0;
    const lifetime = opts.expiresIn ? durationSeconds(opts.expiresIn, '--expires-in') : 0;
    const print = (k: { id: string; tenant: string; scopes: readonly string[]; expires: string | null }, token: string): void => {
      if (opts.json) process.stdout.write(`${JSON.stringify({ id: k.id, tenant: k.tenant, scopes: k.scopes, expiresAt: k.expires, key: token })}\n`);
      else process.stdout.write(`key ${k.id} for tenant ${k.tenant} (${k.scopes.join(', ')}${k.expires ? `; expires ${k.expires}` : ''}):\n${token}\nStore it now: it is not shown again.\n`);
    };
    if (onServer(opts)) {
      await withApi(cmd, async (api) => {
        const r = await api.call('KeyService', 'CreateKey', {
          tenant: opts.tenant,
          scopes,
          description: opts.description,
          expires_in_seconds: String(lifetime),
          resource_types: resourceTypes,
          max_rate_per_second: maxRate,
          max_in_flight: maxInFlight,
        });
        print({ ...r.key, expires: r.key.expires_at || null }, r.secret);
      });
      return;
    }
    await withDatastore(opts.datastore, async (ds) => {
      if (!(await ds.access.hasTenant(opts.tenant))) await ds.access.createTenant(opts.tenant);
      const { info, token } = await createKey(ds.access, opts.tenant, scopes, opts.description, lifetime ? new Date(Date.now() + lifetime * 1000) : null, { resourceTypes, maxRatePerSecond: maxRate, maxInFlight });
      print({ ...info, expires: iso(info.expiresAt) }, token);
    }, { mayCreate: true });
  });
  const list = keys
    .command('list')
    .description('list API keys (never their secrets), one a line')
    .addHelpText('after', '\nExample:\n  $ warden keys list --tenant acme --json')
    .option('--tenant <name>', 'only this tenant')
    .option(datastoreFlag, datastoreHelp);
  clientOptions(list).action(async (opts: KeysOptions & { tenant?: string }, cmd: Command) => {
    if (onServer(opts)) {
      await withApi(cmd, async (api, g) => {
        const r = await api.call('KeyService', 'ListKeys', { tenant: opts.tenant ?? '' });
        type Msg = { id: string; tenant: string; scopes: string[]; description: string; created_at: string; revoked_at: string; expires_at: string; last_used_at: string };
        emitEach(g, r.keys as Msg[], (k) => keyLine({ ...k, revoked: k.revoked_at || null, expires: k.expires_at || null, lastUsed: k.last_used_at || null }), (k) => ({
          id: k.id,
          tenant: k.tenant,
          scopes: k.scopes,
          description: k.description,
          createdAt: k.created_at,
          revokedAt: k.revoked_at || null,
          expiresAt: k.expires_at || null,
          lastUsedAt: k.last_used_at || null,
        }));
      });
      return;
    }
    await withDatastore(opts.datastore, async (ds) => {
      // One key a line, in text and (with --json) as JSON objects.
      emitEach(opts, await ds.access.listKeys(opts.tenant), (k) => keyLine({ ...k, revoked: iso(k.revokedAt), expires: iso(k.expiresAt), lastUsed: iso(k.lastUsedAt) }));
    });
  });
  const revoke = keys
    .command('revoke')
    .description('revoke an API key by id: every server sharing the datastore refuses it at once')
    .addHelpText('after', '\nExample:\n  $ warden keys revoke 3f9c2a7d1b6e')
    .argument('<id>', 'the key id (from `keys list`)')
    .option(datastoreFlag, datastoreHelp);
  clientOptions(revoke).action(async (id: string, opts: KeysOptions, cmd: Command) => {
    const done = (): void => void process.stdout.write(opts.json ? `${JSON.stringify({ revoked: id })}\n` : `revoked ${id}\n`);
    if (onServer(opts)) {
      await withApi(cmd, async (api) => {
        await api.call('KeyService', 'RevokeKey', { id });
        done();
      });
      return;
    }
    await withDatastore(opts.datastore, async (ds) => {
      if (!(await ds.access.revokeKey(id))) throw new UsageError(`no active key \`${id}\`: see \`warden keys list\``);
      done();
    });
  });
  const rotate = keys
    .command('rotate')
    .description('replace a key without downtime: a new key (shown once) with the same tenant, scopes and description; the old one keeps working for --grace')
    .addHelpText('after', '\nExample:\n  $ warden keys rotate 3f9c2a7d1b6e --grace 24h --expires-in 90d')
    .argument('<id>', 'the key id (from `keys list`)')
    .option('--grace <duration>', 'how long the old key keeps working: 24h, 30m, 0s', '24h')
    .option('--expires-in <duration>', 'the new key stops working this long after it is made (default: never)')
    .option(datastoreFlag, datastoreHelp);
  clientOptions(rotate).action(async (id: string, opts: KeysOptions & { grace: string; expiresIn?: string }, cmd: Command) => {
    const grace = durationSeconds(opts.grace, '--grace');
    const lifetime = opts.expiresIn ? durationSeconds(opts.expiresIn, '--expires-in') : 0;
    const print = (k: { id: string; tenant: string; scopes: readonly string[] }, token: string, oldEnds: string | null): void => {
      if (opts.json) process.stdout.write(`${JSON.stringify({ id: k.id, tenant: k.tenant, scopes: k.scopes, key: token, replaced: { id, expiresAt: oldEnds } })}\n`);
      else process.stdout.write(`key ${k.id} replaces ${id} (which works until ${oldEnds}):\n${token}\nStore it now: it is not shown again.\n`);
    };
    if (onServer(opts)) {
      await withApi(cmd, async (api) => {
        const r = await api.call('KeyService', 'RotateKey', { id, grace_seconds: String(grace), expires_in_seconds: String(lifetime) });
        print(r.key, r.secret, r.replaced?.expires_at || null);
      });
      return;
    }
    await withDatastore(opts.datastore, async (ds) => {
      const rotated = await rotateKey(ds.access, id, grace * 1000, lifetime * 1000);
      if (!rotated) throw new UsageError(`no live key \`${id}\`: see \`warden keys list\``);
      print(rotated.info, rotated.token, iso(rotated.replaced.expiresAt));
    });
  });
}
