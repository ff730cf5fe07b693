import { emitEach } from './cli-support.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import { UsageError } from './connection.js';
import { datastoreConfig } from '../config/datastore-config.js';
import { createKey, KEY_SCOPES } from '../store/access.js';
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

/** Registers `warden keys create|list|revoke`, which work on the datastore directly (for bootstrapping). */
export function registerKeys(program: Command): void {
  const keys = program.command('keys').description('manage API keys (directly on the datastore, for bootstrapping)');
  const datastoreFlag = '--datastore <spec>';
  const datastoreHelp = 'memory | pglite:DIR | postgres://... (WARDEN_DATASTORE)';
  keys
    .command('create')
    .description('create an API key; the key is shown once')
    .option('--tenant <name>', 'the tenant the key acts for (created if missing)', 'default')
    .option('--scope <scopes>', `comma-separated: ${KEY_SCOPES.join(', ')}`, 'check,read,write,schema')
    .option('--description <text>', 'what the key is for', '')
    .option('--json', 'print JSON')
    .option(datastoreFlag, datastoreHelp)
    .addHelpText('after', '\nExample:\n  $ warden keys create --tenant acme --scope check,read --description "web frontend"')
    .action(async (opts: { tenant: string; scope: string; description: string; json?: boolean; datastore?: string }) => {
      await withDatastore(opts.datastore, async (ds) => {
        if (!(await ds.access.hasTenant(opts.tenant))) await ds.access.createTenant(opts.tenant);
        const { info, token } = await createKey(ds.access, opts.tenant, opts.scope.split(',').map((s) => s.trim()).filter(Boolean), opts.description);
        if (opts.json) process.stdout.write(`${JSON.stringify({ id: info.id, tenant: info.tenant, scopes: info.scopes, key: token })}\n`);
        else process.stdout.write(`key ${info.id} for tenant ${info.tenant} (${info.scopes.join(', ')}):\n${token}\nStore it now: it is not shown again.\n`);
      }, { mayCreate: true });
    });
  keys
    .command('list')
    .description('list API keys (never their secrets)')
    .addHelpText('after', '\nExample:\n  $ warden keys list --tenant acme --json')
    .option('--tenant <name>', 'only this tenant')
    .option('--json', 'print JSON')
    .option(datastoreFlag, datastoreHelp)
    .action(async (opts: { tenant?: string; json?: boolean; datastore?: string }) => {
      await withDatastore(opts.datastore, async (ds) => {
        // One key a line, in text and (with --json) as JSON objects.
        emitEach(opts, await ds.access.listKeys(opts.tenant), (k) => `${k.id}  ${k.tenant}  ${k.scopes.join(',')}  ${k.revokedAt ? `revoked ${k.revokedAt.toISOString()}` : 'active'}  ${k.description}`);
      });
    });
  keys
    .command('revoke')
    .description('revoke an API key by id')
    .addHelpText('after', '\nExample:\n  $ warden keys revoke 3f9c2a7d1b6e')
    .argument('<id>', 'the key id (from `keys list`)')
    .option('--json', 'print JSON')
    .option(datastoreFlag, datastoreHelp)
    .action(async (id: string, opts: { datastore?: string; json?: boolean }) => {
      await withDatastore(opts.datastore, async (ds) => {
        if (!(await ds.access.revokeKey(id))) throw new UsageError(`no active key \`${id}\`: see \`warden keys list\``);
        process.stdout.write(opts.json ? `${JSON.stringify({ revoked: id })}\n` : `revoked ${id}\n`);
      });
    });
}
