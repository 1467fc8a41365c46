import { FinanceError } from '../../../lib/errors';
import { caughtFailure, checkpointKey, MessageCheckpoints } from '../../../lib/reliability/flow-retry';
import { decideRetry, isThrottled, retryPolicy } from '../../../lib/reliability/retry-policy';
import { toRedactedJson } from '../../../lib/reliability/redact';
import { manualClock, storeSandbox } from '../store/store-fixture';

const sandbox = storeSandbox('flow-retry');
afterAll(() => sandbox.cleanup());

const NOW = Date.parse('2026-03-02T10:00:00Z');
const source = { id: 'http-1', type: 'http request', count: 1 };

describe('checkpointKey', () => {
  it('is the message id, with the part for messages split into parts', () => {
    expect(checkpointKey({ _msgid: 'abc' })).toBe('abc');
    expect(checkpointKey({ _msgid: 'abc', parts: { id: 'p', index: 2, count: 3 } })).toBe('abc/p/2');
    expect(checkpointKey({})).toBeUndefined();
    expect(checkpointKey({ _msgid: '' })).toBeUndefined();
  });
});

describe('caughtFailure', () => {
  it('retries what core http request reports without an answer (reset, refused, no response)', () => {
    expect(
      caughtFailure({ error: { message: 'Error: socket hang up', code: 'ECONNRESET', source } }, NOW).retryable,
    ).toBe(true);
    expect(caughtFailure({ error: { message: 'No response from server', source } }, NOW).retryable).toBe(true);
  });

  it('judges an HTTP status left on the message by an answer', () => {
    expect(caughtFailure({ error: { message: 'HTTP 503', source }, statusCode: 503 }, NOW).retryable).toBe(true);
    expect(caughtFailure({ error: { message: 'HTTP 404', source }, statusCode: 404 }, NOW).retryable).toBe(false);
  });

  it('trusts the pack error code that Node-RED 4.1 copies into msg.error', () => {
    expect(caughtFailure({ error: { message: 'refused', code: 'ERP_REJECTED', source } }, NOW).retryable).toBe(false);
    expect(caughtFailure({ error: { message: 'paused', code: 'CIRCUIT_OPEN', source } }, NOW).retryable).toBe(true);
  });

  it('keeps the code and HTTP status, so a throttle (429 / ERP_RATE_LIMITED) is recognised as one', () => {
    const http429 = caughtFailure({ error: { message: 'HTTP 429', source }, statusCode: 429 }, NOW);
    expect(http429).toMatchObject({ retryable: true, httpStatus: 429 });
    expect(isThrottled(http429)).toBe(true);
    const coded = caughtFailure({ error: { message: 'slow down', code: 'ERP_RATE_LIMITED', source } }, NOW);
    expect(coded).toMatchObject({ code: 'ERP_RATE_LIMITED' });
    expect(isThrottled(coded)).toBe(true);
    expect(isThrottled(caughtFailure({ error: { message: 'HTTP 503', source }, statusCode: 503 }, NOW))).toBe(false);
  });

  it('reads a Retry-After header in seconds or as an HTTP date, case-insensitively', () => {
    const seconds = caughtFailure({ error: { message: 'HTTP 503' }, headers: { 'retry-after': '120' } }, NOW);
    expect(seconds.retryAfterMs).toBe(120_000);
    const date = caughtFailure(
      { error: { message: 'HTTP 429' }, headers: { 'Retry-After': 'Mon, 02 Mar 2026 10:01:30 GMT' } },
      NOW,
    );
    expect(date.retryAfterMs).toBe(90_000);
    expect(
      caughtFailure({ error: { message: 'x' }, headers: { 'retry-after': 'soon' } }, NOW).retryAfterMs,
    ).toBeUndefined();
  });

  it('prefers msg.error.retryAfterMs and hands the error on as it came', () => {
    const error = { message: 'slow down', retryAfterMs: 5000, source };
    const failure = caughtFailure({ error, headers: { 'retry-after': '120' } }, NOW);
    expect(failure).toEqual({ error, retryable: true, retryAfterMs: 5000 });
  });
});

/**
 * A Catch node's message for a pack error, as Node-RED 4.1 builds it (error: message from toString(), source,
 * code, stack), with msg.failure as the pack's nodes attach it (nodes/shared/node-input.ts attachFailure).
 */
function caughtPackError(error: FinanceError, extra: Record<string, unknown> = {}) {
  return {
    error: { message: error.toString(), source, code: error.code, stack: error.stack },
    failure: toRedactedJson(error.toJSON()),
    ...extra,
  };
}

