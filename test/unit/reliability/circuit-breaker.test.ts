import { FinanceError } from '../../../lib/errors';
import { ErpClient } from '../../../lib/erp/client';
import { CircuitBreaker, type CircuitState } from '../../../lib/reliability/circuit-breaker';
import { FakeClock, sendJson, startServer, type TestServer } from '../erp/helpers';

const unavailable = () => new FinanceError('ERP_UNAVAILABLE', 'ERP answered 503', { retryable: true, httpStatus: 503 });
const refused = () => new FinanceError('ERP_REJECTED', 'ERP answered 422', { retryable: false, httpStatus: 422 });

/** A breaker on a hand-driven clock, recording every state it announces. */
function breakerWith(settings: ConstructorParameters<typeof CircuitBreaker>[1] = {}) {
  const clock = new FakeClock();
  const breaker = new CircuitBreaker('erp-test', settings, clock);
  const states: CircuitState[] = [];
  breaker.on('state', (state) => states.push(state));
  return { clock, breaker, states };
}

async function outcomes(breaker: CircuitBreaker, pattern: string): Promise<void> {
  for (const outcome of pattern) {
    await breaker
      .run(async () => {
        if (outcome === 'x') throw unavailable();
        if (outcome === 'r') throw refused();
        return 'ok';
      })
      .catch(() => undefined);
  }
}

describe('CircuitBreaker', () => {
  it('stays closed below the minimum number of calls, even when all of them fail', async () => {
    const { breaker, states } = breakerWith();
    await outcomes(breaker, 'x'.repeat(19));
    expect(breaker.state).toBe('closed');
    expect(states).toEqual([]);
  });

  it('opens when half of at least 20 calls in the window failed, and then fails fast', async () => {
    const { clock, breaker, states } = breakerWith();
    await outcomes(breaker, 'o'.repeat(10) + 'x'.repeat(9));
    expect(breaker.state).toBe('closed');
    await outcomes(breaker, 'x');
    expect(breaker.state).toBe('open');
    expect(states).toEqual(['open']);

    clock.advance(10_000);
    const call = jest.fn(async () => 'sent');
    const failure = await breaker.run(call).catch((error: unknown) => error);
    expect(call).not.toHaveBeenCalled();
    expect(failure).toBeInstanceOf(FinanceError);
    expect(failure).toMatchObject({ code: 'CIRCUIT_OPEN', retryable: true, retryAfterMs: 20_000 });
    expect((failure as Error).message).toMatch(/erp-test.*10 of 20 calls in 30 s failed.*20 s/);
  });

  it('counts only calls inside the sliding window', async () => {
    const { clock, breaker } = breakerWith();
    await outcomes(breaker, 'x'.repeat(15));
    clock.advance(31_000);
    await outcomes(breaker, 'o'.repeat(10) + 'x'.repeat(4));
    expect(breaker.state).toBe('closed');
  });

  it('counts a business refusal (422) as a success: the ERP is answering', async () => {
    const { breaker, states } = breakerWith();
    await outcomes(breaker, 'r'.repeat(40));
    expect(breaker.state).toBe('closed');
    await outcomes(breaker, 'x'.repeat(19));
    expect(breaker.state).toBe('closed');
    expect(states).toEqual([]);
  });

  it('half-opens after the wait, lets one trial through, and closes when it succeeds', async () => {
    const { clock, breaker, states } = breakerWith({ minimumCalls: 4, openMs: 5000 });
    await outcomes(breaker, 'xxxx');
    expect(breaker.state).toBe('open');
    clock.advance(5000);
    expect(breaker.state).toBe('half-open');

    let finishTrial: (value: string) => void = () => undefined;
    const trial = breaker.run(() => new Promise<string>((resolve) => (finishTrial = resolve)));
    const second = await breaker.run(async () => 'sent').catch((error: unknown) => error);
    expect(second).toMatchObject({ code: 'CIRCUIT_OPEN', retryable: true });
    finishTrial('trial ok');
    await expect(trial).resolves.toBe('trial ok');
    expect(breaker.state).toBe('closed');
    expect(states).toEqual(['open', 'half-open', 'closed']);
    await expect(breaker.run(async () => 'sent')).resolves.toBe('sent');
  });

  it('opens again for the full wait when the trial fails', async () => {
    const { clock, breaker, states } = breakerWith({ minimumCalls: 2, openMs: 5000 });
    await outcomes(breaker, 'xx');
    clock.advance(5000);
    await outcomes(breaker, 'x');
    expect(states).toEqual(['open', 'half-open', 'open']);
    await expect(breaker.run(async () => 'sent')).rejects.toMatchObject({ code: 'CIRCUIT_OPEN', retryAfterMs: 5000 });
    clock.advance(4999);
    expect(breaker.state).toBe('open');
    clock.advance(1);
    expect(breaker.state).toBe('half-open');
  });

  it('ignores the late outcome of a call that started before the circuit opened', async () => {
    const { breaker, states } = breakerWith({ minimumCalls: 2 });
    let finishSlow: (value: string) => void = () => undefined;
    const slow = breaker.run(() => new Promise<string>((resolve) => (finishSlow = resolve)));
    await outcomes(breaker, 'xx');
    expect(breaker.state).toBe('open');
    finishSlow('late');
    await expect(slow).resolves.toBe('late');
    expect(breaker.state).toBe('open');
    expect(states).toEqual(['open']);
  });

  it('passes the call result and the call error on unchanged', async () => {
    const { breaker } = breakerWith();
    await expect(breaker.run(async () => 42)).resolves.toBe(42);
    const error = refused();
    await expect(breaker.run(async () => Promise.reject(error))).rejects.toBe(error);
  });

  it('refuses unusable settings with CONFIG_INVALID naming them', () => {
    expect(() => new CircuitBreaker('erp', { failureRateThreshold: 0, windowMs: 10 })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/"erp".*failureRateThreshold.*windowMs/),
      }),
    );
  });
});

