/**
 * A value at hand, or a promise of it. The check walk returns these so that over a store held in
 * memory it runs as plain calls, without a promise and a microtask per step; over a database the
 * same code waits where a read has to.
 */
export type Maybe<T> = T | Promise<T>;

/** `f` applied to `v`: at once when `v` is at hand, when it settles otherwise. */
export function then<T, U>(v: Maybe<T>, f: (v: T) => Maybe<U>): Maybe<U> {
  return v instanceof Promise ? v.then(f) : f(v);
}

/**
 * Runs `f` over `items` in order, one after another, until it returns `false`: as plain calls
 * while each step's result is at hand, awaiting a step only when it returns a promise.
 */
export function each<T>(items: readonly T[], f: (item: T, index: number) => Maybe<boolean | void>, from = 0): Maybe<void> {
  for (let i = from; i < items.length; i++) {
    const r = f(items[i]!, i);
    if (r instanceof Promise) return r.then((go) => (go === false ? undefined : each(items, f, i + 1)));
    if (r === false) return;
  }
}
