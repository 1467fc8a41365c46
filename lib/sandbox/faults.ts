/**
 * Fault injection for /api/ routes: the misbehaviour of a real ERP on a bad day (errors, slow answers,
 * answers that never come, dropped connections, rate limits), switched on through POST /_sandbox/faults.
 * The random source and the clock are injected so tests get the same faults every run.
 */
import { FieldErrors, isObject, rejectUnknownKeys } from './validate';

export interface FaultConfig {
  /** Share of requests answered with `errorStatus`, 0..1. */
  errorRate?: number;
  errorStatus?: number;
  /** Sent as Retry-After with injected errors. */
  retryAfterSeconds?: number;
  /** Added before every /api/ request is handled. */
  latencyMs?: number;
  /** Share of requests held open and never answered, 0..1. */
  timeoutRate?: number;
  /** Share of requests whose connection is destroyed without an answer, 0..1. */
  resetRate?: number;
  /** Requests per second allowed (token bucket with a burst of one second); more answer 429. */
  rateLimitPerSecond?: number;
}

export type FaultDecision =
  | { kind: 'none' }
  | { kind: 'rateLimited'; retryAfterSeconds: number }
  | { kind: 'reset' }
  | { kind: 'timeout' }
  | { kind: 'error'; status: number; retryAfterSeconds?: number };

const NONE: FaultDecision = { kind: 'none' };
const FAULT_KEYS = [
  'errorRate',
  'errorStatus',
  'retryAfterSeconds',
  'latencyMs',
  'timeoutRate',
  'resetRate',
  'rateLimitPerSecond',
] as const;

/** Checks a POST /_sandbox/faults body; throws a 400 problem naming each wrong field. */
export function parseFaultConfig(body: unknown): FaultConfig {
  const errors = new FieldErrors();
  if (!isObject(body)) {
    errors.add('', 'the body must be a JSON object such as { "errorRate": 0.1 } ({} clears all faults)');
    errors.throwIfAny(400);
    return {};
  }
  rejectUnknownKeys(body, FAULT_KEYS, '', errors, `the fault settings are ${FAULT_KEYS.join(', ')}`);
  const config: FaultConfig = {};
  const number = (key: (typeof FAULT_KEYS)[number], min: number, max: number, integer: boolean): void => {
    const value = body[key];
    if (value === undefined) return;
    if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
      errors.add(`/${key}`, `must be a number from ${min} to ${max}`);
    } else if (integer && !Number.isInteger(value)) {
      errors.add(`/${key}`, 'must be a whole number');
    } else {
      config[key] = value;
    }
  };
  number('errorRate', 0, 1, false);
  number('errorStatus', 400, 599, true);
  number('retryAfterSeconds', 0, 86400, true);
  number('latencyMs', 0, 60000, true);
  number('timeoutRate', 0, 1, false);
  number('resetRate', 0, 1, false);
  number('rateLimitPerSecond', 0.001, 1_000_000, false);
  errors.throwIfAny(400);
  return config;
}

/** A bucket holds one second of requests, and at least one so a rate below 1/s still lets requests through. */
function bucketSize(rate: number): number {
  return Math.max(1, rate);
}

export class FaultInjector {
  private config: FaultConfig = {};
  private tokens = 0;
  private refilledAtMs = 0;

  constructor(
    private readonly random: () => number,
    private readonly now: () => Date,
  ) {}

  get current(): FaultConfig {
    return { ...this.config };
  }

  get latencyMs(): number {
    return this.config.latencyMs ?? 0;
  }

  /** Replaces the whole configuration; `{}` clears every fault. The rate-limit bucket starts full. */
  configure(config: FaultConfig): void {
    this.config = { ...config };
    this.tokens = config.rateLimitPerSecond === undefined ? 0 : bucketSize(config.rateLimitPerSecond);
    this.refilledAtMs = this.now().getTime();
  }

  /**
   * What happens to the next /api/ request. The rate limit comes first (a gateway refuses before the ERP
   * sees the request), then one random draw per configured fault, in a fixed order so an injected random
   * sequence gives the same decisions every run.
   */
  decide(): FaultDecision {
    const { rateLimitPerSecond, resetRate, timeoutRate, errorRate } = this.config;
    if (rateLimitPerSecond !== undefined) {
      const retryAfterSeconds = this.takeToken(rateLimitPerSecond);
      if (retryAfterSeconds !== undefined) return { kind: 'rateLimited', retryAfterSeconds };
    }
    if (resetRate && this.random() < resetRate) return { kind: 'reset' };
    if (timeoutRate && this.random() < timeoutRate) return { kind: 'timeout' };
    if (errorRate && this.random() < errorRate) {
      return {
        kind: 'error',
        status: this.config.errorStatus ?? 503,
        retryAfterSeconds: this.config.retryAfterSeconds,
      };
    }
    return NONE;
  }

  /** Token bucket: `rate` tokens per second, one second's worth saved. Returns the wait when none is left. */
  private takeToken(rate: number): number | undefined {
    const nowMs = this.now().getTime();
    const elapsedMs = Math.max(0, nowMs - this.refilledAtMs);
    this.tokens = Math.min(bucketSize(rate), this.tokens + (elapsedMs * rate) / 1000);
    this.refilledAtMs = nowMs;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / rate));
  }
}
