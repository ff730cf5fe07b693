/** A place in schema source text: 1-based line and column, 0-based offset. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
  readonly offset: number;
}

/** One problem found in schema text, located at a line and column. */
export interface SchemaDiagnostic {
  readonly message: string;
  readonly line: number;
  readonly column: number;
}

/** The error thrown when schema text does not parse or compile; it carries every diagnostic found. */
export class SchemaError extends Error {
  readonly diagnostics: readonly SchemaDiagnostic[];

  constructor(diagnostics: readonly SchemaDiagnostic[]) {
    super(diagnostics.map(formatDiagnostic).join('\n'));
    this.name = 'SchemaError';
    this.diagnostics = diagnostics;
  }
}

/** Renders a diagnostic as `line:column: message`. */
export function formatDiagnostic(d: SchemaDiagnostic): string {
  return `${d.line}:${d.column}: ${d.message}`;
}

/** Builds a diagnostic at a position. */
export function diagnosticAt(pos: SourcePosition, message: string): SchemaDiagnostic {
  return { message, line: pos.line, column: pos.column };
}
