import * as http from 'node:http';
import { FaultInjector } from '../../../lib/sandbox/faults';
import { DEMO, purchaseOrderBody, startTestSandbox, until, type TestSandbox } from './helpers';

describe('sandbox fault injection', () => {
  let sandbox: TestSandbox;

  beforeEach(async () => {
    sandbox = await startTestSandbox();
  });

  afterEach(async () => {
    await sandbox.handle.close();
  });

  function faults(config: Record<string, unknown>) {
    return sandbox.call('POST', '/_sandbox/faults', { body: config });
  }

  it('answers the configured error status with Retry-After for the drawn share of requests', async () => {
    sandbox.draws.push(0.7, 0.2, 0.1);
    await faults({ errorRate: 0.5, errorStatus: 503, retryAfterSeconds: 7 });
    const passed = await sandbox.call('GET', `${DEMO}/costCenters`);
    expect(passed.status).toBe(200);
    const failed = await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body: purchaseOrderBody() });
    expect(failed.status).toBe(503);
    expect(failed.headers.get('retry-after')).toBe('7');
    expect(failed.body).toMatchObject({ code: 'INJECTED_FAULT', status: 503, title: 'Service Unavailable' });
    const alsoFailed = await sandbox.call('GET', `${DEMO}/costCenters`);
    expect(alsoFailed.status).toBe(503);
    expect(sandbox.handle.state.counters).toMatchObject({ requests: 3, faultsInjected: 2, writes: 0 });
  });

  it('never applies faults to /_sandbox/ routes', async () => {
    await faults({ errorRate: 1, errorStatus: 500 });
    expect((await sandbox.call('GET', '/_sandbox/state')).status).toBe(200);
    expect((await sandbox.call('GET', `${DEMO}/costCenters`)).status).toBe(500);
  });

  it('rate-limits with a token bucket per second: 429 with Retry-After, counted', async () => {
    await faults({ rateLimitPerSecond: 2 });
    const statuses = [];
    for (let index = 0; index < 3; index += 1) statuses.push(await sandbox.call('GET', `${DEMO}/projects`));
    expect(statuses.map((reply) => reply.status)).toEqual([200, 200, 429]);
    expect(statuses[2].headers.get('retry-after')).toBe('1');
    expect(statuses[2].body.code).toBe('RATE_LIMITED');

    sandbox.clock.now = new Date(sandbox.clock.now.getTime() + 500);
    expect((await sandbox.call('GET', `${DEMO}/projects`)).status).toBe(200);
    expect((await sandbox.call('GET', `${DEMO}/projects`)).status).toBe(429);
    expect(sandbox.handle.state.counters).toMatchObject({ requests: 5, rateLimited: 2, faultsInjected: 0 });
  });

  it('drops the connection without an answer on a reset', async () => {
    sandbox.draws.push(0.1);
    await faults({ resetRate: 0.5 });
    await expect(sandbox.call('GET', `${DEMO}/projects`)).rejects.toThrow(/fetch failed/);
    expect(sandbox.handle.state.counters.faultsInjected).toBe(1);
    expect((await sandbox.call('GET', `${DEMO}/projects`)).status).toBe(200);
  });

  it('holds a timed-out request open until the server closes', async () => {
    sandbox.draws.push(0.1);
    await faults({ timeoutRate: 0.5 });
    let answered = false;
    const outcome = new Promise<string>((resolve) => {
      const request = http.request(`${sandbox.handle.url}${DEMO}/projects`, (response) => {
        answered = true;
        response.resume();
        resolve(`answered ${response.statusCode}`);
      });
      request.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
      request.end();
    });
    await until(() => sandbox.handle.state.counters.faultsInjected === 1);
    expect((await sandbox.call('GET', `${DEMO}/projects`)).status).toBe(200);
    expect(answered).toBe(false);

    await sandbox.handle.close();
    expect(await outcome).toBe('ECONNRESET');
  });

  it('adds latency and still answers', async () => {
    await faults({ latencyMs: 5 });
    expect((await sandbox.call('GET', `${DEMO}/projects`)).status).toBe(200);
  });

  it('clears faults with {} and refuses invalid settings', async () => {
    await faults({ errorRate: 1 });
    const cleared = await faults({});
    expect(cleared.body).toEqual({ faults: {} });
    expect((await sandbox.call('GET', `${DEMO}/projects`)).status).toBe(200);

    const wrong = await faults({ errorRate: 2, errorStatus: 200, latency: 5 });
    expect(wrong.status).toBe(400);
    expect(wrong.body.errors.map((error: { path: string }) => error.path).sort()).toEqual([
      '/errorRate',
      '/errorStatus',
      '/latency',
    ]);
  });

  it('resets documents, counters and faults to the seed', async () => {
    await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body: purchaseOrderBody() });
    await sandbox.call('PATCH', `${DEMO}/projects/PRJ-2001`, { body: { status: 'closed' } });
    await faults({ latencyMs: 1 });
    const reset = await sandbox.call('POST', '/_sandbox/reset');
    expect(reset.status).toBe(200);

    const state = await sandbox.call('GET', '/_sandbox/state');
    expect(state.body.purchaseOrders).toEqual([]);
    expect(state.body.faults).toEqual({});
    expect(state.body.counters).toEqual({
      requests: 0,
      writes: 0,
      duplicateWritesPrevented: 0,
      faultsInjected: 0,
      rateLimited: 0,
    });
    expect((await sandbox.call('GET', `${DEMO}/projects/PRJ-2001`)).body.status).toBe('open');
    const again = await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body: purchaseOrderBody() });
    expect(again.status).toBe(201);
    expect(again.body.number).toBe('PO-000001');
  });
});

describe('FaultInjector', () => {
  it('refills the rate-limit bucket with the clock and never saves more than one second', () => {
    let nowMs = 0;
    const injector = new FaultInjector(
      () => 0.99,
      () => new Date(nowMs),
    );
    injector.configure({ rateLimitPerSecond: 3 });
    const kinds = () => Array.from({ length: 4 }, () => injector.decide().kind);
    expect(kinds()).toEqual(['none', 'none', 'none', 'rateLimited']);
    nowMs += 10_000;
    expect(kinds()).toEqual(['none', 'none', 'none', 'rateLimited']);
  });

  it('lets a rate below one per second through once per interval', () => {
    let nowMs = 0;
    const injector = new FaultInjector(
      () => 0.99,
      () => new Date(nowMs),
    );
    injector.configure({ rateLimitPerSecond: 0.5 });
    expect(injector.decide().kind).toBe('none');
    expect(injector.decide()).toEqual({ kind: 'rateLimited', retryAfterSeconds: 2 });
    nowMs += 2000;
    expect(injector.decide().kind).toBe('none');
  });
});
