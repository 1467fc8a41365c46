/**
 * Spreads requests so that no window of `perMs` milliseconds ever holds more than `requests` sends
 * (Business Central: 6,000 per 5 minutes). It keeps the send times of the last `requests` grants: a new
 * send is allowed once the oldest of them has left the window. That is a strict sliding window, unlike a
 * refilling token bucket, which lets up to twice the limit through a window after an idle spell and would
 * earn a 429 storm.
 *
 * Waiters are served first-in-first-out. Nothing polls: while someone waits, one timer is set for the
 * instant the oldest grant leaves the window. That timer keeps the process alive on purpose, because it only
 * exists while a request is waiting to be sent; close() clears it.
 */
import { systemClock, type Clock } from './clock';
import { Fifo } from './fifo';

export interface RateLimit {
  /** How many requests may start within any window of `perMs`. */
  requests: number;
  perMs: number;
}

interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
}

export class RateLimiter {
  readonly #limit: RateLimit;
  readonly #clock: Clock;
  /** Ring buffer of the last `requests` grant times; `#oldest` indexes the earliest of them. */
  readonly #grants: number[] = [];
  #oldest = 0;
  #waiters = new Fifo<Waiter>();
  #timer: unknown = null;
  #closed = false;
  #closedReason: unknown = undefined;

  constructor(limit: RateLimit, clock: Clock = systemClock) {
    if (!Number.isInteger(limit.requests) || limit.requests < 1 || !Number.isFinite(limit.perMs) || limit.perMs <= 0) {
      throw new RangeError('Rate limit needs a positive integer number of requests and a positive window in ms');
    }
    this.#limit = { requests: limit.requests, perMs: limit.perMs };
    this.#clock = clock;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Resolves when the caller may send now; send immediately, or the spacing is lost. */
  acquire(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedReason);
    if (this.#waiters.length === 0 && this.#tryGrant()) return Promise.resolve();
    const waiting = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#schedule();
    return waiting;
  }

  /** Rejects every waiter and every later acquire with `reason`, and clears the timer. */
  close(reason: unknown): void {
    this.#closed = true;
    this.#closedReason = reason;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    for (const waiter of this.#waiters.drain()) waiter.reject(reason);
  }

  /** Records a grant at the current time if the window has room. */
  #tryGrant(): boolean {
    const now = this.#clock.now();
    if (this.#grants.length < this.#limit.requests) {
      this.#grants.push(now);
      return true;
    }
    if (now - this.#grants[this.#oldest] < this.#limit.perMs) return false;
    this.#grants[this.#oldest] = now;
    this.#oldest = (this.#oldest + 1) % this.#limit.requests;
    return true;
  }

  #serveWaiters(): void {
    this.#timer = null;
    while (this.#waiters.length > 0 && this.#tryGrant()) this.#waiters.shift()?.resolve();
    this.#schedule();
  }

  #schedule(): void {
    if (this.#timer !== null || this.#waiters.length === 0) return;
    // Only reached with a full window, so #oldest points at a real grant.
    const wait = Math.max(0, this.#grants[this.#oldest] + this.#limit.perMs - this.#clock.now());
    this.#timer = this.#clock.setTimeout(() => this.#serveWaiters(), wait);
  }
}
