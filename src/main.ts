#!/usr/bin/env node
import cluster from 'node:cluster';
import { Command, CommanderError } from 'commander';
import { UsageError } from './cli/api-client.js';
import { isServiceError, paint, serviceErrorLine } from './cli/cli-support.js';
import { WardenError } from './errors/error-code.js';
import { registerAdmin } from './cli/admin-commands.js';
import { registerBench } from './cli/bench-command.js';
import { registerKeys } from './cli/keys-command.js';
import { registerQueries } from './cli/query-commands.js';
import { registerTuples } from './cli/tuple-commands.js';
import { registerMigrate } from './cli/migrate-command.js';
import { registerServe } from './cli/serve-command.js';
import { registerValidate } from './cli/validate-command.js';

/** Builds the `warden` command with every subcommand registered. */
export function buildProgram(): Command {
  const program = new Command('warden')
    .description('Warden: a Zanzibar-style relationship-based authorization engine')
    .version('0.1.0')
    // A subcommand's options are its own (`warden bench dataset --out` is not `warden bench --out`).
    .enablePositionalOptions()
    // A usage mistake is one `warden:` line (the help is a --help away), like every other error.
    .configureOutput({ outputError: (str, write) => write(`${paint('red', 'warden:', process.stderr)} ${str.replace(/^error: /, '').trimEnd()} (see --help)\n`) })
    .exitOverride();
  registerValidate(program);
  registerMigrate(program);
  registerServe(program);
  registerKeys(program);
  registerAdmin(program);
  registerTuples(program);
  registerQueries(program);
  registerBench(program);
  return program;
}

async function main(): Promise<void> {
  // A reader that stops early (`warden tuple export | head`) is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  try {
    // `warden help tuple import` is `warden tuple import --help` (commander's help takes one name).
    const args = process.argv.slice(2);
    const argv = args[0] === 'help' && args.length > 2 ? [...process.argv.slice(0, 2), ...args.slice(1), '--help'] : process.argv;
    await buildProgram().parseAsync(argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; usage errors exit 3 (commander already printed the message).
      process.exitCode = e.exitCode === 0 ? 0 : 3;
      return;
    }
    // One clear line. Bad input found here is a usage error (3); the server, the connection or
    // the datastore failing is 4.
    if (isServiceError(e)) {
      process.stderr.write(`${paint('red', 'warden:', process.stderr)} ${serviceErrorLine(e)}\n`);
      process.exitCode = 4;
      return;
    }
    const message = e instanceof Error ? e.message : String(e);
    process.stderr.write(`${paint('red', 'warden:', process.stderr)} ${message.split('\n').join(' ')}\n`);
    const usage = e instanceof UsageError || (e instanceof WardenError && (e.code === 'INVALID_ARGUMENT' || e.code === 'FAILED_PRECONDITION'));
    process.exitCode = usage ? 3 : 4;
  }
}

await main();
// A serve worker's channel to its primary would keep it alive after a failed start: it is done.
if (cluster.isWorker) process.exit(process.exitCode ?? 0);
