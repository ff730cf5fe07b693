import { WardenError } from '../errors/error-code.js';

/** Field names that hold a resource type outright (native and SpiceDB requests, as proto-loader gives them: snake case). */
const TYPE_FIELDS = new Set(['resource_type', 'resource_object_type']);
/** Field names whose message is a resource (its `object_type` is a resource type). */
const RESOURCE_FIELDS = new Set(['resource', 'resources']);

/**
 * Every resource type a request names: fields called `resource_type` (and SpiceDB's
 * `resource_object_type`), and the `object_type` of messages held in fields called `resource` or
 * `resources`, at any depth (a BatchCheck's items, a Write's updates, a filter). Subjects' types
 * are not resource types and are not collected.
 */
export function requestResourceTypes(request: unknown): Set<string> {
  const out = new Set<string>();
  const visit = (v: unknown, parent: string, depth: number): void => {
    if (depth > 8 || v === null || typeof v !== 'object') return;
    if (Array.isArray(v)) {
      for (const x of v) visit(x, parent, depth + 1);
      return;
    }
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if (TYPE_FIELDS.has(k) && typeof x === 'string' && x) out.add(x);
      else if (k === 'object_type' && RESOURCE_FIELDS.has(parent) && typeof x === 'string' && x) out.add(x);
      else visit(x, k, depth + 1);
    }
  };
  visit(request, '', 0);
  return out;
}

/**
 * Refuses a call of a key held to some resource types unless the request names at least one
 * resource type and every one it names is allowed. A call that names none (a schema read, Watch,
 * an import, an admin call) is refused too: the key cannot be shown to stay within its types.
 */
export function checkResourceTypes(method: string, request: unknown, allowed: readonly string[]): void {
  const named = requestResourceTypes(request);
  if (!named.size) {
    throw new WardenError('PERMISSION_DENIED', `this API key may only act on resource types ${allowed.join(', ')}, and ${method} names none`);
  }
  for (const type of named) {
    if (!allowed.includes(type)) throw new WardenError('PERMISSION_DENIED', `this API key may only act on resource types ${allowed.join(', ')}, not \`${type}\``);
  }
}
