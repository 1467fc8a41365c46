import { erpConnectionConfig } from '../../../lib/config/erp-connection';
import { retryPolicyFromDialog } from '../../../lib/config/retry-settings';
import { DEFAULT_CIRCUIT_BREAKER } from '../../../lib/reliability/circuit-breaker';
import { DEFAULT_RETRY_POLICY } from '../../../lib/reliability/retry-policy';

const base = { dialect: 'sandbox', baseUrl: 'http://127.0.0.1:8089', authType: 'none' };

describe('retry policy from a dialog', () => {
  it('takes the defaults for fields an older flow does not have', () => {
    expect(retryPolicyFromDialog({})).toEqual(DEFAULT_RETRY_POLICY);
    expect(retryPolicyFromDialog({ retryInitialSeconds: ' ', retryMaximumAttempts: '' })).toEqual(DEFAULT_RETRY_POLICY);
  });

  it('reads seconds (fractions too) as milliseconds, from strings or numbers', () => {
    expect(
      retryPolicyFromDialog({
        retryInitialSeconds: '0.25',
        retryBackoffCoefficient: '1.5',
        retryMaximumSeconds: 60,
        retryMaximumAttempts: '4',
        retryAfterCapSeconds: '0',
        retryMaximumThrottledWaits: '5',
      }),
    ).toEqual({
      initialIntervalMs: 250,
      backoffCoefficient: 1.5,
      maximumIntervalMs: 60_000,
      maximumAttempts: 4,
      jitter: 0.2,
      retryAfterCapMs: 0,
      maximumThrottledWaits: 5,
    });
  });

  it.each([
    [{ retryInitialSeconds: 'soon' }, /First wait \(s\) must be a number from 0.01/],
    [{ retryInitialSeconds: '0' }, /First wait \(s\)/],
    [{ retryBackoffCoefficient: '0.5' }, /Backoff factor must be a number from 1 to 100/],
    [{ retryMaximumSeconds: '-3' }, /Longest wait \(s\)/],
    [{ retryMaximumAttempts: '2.5' }, /Attempts must be a whole number from 1 to 1000/],
    [{ retryMaximumAttempts: '0' }, /Attempts must/],
    [{ retryAfterCapSeconds: '100000' }, /Retry-After cap \(s\)/],
    [{ retryMaximumThrottledWaits: '-1' }, /Waits on 429 must be a whole number from 0 to 1000/],
    [{ retryInitialSeconds: '10', retryMaximumSeconds: '5' }, /Longest wait \(s\) is shorter than First wait/],
  ])('refuses %o with CONFIG_INVALID naming the field', (settings, message) => {
    expect(() => retryPolicyFromDialog(settings)).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) }),
    );
  });
});

describe('circuit breaker from the finance-erp dialog', () => {
  it('is on with the defaults when the dialog has no breaker fields', () => {
    expect(erpConnectionConfig(base, {}).circuitBreaker).toEqual(DEFAULT_CIRCUIT_BREAKER);
  });

  it('reads percent, calls and seconds', () => {
    const config = erpConnectionConfig(
      {
        ...base,
        circuitBreaker: true,
        circuitFailureRate: '25',
        circuitMinimumCalls: '5',
        circuitWindowSeconds: '60',
        circuitOpenSeconds: 10,
      },
      {},
    );
    expect(config.circuitBreaker).toEqual({
      failureRateThreshold: 25,
      minimumCalls: 5,
      windowMs: 60_000,
      openMs: 10_000,
      halfOpenCalls: 1,
    });
  });

  it('is off (null) when unticked, whatever the other fields say', () => {
    expect(
      erpConnectionConfig({ ...base, circuitBreaker: false, circuitFailureRate: 'x' }, {}).circuitBreaker,
    ).toBeNull();
  });

  it.each([
    [{ circuitFailureRate: '0' }, /Circuit breaker failure rate \(%\) must be a whole number from 1 to 100/],
    [{ circuitFailureRate: '150' }, /failure rate/],
    [{ circuitMinimumCalls: '1.5' }, /Circuit breaker minimum calls/],
    [{ circuitWindowSeconds: '0' }, /Circuit breaker window \(s\)/],
    [{ circuitOpenSeconds: 'later' }, /Circuit breaker open for \(s\)/],
  ])('refuses %o with CONFIG_INVALID naming the field', (settings, message) => {
    expect(() => erpConnectionConfig({ ...base, ...settings }, {})).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) }),
    );
  });

  it('refuses a Base URL with a query or a fragment, which request paths would be appended after', () => {
    for (const baseUrl of ['http://127.0.0.1:8089/api?api_key=QSKEY-321', 'http://127.0.0.1:8089/api#x']) {
      let error: unknown;
      try {
        erpConnectionConfig({ ...base, baseUrl }, {});
      } catch (caught) {
        error = caught;
      }
      expect(error).toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('Base URL must not contain a query'),
        details: { field: 'Base URL' },
      });
      expect((error as Error).message).not.toContain('QSKEY');
    }
  });

  it('keeps the connection settings it read before', () => {
    const config = erpConnectionConfig({ ...base, rateLimitRequests: '100', rateLimitWindowSeconds: '60' }, {});
    expect(config).toMatchObject({
      dialect: 'sandbox',
      baseUrl: 'http://127.0.0.1:8089',
      rateLimit: { requests: 100, perMs: 60_000 },
    });
  });
});

describe('the Proxy fields of the finance-erp dialog', () => {
  function errorOf(fn: () => unknown): { code?: string; message: string; details?: unknown } {
    try {
      fn();
    } catch (err) {
      return err as { code?: string; message: string };
    }
    throw new Error('nothing was thrown');
  }

  it('reads a flow saved before the setting as "from the environment"', () => {
    expect(erpConnectionConfig(base, {}).proxy).toEqual({ mode: 'environment' });
    expect(erpConnectionConfig({ ...base, proxyMode: 'none' }, {}).proxy).toEqual({ mode: 'none' });
  });

  it('takes an explicit proxy with its user and password from the credentials', () => {
    const config = erpConnectionConfig(
      { ...base, proxyMode: 'url', proxyUrl: ' http://proxy.corp:3128 ' },
      { proxyUsername: 'svc', proxyPassword: 'pw' },
    );
    expect(config.proxy).toEqual({ mode: 'url', url: 'http://proxy.corp:3128', username: 'svc', password: 'pw' });
  });

  it.each([
    [{ proxyMode: 'socks' }, {}, /Proxy "socks" is not one of environment, none, url/, 'proxyMode'],
    [{ proxyMode: 'url' }, {}, /Proxy URL is empty/, 'proxyUrl'],
    [
      { proxyMode: 'url', proxyUrl: 'http://u:hunter2@proxy:3128' },
      {},
      /Proxy user and Proxy password fields/,
      'proxyUrl',
    ],
    [{ proxyMode: 'url', proxyUrl: 'https://proxy:3128' }, {}, /https:\/\/ proxy/, 'proxyUrl'],
    [{ proxyMode: 'url', proxyUrl: 'proxy:3128' }, { proxyPassword: 'pw' }, /without a Proxy user/, 'proxyUsername'],
  ])('refuses %j with a CONFIG_INVALID naming the field', (fields, credentials, message, field) => {
    const error = errorOf(() => erpConnectionConfig({ ...base, ...fields }, credentials));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(message);
    expect(error.message).toContain('finance-erp');
    expect(error.message).not.toContain('hunter2');
    expect(error.details).toEqual({ field });
  });
});
