/**
 * How many messages a node is still working on, so its close can wait for them. Node-RED does not drain
 * messages in flight on a deploy: without the wait, a message that ends after the close calls done() on a
 * closed node, and its failure can miss the Catch node (and the dead letters behind it).
 *
 * A counter, not a set of promises: started and ended once per message on the hot path.
 */
export class InFlight {
  #running = 0;
  #waiters: Array<() => void> = [];

  /** Messages started and not ended yet. */
  get running(): number {
    return this.#running;
  }

  start(): void {
    this.#running += 1;
  }

  /** Call once per start(), after the message's done() was called. */
  end(): void {
    this.#running -= 1;
    if (this.#running > 0 || this.#waiters.length === 0) return;
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /**
   * Resolves true once no message is running (at once when none is), false when `maxWaitMs` passed first: a
   * handler that hangs must not hold the close past Node-RED's own limit (15 s), after which it goes on anyway.
   */
  ended(maxWaitMs: number): Promise<boolean> {
    if (this.#running === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((waiter) => waiter !== wake);
        resolve(false);
      }, maxWaitMs);
      const wake = () => {
        clearTimeout(timer);
        resolve(true);
      };
      this.#waiters.push(wake);
    });
  }
}
