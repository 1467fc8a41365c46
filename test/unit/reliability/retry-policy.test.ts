import { FinanceError } from '../../../lib/errors';
import { errorForResponse } from '../../../lib/erp/http-errors';
import {
  DEFAULT_RETRY_POLICY,
  decideRetry,
  hasAttemptsLeft,
  isThrottled,
  isRetryable,
  nextDelayMs,
  retryPolicy,
  validateRetryPolicy,
} from '../../../lib/reliability/retry-policy';

/** A random source that always answers `value`. */
const always = (value: number) => () => value;
/** The same answers in turn, for sweeping the jitter range. */
const sweep = [0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999999];

const facts = { connection: 'erp', method: 'POST', path: '/postings', secrets: [] };

describe('retry policy defaults', () => {
  it('are the ones DESIGN section 7 names (Temporal names, in ms)', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({
      initialIntervalMs: 1000,
      backoffCoefficient: 2,
      maximumIntervalMs: 300_000,
      maximumAttempts: 10,
      jitter: 0.2,
      retryAfterCapMs: 600_000,
      maximumThrottledWaits: 20,
    });
  });

  it('count the first attempt among the maximum attempts', () => {
    expect(hasAttemptsLeft(DEFAULT_RETRY_POLICY, 9)).toBe(true);
    expect(hasAttemptsLeft(DEFAULT_RETRY_POLICY, 10)).toBe(false);
    expect(hasAttemptsLeft(retryPolicy({ maximumAttempts: 1 }), 1)).toBe(false);
  });
});

describe('nextDelayMs', () => {
  it('doubles from the initial interval up to the maximum interval (jitter at its midpoint)', () => {
    const delays = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11].map((attempt) =>
      nextDelayMs(DEFAULT_RETRY_POLICY, attempt, undefined, always(0.5)),
    );
    expect(delays).toEqual([1000, 2000, 4000, 8000, 16000, 32000, 64000, 128000, 256000, 300000, 300000]);
  });

  it('keeps every wait within +/-20 % of the backoff, and never above the maximum interval', () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const backoff = Math.min(1000 * 2 ** (attempt - 1), 300_000);
      for (const value of sweep) {
        const delay = nextDelayMs(DEFAULT_RETRY_POLICY, attempt, undefined, always(value));
        expect(delay).toBeGreaterThanOrEqual(Math.floor(backoff * 0.8));
        expect(delay).toBeLessThanOrEqual(Math.min(Math.ceil(backoff * 1.2), 300_000));
      }
    }
    expect(nextDelayMs(DEFAULT_RETRY_POLICY, 1, undefined, always(0))).toBe(800);
    expect(nextDelayMs(DEFAULT_RETRY_POLICY, 1, undefined, always(0.999999))).toBe(1200);
    expect(nextDelayMs(DEFAULT_RETRY_POLICY, 30, undefined, always(0.999999))).toBe(300_000);
    expect(nextDelayMs(DEFAULT_RETRY_POLICY, 30, undefined, always(0))).toBe(240_000);
  });

  it('follows a custom coefficient and cap', () => {
    const policy = retryPolicy({ initialIntervalMs: 500, backoffCoefficient: 3, maximumIntervalMs: 10_000, jitter: 0 });
    expect([1, 2, 3, 4, 5].map((attempt) => nextDelayMs(policy, attempt))).toEqual([500, 1500, 4500, 10_000, 10_000]);
  });

  it('waits at least the Retry-After the error carries, however the jitter falls', () => {
    const error = new FinanceError('ERP_RATE_LIMITED', 'slow down', { retryable: true, retryAfterMs: 30_000 });
    for (const value of sweep) {
      const delay = nextDelayMs(DEFAULT_RETRY_POLICY, 1, error, always(value));
      expect(delay).toBeGreaterThanOrEqual(30_000);
      expect(delay).toBeLessThanOrEqual(36_000);
    }
    expect(nextDelayMs(DEFAULT_RETRY_POLICY, 1, error, always(0))).toBe(30_000);
  });

  it('cuts a Retry-After longer than the cap to the cap', () => {
    const error = { code: 'ERP_UNAVAILABLE', retryAfterMs: 3_600_000 };
    for (const value of sweep) expect(nextDelayMs(DEFAULT_RETRY_POLICY, 1, error, always(value))).toBe(600_000);
    const capped = retryPolicy({ retryAfterCapMs: 5000 });
    expect(nextDelayMs(capped, 1, error, always(0))).toBe(5000);
  });

  it('keeps the backoff when it is longer than the Retry-After', () => {
    const error = { retryAfterMs: 1000 };
    expect(nextDelayMs(DEFAULT_RETRY_POLICY, 6, error, always(0.5))).toBe(32_000);
  });

  it('honours Retry-After in seconds and as an HTTP date, as the ERP client reads it', () => {
    const now = Date.parse('2026-03-02T10:00:00Z');
    const inSeconds = errorForResponse(facts, { status: 503, headers: { 'retry-after': '120' }, data: '' }, now);
    expect(nextDelayMs(DEFAULT_RETRY_POLICY, 1, inSeconds, always(0))).toBe(120_000);
    const asDate = errorForResponse(
      facts,
      { status: 429, headers: { 'retry-after': 'Mon, 02 Mar 2026 10:05:00 GMT' }, data: '' },
      now,
    );
    expect(nextDelayMs(DEFAULT_RETRY_POLICY, 1, asDate, always(0))).toBe(300_000);
    const tooFar = errorForResponse(
      facts,
      { status: 503, headers: { 'retry-after': 'Mon, 02 Mar 2026 12:00:00 GMT' }, data: '' },
      now,
    );
    expect(nextDelayMs(DEFAULT_RETRY_POLICY, 1, tooFar, always(0.5))).toBe(600_000);
  });
});

