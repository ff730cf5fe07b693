import type { SourcePosition } from './position.js';

/** The parsed, not yet validated, form of a schema: top-level items in source order. */
export interface SchemaAst {
  readonly kind: 'schema';
  readonly items: readonly TopLevelAst[];
}

/** A top-level item of a schema file. */
export type TopLevelAst = DefinitionAst | CaveatAst | UseAst;

/** `use FEATURE`, e.g. `use expiration`. */
export interface UseAst {
  readonly kind: 'use';
  readonly feature: string;
  readonly pos: SourcePosition;
  readonly comments: readonly string[];
}

/** `definition name { ... }`. */
export interface DefinitionAst {
  readonly kind: 'definition';
  readonly name: string;
  readonly pos: SourcePosition;
  readonly comments: readonly string[];
  readonly members: readonly (RelationAst | PermissionAst)[];
}

/** `relation name: T | T#rel | T:* | T with caveat and expiration`. */
export interface RelationAst {
  readonly kind: 'relation';
  readonly name: string;
  readonly pos: SourcePosition;
  readonly comments: readonly string[];
  readonly allowed: readonly AllowedTypeAst[];
}

/** One allowed subject type of a relation. */
export interface AllowedTypeAst {
  readonly type: string;
  /** `rel` for `T#rel`, `...` for `T#...`, absent for a plain `T` or `T:*`. */
  readonly relation?: string;
  readonly wildcard: boolean;
  readonly caveat?: string;
  readonly expiration: boolean;
  readonly pos: SourcePosition;
}

/** `permission name = expr`. */
export interface PermissionAst {
  readonly kind: 'permission';
  readonly name: string;
  readonly pos: SourcePosition;
  readonly comments: readonly string[];
  readonly expr: ExprAst;
}

/** A permission expression as written, binary operators left-nested. */
export type ExprAst =
  | { readonly kind: 'ref'; readonly name: string; readonly pos: SourcePosition }
  | { readonly kind: 'nil'; readonly pos: SourcePosition }
  | {
      readonly kind: 'arrow';
      readonly tupleset: string;
      readonly target: string;
      readonly fn: ArrowFunction;
      readonly pos: SourcePosition;
      readonly targetPos: SourcePosition;
    }
  | {
      readonly kind: 'union' | 'intersection' | 'exclusion';
      readonly left: ExprAst;
      readonly right: ExprAst;
      readonly pos: SourcePosition;
    };

/** How an arrow combines the subjects it walks to: `->` and `.any()` need one, `.all()` needs all. */
export type ArrowFunction = 'arrow' | 'any' | 'all';

/** `caveat name(param type, ...) { CEL }`. */
export interface CaveatAst {
  readonly kind: 'caveat';
  readonly name: string;
  readonly pos: SourcePosition;
  readonly comments: readonly string[];
  readonly params: readonly CaveatParamAst[];
  readonly expression: string;
  readonly expressionPos: SourcePosition;
}

/** One caveat parameter and its declared type. */
export interface CaveatParamAst {
  readonly name: string;
  readonly type: CaveatTypeRef;
  readonly pos: SourcePosition;
}

/** A caveat parameter type such as `int`, `list<string>` or `map<list<int>>`. */
export interface CaveatTypeRef {
  readonly name: string;
  readonly args: readonly CaveatTypeRef[];
}
