import { caughtFailure, checkpointKey, MessageCheckpoints } from '../../../lib/reliability/flow-retry';
import { isThrottled } from '../../../lib/reliability/retry-policy';
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
