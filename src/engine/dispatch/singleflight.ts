/**
 * Singleflight runs one computation per key at a time: callers that ask for a key already in
 * flight wait for that computation instead of starting their own. A failed flight is not shared
 * (its caller may have given up, which says nothing of the others): each waiter then computes for
 * itself.
 */
export class Singleflight<T> {
  readonly #flights = new Map<string, Promise<T>>();
  /** Callers served by another's flight. */
  shared = 0;

  run(key: string, compute: () => Promise<T>): Promise<T> {
    const flight = this.#flights.get(key);
    if (flight) {
      this.shared++;
      return flight.catch(() => compute());
    }
    const p = compute().finally(() => this.#flights.delete(key));
    this.#flights.set(key, p);
    return p;
  }

  /** Flights in progress. */
  get size(): number {
    return this.#flights.size;
  }
}
