/** Shape of a generated benchmark dataset. */
export interface DatasetShape {
  readonly users: number;
  readonly groups: number;
  readonly folders: number;
  readonly documents: number;
  /** Deterministic seed, so two runs measure the same graph. */
  readonly seed: number;
}

/** The schema the generated data fits: nested groups, a folder tree, documents in folders. */
export const BENCH_SCHEMA = `definition user {}

definition group {
  relation member: user | group#member
}

definition folder {
  relation parent: folder
  relation viewer: user | group#member
  relation editor: user | group#member
  permission edit = editor + parent->edit
  permission view = viewer + edit + parent->view
}

definition document {
  relation parent: folder
  relation owner: user
  relation viewer: user | group#member
  relation banned: user
  permission edit = owner + parent->edit
  permission view = (viewer + edit + parent->view) - banned
}`;

/** A small deterministic PRNG (mulberry32). */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Generates relationships in the text syntax: groups nest a few deep, folders form a tree. */
export function generateDataset(shape: DatasetShape): string[] {
  const rnd = random(shape.seed);
  const pick = (n: number): number => Math.floor(rnd() * n);
  const rels: string[] = [];
  for (let g = 0; g < shape.groups; g++) {
    for (let i = 0; i < 8; i++) rels.push(`group:g${g}#member@user:u${pick(shape.users)}`);
    if (g > 0 && rnd() < 0.5) rels.push(`group:g${g}#member@group:g${pick(g)}#member`);
  }
  for (let f = 0; f < shape.folders; f++) {
    if (f > 0) rels.push(`folder:f${f}#parent@folder:f${pick(f)}`);
    rels.push(`folder:f${f}#viewer@group:g${pick(shape.groups)}#member`);
    if (rnd() < 0.3) rels.push(`folder:f${f}#editor@user:u${pick(shape.users)}`);
  }
  for (let d = 0; d < shape.documents; d++) {
    rels.push(`document:d${d}#parent@folder:f${pick(shape.folders)}`);
    rels.push(`document:d${d}#owner@user:u${pick(shape.users)}`);
    if (rnd() < 0.2) rels.push(`document:d${d}#viewer@group:g${pick(shape.groups)}#member`);
    if (rnd() < 0.05) rels.push(`document:d${d}#banned@user:u${pick(shape.users)}`);
  }
  return [...new Set(rels)];
}
