import type { PGlite } from '@electric-sql/pglite';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import type { Relationship } from '../../model/relationship.js';

/** Loads relationships into the import staging table under an import id. */
export type StageRows = (importId: string, relationships: readonly Relationship[]) => Promise<void>;

const COLUMNS = 'import_id, resource_type, resource_id, relation, subject_type, subject_id, subject_relation, caveat_name, caveat_context, expires_at';

/** A value in COPY's text format: backslash, tab, newline and carriage return escaped; null as \N. */
function cell(v: string | null): string {
  if (v === null) return '\\N';
  return /[\\\t\n\r]/.test(v) ? v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r') : v;
}

/** One staging row as a line of COPY text. */
export function copyLine(importId: string, r: Relationship): string {
  return [
    importId,
    r.resource.type,
    r.resource.id,
    r.relation,
    r.subject.type,
    r.subject.id,
    r.subject.relation,
    r.caveat?.name ?? null,
    r.caveat?.context ? JSON.stringify(r.caveat.context) : null,
    r.expiresAt ? r.expiresAt.toISOString() : null,
  ]
    .map(cell)
    .join('\t');
}

/**
 * Stages rows with COPY FROM STDIN (pg-copy-streams) on a connection of the pool: one COPY per
 * batch, so no statement runs long, at several times the speed of multi-row INSERTs, which pay for
 * building and parsing thousands of parameters.
 */
export function copyStaging(pool: pg.Pool): StageRows {
  return async (importId, relationships) => {
    const client = await pool.connect();
    let broken: Error | undefined;
    try {
      const stream = client.query(copyFrom(`copy warden_import_staging (${COLUMNS}) from stdin`));
      const done = new Promise<void>((resolve, reject) => {
        stream.on('finish', resolve);
        stream.on('error', reject);
      });
      let chunk = '';
      for (const r of relationships) {
        chunk += `${copyLine(importId, r)}\n`;
        if (chunk.length >= 64 * 1024) {
          if (!stream.write(chunk)) await new Promise((r) => stream.once('drain', r));
          chunk = '';
        }
      }
      stream.end(chunk);
      await done;
    } catch (e) {
      broken = e as Error;
      throw e;
    } finally {
      // A connection whose COPY failed part-way is not handed to anyone else.
      client.release(broken);
    }
  };
}

/**
 * Stages rows in the embedded store with PGlite's COPY from a blob: one COPY per batch, the rows as
 * COPY text, instead of multi-row INSERTs (100k rows: 2.4 s of INSERTs of 200).
 */
export function pgliteStaging(client: PGlite): StageRows {
  return async (importId, relationships) => {
    let text = '';
    for (const r of relationships) text += `${copyLine(importId, r)}\n`;
    await client.query(`copy warden_import_staging (${COLUMNS}) from '/dev/blob'`, [], { blob: new Blob([text]) });
  };
}
