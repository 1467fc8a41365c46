/**
 * A 429 with Retry-After holds the whole connection: requests not sent yet wait until that time, requests in
 * flight are left alone, close() rejects the waiters. Time is a FakeClock, so the waits cost nothing.
 */
import type http from 'node:http';
import { ErpClient, type ErpConnectionConfig } from '../../../lib/erp/client';
import { FakeClock, sendJson, startServer, tick, until, type TestServer, failure } from './helpers';

interface Arrival {
  path: string;
  at: number;
  res: http.ServerResponse;
}

let server: TestServer;
/** Every request the ERP received, with the fake time it arrived at; the test answers them. */
let arrivals: Arrival[];
let clock: FakeClock;
const clients: ErpClient[] = [];

beforeEach(async () => {
  arrivals = [];
  clock = new FakeClock();
  server = await startServer((req, res) => arrivals.push({ path: req.url ?? '', at: clock.now(), res }));
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server.close();
});

function client(config: Partial<ErpConnectionConfig> = {}, dateNow?: () => number): ErpClient {
  const created = new ErpClient(
    {
      name: 'throttled-erp',
      dialect: 'sandbox',
      baseUrl: server.url,
      auth: { type: 'none' },
      circuitBreaker: null,
      ...config,
    },
    { clock, dateNow },
  );
  clients.push(created);
  return created;
}

function tooManyRequests(arrival: Arrival, retryAfter?: string): void {
  sendJson(
    arrival.res,
    429,
    { title: 'Too many requests' },
    retryAfter === undefined ? {} : { 'Retry-After': retryAfter },
  );
}

/**
 * The request, marked as handled: should a check fail before the test awaits it, close() in afterEach rejects it,
 * and that must fail the test, not crash the worker with an unhandled rejection.
 */
function later<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** Lets everything that could go out go out: a held request that is wrongly let through arrives in this time. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await tick();
}