describe('caughtFailure of a pack error', () => {
  const policy = retryPolicy({ maximumAttempts: 3 });

  it('keeps the Retry-After and HTTP status the error carries', () => {
    const error = new FinanceError('ERP_UNAVAILABLE', 'ERP "bc" answered 503 to GET /x.', {
      httpStatus: 503,
      retryable: true,
      retryAfterMs: 300_000,
    });
    expect(caughtFailure(caughtPackError(error), NOW)).toMatchObject({
      retryable: true,
      retryAfterMs: 300_000,
      code: 'ERP_UNAVAILABLE',
      httpStatus: 503,
    });
  });

  it.each([
    ['a TLS failure', new FinanceError('ERP_UNAVAILABLE', 'the TLS connection failed', { retryable: false })],
    ['a 501', new FinanceError('ERP_UNAVAILABLE', 'answered 501', { httpStatus: 501, retryable: false })],
  ])('gives up on %s, an ERP_UNAVAILABLE the error itself calls permanent', (_, error) => {
    const failure = caughtFailure(caughtPackError(error), NOW);
    expect(failure.retryable).toBe(false);
    expect(decideRetry(policy, { attempt: 1, throttledWaits: 0 }, failure)).toEqual({
      retry: false,
      reason: 'permanent',
    });
  });

  it('retries an ERP_AUTH_FAILED the error calls retryable (the token endpoint was down)', () => {
    const error = new FinanceError('ERP_AUTH_FAILED', 'token endpoint answered 503', { retryable: true });
    expect(caughtFailure(caughtPackError(error), NOW).retryable).toBe(true);
  });

  it('retries an ERP_CONFLICT that sent nothing without using up an attempt, even after the last one', () => {
    const error = new FinanceError('ERP_CONFLICT', 'Another attempt is writing it right now', {
      retryable: true,
      retryAfterMs: 4000,
      details: { ledgerKey: 'k', sent: false },
    });
    const failure = caughtFailure(caughtPackError(error), NOW);
    expect(failure).toMatchObject({ retryable: true, details: { sent: false } });
    const decision = decideRetry(policy, { attempt: 3, throttledWaits: 0 }, failure, () => 0.5);
    expect(decision).toMatchObject({ retry: true, next: { attempt: 3, throttledWaits: 0 } });
    expect(decision.retry && decision.delayMs).toBeGreaterThanOrEqual(4000);
  });

  it('does not take the Retry-After of an earlier HTTP answer left on the message', () => {
    const error = new FinanceError('ERP_TIMEOUT', 'ERP "bc" did not answer', { retryable: true });
    const failure = caughtFailure(caughtPackError(error, { headers: { 'retry-after': '3600' }, statusCode: 503 }), NOW);
    expect(failure.retryAfterMs).toBeUndefined();
    expect(failure.httpStatus).toBeUndefined();
  });

  it('ignores msg.failure left by an earlier failure of the message, and judges msg.error as before', () => {
    const earlier = new FinanceError('ERP_UNAVAILABLE', 'the TLS connection failed', { retryable: false });
    const now = new FinanceError('ERP_UNAVAILABLE', 'ERP "bc" answered 502 to GET /x.', { retryable: true });
    const otherText = { ...caughtPackError(now), failure: caughtPackError(earlier).failure };
    expect(caughtFailure(otherText, NOW).retryable).toBe(true);
    const otherCode = caughtPackError(new FinanceError('ERP_UNAVAILABLE', 'x', { retryable: true }));
    otherCode.failure = toRedactedJson(new FinanceError('ERP_REJECTED', 'x', { retryable: false }).toJSON());
    expect(caughtFailure(otherCode, NOW).retryable).toBe(true);
  });
});

describe('MessageCheckpoints', () => {
  it('keeps a checkpoint for its TTL, lengthened by the wait of a parked retry', async () => {
    const clock = manualClock(NOW);
    const store = sandbox.open({ path: sandbox.newPath(), now: clock.now });
    const checkpoints = new MessageCheckpoints(store, 'retry-checkpoint:n1', 60_000);
    await checkpoints.put('m1', { msg: { payload: 1 }, attempt: 1, parked: false });
    await checkpoints.put('m2', { msg: { payload: 2 }, attempt: 2, parked: true, lastError: { code: 'X' } }, 30_000);
    expect(await checkpoints.get('m2')).toEqual({
      msg: { payload: 2 },
      attempt: 2,
      parked: true,
      lastError: { code: 'X' },
    });
    clock.advance(60_000);
    expect(await checkpoints.get('m1')).toBeUndefined();
    expect(await checkpoints.get('m2')).toBeDefined();
    clock.advance(30_000);
    expect(await checkpoints.get('m2')).toBeUndefined();
  });

  it('forgets a dropped checkpoint', async () => {
    const store = sandbox.open({ path: sandbox.newPath() });
    const checkpoints = new MessageCheckpoints(store, 'retry-checkpoint:n1', 60_000);
    await checkpoints.put('m1', { msg: {}, attempt: 1, parked: false });
    await checkpoints.drop('m1');
    expect(await checkpoints.get('m1')).toBeUndefined();
  });
});
