import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';
import type { ServeConfig } from '../config/serve-config.js';

export type { Logger } from 'pino';

/**
 * Fields that may hold a secret, at the top level or one object down: API keys and tokens,
 * authorization metadata, passwords, and caveat context (its values are the caller's data).
 * Whatever a caller passes under these names is written as `[redacted]`.
 */
export const REDACTED_PATHS = ['key', 'token', 'authorization', 'password', 'context', 'caveatContext', '*.key', '*.token', '*.authorization', '*.password', '*.context', '*.caveatContext'];

/** An API key's shape (`wdn_` then the secret): never written, whatever field it hides in. */
const KEY_PATTERN = /wdn_[A-Za-z0-9_-]{8,}/g;

/**
 * The server's logger: pino, JSON lines on stderr (`level` as a name, `time` as ISO 8601), or
 * readable lines when `format` is pretty (auto: when stderr is a terminal). Secrets are
 * redacted by field name, and anything shaped like an API key is masked in every line.
 */
export function createLogger(options: Pick<ServeConfig, 'logLevel' | 'logFormat'>, destination?: DestinationStream): Logger {
  const pretty = options.logFormat === 'pretty' || (options.logFormat === 'auto' && !destination && process.stderr.isTTY === true);
  const out = destination ?? (pretty ? prettyStream() : pino.destination({ fd: 2, sync: true }));
  return pino(
    {
      level: options.logLevel,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      hooks: {
        // Messages and error strings are free text: a key pasted into one is masked too.
        streamWrite: (line) => (line.includes('wdn_') ? line.replace(KEY_PATTERN, 'wdn_[redacted]') : line),
      },
    },
    out,
  );
}

function prettyStream(): DestinationStream {
  // pino-pretty as a plain stream in this thread (no worker thread, nothing lost on exit), loaded
  // only for a terminal.
  return requirePretty()({ destination: 2, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' });
}

function requirePretty(): (o: Record<string, unknown>) => DestinationStream {
  const mod = createRequire(import.meta.url)('pino-pretty') as unknown;
  return (typeof mod === 'function' ? mod : (mod as { default: unknown }).default) as (o: Record<string, unknown>) => DestinationStream;
}

/** A logger that writes nothing (tests, and servers embedded without one). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
