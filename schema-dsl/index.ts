/** The Warden schema language: parse, compile to IR, format. Pure: no I/O. */
export type * from './ast.js';
export type * from './ir.js';
export { ELLIPSIS, caveatTypeText } from './ir.js';
export { parseSchema, MAX_EXPRESSION_DEPTH, MAX_EXPRESSION_OPERATORS } from './parser.js';
export { compileSchema, compileAst } from './compiler.js';
export { formatSchema, formatAllowed, formatRewrite } from './formatter.js';
export { SchemaError, formatDiagnostic, type SchemaDiagnostic, type SourcePosition } from './position.js';
export { CAVEAT_TYPES, DEFINITION_NAME, OBJECT_ID, PARAMETER_NAME, RELATION_NAME } from './names.js';
export { checkCaveatExpression, celTypeOf, celTypeText, MAX_CAVEAT_NODES, type CelCheckType, type CaveatCheck } from './caveat-check.js';
