/**
 * The wait a 429 asks of the whole connection. After the ERP answers 429 with Retry-After, every request of the
 * connection that has not been sent yet waits until that time before it goes out, instead of each going out at
 * once to collect its own 429: on a throttled ERP that storm only prolongs the throttling. Requests in flight are
 * not touched, they are sent already.
 *
 * A 429 without Retry-After puts no hold on the connection: the ERP named no time, a guessed one would only delay
 * every other call, and the failed call's own retry backs off anyway. A later 429 can lengthen a hold, never
 * shorten it.
 *
 * A request is held at most as long as its own timeout: one that would wait longer fails unsent (the client's
 * job, see ErpClient), so a Retry-After of an hour hands the message to the durable retry instead of keeping it
 * in memory that long.
 *
 * Waiters are released together when the hold ends, oldest first; the connection's concurrency cap and rate limit
 * still space what follows. Nothing polls: one timer, set for the end of the hold, exists only while someone waits;
 * close() clears it.
 */
import { systemClock, type Clock } from './clock';
import { Fifo } from './fifo';

interface Waiter {
  resolve(): void;
  reject(reason: unknown): void;
}

export class RetryAfterHold {
  readonly #clock: Clock;
  /** Clock time until which nothing is sent. */
  #until = -Infinity;
  #waiters = new Fifo<Waiter>();
  #timer: unknown = null;
  #closed = false;
  #closedReason: unknown = undefined;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  get waiting(): number {
    return this.#waiters.length;
  }

  /** Whether a request must wait now. */
  get active(): boolean {
    return this.#clock.now() < this.#until;
  }

  /** How long the hold lasts from now (0 when there is none). */
  get remainingMs(): number {
    return Math.max(0, this.#until - this.#clock.now());
  }

  /** Holds the connection for `ms` from now (the Retry-After of a 429); a hold that lasts longer already stays. */
  holdFor(ms: number): void {
    if (this.#closed || !(ms > 0)) return;
    this.#until = Math.max(this.#until, this.#clock.now() + ms);
  }

  /** Resolves at once when there is no hold, else when it ends; rejects with the reason of close(). */
  wait(): Promise<void> {
    if (this.#closed) return Promise.reject(this.#closedReason);
    if (!this.active) return Promise.resolve();
    const waiting = new Promise<void>((resolve, reject) => this.#waiters.push({ resolve, reject }));
    this.#schedule();
    return waiting;
  }

  /** Rejects every waiter and every later wait() with `reason`, and clears the timer. */
  close(reason: unknown): void {
    this.#closed = true;
    this.#closedReason = reason;
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
    for (const waiter of this.#waiters.drain()) waiter.reject(reason);
  }

  #schedule(): void {
    if (this.#timer !== null || this.#waiters.length === 0) return;
    this.#timer = this.#clock.setTimeout(() => this.#release(), Math.max(0, this.#until - this.#clock.now()));
  }

  #release(): void {
    this.#timer = null;
    // Another 429 may have lengthened the hold since the timer was set.
    if (this.active) {
      this.#schedule();
      return;
    }
    for (const waiter of this.#waiters.drain()) waiter.resolve();
  }
}
