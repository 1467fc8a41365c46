/**
 * The events an intake has in flight: emitted into the flow and neither finished nor parked yet. The intake
 * emits at most `max` at a time; the others wait in the store (committed, acknowledged) and are handed out as
 * earlier ones finish, so a burst of accepted events is buffered on disk instead of in memory (DESIGN section 2,
 * principle 7). An event leaves the window when its step records a final outcome or parks it on purpose
 * (FinanceStore.watchInbox), or when its lease runs out (it was lost: recovery emits it again).
 *
 * A slot is reserved before the commit and taken after it, so concurrent requests cannot overshoot `max`.
 */

/** Events in flight per intake by default: enough to keep an ERP connection's 16-100 slots busy. */
export const DEFAULT_MAX_IN_FLIGHT = 256;

export class InFlightWindow {
  readonly #max: number;
  readonly #now: () => number;
  /** Key -> lease end of each event in flight. */
  readonly #leases = new Map<string, number>();
  #reserved = 0;
  #sweptAt = 0;

  constructor(max = DEFAULT_MAX_IN_FLIGHT, now: () => number = Date.now) {
    if (!Number.isSafeInteger(max) || max < 1) throw new RangeError(`max in flight must be a positive integer: ${max}`);
    this.#max = max;
    this.#now = now;
  }

  /** Events in flight or with a slot reserved. */
  get size(): number {
    return this.#leases.size + this.#reserved;
  }

  /** Slots free now (leases that ran out are given back first). */
  get free(): number {
    this.#sweep();
    return Math.max(0, this.#max - this.size);
  }

  /** Reserves a slot for an event about to be committed; false when the window is full. */
  tryReserve(): boolean {
    if (this.free === 0) return false;
    this.#reserved += 1;
    return true;
  }

  /** The reserved slot was not used (a duplicate, a failed commit, an entry another intake took). */
  cancel(): void {
    if (this.#reserved > 0) this.#reserved -= 1;
  }

  /** The reserved slot now holds the event `key`, leased until `leaseUntil`. */
  take(key: string, leaseUntil: number): void {
    this.cancel();
    this.#leases.set(key, leaseUntil);
  }

  /** The event finished or was parked: its slot is free. True when it was in flight here. */
  settle(key: string): boolean {
    return this.#leases.delete(key);
  }

  has(key: string): boolean {
    return this.#leases.has(key);
  }

  /** At most once a second: a lease runs for minutes, and the window is checked on every accepted event. */
  #sweep(): void {
    const now = this.#now();
    if (now - this.#sweptAt < 1000) return;
    this.#sweptAt = now;
    for (const [key, leaseUntil] of this.#leases) {
      if (leaseUntil <= now) this.#leases.delete(key);
    }
  }
}
