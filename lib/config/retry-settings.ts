/**
 * Turns the retry fields of a dialog (`finance-erp` and `finance-retry` share them) into a RetryPolicy.
 * The dialog speaks seconds, fractions allowed (0.5 s); the policy speaks milliseconds. Jitter is not a
 * dialog field: it stays at the policy's +/-20 %.
 */
import { FinanceError } from '../errors';
import { DEFAULT_RETRY_POLICY, retryPolicy, type RetryPolicy } from '../reliability/retry-policy';
import { integerSetting } from './settings';

export interface RetryDialogSettings {
  retryInitialSeconds?: string | number;
  retryBackoffCoefficient?: string | number;
  retryMaximumSeconds?: string | number;
  retryMaximumAttempts?: string | number;
  retryAfterCapSeconds?: string | number;
  retryMaximumThrottledWaits?: string | number;
}

const DAY_SECONDS = 24 * 60 * 60;

export function retryPolicyFromDialog(settings: RetryDialogSettings): RetryPolicy {
  const initialIntervalMs = secondsSetting(settings.retryInitialSeconds, 'First wait (s)', {
    min: 0.01,
    max: DAY_SECONDS,
    fallback: DEFAULT_RETRY_POLICY.initialIntervalMs / 1000,
  });
  const maximumIntervalMs = secondsSetting(settings.retryMaximumSeconds, 'Longest wait (s)', {
    min: 0.01,
    max: DAY_SECONDS,
    fallback: DEFAULT_RETRY_POLICY.maximumIntervalMs / 1000,
  });
  if (maximumIntervalMs < initialIntervalMs) {
    throw new FinanceError(
      'CONFIG_INVALID',
      "Longest wait (s) is shorter than First wait (s); make it at least as long. Fix it in the node's dialog.",
      { details: { field: 'Longest wait (s)' } },
    );
  }
  return retryPolicy({
    initialIntervalMs,
    backoffCoefficient: decimalSetting(settings.retryBackoffCoefficient, 'Backoff factor', {
      min: 1,
      max: 100,
      fallback: DEFAULT_RETRY_POLICY.backoffCoefficient,
    }),
    maximumIntervalMs,
    maximumAttempts: integerSetting(settings.retryMaximumAttempts, 'Attempts', {
      min: 1,
      max: 1000,
      fallback: DEFAULT_RETRY_POLICY.maximumAttempts,
    }),
    jitter: DEFAULT_RETRY_POLICY.jitter,
    retryAfterCapMs: secondsSetting(settings.retryAfterCapSeconds, 'Retry-After cap (s)', {
      min: 0,
      max: DAY_SECONDS,
      fallback: DEFAULT_RETRY_POLICY.retryAfterCapMs / 1000,
    }),
    maximumThrottledWaits: integerSetting(settings.retryMaximumThrottledWaits, 'Waits on 429', {
      min: 0,
      max: 1000,
      fallback: DEFAULT_RETRY_POLICY.maximumThrottledWaits,
    }),
  });
}

/** A number of seconds from the dialog, as whole milliseconds. */
export function secondsSetting(
  value: unknown,
  field: string,
  range: { min: number; max: number; fallback: number },
): number {
  return Math.round(decimalSetting(value, field, range) * 1000);
}

function decimalSetting(
  value: unknown,
  field: string,
  { min, max, fallback }: { min: number; max: number; fallback: number },
): number {
  if (value === undefined || value === null || String(value).trim() === '') return fallback;
  const number = typeof value === 'number' ? value : Number(String(value).trim());
  if (!Number.isFinite(number) || number < min || number > max) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `${field} must be a number from ${min} to ${max}; it is "${String(value)}". Fix it in the node's dialog.`,
      { details: { field } },
    );
  }
  return number;
}
