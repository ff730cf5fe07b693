#!/usr/bin/env node
import cluster from 'node:cluster';
import { CommanderError } from 'commander';
import { UsageError } from './cli/connection.js';
import { isServiceError, paint, serviceErrorLine } from './cli/cli-support.js';
import { WardenError } from './errors/error-code.js';
import { buildProgram, helpArgv } from './cli/program.js';

async function main(): Promise<void> {
  // A reader that stops early (`warden tuple export | head`) is not an error.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
      throw e;
    });
  }
  try {
    await buildProgram().parseAsync(helpArgv(process.argv));
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
    // A usage error of several lines (a schema's errors, `file:line:col: message` each) keeps them; others are one line.
    const text = e instanceof UsageError ? message : message.split('\n').join(' ');
    process.stderr.write(`${paint('red', 'warden:', process.stderr)} ${text}\n`);
    const usage = e instanceof UsageError || (e instanceof WardenError && (e.code === 'INVALID_ARGUMENT' || e.code === 'FAILED_PRECONDITION'));
    process.exitCode = usage ? 3 : 4;
  }
}

await main();
// A serve worker's channel to its primary would keep it alive after a failed start: it is done.
if (cluster.isWorker) process.exit(process.exitCode ?? 0);
