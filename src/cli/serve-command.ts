import { Option, type Command } from 'commander';
import { ConfigError, printableConfig, serveConfig, SERVE_SETTINGS } from '../config/serve-config.js';
import { UsageError } from './connection.js';

/** Registers `warden serve`: its flags are the settings of `config/serve-config.ts`, each with its `WARDEN_*` variable. */
export function registerServe(program: Command): void {
  const cmd = program.command('serve').description('serve the gRPC API');
  for (const s of SERVE_SETTINGS) {
    // Values are parsed and checked by serveConfig, flags and environment alike, so both give the same errors.
    cmd.addOption(new Option(s.flag, `${s.help} (${s.env.join(', ')}; default: ${s.defaultText})`));
  }
  cmd
    .option('--print-config', 'print the effective configuration (secrets redacted) as JSON, with where each value came from, and exit')
    .addHelpText(
      'after',
      '\nLogs go to stderr: JSON lines, or readable lines on a terminal (--log-format).\n\nExamples:\n  $ warden serve --testing --address 127.0.0.1:50051\n  $ warden serve --insecure-no-auth\n  $ warden serve --datastore postgres://warden@db/warden --tls-cert cert.pem --tls-key key.pem --metrics-address 0.0.0.0:9090',
    )
    .action(async (opts: Record<string, unknown>) => {
      let resolved;
      try {
        resolved = serveConfig(opts);
      } catch (e) {
        if (e instanceof ConfigError) throw new UsageError(e.message);
        throw e;
      }
      if (opts['printConfig']) {
        process.stdout.write(`${JSON.stringify(printableConfig(resolved.config, resolved.sources), null, 2)}\n`);
        return;
      }
      // Everything a server needs is loaded here, not when any other `warden` command starts.
      await (await import('./serve-run.js')).runServe(resolved.config);
    });
}
