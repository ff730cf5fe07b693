import type { ArrowFunction, CaveatTypeRef } from './ast.js';
import type { SourcePosition } from './position.js';

export type { ArrowFunction, CaveatTypeRef } from './ast.js';

/** A compiled, validated schema. Immutable; arrays keep source order. */
export interface SchemaIR {
  readonly useExpiration: boolean;
  readonly caveats: readonly CaveatIR[];
  readonly definitions: readonly DefinitionIR[];
}

/** An object type and its relations and permissions. */
export interface DefinitionIR {
  readonly kind: 'definition';
  readonly name: string;
  readonly comments: readonly string[];
  readonly members: readonly (RelationIR | PermissionIR)[];
  readonly pos: SourcePosition;
}

/** A relation: stored tuples whose subjects are one of the allowed types. */
export interface RelationIR {
  readonly kind: 'relation';
  readonly name: string;
  readonly comments: readonly string[];
  readonly allowed: readonly AllowedSubjectIR[];
  readonly pos: SourcePosition;
}

/** The relation of a plain subject such as `user:alice`, written `user:alice#...`. */
export const ELLIPSIS = '...';

/**
 * One allowed subject type: `type` (relation `...`), `type#relation`, or `type:*` (wildcard,
 * relation `...`), optionally with a caveat and/or expiration.
 */
export interface AllowedSubjectIR {
  readonly type: string;
  readonly relation: string;
  readonly wildcard: boolean;
  readonly caveat: string | null;
  readonly expiration: boolean;
  readonly pos: SourcePosition;
}

/** A permission: a rewrite expression computed from relations and other permissions. */
export interface PermissionIR {
  readonly kind: 'permission';
  readonly name: string;
  readonly comments: readonly string[];
  readonly rewrite: RewriteIR;
  readonly pos: SourcePosition;
}

/** A permission's expression tree. Unions and intersections are n-ary and flattened. */
export type RewriteIR =
  | { readonly kind: 'computed'; readonly relation: string; readonly pos: SourcePosition }
  | {
      readonly kind: 'arrow';
      readonly tupleset: string;
      readonly computed: string;
      readonly fn: ArrowFunction;
      readonly pos: SourcePosition;
    }
  | { readonly kind: 'union'; readonly children: readonly RewriteIR[]; readonly pos: SourcePosition }
  | { readonly kind: 'intersection'; readonly children: readonly RewriteIR[]; readonly pos: SourcePosition }
  | { readonly kind: 'exclusion'; readonly base: RewriteIR; readonly subtract: RewriteIR; readonly pos: SourcePosition }
  | { readonly kind: 'nil'; readonly pos: SourcePosition };

/** A caveat: named, typed parameters and a CEL expression over them. */
export interface CaveatIR {
  readonly kind: 'caveat';
  readonly name: string;
  readonly comments: readonly string[];
  readonly params: readonly { readonly name: string; readonly type: CaveatTypeRef; readonly pos: SourcePosition }[];
  readonly expression: string;
  readonly expressionPos: SourcePosition;
  readonly pos: SourcePosition;
}

/** Renders a caveat parameter type as written: `list<int>`. */
export function caveatTypeText(t: CaveatTypeRef): string {
  return t.args.length ? `${t.name}<${t.args.map(caveatTypeText).join(', ')}>` : t.name;
}
