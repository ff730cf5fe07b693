import { SchemaError, diagnosticAt, type SourcePosition } from './position.js';

/** The kinds of token the schema language is made of. */
export type TokenKind = 'ident' | 'punct' | 'number' | 'eof';

/** One token with the comments that stood directly before it. */
export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly pos: SourcePosition;
  /** Comments (`//`, `/* *\/`, `/** *\/`) between the previous token and this one, verbatim. */
  readonly comments: readonly string[];
}

const PUNCT2 = ['->', '=='] as const;
const PUNCT1 = new Set(['{', '}', '(', ')', ':', '|', '#', '*', '+', '&', '-', '.', ',', '=', '<', '>', '/']);

/**
 * Lexer is an on-demand scanner over schema text. Tokens are produced one at a time so that the
 * parser can switch to raw mode for caveat bodies, which are CEL, not schema language.
 */
export class Lexer {
  readonly #src: string;
  #offset = 0;
  #line = 1;
  #column = 1;
  #peeked: Token | undefined;

  constructor(source: string) {
    this.#src = source;
  }

  /** Returns the next token without consuming it. */
  peek(): Token {
    this.#peeked ??= this.#scan();
    return this.#peeked;
  }

  /** Consumes and returns the next token. */
  next(): Token {
    const t = this.peek();
    this.#peeked = undefined;
    return t;
  }

  /**
   * Reads raw text up to the `}` that closes an already consumed `{`, honouring nested braces
   * and quoted strings, and consumes that `}`. Used for caveat bodies.
   */
  readRawBlock(open: SourcePosition): { text: string; pos: SourcePosition } {
    if (this.#peeked) throw new Error('readRawBlock called with a peeked token');
    const start = this.#here();
    let depth = 0;
    const from = this.#offset;
    while (this.#offset < this.#src.length) {
      const c = this.#src[this.#offset]!;
      if (c === '"' || c === "'") {
        this.#skipString(c);
        continue;
      }
      if (c === '{') depth++;
      if (c === '}') {
        if (depth === 0) {
          const text = this.#src.slice(from, this.#offset);
          this.#advance(1);
          return { text, pos: start };
        }
        depth--;
      }
      this.#advance(1);
    }
    throw new SchemaError([diagnosticAt(open, 'unterminated caveat body: expected `}`')]);
  }

  #here(): SourcePosition {
    return { line: this.#line, column: this.#column, offset: this.#offset };
  }

  #advance(n: number): void {
    for (let i = 0; i < n; i++) {
      if (this.#src[this.#offset] === '\n') {
        this.#line++;
        this.#column = 1;
      } else {
        this.#column++;
      }
      this.#offset++;
    }
  }

  #skipString(quote: string): void {
    const start = this.#here();
    this.#advance(1);
    while (this.#offset < this.#src.length) {
      const c = this.#src[this.#offset];
      if (c === '\\') {
        this.#advance(2);
        continue;
      }
      this.#advance(1);
      if (c === quote) return;
    }
    throw new SchemaError([diagnosticAt(start, 'unterminated string')]);
  }

  #scan(): Token {
    const comments: string[] = [];
    const src = this.#src;
    for (;;) {
      const c = src[this.#offset];
      if (c === undefined) break;
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') {
        this.#advance(1);
      } else if (c === '/' && src[this.#offset + 1] === '/') {
        const end = src.indexOf('\n', this.#offset);
        const stop = end < 0 ? src.length : end;
        comments.push(src.slice(this.#offset, stop).trimEnd());
        this.#advance(stop - this.#offset);
      } else if (c === '/' && src[this.#offset + 1] === '*') {
        const start = this.#here();
        const end = src.indexOf('*/', this.#offset + 2);
        if (end < 0) throw new SchemaError([diagnosticAt(start, 'unterminated comment: expected `*/`')]);
        comments.push(src.slice(this.#offset, end + 2));
        this.#advance(end + 2 - this.#offset);
      } else {
        break;
      }
    }
    const pos = this.#here();
    const c = src[this.#offset];
    if (c === undefined) return { kind: 'eof', text: '', pos, comments };
    if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z0-9_]+/.exec(src.slice(this.#offset, this.#offset + 256))!;
      let len = m[0].length;
      while (/[A-Za-z0-9_]/.test(src[this.#offset + len] ?? '')) len++;
      const text = src.slice(this.#offset, this.#offset + len);
      this.#advance(len);
      return { kind: 'ident', text, pos, comments };
    }
    if (/[0-9]/.test(c)) {
      let len = 1;
      while (/[0-9]/.test(src[this.#offset + len] ?? '')) len++;
      const text = src.slice(this.#offset, this.#offset + len);
      this.#advance(len);
      return { kind: 'number', text, pos, comments };
    }
    for (const p of PUNCT2) {
      if (src.startsWith(p, this.#offset)) {
        this.#advance(p.length);
        return { kind: 'punct', text: p, pos, comments };
      }
    }
    if (src.startsWith('...', this.#offset)) {
      this.#advance(3);
      return { kind: 'punct', text: '...', pos, comments };
    }
    if (PUNCT1.has(c)) {
      this.#advance(1);
      return { kind: 'punct', text: c, pos, comments };
    }
    throw new SchemaError([diagnosticAt(pos, `unexpected character ${JSON.stringify(c)}`)]);
  }
}
