import { createReadStream, mkdirSync, readFileSync, writeFileSync, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { generate, schemaOf, type DatasetMeta, type ShapeName } from './shapes.js';

/** The files of a dataset directory. */
export const DATASET_FILES = { schema: 'schema.zed', relationships: 'relationships.txt', meta: 'meta.json' } as const;

/** Writes a dataset (schema, one relationship a line, meta) into `dir`; deterministic from the seed. */
export async function writeDataset(dir: string, shape: ShapeName, size: number, seed: number): Promise<DatasetMeta> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, DATASET_FILES.schema), schemaOf(shape));
  const out = createWriteStream(join(dir, DATASET_FILES.relationships));
  const { lines, meta } = generate(shape, size, seed);
  let buffer: string[] = [];
  const flush = async (): Promise<void> => {
    if (!out.write(`${buffer.join('\n')}\n`)) await new Promise<void>((r) => out.once('drain', () => r()));
    buffer = [];
  };
  for (const line of lines) {
    buffer.push(line);
    if (buffer.length >= 10_000) await flush();
  }
  if (buffer.length) await flush();
  await new Promise<void>((resolve, reject) => out.end((e?: Error | null) => (e ? reject(e) : resolve())));
  const done = meta();
  writeFileSync(join(dir, DATASET_FILES.meta), `${JSON.stringify(done, null, 2)}\n`);
  return done;
}

/** A dataset directory's schema and meta. */
export function readDataset(dir: string): { schema: string; meta: DatasetMeta; relationships: string } {
  return {
    schema: readFileSync(join(dir, DATASET_FILES.schema), 'utf8'),
    meta: JSON.parse(readFileSync(join(dir, DATASET_FILES.meta), 'utf8')) as DatasetMeta,
    relationships: join(dir, DATASET_FILES.relationships),
  };
}

/** The relationship lines of a dataset file, in chunks, with bounded memory. */
export async function* relationshipChunks(file: string, size: number): AsyncGenerator<string[]> {
  let chunk: string[] = [];
  for await (const line of createInterface({ input: createReadStream(file), crlfDelay: Infinity })) {
    if (!line) continue;
    chunk.push(line);
    if (chunk.length >= size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length) yield chunk;
}
