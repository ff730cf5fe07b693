import { random } from './dataset.js';

/** The dataset shapes `warden bench dataset` generates. */
export type ShapeName = 'org' | 'deep';

/** Facts about a generated dataset that scenarios pick their questions from. */
export interface DatasetMeta {
  readonly shape: ShapeName;
  readonly size: number;
  readonly seed: number;
  readonly relationships: number;
  /** How many objects of each type the data names, ids `<prefix><n>`. */
  readonly counts: Readonly<Record<string, number>>;
  /** The type checks ask about, its permission, and the subject type. */
  readonly checkType: string;
  readonly checkPermission: string;
  /** A subject that sees many resources (ListObjects), and a resource many subjects see (ListSubjects, Expand). */
  readonly wideSubject: string;
  readonly wideResource: string;
}

/** The org shape: users in nested groups, orgs of Zipf-skewed size, accounts, resources. */
export const ORG_SCHEMA = `caveat within_hours(hour int, start int, finish int) {
  hour >= start && hour < finish
}

definition user {}

definition group {
  relation member: user | group#member
}

definition org {
  relation admin: user | group#member
  relation member: user | group#member
  permission manage = admin
  permission view = member + manage
}

definition account {
  relation owner: user
  relation parent: org
  relation banned: user
  permission manage = owner + parent->manage
  permission view = (manage + parent->view) - banned
}

definition resource {
  relation parent: account
  relation viewer: user | user:* | group#member | user with within_hours
  relation editor: user | group#member
  permission edit = editor + parent->manage
  permission view = viewer + edit + parent->view
}
`;

/** The deep shape: folder trees 8 to 12 levels deep, documents in them. */
export const DEEP_SCHEMA = `definition user {}

definition group {
  relation member: user | group#member
}

definition folder {
  relation parent: folder
  relation viewer: user | group#member
  permission view = viewer + parent->view
}

definition document {
  relation parent: folder
  relation viewer: user
  permission view = viewer + parent->view
}
`;

/** `100k`, `1m`, `10m` or a plain number. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(text.trim());
  if (!m) throw new Error(`--size must be like 100k, 1m or 10m, not \`${text}\``);
  const n = Number(m[1]) * (m[2]!.toLowerCase() === 'k' ? 1e3 : m[2]!.toLowerCase() === 'm' ? 1e6 : 1);
  if (!Number.isInteger(n) || n < 100) throw new Error(`--size must be a whole number of at least 100, not \`${text}\``);
  return n;
}

/** Samples ranks 0..n-1 with probability proportional to 1/(rank+1)^s. */
export function zipf(n: number, s: number, rnd: () => number): () => number {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let i = 0; i < n; i++) cdf[i] = sum += 1 / Math.pow(i + 1, s);
  return () => {
    const x = rnd() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cdf[mid]! < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
}

/** The schema of a shape. */
export function schemaOf(shape: ShapeName): string {
  return shape === 'org' ? ORG_SCHEMA : DEEP_SCHEMA;
}

/**
 * Generates a dataset of about `size` relationships, deterministically from `seed`, as
 * relationship lines; `meta()` is complete once the lines are consumed.
 */
export function generate(shape: ShapeName, size: number, seed: number): { lines: Generator<string>; meta: () => DatasetMeta } {
  let result: DatasetMeta | null = null;
  const lines = shape === 'org' ? org(size, seed, (m) => (result = m)) : deep(size, seed, (m) => (result = m));
  return {
    lines,
    meta: () => {
      if (!result) throw new Error('the dataset has not been generated yet');
      return result;
    },
  };
}

