import { fileURLToPath } from 'node:url';

/** Where the shared SpiceDB conformance files live: `../shared/conformance/spicedb` beside the project. */
export function conformanceDir(): string {
  return process.env['WARDEN_CONFORMANCE_DIR'] ?? fileURLToPath(new URL('../../../shared/conformance/spicedb', import.meta.url));
}