describe('ErpClient: the hold after a 429', () => {
  it("holds another message's request until the Retry-After time, then sends it", async () => {
    const erp = client();
    const first = later(erp.request({ method: 'POST', path: '/first' }));
    await until(() => arrivals.length === 1, 'the first request');
    tooManyRequests(arrivals[0], '2');
    const limited = await failure(first);
    expect(limited).toMatchObject({ code: 'ERP_RATE_LIMITED', retryAfterMs: 2000 });

    const second = later(erp.request<{ ok: boolean }>({ method: 'POST', path: '/second' }));
    await settle();
    expect(arrivals).toHaveLength(1);
    expect(erp.stats()).toMatchObject({ inFlight: 0, waitingForRateLimit: 1 });
    clock.advance(1999);
    await settle();
    expect(arrivals).toHaveLength(1);
    clock.advance(1);
    await until(() => arrivals.length === 2, 'the second request after the hold');
    expect(arrivals[1]).toMatchObject({ path: '/second', at: 2000 });
    sendJson(arrivals[1].res, 200, { ok: true });
    await expect(second).resolves.toMatchObject({ status: 200, data: { ok: true } });
  });

  it('holds a request that was already waiting for a slot when the 429 came', async () => {
    const erp = client({ maxConcurrency: 1 });
    const first = later(erp.request({ method: 'GET', path: '/first' }));
    const queued = later(erp.request({ method: 'GET', path: '/queued' }));
    await until(() => arrivals.length === 1, 'the first request');
    expect(erp.stats().waitingForSlot).toBe(1);
    tooManyRequests(arrivals[0], '2');
    await failure(first);
    await settle();
    expect(arrivals).toHaveLength(1);
    clock.advance(2000);
    await until(() => arrivals.length === 2, 'the queued request after the hold');
    sendJson(arrivals[1].res, 200, {});
    await expect(queued).resolves.toMatchObject({ status: 200 });
  });

  it('holds a request that was waiting for its rate-limit grant, and takes a new grant after the hold', async () => {
    const erp = client({ rateLimit: { requests: 1, perMs: 1000 } });
    const first = later(erp.request({ method: 'GET', path: '/first' }));
    const queued = later(erp.request({ method: 'GET', path: '/queued' }));
    await until(() => arrivals.length === 1 && erp.stats().waitingForRateLimit === 1, 'the first request');
    tooManyRequests(arrivals[0], '5');
    await failure(first);
    // The grant comes at 1000, inside the hold: the request must not go out with it.
    clock.advance(1000);
    await settle();
    expect(arrivals).toHaveLength(1);
    clock.advance(3999);
    await settle();
    expect(arrivals).toHaveLength(1);
    clock.advance(1);
    await until(() => arrivals.length === 2, 'the queued request after the hold');
    expect(arrivals[1].at).toBe(5000);
    sendJson(arrivals[1].res, 200, {});
    await expect(queued).resolves.toMatchObject({ status: 200 });
  });

  it('leaves a request in flight alone: it is answered as the ERP answers it', async () => {
    const erp = client();
    const first = later(erp.request({ method: 'GET', path: '/first' }));
    const inFlight = later(erp.request<{ ok: boolean }>({ method: 'GET', path: '/in-flight' }));
    await until(() => arrivals.length === 2, 'both requests');
    tooManyRequests(arrivals.find((arrival) => arrival.path === '/first') as Arrival, '2');
    await failure(first);
    sendJson((arrivals.find((arrival) => arrival.path === '/in-flight') as Arrival).res, 200, { ok: true });
    await expect(inFlight).resolves.toMatchObject({ data: { ok: true } });
    expect(clock.now()).toBe(0);
  });

  it('holds nothing after a 429 without Retry-After: the next request goes out at once', async () => {
    const erp = client();
    const first = later(erp.request({ method: 'GET', path: '/first' }));
    await until(() => arrivals.length === 1, 'the first request');
    tooManyRequests(arrivals[0]);
    expect(await failure(first)).toMatchObject({ code: 'ERP_RATE_LIMITED', retryAfterMs: undefined });
    const next = later(erp.request({ method: 'GET', path: '/next' }));
    await until(() => arrivals.length === 2, 'the next request at once');
    expect(arrivals[1].at).toBe(0);
    sendJson(arrivals[1].res, 200, {});
    await next;
  });

  it('holds for an HTTP-date Retry-After as long as it says, read against the wall clock', async () => {
    const erp = client({ timeoutMs: 180_000 }, () => Date.parse('2026-11-29T12:00:00Z'));
    const first = later(erp.request({ method: 'GET', path: '/first' }));
    await until(() => arrivals.length === 1, 'the first request');
    tooManyRequests(arrivals[0], 'Sun, 29 Nov 2026 12:02:00 GMT');
    await failure(first);
    void later(erp.request({ method: 'GET', path: '/next' }));
    clock.advance(119_999);
    await settle();
    expect(arrivals).toHaveLength(1);
    clock.advance(1);
    await until(() => arrivals.length === 2, 'the next request after two minutes');
    sendJson(arrivals[1].res, 200, {});
  });

  it('holds at most the longest Retry-After the client honours (a day)', async () => {
    const erp = client({ timeoutMs: 2 * 86_400_000 });
    const first = later(erp.request({ method: 'GET', path: '/first' }));
    await until(() => arrivals.length === 1, 'the first request');
    tooManyRequests(arrivals[0], '3000000');
    expect(await failure(first)).toMatchObject({ retryAfterMs: 86_400_000 });
    void later(erp.request({ method: 'GET', path: '/next' }));
    await settle();
    expect(clock.nextTimerAt()).toBe(86_400_000);
    clock.advance(86_400_000);
    await until(() => arrivals.length === 2, 'the next request after a day');
    sendJson(arrivals[1].res, 200, {});
  });

  it('fails a request unsent when the hold is longer than its timeout: its durable retry waits instead', async () => {
    const erp = client({ timeoutMs: 30_000 });
    const first = later(erp.request({ method: 'GET', path: '/first' }));
    await until(() => arrivals.length === 1, 'the first request');
    tooManyRequests(arrivals[0], '3600');
    await failure(first);
    clock.advance(1000);
    const held = await failure(erp.request({ method: 'POST', path: '/next?token=abc' }));
    expect(held).toMatchObject({
      code: 'ERP_RATE_LIMITED',
      retryable: true,
      retryAfterMs: 3_599_000,
      details: { sent: false },
    });
    expect(held.message).toContain('another 3599 s, longer than this request');
    expect(held.message).toContain('POST /next was not sent');
    // A request whose own timeout covers the rest of the hold waits for it.
    clock.advance(3_570_000);
    const waits = later(erp.request({ method: 'GET', path: '/waits' }));
    await settle();
    expect(arrivals).toHaveLength(1);
    clock.advance(29_000);
    await until(() => arrivals.length === 2, 'the request after the hold');
    sendJson(arrivals[1].res, 200, {});
    await expect(waits).resolves.toMatchObject({ status: 200 });
  });

  it('lengthens the hold when a later 429 asks for more, and never shortens it', async () => {
    const erp = client();
    const a = later(erp.request({ method: 'GET', path: '/a' }));
    const b = later(erp.request({ method: 'GET', path: '/b' }));
    await until(() => arrivals.length === 2, 'both requests');
    tooManyRequests(arrivals[0], '5');
    await failure(arrivals[0].path === '/a' ? a : b);
    tooManyRequests(arrivals[1], '1');
    await failure(arrivals[1].path === '/a' ? a : b);
    void later(erp.request({ method: 'GET', path: '/next' }));
    clock.advance(4999);
    await settle();
    expect(arrivals).toHaveLength(2);
    clock.advance(1);
    await until(() => arrivals.length === 3, 'the next request after the longer hold');
    sendJson(arrivals[2].res, 200, {});
  });

  it('rejects the held requests with the closed error on close(), unsent, and leaves no timer behind', async () => {
    const erp = client();
    const first = later(erp.request({ method: 'GET', path: '/first' }));
    await until(() => arrivals.length === 1, 'the first request');
    tooManyRequests(arrivals[0], '2');
    await failure(first);
    const held = [later(erp.request({ method: 'GET', path: '/a' })), later(erp.request({ method: 'GET', path: '/b' }))];
    await settle();
    expect(erp.stats().waitingForRateLimit).toBe(2);
    expect(clock.pendingTimers).toBe(1);
    erp.close();
    for (const request of held) {
      const closed = await failure(request);
      expect(closed).toMatchObject({ code: 'ERP_UNAVAILABLE', retryable: true, details: { sent: false } });
      expect(closed.message).toContain('was closed');
    }
    expect(clock.pendingTimers).toBe(0);
    clock.advance(2000);
    await settle();
    expect(arrivals).toHaveLength(1);
  });
});
