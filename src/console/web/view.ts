/** What a view gets from the page. */
export interface ViewContext {
  /** Aborted when the user leaves the view: its calls and streams stop. */
  readonly signal: AbortSignal;
  /** The consistency for reads (the console reads the newest data). */
  consistency(): Record<string, unknown>;
  /** The stored schema's text ('' when none is written). */
  schema(): Promise<string>;
}

/** One page of the console. */
export interface View {
  readonly id: string;
  readonly title: string;
  render(root: HTMLElement, ctx: ViewContext): void;
}
