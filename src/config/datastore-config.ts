/** The datastore used when none is named: PGlite persisted in ./warden-data. */
export const DEFAULT_DATASTORE = 'pglite:./warden-data';

/** Where the datastore settings come from: flags first, then WARDEN_* environment, then defaults. */
export interface DatastoreConfig {
  readonly datastore: string;
  readonly readReplicaUrl: string | undefined;
}

/** Resolves the datastore settings from flags and the environment. */
export function datastoreConfig(flags: { datastore?: string; readReplica?: string }, env: NodeJS.ProcessEnv = process.env): DatastoreConfig {
  return Object.freeze({
    datastore: flags.datastore ?? env['WARDEN_DATASTORE'] ?? DEFAULT_DATASTORE,
    readReplicaUrl: flags.readReplica ?? env['WARDEN_READ_REPLICA_URL'] ?? undefined,
  });
}

/** A datastore spec or URL without its password, for printing (in the userinfo or a `password=` parameter). */
export function redactUrl(spec: string): string {
  return spec.replace(/(\/\/[^:/@]*):[^@]*@/, '$1:***@').replace(/([?&]password=)[^&]*/i, '$1***');
}
