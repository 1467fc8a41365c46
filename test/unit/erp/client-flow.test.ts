import type http from 'node:http';
import { ErpClient, type ErpConnectionConfig } from '../../../lib/erp/client';
import { FakeClock, sendJson, startServer, tick, until, type TestServer } from './helpers';

let server: TestServer;
let onRequest: (req: http.IncomingMessage, res: http.ServerResponse) => void;
const clients: ErpClient[] = [];

beforeEach(async () => {
  server = await startServer((req, res) => onRequest(req, res));
});
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await server.close();
});

function client(config: Partial<ErpConnectionConfig>, clock?: FakeClock): ErpClient {
  const created = new ErpClient(
    { dialect: 'sandbox', baseUrl: server.url, auth: { type: 'none' }, ...config },
    { clock },
  );
  clients.push(created);
  return created;
}

function seqOf(req: http.IncomingMessage): number {
  return Number(new URL(req.url ?? '/', 'http://x').searchParams.get('seq'));
}

describe('ErpClient concurrency cap', () => {
  it('never has more requests in flight than maxConcurrency, and answers each request with its own response', async () => {
    const cap = 4;
    const held: http.ServerResponse[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    onRequest = (req, res) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      res.on('finish', () => {
        inFlight -= 1;
      });
      (res as http.ServerResponse & { seq?: number }).seq = seqOf(req);
      held.push(res);
    };
    const erp = client({ maxConcurrency: cap });
    const total = 25;
    const results = Array.from({ length: total }, (_, seq) =>
      erp.request<{ seq: number }>({ method: 'GET', path: '/work', query: { seq } }),
    );
    for (let answered = 0; answered < total; answered++) {
      await until(
        () => held.length > 0 && (held.length === cap || answered + held.length === total),
        'the server to fill up',
      );
      // A few more turns: an uncapped client would deliver more requests now.
      for (let i = 0; i < 5; i++) await tick();
      expect(inFlight).toBeLessThanOrEqual(cap);
      expect(erp.stats().inFlight).toBeLessThanOrEqual(cap);
      const res = held.shift() as http.ServerResponse & { seq?: number };
      sendJson(res, 200, { seq: res.seq });
    }
    const answers = await Promise.all(results);
    expect(answers.map((answer) => answer.data.seq)).toEqual(Array.from({ length: total }, (_, seq) => seq));
    expect(maxInFlight).toBe(cap);
  });
});

describe('ErpClient rate limit', () => {
  it('spreads a burst to the limit per window on the server side, in order, losing nothing', async () => {
    const clock = new FakeClock();
    const arrivals: { seq: number; at: number }[] = [];
    onRequest = (req, res) => {
      arrivals.push({ seq: seqOf(req), at: clock.now() });
      sendJson(res, 200, { seq: seqOf(req) });
    };
    const limit = { requests: 4, perMs: 1000 };
    const erp = client({ rateLimit: limit, maxConcurrency: 50 }, clock);
    const total = 22;
    let settled = 0;
    const results = Array.from({ length: total }, (_, seq) =>
      erp.request<{ seq: number }>({ method: 'GET', path: '/burst', query: { seq } }).finally(() => {
        settled += 1;
      }),
    );
    // Time stands still while requests are on the wire, so every arrival is stamped with its grant time.
    while (settled < total) {
      await until(
        () => erp.stats().inFlight === 0 && erp.stats().waitingForRateLimit === total - settled,
        'the granted requests to finish',
      );
      const next = clock.nextTimerAt();
      if (next === undefined) break;
      clock.advance(next - clock.now());
    }
    const answers = await Promise.all(results);
    expect(answers.map((answer) => answer.data.seq)).toEqual(Array.from({ length: total }, (_, seq) => seq));
    expect(arrivals).toHaveLength(total);
    for (const { at } of arrivals) {
      const inWindow = arrivals.filter((other) => other.at >= at && other.at < at + limit.perMs).length;
      expect(inWindow).toBeLessThanOrEqual(limit.requests);
    }
    // FIFO: a later request never goes out in an earlier window than one queued before it.
    const sentAt = [...arrivals].sort((a, b) => a.seq - b.seq).map((arrival) => arrival.at);
    expect(sentAt).toEqual([...sentAt].sort((a, b) => a - b));
    expect(sentAt[total - 1]).toBe(5000);
  });

  it('delivers every request of a burst with real timers and a short window', async () => {
    let received = 0;
    onRequest = (req, res) => {
      received += 1;
      sendJson(res, 200, { seq: seqOf(req) });
    };
    const erp = client({ rateLimit: { requests: 3, perMs: 20 } });
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, seq) =>
        erp.request<{ seq: number }>({ method: 'GET', path: '/x', query: { seq } }),
      ),
    );
    expect(answers.map((answer) => answer.data.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(received).toBe(10);
  });
});

describe('ErpClient keep-alive', () => {
  it('reuses one socket for sequential requests', async () => {
    onRequest = (_req, res) => sendJson(res, 200, {});
    const erp = client({});
    for (let i = 0; i < 20; i++) await erp.request({ method: 'GET', path: '/x' });
    expect(server.connections()).toBe(1);
  });

  it('opens no more sockets than maxConcurrency for a parallel burst', async () => {
    onRequest = (_req, res) => setImmediate(() => sendJson(res, 200, {}));
    const erp = client({ maxConcurrency: 3 });
    await Promise.all(Array.from({ length: 60 }, () => erp.request({ method: 'POST', path: '/x', body: { a: 1 } })));
    expect(server.connections()).toBeLessThanOrEqual(3);
  });
});
