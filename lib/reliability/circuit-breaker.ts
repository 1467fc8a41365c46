/**
 * The circuit breaker of one ERP connection (DESIGN section 7). When too many calls fail for technical
 * reasons, it stops sending for a while, so a struggling ERP is not buried under retries and the work waits
 * (in the store, through the retry policy) instead of failing one call after another.
 *
 *   closed     calls pass; outcomes are counted over a sliding time window. When at least `minimumCalls`
 *              calls ended in the window and `failureRateThreshold` % of them failed, it opens.
 *   open       calls fail at once with CIRCUIT_OPEN (retryable, retryAfterMs = the time left open).
 *              After `openMs` the next call finds it half-open.
 *   half-open  up to `halfOpenCalls` trial calls pass at once; the first trial to succeed closes it, the
 *              first to fail opens it again. Other calls fail with CIRCUIT_OPEN meanwhile.
 *
 * Only technical failures count: an error that isRetryable() (timeouts, resets, 5xx, 429). A business
 * refusal such as a 422 proves the ERP is up and answering, so it counts as a success.
 *
 * The half-open state is entered lazily, by the first call after `openMs`: no timer outlives the breaker.
 * State changes are emitted as 'state' events for node status and metrics.
 */
import { EventEmitter } from 'node:events';
import { FinanceError } from '../errors';
import { isRetryable } from './retry-policy';

export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerSettings {
  /** Percentage (1-100) of failed calls in the window that opens the circuit. */
  failureRateThreshold: number;
  /** Calls that must have ended in the window before the rate is judged. */
  minimumCalls: number;
  /** Length of the sliding window. */
  windowMs: number;
  /** How long the circuit stays open before trial calls may pass. */
  openMs: number;
  /** Trial calls let through at once while half-open. */
  halfOpenCalls: number;
}

export const DEFAULT_CIRCUIT_BREAKER: Readonly<CircuitBreakerSettings> = Object.freeze({
  failureRateThreshold: 50,
  minimumCalls: 20,
  windowMs: 30_000,
  openMs: 30_000,
  halfOpenCalls: 1,
});

/** Only `now()` is needed; lib/erp/clock's Clock fits. */
export interface BreakerClock {
  now(): number;
}

/** The window is kept as this many buckets: memory stays fixed however many calls there are. */
const BUCKETS = 10;
const HOUR_MS = 60 * 60 * 1000;

interface Bucket {
  /** floor(time / bucketMs) of the calls counted here. */
  index: number;
  calls: number;
  failures: number;
}

/** Permission for one call, tied to the state it was given in. */
interface Ticket {
  generation: number;
  trial: boolean;
}

/** Everything wrong with the settings, one sentence per field (empty when usable); defaults fill gaps. */
export function validateCircuitBreakerSettings(partial: Partial<CircuitBreakerSettings>): string[] {
  const settings = { ...DEFAULT_CIRCUIT_BREAKER, ...partial };
  const violations: string[] = [];
  const wholeIn = (value: number, min: number, max: number) => Number.isInteger(value) && value >= min && value <= max;
  if (!wholeIn(settings.failureRateThreshold, 1, 100)) {
    violations.push('failureRateThreshold must be a whole percentage from 1 to 100');
  }
  if (!wholeIn(settings.minimumCalls, 1, 100_000))
    violations.push('minimumCalls must be a whole number from 1 to 100000');
  if (!wholeIn(settings.windowMs, 1_000, HOUR_MS)) {
    violations.push(`windowMs must be a whole number of milliseconds from 1000 to ${HOUR_MS} (one hour)`);
  }
  if (!wholeIn(settings.openMs, 100, HOUR_MS)) {
    violations.push(`openMs must be a whole number of milliseconds from 100 to ${HOUR_MS} (one hour)`);
  }
  if (!wholeIn(settings.halfOpenCalls, 1, 1000)) violations.push('halfOpenCalls must be a whole number from 1 to 1000');
  return violations;
}

export class CircuitBreaker extends EventEmitter<{ state: [CircuitState] }> {
  readonly #name: string;
  readonly #settings: CircuitBreakerSettings;
  readonly #clock: BreakerClock;
  readonly #bucketMs: number;
  readonly #buckets: Bucket[] = [];
  #state: CircuitState = 'closed';
  /** Changes with every state change, so outcomes of calls let through before it are ignored. */
  #generation = 0;
  #openUntil = 0;
  #trialsInFlight = 0;
  /** Why it opened last, for the CIRCUIT_OPEN message. */
  #openReason = '';

