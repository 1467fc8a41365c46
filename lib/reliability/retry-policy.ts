/**
 * The retry policy of the pack (DESIGN section 7): how long to wait before the next attempt, and which
 * failures are worth another attempt at all. Names and defaults follow Temporal's RetryPolicy
 * (initialInterval, backoffCoefficient, maximumInterval, maximumAttempts), in milliseconds.
 *
 * A throttle is not a failure of the work: an ERP answering 429 (ERP_RATE_LIMITED) asks the caller to come
 * back later, so the wait it asks for does not use up an attempt, up to `maximumThrottledWaits` such waits
 * per message; after those, further 429s count as attempts again. An ERP that throttles forever therefore
 * ends in the dead letters after at most maximumThrottledWaits + maximumAttempts tries, never parks work
 * for ever.
 */
import { ERROR_CODES, FinanceError } from '../errors';

export interface RetryPolicy {
  /** Wait before the second attempt. */
  initialIntervalMs: number;
  /** Each further wait is this many times the previous one (1 = a constant interval). */
  backoffCoefficient: number;
  /** No backoff wait is longer than this. */
  maximumIntervalMs: number;
  /** Attempts in all, the first one included; after the last one the failure is final. */
  maximumAttempts: number;
  /** Spread of each wait, as a fraction: 0.2 = up to 20 % shorter or longer. */
  jitter: number;
  /** The longest wait a server's Retry-After can ask for; a longer ask is cut to this. */
  retryAfterCapMs: number;
  /** Waits on a 429 (ERP_RATE_LIMITED) that use no attempt; 0 = a 429 uses an attempt like any failure. */
  maximumThrottledWaits: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = Object.freeze({
  initialIntervalMs: 1_000,
  backoffCoefficient: 2,
  maximumIntervalMs: 300_000,
  maximumAttempts: 10,
  jitter: 0.2,
  retryAfterCapMs: 600_000,
  maximumThrottledWaits: 20,
});

const DAY_MS = 24 * 60 * 60 * 1000;

/** HTTP answers that say "not now" rather than "not like this" (DESIGN section 7). */
export const RETRYABLE_HTTP_STATUSES: ReadonlySet<number> = new Set([408, 425, 429, 500, 502, 503, 504]);

/** The pack's own codes for failures that may pass by themselves. */
const RETRYABLE_FINANCE_CODES: ReadonlySet<string> = new Set([
  'ERP_TIMEOUT',
  'ERP_UNAVAILABLE',
  'ERP_RATE_LIMITED',
  'CIRCUIT_OPEN',
  'STORE_UNAVAILABLE',
]);

/** Socket and DNS codes of failures without an answer (Node's net/dns, got, undici). */
const RETRYABLE_TRANSPORT_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
]);

/** Transport codes that retrying cannot fix: a bad address or a certificate the settings must deal with. */
const PERMANENT_TRANSPORT_CODES: ReadonlySet<string> = new Set([
  'ERR_INVALID_URL',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
]);

const FINANCE_CODES: ReadonlySet<string> = new Set(ERROR_CODES);

/**
 * Everything wrong with a policy, one sentence per field (empty when it is usable). Missing fields are
 * taken from DEFAULT_RETRY_POLICY before checking.
 */
export function validateRetryPolicy(partial: Partial<RetryPolicy>): string[] {
  const policy = { ...DEFAULT_RETRY_POLICY, ...partial };
  const violations: string[] = [];
  const check = (ok: boolean, sentence: string) => {
    if (!ok) violations.push(sentence);
  };
  check(
    isNumberIn(policy.initialIntervalMs, 1, DAY_MS),
    `initialIntervalMs must be a number of milliseconds from 1 to ${DAY_MS} (one day)`,
  );
  check(isNumberIn(policy.backoffCoefficient, 1, 100), 'backoffCoefficient must be a number from 1 to 100');
  check(
    isNumberIn(policy.maximumIntervalMs, 1, DAY_MS),
    `maximumIntervalMs must be a number of milliseconds from 1 to ${DAY_MS} (one day)`,
  );
  check(
    !(policy.maximumIntervalMs < policy.initialIntervalMs),
    'maximumIntervalMs must not be shorter than initialIntervalMs',
  );
  check(
    Number.isInteger(policy.maximumAttempts) && policy.maximumAttempts >= 1 && policy.maximumAttempts <= 1000,
    'maximumAttempts must be a whole number from 1 to 1000 (1 means no retries)',
  );
  check(isNumberIn(policy.jitter, 0, 0.99), 'jitter must be a fraction from 0 to 0.99 (0.2 = +/-20 %)');
  check(
    isNumberIn(policy.retryAfterCapMs, 0, DAY_MS),
    `retryAfterCapMs must be a number of milliseconds from 0 to ${DAY_MS} (one day)`,
  );
  check(
    Number.isInteger(policy.maximumThrottledWaits) &&
      policy.maximumThrottledWaits >= 0 &&
      policy.maximumThrottledWaits <= 1000,
    'maximumThrottledWaits must be a whole number from 0 to 1000 (0 means a 429 uses up an attempt)',
  );
  return violations;
}

