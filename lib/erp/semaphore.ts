/**
 * Caps how many requests one ERP connection has in flight (Business Central allows 100 concurrent per
 * user, smaller ERPs far fewer). Waiters are served strictly first-in-first-out: a released permit is
 * handed straight to the oldest waiter, so a newcomer can never overtake the queue.
 */
import { Fifo } from './fifo';

export type Release = () => void;

interface Waiter {
  resolve(release: Release): void;
  reject(reason: unknown): void;
}

export class Semaphore {
  readonly #permits: number;
  #inUse = 0;
  #waiters = new Fifo<Waiter>();
  #closedReason: unknown = undefined;
  #closed = false;

  constructor(permits: number) {
    if (!Number.isInteger(permits) || permits < 1) {
      throw new RangeError(`Semaphore permits must be a positive integer, got ${String(permits)}`);
    }
    this.#permits = permits;
  }

  get inUse(): number {
    return this.#inUse;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves with a release function once a permit is free; call it exactly once when done. */
  acquire(): Promise<Release> {
    if (this.#closed) return Promise.reject(this.#closedReason);
    if (this.#inUse < this.#permits) {
      this.#inUse += 1;
      return Promise.resolve(this.#releaseOnce());
    }
    return new Promise<Release>((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /** Rejects every waiter and every later acquire with `reason`; permits already held stay valid. */
  close(reason: unknown): void {
    this.#closed = true;
    this.#closedReason = reason;
    for (const waiter of this.#waiters.drain()) waiter.reject(reason);
  }

  #releaseOnce(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      // Hand the permit over instead of freeing it, so the count never dips and a newcomer cannot barge in.
      if (next) next.resolve(this.#releaseOnce());
      else this.#inUse -= 1;
    };
  }
}
