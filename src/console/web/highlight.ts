const KEYWORDS = new Set(['definition', 'relation', 'permission', 'caveat', 'use', 'with', 'nil', 'expiration', 'and', 'any', 'all']);
const TOKEN = /(\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$))|("(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?)|([A-Za-z_][A-Za-z0-9_/]*)|(->|[+&|\-#:*=.(){}<>,!]+)|(\d+(?:\.\d+)?)/g;

/** Schema text as HTML-safe spans for the editor's highlighting layer (keywords, names, operators, comments, strings). */
export function highlightSchema(text: string): DocumentFragment {
  const frag = document.createDocumentFragment();
  let last = 0;
  let prevWord = '';
  for (const m of text.matchAll(TOKEN)) {
    const at = m.index ?? 0;
    if (at > last) frag.append(text.slice(last, at));
    let cls: string;
    if (m[1]) cls = 'tok-comment';
    else if (m[2]) cls = 'tok-string';
    else if (m[3]) {
      cls = KEYWORDS.has(m[3]) ? 'tok-keyword' : prevWord === 'definition' || prevWord === 'caveat' ? 'tok-type' : prevWord === 'relation' || prevWord === 'permission' ? 'tok-name' : 'tok-ident';
      prevWord = m[3];
    } else if (m[4]) cls = 'tok-op';
    else cls = 'tok-number';
    const span = document.createElement('span');
    span.className = cls;
    span.textContent = m[0];
    frag.append(span);
    last = at + m[0].length;
  }
  if (last < text.length) frag.append(text.slice(last));
  // A trailing newline needs a character after it to take up its line in the layer.
  frag.append('\n');
  return frag;
}

/** A line diff (longest common subsequence): each line kept (' '), removed ('-') or added ('+'). */
export function lineDiff(before: string, after: string): { op: ' ' | '-' | '+'; line: string }[] {
  const a = before.replace(/\n$/, '').split('\n');
  const b = after.replace(/\n$/, '').split('\n');
  // Long texts: a plain replacement, to keep the table small (schemas are short).
  if (a.length * b.length > 4_000_000) return [...a.map((line) => ({ op: '-' as const, line })), ...b.map((line) => ({ op: '+' as const, line }))];
  const n = a.length;
  const m = b.length;
  const lcs: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: { op: ' ' | '-' | '+'; line: string }[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) (out.push({ op: ' ', line: a[i]! }), i++, j++);
    else if (lcs[i + 1]![j]! >= lcs[i]![j + 1]!) out.push({ op: '-', line: a[i++]! });
    else out.push({ op: '+', line: b[j++]! });
  }
  while (i < n) out.push({ op: '-', line: a[i++]! });
  while (j < m) out.push({ op: '+', line: b[j++]! });
  return out;
}