describe('ErpClient with its circuit breaker', () => {
  let server: TestServer;
  let hits = 0;

  beforeAll(async () => {
    server = await startServer((_req, res) => {
      hits += 1;
      sendJson(res, 503, { title: 'maintenance' });
    });
  });
  afterAll(async () => {
    await server.close();
  });
  beforeEach(() => {
    hits = 0;
  });

  it('puts every request through the breaker: once open, requests fail fast without being sent', async () => {
    const clock = new FakeClock();
    const client = new ErpClient(
      {
        name: 'flaky',
        dialect: 'sandbox',
        baseUrl: server.url,
        auth: { type: 'none' },
        circuitBreaker: { minimumCalls: 3, openMs: 60_000 },
      },
      { clock },
    );
    const states: string[] = [];
    const stop = client.onCircuitState((state) => states.push(state));
    try {
      for (let i = 0; i < 3; i++) {
        await expect(client.request({ method: 'GET', path: '/health' })).rejects.toMatchObject({
          code: 'ERP_UNAVAILABLE',
        });
      }
      expect(client.circuitState()).toBe('open');
      expect(states).toEqual(['open']);
      await expect(client.request({ method: 'GET', path: '/health' })).rejects.toMatchObject({
        code: 'CIRCUIT_OPEN',
        retryAfterMs: 60_000,
      });
      expect(hits).toBe(3);
      stop();
      clock.advance(60_000);
      expect(client.circuitState()).toBe('half-open');
      expect(states).toEqual(['open']);
    } finally {
      client.close();
    }
  });

  it('sends every request when the breaker is turned off', async () => {
    const client = new ErpClient({
      name: 'no-breaker',
      dialect: 'sandbox',
      baseUrl: server.url,
      auth: { type: 'none' },
      circuitBreaker: null,
    });
    try {
      for (let i = 0; i < 25; i++) {
        await expect(client.request({ method: 'GET', path: '/health' })).rejects.toMatchObject({
          code: 'ERP_UNAVAILABLE',
        });
      }
      expect(hits).toBe(25);
      expect(client.circuitState()).toBe('closed');
    } finally {
      client.close();
    }
  });
});
