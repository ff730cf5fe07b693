/**
 * The map kept under `key` in `outer`, made empty on first use: for look-ups nested by several
 * keys the caller already holds (type, relation, id), so no combined key string is built.
 */
export function inner<K extends object, K2, V>(outer: WeakMap<K, Map<K2, V>>, key: K): Map<K2, V>;
export function inner<K, K2, V>(outer: Map<K, Map<K2, V>>, key: K): Map<K2, V>;
export function inner<K2, V>(outer: { get(key: unknown): Map<K2, V> | undefined; set(key: unknown, value: Map<K2, V>): unknown }, key: unknown): Map<K2, V> {
  let found = outer.get(key);
  if (!found) outer.set(key, (found = new Map()));
  return found;
}
