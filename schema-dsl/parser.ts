import type {
  AllowedTypeAst,
  CaveatAst,
  CaveatParamAst,
  CaveatTypeRef,
  DefinitionAst,
  ExprAst,
  PermissionAst,
  RelationAst,
  SchemaAst,
  TopLevelAst,
} from './ast.js';
import { Lexer, type Token } from './lexer.js';
import { SchemaError, diagnosticAt, type SourcePosition } from './position.js';

/** The deepest expression nesting the parser accepts, so hostile input cannot exhaust the stack. */
export const MAX_EXPRESSION_DEPTH = 100;

/**
 * The most operators (`+`, `&`, `-`) one permission's expression may have. Every later pass
 * walks the expression tree recursively, and a chain of 100,000 terms is as deep as it is long.
 */
export const MAX_EXPRESSION_OPERATORS = 1000;

/** Parses schema text into an AST; throws SchemaError with line:column on the first syntax error. */
export function parseSchema(source: string): SchemaAst {
  return new Parser(source).parseSchema();
}

class Parser {
  readonly #lx: Lexer;
  #depth = 0;
  #operators = 0;
  #permissionName = '';

  constructor(source: string) {
    this.#lx = new Lexer(source);
  }

  parseSchema(): SchemaAst {
    const items: TopLevelAst[] = [];
    for (;;) {
      const t = this.#lx.peek();
      if (t.kind === 'eof') break;
      if (t.kind === 'ident' && t.text === 'definition') items.push(this.#definition());
      else if (t.kind === 'ident' && t.text === 'caveat') items.push(this.#caveat());
      else if (t.kind === 'ident' && t.text === 'use') {
        this.#lx.next();
        const f = this.#expectIdent('a feature name after `use`');
        items.push({ kind: 'use', feature: f.text, pos: t.pos, comments: t.comments });
      } else this.#fail(t, 'expected `definition`, `caveat` or `use`');
    }
    return { kind: 'schema', items };
  }

  #fail(t: Token, expected: string): never {
    const found = t.kind === 'eof' ? 'end of input' : `\`${t.text}\``;
    throw new SchemaError([diagnosticAt(t.pos, `${expected}, found ${found}`)]);
  }

  #expectIdent(what: string): Token {
    const t = this.#lx.next();
    if (t.kind !== 'ident') this.#fail(t, `expected ${what}`);
    return t;
  }