function* org(size: number, seed: number, done: (m: DatasetMeta) => void): Generator<string> {
  const rnd = random(seed);
  const pick = (n: number): number => Math.floor(rnd() * n);
  const users = Math.max(50, Math.floor(size / 20));
  const groups = Math.max(5, Math.floor(size / 200));
  const orgs = Math.max(3, Math.floor(size / 2000));
  const accounts = Math.max(10, Math.floor(size / 40));
  const orgOfAccount = zipf(orgs, 1.2, rnd);
  const accountOfResource = zipf(accounts, 1.0, rnd);
  let n = 0;
  // Groups: about eight members each, a third nested in an earlier group.
  for (let g = 0; g < groups; g++) {
    const members = new Set<number>();
    for (let i = 0; i < 8; i++) members.add(pick(users));
    for (const u of members) (n++, yield `group:g${g}#member@user:u${u}`);
    if (g > 0 && rnd() < 0.33) (n++, yield `group:g${g}#member@group:g${pick(g)}#member`);
  }
  // Orgs: two admins and an admin group; member groups, more for the larger (lower-ranked) orgs.
  let wideSubject = '';
  for (let o = 0; o < orgs; o++) {
    const admin = pick(users);
    if (o === 0) wideSubject = `user:u${admin}`;
    (n++, yield `org:o${o}#admin@user:u${admin}`);
    (n++, yield `org:o${o}#admin@group:g${pick(groups)}#member`);
    const memberGroups = new Set<number>();
    for (let i = 0; i < Math.max(1, Math.ceil(20 / (o + 1))); i++) memberGroups.add(pick(groups));
    for (const g of memberGroups) (n++, yield `org:o${o}#member@group:g${g}#member`);
  }
  // Accounts: an owner, a parent org (Zipf: a few huge orgs, many small), sometimes a ban.
  // Account ids are assigned in order of org rank, so low account ids belong to the large orgs.
  const byOrg: number[][] = Array.from({ length: orgs }, () => []);
  for (let a = 0; a < accounts; a++) byOrg[orgOfAccount()]!.push(a);
  let id = 0;
  for (let o = 0; o < orgs; o++) {
    for (let k = 0; k < byOrg[o]!.length; k++) {
      const a = id++;
      (n++, yield `account:a${a}#parent@org:o${o}`);
      (n++, yield `account:a${a}#owner@user:u${pick(users)}`);
      if (rnd() < 0.05) (n++, yield `account:a${a}#banned@user:u${pick(users)}`);
    }
  }
  // Resources until the size is reached: a parent account (Zipf), viewers and editors.
  let r = 0;
  for (; n < size; r++) {
    (n++, yield `resource:r${r}#parent@account:a${accountOfResource()}`);
    const x = rnd();
    const editor = rnd() < 0.2;
    if (n < size && x < 0.56) {
      n++;
      if (x < 0.4) yield `resource:r${r}#viewer@user:u${pick(users)}`;
      else if (x < 0.5) yield `resource:r${r}#viewer@group:g${pick(groups)}#member`;
      else if (x < 0.51) yield `resource:r${r}#viewer@user:*`;
      else yield `resource:r${r}#viewer@user:u${pick(users)}[within_hours:{"start":9,"finish":17}]`;
    }
    if (n < size && editor) (n++, yield `resource:r${r}#editor@user:u${pick(users)}`);
  }
  done({
    shape: 'org',
    size,
    seed,
    relationships: n,
    counts: { user: users, group: groups, org: orgs, account: accounts, resource: r },
    checkType: 'resource',
    checkPermission: 'view',
    // The first admin of the largest org sees every resource of its accounts.
    wideSubject,
    wideResource: 'resource:r0',
  });
}

function* deep(size: number, seed: number, done: (m: DatasetMeta) => void): Generator<string> {
  const rnd = random(seed);
  const pick = (n: number): number => Math.floor(rnd() * n);
  const users = Math.max(50, Math.floor(size / 20));
  const groups = Math.max(5, Math.floor(size / 200));
  let n = 0;
  const firstMember: number[] = [];
  for (let g = 0; g < groups; g++) {
    const members = new Set<number>();
    for (let i = 0; i < 6; i++) members.add(pick(users));
    firstMember[g] = [...members][0]!;
    for (const u of members) (n++, yield `group:g${g}#member@user:u${u}`);
    if (g > 0 && rnd() < 0.25) (n++, yield `group:g${g}#member@group:g${pick(g)}#member`);
  }
  // Trees: a spine 8 to 12 folders deep, then folders hung anywhere above the spine's depth.
  const folderBudget = Math.floor(size / 6);
  let folders = 0;
  const depthOf: number[] = [];
  const deepest: number[] = [];
  while (folders < folderBudget) {
    const depth = 8 + pick(5);
    const root = folders;
    const tree: number[] = [];
    for (let d = 0; d < depth; d++) {
      const f = folders++;
      depthOf[f] = d;
      tree.push(f);
      if (d > 0) (n++, yield `folder:f${f}#parent@folder:f${f - 1}`);
    }
    deepest.push(folders - 1);
    const viewers = root === 0 ? 0 : pick(groups);
    (n++, yield `folder:f${root}#viewer@group:g${viewers}#member`);
    for (let i = 0; i < 40 && folders < folderBudget; i++) {
      const parent = tree[pick(tree.length)]!;
      if (depthOf[parent]! >= depth - 1) continue;
      const f = folders++;
      depthOf[f] = depthOf[parent]! + 1;
      tree.push(f);
      (n++, yield `folder:f${f}#parent@folder:f${parent}`);
      if (rnd() < 0.1) (n++, yield `folder:f${f}#viewer@user:u${pick(users)}`);
    }
  }
  // Documents, mostly in the deepest folders, until the size is reached.
  let d = 0;
  for (; n < size; d++) {
    const f = rnd() < 0.7 ? deepest[pick(deepest.length)]! : pick(folders);
    (n++, yield `document:d${d}#parent@folder:f${f}`);
    if (rnd() < 0.1 && n < size) (n++, yield `document:d${d}#viewer@user:u${pick(users)}`);
  }
  done({
    shape: 'deep',
    size,
    seed,
    relationships: n,
    counts: { user: users, group: groups, folder: folders, document: d },
    checkType: 'document',
    checkPermission: 'view',
    // A member of the group that views the first tree (and whichever others drew it).
    wideSubject: `user:u${firstMember[0]}`,
    wideResource: 'document:d0',
  });
}