describe('isRetryable', () => {
  it.each([408, 425, 429, 500, 502, 503, 504])('retries HTTP %i', (status) => {
    expect(isRetryable({ httpStatus: status })).toBe(true);
    expect(isRetryable({ statusCode: String(status) })).toBe(true);
    expect(isRetryable(errorForResponse(facts, { status, headers: {}, data: '' }, 0))).toBe(true);
  });

  it.each([400, 401, 403, 404, 409, 412, 422, 501])('does not retry HTTP %i', (status) => {
    expect(isRetryable({ httpStatus: status })).toBe(false);
    expect(isRetryable(errorForResponse(facts, { status, headers: {}, data: '' }, 0))).toBe(false);
  });

  it.each(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'EAI_AGAIN', 'EPIPE'])(
    'retries the network failure %s',
    (code) => {
      expect(isRetryable({ code, message: 'socket hang up' })).toBe(true);
    },
  );

  it('retries the pack codes for transient failures, and CIRCUIT_OPEN and STORE_UNAVAILABLE', () => {
    for (const code of ['ERP_TIMEOUT', 'ERP_UNAVAILABLE', 'ERP_RATE_LIMITED', 'CIRCUIT_OPEN', 'STORE_UNAVAILABLE']) {
      expect(isRetryable({ code })).toBe(true);
    }
  });

  it('does not retry the pack codes for permanent failures, bad URLs or certificate errors', () => {
    for (const code of [
      'ERP_REJECTED',
      'SCHEMA_INVALID',
      'CONFIG_INVALID',
      'STALE_VERSION',
      'ERR_INVALID_URL',
      'CERT_HAS_EXPIRED',
    ]) {
      expect(isRetryable({ code })).toBe(false);
    }
  });

  it('takes FinanceError.retryable as the truth, over its code and status', () => {
    expect(isRetryable(new FinanceError('ERP_UNAVAILABLE', 'TLS failed', { retryable: false }))).toBe(false);
    expect(isRetryable(new FinanceError('ERP_CONFLICT', 'busy elsewhere', { retryable: true, httpStatus: 409 }))).toBe(
      true,
    );
    expect(isRetryable({ code: 'ERP_REJECTED', retryable: true })).toBe(true);
  });

  it('treats a failure nobody classified as transient', () => {
    expect(isRetryable(new Error('No response from server'))).toBe(true);
    expect(isRetryable({ message: 'something broke' })).toBe(true);
    expect(isRetryable('text')).toBe(true);
  });
});

describe('validateRetryPolicy', () => {
  it('accepts the defaults and a partial policy', () => {
    expect(validateRetryPolicy({})).toEqual([]);
    expect(validateRetryPolicy({ maximumAttempts: 3, initialIntervalMs: 50 })).toEqual([]);
  });

  it('names every field that is wrong', () => {
    const violations = validateRetryPolicy({
      initialIntervalMs: 0,
      backoffCoefficient: 0.5,
      maximumAttempts: 2.5,
      jitter: 1,
      retryAfterCapMs: -1,
      maximumThrottledWaits: -1,
    });
    expect(violations).toHaveLength(6);
    expect(violations.join(' ')).toMatch(
      /initialIntervalMs.*backoffCoefficient.*maximumAttempts.*jitter.*retryAfterCapMs.*maximumThrottledWaits/,
    );
    expect(validateRetryPolicy({ initialIntervalMs: 5000, maximumIntervalMs: 1000 })).toEqual([
      'maximumIntervalMs must not be shorter than initialIntervalMs',
    ]);
    expect(validateRetryPolicy({ maximumAttempts: Number.NaN })).toHaveLength(1);
  });

  it('refuses an unusable policy with CONFIG_INVALID', () => {
    expect(() => retryPolicy({ backoffCoefficient: 0 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(/backoffCoefficient/) }),
    );
  });
});

