import { Command } from 'commander';
import { paint } from './cli-support.js';
import { registerAdmin } from './admin-commands.js';
import { registerBench } from './bench-command.js';
import { registerInit } from './init-command.js';
import { registerKeys } from './keys-command.js';
import { registerQueries } from './query-commands.js';
import { registerTuples } from './tuple-commands.js';
import { registerMigrate } from './migrate-command.js';
import { registerServe } from './serve-command.js';
import { registerValidate } from './validate-command.js';
import { registerSimulations } from './simulate-commands.js';
import { registerAudit } from './audit-command.js';
import { registerToken } from './token-command.js';

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
  registerInit(program);
  registerValidate(program);
  registerMigrate(program);
  registerServe(program);
  registerKeys(program);
  registerAdmin(program);
  registerTuples(program);
  registerQueries(program);
  registerSimulations(program.commands.find((c) => c.name() === 'schema')!, program.commands.find((c) => c.name() === 'tuple')!);
  registerAudit(program);
  registerToken(program);
  registerBench(program);
  return program;
}

/** The arguments commander should parse: `warden help tuple import` is `warden tuple import --help` (commander's help takes one name). */
export function helpArgv(argv: readonly string[]): string[] {
  const args = argv.slice(2);
  return args[0] === 'help' && args.length > 2 ? [...argv.slice(0, 2), ...args.slice(1), '--help'] : [...argv];
}