  /** `name` names the connection in messages. Throws CONFIG_INVALID for unusable settings. */
  constructor(name: string, settings: Partial<CircuitBreakerSettings> = {}, clock: BreakerClock = performance) {
    super();
    const violations = validateCircuitBreakerSettings(settings);
    if (violations.length > 0) {
      throw new FinanceError(
        'CONFIG_INVALID',
        `ERP connection "${name}": the circuit breaker settings are not usable: ${violations.join('; ')}.`,
        { details: { violations } },
      );
    }
    this.#name = name;
    this.#settings = { ...DEFAULT_CIRCUIT_BREAKER, ...settings };
    this.#clock = clock;
    this.#bucketMs = this.#settings.windowMs / BUCKETS;
  }

  /** The state now (an open circuit whose wait is over reads as half-open). */
  get state(): CircuitState {
    this.#enterHalfOpenIfDue();
    return this.#state;
  }

  /**
   * Runs `call` if the circuit lets it through and counts its outcome; otherwise rejects at once with
   * CIRCUIT_OPEN without calling it. The call's own result or error is passed on unchanged.
   */
  async run<T>(call: () => Promise<T>): Promise<T> {
    const ticket = this.#admit();
    let result: T;
    try {
      result = await call();
    } catch (error) {
      this.#record(ticket, isRetryable(error));
      throw error;
    }
    this.#record(ticket, false);
    return result;
  }

  #admit(): Ticket {
    this.#enterHalfOpenIfDue();
    if (this.#state === 'closed') return { generation: this.#generation, trial: false };
    if (this.#state === 'half-open' && this.#trialsInFlight < this.#settings.halfOpenCalls) {
      this.#trialsInFlight += 1;
      return { generation: this.#generation, trial: true };
    }
    throw this.#openError();
  }

  #record(ticket: Ticket, failed: boolean): void {
    if (ticket.generation !== this.#generation) return;
    if (ticket.trial) {
      this.#trialsInFlight -= 1;
      if (failed) this.#open('a trial call failed again');
      else this.#close();
      return;
    }
    const counts = this.#count(failed);
    const { minimumCalls, failureRateThreshold } = this.#settings;
    if (failed && counts.calls >= minimumCalls && counts.failures * 100 >= failureRateThreshold * counts.calls) {
      this.#open(`${counts.failures} of ${counts.calls} calls in ${this.#settings.windowMs / 1000} s failed`);
    }
  }

  /** Adds one outcome to the current bucket and answers the totals over the window. */
  #count(failed: boolean): { calls: number; failures: number } {
    const index = Math.floor(this.#clock.now() / this.#bucketMs);
    const slot = ((index % BUCKETS) + BUCKETS) % BUCKETS;
    let bucket = this.#buckets[slot];
    if (bucket === undefined || bucket.index !== index) {
      bucket = { index, calls: 0, failures: 0 };
      this.#buckets[slot] = bucket;
    }
    bucket.calls += 1;
    if (failed) bucket.failures += 1;
    let calls = 0;
    let failures = 0;
    for (const each of this.#buckets) {
      if (each !== undefined && each.index > index - BUCKETS) {
        calls += each.calls;
        failures += each.failures;
      }
    }
    return { calls, failures };
  }

  #open(reason: string): void {
    this.#openReason = reason;
    this.#openUntil = this.#clock.now() + this.#settings.openMs;
    this.#change('open');
  }

  #close(): void {
    this.#buckets.length = 0;
    this.#change('closed');
  }

  #enterHalfOpenIfDue(): void {
    if (this.#state === 'open' && this.#clock.now() >= this.#openUntil) this.#change('half-open');
  }

  #change(state: CircuitState): void {
    this.#state = state;
    this.#generation += 1;
    this.#trialsInFlight = 0;
    this.emit('state', state);
  }

  #openError(): FinanceError {
    if (this.#state === 'half-open') {
      return new FinanceError(
        'CIRCUIT_OPEN',
        `ERP connection "${this.#name}" is recovering from failures: trial calls are checking whether it answers again, and this call was not sent. It is retryable.`,
        { retryable: true },
      );
    }
    const retryAfterMs = Math.max(1, Math.ceil(this.#openUntil - this.#clock.now()));
    return new FinanceError(
      'CIRCUIT_OPEN',
      `ERP connection "${this.#name}" is failing (${this.#openReason}), so calls are paused for another ${Math.ceil(retryAfterMs / 1000)} s to let it recover; this call was not sent. It is retryable after that wait.`,
      { retryable: true, retryAfterMs },
    );
  }
}
