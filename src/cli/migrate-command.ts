import type { Command } from 'commander';
import { datastoreConfig, redactUrl } from '../config/datastore-config.js';

/** Registers `warden migrate`: applies the datastore's schema migrations. */
export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .description('apply the datastore schema migrations (PostgreSQL or PGlite)')
    .option('--datastore <spec>', 'memory | pglite:DIR | postgres://... (default: WARDEN_DATASTORE or pglite:./warden-data)')
    .addHelpText('after', '\nExamples:\n  $ warden migrate --datastore postgres://warden@db:5432/warden\n  $ WARDEN_DATASTORE=pglite:/var/lib/warden warden migrate')
    .option('--json', 'print JSON')
    .action(async (opts: { datastore?: string; json?: boolean }) => {
      const config = datastoreConfig(opts);
      const { openDatastore } = await import('../store/open-datastore.js');
      const ds = await openDatastore(config.datastore);
      try {
        await ds.migrate();
        await ds.assertMigrated();
        const datastore = redactUrl(config.datastore);
        process.stdout.write(opts.json ? `${JSON.stringify({ migrated: true, datastore, id: ds.id })}\n` : `migrated ${datastore} (datastore ${ds.id})\n`);
      } finally {
        await ds.close();
      }
    });
}