describe('decideRetry: a 429 is a pause, not a used attempt', () => {
  const policy = retryPolicy({
    initialIntervalMs: 100,
    maximumIntervalMs: 10_000,
    maximumAttempts: 3,
    maximumThrottledWaits: 2,
    jitter: 0,
  });
  const throttled = (retryAfterMs?: number) =>
    new FinanceError('ERP_RATE_LIMITED', 'ERP answered 429', { retryable: true, httpStatus: 429, retryAfterMs });
  const unavailable = () =>
    new FinanceError('ERP_UNAVAILABLE', 'ERP answered 503', { retryable: true, httpStatus: 503 });

  it('recognises a throttle by the pack code or by HTTP 429, and nothing else', () => {
    expect(isThrottled(throttled())).toBe(true);
    expect(isThrottled({ statusCode: 429 })).toBe(true);
    expect(isThrottled({ code: 'ERP_RATE_LIMITED' })).toBe(true);
    expect(isThrottled(unavailable())).toBe(false);
    expect(isThrottled({ status: '503' })).toBe(false);
    expect(isThrottled(undefined)).toBe(false);
  });

  it('keeps the attempt on a 429, counting a throttled wait, even on the last attempt', () => {
    expect(decideRetry(policy, { attempt: 3, throttledWaits: 0 }, throttled(), always(0.5))).toEqual({
      retry: true,
      next: { attempt: 3, throttledWaits: 1 },
      delayMs: 400,
    });
  });

  it('lengthens the wait with each throttled wait, and still honours Retry-After', () => {
    const waits = [0, 1].map(
      (throttledWaits) =>
        (decideRetry(policy, { attempt: 1, throttledWaits }, throttled(), always(0.5)) as { delayMs: number }).delayMs,
    );
    expect(waits).toEqual([100, 200]);
    expect(decideRetry(policy, { attempt: 1, throttledWaits: 0 }, throttled(5_000), always(0))).toMatchObject({
      delayMs: 5_000,
    });
  });

  it('counts 429s as attempts once the throttled waits are used up, so endless throttling still ends', () => {
    expect(decideRetry(policy, { attempt: 1, throttledWaits: 2 }, throttled(), always(0.5))).toEqual({
      retry: true,
      next: { attempt: 2, throttledWaits: 2 },
      delayMs: 100,
    });
    expect(decideRetry(policy, { attempt: 3, throttledWaits: 2 }, throttled(), always(0.5))).toEqual({
      retry: false,
      reason: 'attempts',
    });
    // 0 throttled waits: a 429 uses an attempt like any other failure (the behaviour before).
    const strict = retryPolicy({ ...policy, maximumThrottledWaits: 0 });
    expect(decideRetry(strict, { attempt: 1, throttledWaits: 0 }, throttled(), always(0.5))).toMatchObject({
      next: { attempt: 2, throttledWaits: 0 },
    });
  });

  it('bounds an ERP that throttles for ever at maximumThrottledWaits + maximumAttempts tries', () => {
    let progress = { attempt: 1, throttledWaits: 0 };
    let tries = 1;
    for (;;) {
      const decision = decideRetry(policy, progress, throttled(), always(0.5));
      if (!decision.retry) break;
      progress = decision.next;
      tries += 1;
    }
    expect(tries).toBe(policy.maximumThrottledWaits + policy.maximumAttempts);
  });

  it('uses an attempt for other failures, none when nothing was sent, and stops on a permanent one', () => {
    expect(decideRetry(policy, { attempt: 1, throttledWaits: 1 }, unavailable(), always(0.5))).toEqual({
      retry: true,
      next: { attempt: 2, throttledWaits: 1 },
      delayMs: 100,
    });
    expect(decideRetry(policy, { attempt: 3, throttledWaits: 0 }, unavailable())).toEqual({
      retry: false,
      reason: 'attempts',
    });
    const circuitOpen = new FinanceError('CIRCUIT_OPEN', 'paused', { retryable: true });
    expect(decideRetry(policy, { attempt: 3, throttledWaits: 0 }, circuitOpen, always(0.5))).toMatchObject({
      retry: true,
      next: { attempt: 3, throttledWaits: 0 },
    });
    const notSent = new FinanceError('ERP_CONFLICT', 'another attempt writes', {
      retryable: true,
      details: { sent: false },
    });
    expect(decideRetry(policy, { attempt: 3, throttledWaits: 0 }, notSent, always(0.5))).toMatchObject({ retry: true });
    const rejected = new FinanceError('ERP_REJECTED', 'no', { retryable: false, httpStatus: 422 });
    expect(decideRetry(policy, { attempt: 1, throttledWaits: 0 }, rejected)).toEqual({
      retry: false,
      reason: 'permanent',
    });
  });
});
