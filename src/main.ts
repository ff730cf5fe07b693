#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { WardenError } from './errors/error-code.js';
import { registerKeys } from './cli/keys-command.js';
import { registerMigrate } from './cli/migrate-command.js';
import { registerServe } from './cli/serve-command.js';
import { registerValidate } from './cli/validate-command.js';

/** Builds the `warden` command with every subcommand registered. */
export function buildProgram(): Command {
  const program = new Command('warden')
    .description('Warden: a Zanzibar-style relationship-based authorization engine')
    .version('0.1.0')
    .showHelpAfterError()
    .exitOverride();
  registerValidate(program);
  registerMigrate(program);
  registerServe(program);
  registerKeys(program);
  return program;
}

async function main(): Promise<void> {
  try {
    await buildProgram().parseAsync(process.argv);
  } catch (e) {
    if (e instanceof CommanderError) {
      // Help and version exit 0; usage errors exit 3 (commander already printed the message).
      process.exitCode = e.exitCode === 0 ? 0 : 3;
      return;
    }
    process.stderr.write(`warden: ${e instanceof Error ? e.message : String(e)}\n`);
    // Bad input is a usage error (3); the datastore or server failing is 4.
    process.exitCode = e instanceof WardenError && (e.code === 'INVALID_ARGUMENT' || e.code === 'FAILED_PRECONDITION') ? 3 : 4;
  }
}

await main();