/** The defaults with `partial` laid over them; CONFIG_INVALID naming every wrong field. */
export function retryPolicy(partial: Partial<RetryPolicy> = {}): RetryPolicy {
  const violations = validateRetryPolicy(partial);
  if (violations.length > 0) {
    throw new FinanceError('CONFIG_INVALID', `The retry policy is not usable: ${violations.join('; ')}.`, {
      details: { violations },
    });
  }
  return { ...DEFAULT_RETRY_POLICY, ...partial };
}

/** Where a message stands in its retries. */
export interface RetryProgress {
  /** The attempt it is on (1 = the first). */
  attempt: number;
  /** Waits on a 429 it has had that used no attempt. */
  throttledWaits: number;
}

export type RetryDecision =
  | { retry: true; next: RetryProgress; delayMs: number }
  | {
      retry: false;
      /** `permanent`: retrying cannot fix it; `attempts`: the last attempt failed. */
      reason: 'permanent' | 'attempts';
    };

/** An ERP's "too many requests": the pack's ERP_RATE_LIMITED or an HTTP 429. */
export function isThrottled(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const facts = error as { code?: unknown; httpStatus?: unknown; statusCode?: unknown; status?: unknown };
  if (facts.code === 'ERP_RATE_LIMITED') return true;
  return (httpStatusOf(facts.httpStatus) ?? httpStatusOf(facts.statusCode) ?? httpStatusOf(facts.status)) === 429;
}

/**
 * Whether to try again after the attempt at `progress` failed with `error`, when, and where the message then
 * stands. Three kinds of retryable failure:
 * - nothing was sent (CIRCUIT_OPEN: the breaker held the call; `details.sent === false`: the ledger saw
 *   another attempt at the same write): no attempt used, the backoff of the current attempt;
 * - a throttle (429), while throttled waits are left: no attempt used, one throttled wait used, and a backoff
 *   that keeps growing with each such wait (Retry-After honoured as always), so a throttled caller slows down;
 * - anything else, and a throttle once the throttled waits are used up: one attempt used.
 */
export function decideRetry(
  policy: RetryPolicy,
  progress: RetryProgress,
  error: unknown,
  random: () => number = Math.random,
): RetryDecision {
  if (!isRetryable(error)) return { retry: false, reason: 'permanent' };
  const { attempt, throttledWaits } = progress;
  if (!wasSent(error)) {
    return { retry: true, next: { attempt, throttledWaits }, delayMs: nextDelayMs(policy, attempt, error, random) };
  }
  if (isThrottled(error) && throttledWaits < policy.maximumThrottledWaits) {
    return {
      retry: true,
      next: { attempt, throttledWaits: throttledWaits + 1 },
      delayMs: nextDelayMs(policy, attempt + throttledWaits, error, random),
    };
  }
  if (!hasAttemptsLeft(policy, attempt)) return { retry: false, reason: 'attempts' };
  return {
    retry: true,
    next: { attempt: attempt + 1, throttledWaits },
    delayMs: nextDelayMs(policy, attempt, error, random),
  };
}

/** False when the failure says its call never went out (so it cannot have used an attempt). */
function wasSent(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return true;
  const facts = error as { code?: unknown; details?: { sent?: unknown } };
  return facts.code !== 'CIRCUIT_OPEN' && facts.details?.sent !== false;
}