  #expectPunct(p: string): Token {
    const t = this.#lx.next();
    if (t.kind !== 'punct' || t.text !== p) this.#fail(t, `expected \`${p}\``);
    return t;
  }

  #isPunct(p: string): boolean {
    const t = this.#lx.peek();
    return t.kind === 'punct' && t.text === p;
  }

  /** A possibly prefixed name: `a/b/c`. */
  #path(what: string): { text: string; pos: SourcePosition } {
    const first = this.#expectIdent(what);
    let text = first.text;
    while (this.#isPunct('/')) {
      this.#lx.next();
      text += '/' + this.#expectIdent(`${what} segment after \`/\``).text;
    }
    return { text, pos: first.pos };
  }

  #definition(): DefinitionAst {
    const kw = this.#lx.next();
    const name = this.#path('a definition name');
    this.#expectPunct('{');
    const members: (RelationAst | PermissionAst)[] = [];
    for (;;) {
      const t = this.#lx.peek();
      if (t.kind === 'punct' && t.text === '}') {
        this.#lx.next();
        break;
      }
      if (t.kind === 'ident' && t.text === 'relation') members.push(this.#relation());
      else if (t.kind === 'ident' && t.text === 'permission') members.push(this.#permission());
      else this.#fail(t, 'expected `relation`, `permission` or `}`');
    }
    return { kind: 'definition', name: name.text, pos: name.pos, comments: kw.comments, members };
  }

  #relation(): RelationAst {
    const kw = this.#lx.next();
    const name = this.#expectIdent('a relation name');
    const allowed: AllowedTypeAst[] = [];
    if (this.#isPunct(':')) {
      this.#lx.next();
      allowed.push(this.#allowedType());
      while (this.#isPunct('|')) {
        this.#lx.next();
        allowed.push(this.#allowedType());
      }
    }
    return { kind: 'relation', name: name.text, pos: name.pos, comments: kw.comments, allowed };
  }

  #allowedType(): AllowedTypeAst {
    const type = this.#path('a subject type');
    let relation: string | undefined;
    let wildcard = false;
    if (this.#isPunct('#')) {
      this.#lx.next();
      const t = this.#lx.next();
      if (t.kind === 'ident' || (t.kind === 'punct' && t.text === '...')) relation = t.text;
      else this.#fail(t, 'expected a relation name or `...` after `#`');
    } else if (this.#isPunct(':')) {
      this.#lx.next();
      this.#expectPunct('*');
      wildcard = true;
    }
    let caveat: string | undefined;
    let expiration = false;
    const w = this.#lx.peek();
    if (w.kind === 'ident' && w.text === 'with') {
      this.#lx.next();
      const first = this.#path('a caveat name or `expiration` after `with`');
      if (first.text === 'expiration') expiration = true;
      else {
        caveat = first.text;
        const a = this.#lx.peek();
        if (a.kind === 'ident' && a.text === 'and') {
          this.#lx.next();
          const e = this.#expectIdent('`expiration` after `and`');
          if (e.text !== 'expiration') this.#fail(e, 'expected `expiration` after `and`');
          expiration = true;
        }
      }
    }
    return {
      type: type.text,
      ...(relation !== undefined ? { relation } : {}),
      wildcard,
      ...(caveat !== undefined ? { caveat } : {}),
      expiration,
      pos: type.pos,
    };
  }

  #permission(): PermissionAst {
    const kw = this.#lx.next();
    const name = this.#expectIdent('a permission name');
    this.#expectPunct('=');
    this.#operators = 0;
    this.#permissionName = name.text;
    const expr = this.#expr();
    return { kind: 'permission', name: name.text, pos: name.pos, comments: kw.comments, expr };
  }

  // Precedence, lowest first: `-`, `&`, `+`, then arrows and atoms. All left-associative.
  #expr(): ExprAst {
    return this.#binary(0);
  }

  #binary(level: number): ExprAst {
    const ops: readonly { p: string; kind: 'exclusion' | 'intersection' | 'union' }[] = [
      { p: '-', kind: 'exclusion' },
      { p: '&', kind: 'intersection' },
      { p: '+', kind: 'union' },
    ];
    const op = ops[level];
    if (!op) return this.#atom();
    let left = this.#binary(level + 1);
    while (this.#isPunct(op.p)) {
      const t = this.#lx.next();
      if (++this.#operators > MAX_EXPRESSION_OPERATORS) {
        throw new SchemaError([diagnosticAt(t.pos, `permission \`${this.#permissionName}\` has more than ${MAX_EXPRESSION_OPERATORS} operators: split it into several permissions`)]);
      }
      const right = this.#binary(level + 1);
      left = { kind: op.kind, left, right, pos: t.pos };
    }
    return left;
  }

  #atom(): ExprAst {
    const t = this.#lx.peek();
    if (t.kind === 'punct' && t.text === '(') {
      this.#lx.next();
      if (++this.#depth > MAX_EXPRESSION_DEPTH) {
        throw new SchemaError([diagnosticAt(t.pos, `expression nested deeper than ${MAX_EXPRESSION_DEPTH}`)]);
      }
      const e = this.#expr();
      this.#depth--;
      this.#expectPunct(')');
      return e;
    }
    const id = this.#expectIdent('a relation, permission, `nil` or `(`');
    if (id.text === 'nil') return { kind: 'nil', pos: id.pos };
    if (this.#isPunct('->')) {
      this.#lx.next();
      const target = this.#expectIdent('a relation or permission name after `->`');
      this.#noChainedArrow();
      return { kind: 'arrow', tupleset: id.text, target: target.text, fn: 'arrow', pos: id.pos, targetPos: target.pos };
    }
    if (this.#isPunct('.')) {
      this.#lx.next();
      const fn = this.#expectIdent('`any` or `all` after `.`');
      if (fn.text !== 'any' && fn.text !== 'all') this.#fail(fn, 'expected `any` or `all` after `.`');
      this.#expectPunct('(');
      const target = this.#expectIdent('a relation or permission name');
      this.#expectPunct(')');
      this.#noChainedArrow();
      return { kind: 'arrow', tupleset: id.text, target: target.text, fn: fn.text, pos: id.pos, targetPos: target.pos };
    }
    return { kind: 'ref', name: id.text, pos: id.pos };
  }

  #noChainedArrow(): void {
    const t = this.#lx.peek();
    if (t.kind === 'punct' && (t.text === '->' || t.text === '.')) {
      throw new SchemaError([
        diagnosticAt(t.pos, 'nested arrows are not supported: point the arrow at a permission that holds the rest'),
      ]);
    }
  }

  #caveat(): CaveatAst {
    const kw = this.#lx.next();
    const name = this.#path('a caveat name');
    this.#expectPunct('(');
    const params: CaveatParamAst[] = [];
    if (!this.#isPunct(')')) {
      for (;;) {
        const p = this.#expectIdent('a parameter name');
        const type = this.#caveatType();
        params.push({ name: p.text, type, pos: p.pos });
        if (!this.#isPunct(',')) break;
        this.#lx.next();
      }
    }
    this.#expectPunct(')');
    const open = this.#expectPunct('{');
    const body = this.#lx.readRawBlock(open.pos);
    const lead = body.text.length - body.text.trimStart().length;
    const expression = body.text.trim();
    const expressionPos = advancePosition(body.pos, body.text.slice(0, lead));
    return { kind: 'caveat', name: name.text, pos: name.pos, comments: kw.comments, params, expression, expressionPos };
  }

  #caveatType(): CaveatTypeRef {
    const n = this.#expectIdent('a parameter type');
    const args: CaveatTypeRef[] = [];
    if (this.#isPunct('<')) {
      this.#lx.next();
      args.push(this.#caveatType());
      while (this.#isPunct(',')) {
        this.#lx.next();
        args.push(this.#caveatType());
      }
      this.#expectPunct('>');
    }
    return { name: n.text, args };
  }
}

function advancePosition(pos: SourcePosition, text: string): SourcePosition {
  let { line, column } = pos;
  for (const ch of text) {
    if (ch === '\n') {
      line++;
      column = 1;
    } else column++;
  }
  return { line, column, offset: pos.offset + text.length };
}
