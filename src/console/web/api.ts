/** An error the API (through the console's gateway) answered with. */
export class ApiError extends Error {
  constructor(
    readonly status: string,
    message: string,
    readonly field: string | undefined,
    readonly http: number,
  ) {
    super(message);
  }
}

const KEY = 'warden-console-key';

/** The API key, kept in this tab's session storage only (never in a URL). */
export const apiKey = {
  get: (): string | null => sessionStorage.getItem(KEY),
  set: (k: string): void => sessionStorage.setItem(KEY, k.trim()),
  clear: (): void => sessionStorage.removeItem(KEY),
};

/** Told when the API refuses the key, so the page can ask for another. */
let onUnauthenticated: (e: ApiError) => void = () => {};
export function whenUnauthenticated(f: (e: ApiError) => void): void {
  onUnauthenticated = f;
}

function headers(): Record<string, string> {
  const key = apiKey.get();
  return { 'content-type': 'application/json', ...(key ? { authorization: `Bearer ${key}` } : {}) };
}

async function failure(res: Response): Promise<ApiError> {
  let body: { error?: { status?: string; message?: string; field?: string } } = {};
  try {
    body = (await res.json()) as typeof body;
  } catch {
    // not JSON: the status says enough
  }
  const e = new ApiError(body.error?.status ?? `HTTP ${res.status}`, body.error?.message ?? res.statusText, body.error?.field, res.status);
  if (res.status === 401) onUnauthenticated(e);
  return e;
}

/** A unary call: `call('PermissionService', 'Check', {...})`. */
export async function call<T = any>(service: string, method: string, body: unknown, signal?: AbortSignal): Promise<T> {
  const res = await fetch(`/api/${service}/${method}`, { method: 'POST', headers: headers(), body: JSON.stringify(body), ...(signal ? { signal } : {}) });
  if (!res.ok) throw await failure(res);
  return (await res.json()) as T;
}

/** A streaming call: each message to `onMessage` as it comes; resolves at the end of the stream. */
export async function stream<T = any>(service: string, method: string, body: unknown, onMessage: (m: T) => void, signal?: AbortSignal): Promise<void> {
  const res = await fetch(`/api/${service}/${method}`, { method: 'POST', headers: headers(), body: JSON.stringify(body), ...(signal ? { signal } : {}) });
  if (!res.ok || !res.body) throw await failure(res);
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffered += value;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (!line.trim()) continue;
      const m = JSON.parse(line) as T & { error?: { status: string; message: string; field?: string } };
      if (m.error) throw new ApiError(m.error.status, m.error.message, m.error.field, 200);
      onMessage(m);
    }
  }
}

/** An error as one line for the page: the status, the message, and the field it names. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return `${e.status}: ${e.message}${e.field && !e.message.includes(e.field) ? ` (${e.field})` : ''}`;
  if (e instanceof DOMException && e.name === 'AbortError') return 'stopped';
  return e instanceof Error ? e.message : String(e);
}