/** True when the attempt numbered `attempt` (1 = the first) may be followed by another. */
export function hasAttemptsLeft(policy: RetryPolicy, attempt: number): boolean {
  return attempt < policy.maximumAttempts;
}

/**
 * How long to wait after attempt number `attempt` (1 = the first) failed with `error`.
 *
 * Backoff: initialInterval x coefficient^(attempt - 1), capped at maximumInterval, then spread by +/-jitter
 * (and capped again, so maximumInterval is a true maximum). `random` returns a number in [0, 1), like
 * Math.random; tests pass their own.
 *
 * Retry-After: when the error carries `retryAfterMs` (FinanceError does, from the ERP's Retry-After header),
 * the wait is at least that long, up to retryAfterCapMs. Jitter never shortens it; it may lengthen it by up
 * to the jitter fraction (still within the cap), so that callers told the same instant do not all return at
 * that instant.
 */
export function nextDelayMs(
  policy: RetryPolicy,
  attempt: number,
  error?: unknown,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, Math.floor(attempt) - 1);
  const backoff = Math.min(policy.initialIntervalMs * policy.backoffCoefficient ** exponent, policy.maximumIntervalMs);
  const spread = 1 + policy.jitter * (2 * random() - 1);
  const jittered = Math.min(backoff * spread, policy.maximumIntervalMs);
  const asked = retryAfterMsOf(error);
  if (asked === undefined) return Math.round(jittered);
  const honoured = Math.min(asked, policy.retryAfterCapMs);
  const lengthened = Math.max(honoured, Math.min(policy.retryAfterCapMs, honoured * (1 + policy.jitter * random())));
  return Math.round(Math.max(jittered, lengthened));
}

/** The wait a failure asks for, in ms: `retryAfterMs` of a FinanceError or of a plain error object. */
export function retryAfterMsOf(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const value = (error as { retryAfterMs?: unknown }).retryAfterMs;
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/**
 * Whether another attempt may succeed where this one failed. In order:
 *   1. a FinanceError, or any error object with a boolean `retryable`, says so itself;
 *   2. its `code`: the pack's ERP_TIMEOUT, ERP_UNAVAILABLE, ERP_RATE_LIMITED, CIRCUIT_OPEN, STORE_UNAVAILABLE and
 *      socket codes (ECONNRESET, ETIMEDOUT...) are retryable; the pack's other codes, invalid URLs and
 *      certificate errors are not;
 *   3. its HTTP status (`httpStatus`, `statusCode` or `status`): 408, 425, 429, 500, 502, 503, 504 are
 *      retryable, any other status from 400 up is not;
 *   4. anything else (an error nobody classified, such as core http request's "no response from server") is
 *      treated as transient: every ERP write of the pack is idempotent, so a needless retry costs a little
 *      time, while a wrong "permanent" verdict would send recoverable work to the dead letters.
 */
export function isRetryable(error: unknown): boolean {
  if (error instanceof FinanceError) return error.retryable;
  if (typeof error !== 'object' || error === null) return true;
  const facts = error as {
    retryable?: unknown;
    code?: unknown;
    httpStatus?: unknown;
    statusCode?: unknown;
    status?: unknown;
  };
  if (typeof facts.retryable === 'boolean') return facts.retryable;
  if (typeof facts.code === 'string') {
    if (RETRYABLE_FINANCE_CODES.has(facts.code) || RETRYABLE_TRANSPORT_CODES.has(facts.code)) return true;
    if (FINANCE_CODES.has(facts.code) || PERMANENT_TRANSPORT_CODES.has(facts.code)) return false;
  }
  const status = httpStatusOf(facts.httpStatus) ?? httpStatusOf(facts.statusCode) ?? httpStatusOf(facts.status);
  if (status !== undefined && status >= 400) return RETRYABLE_HTTP_STATUSES.has(status);
  return true;
}

function httpStatusOf(value: unknown): number | undefined {
  const status = typeof value === 'string' && /^\d{3}$/.test(value) ? Number(value) : value;
  return typeof status === 'number' && Number.isInteger(status) && status >= 100 && status <= 599 ? status : undefined;
}

function isNumberIn(value: unknown, min: number, max: number): boolean {
  return typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;
}
