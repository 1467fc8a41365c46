import type http from 'node:http';
import { isFinanceError, type FinanceError } from '../../../lib/errors';
import { ErpClient, type ErpConnectionConfig } from '../../../lib/erp/client';
import { closedPortUrl, sendJson, startServer, until, type TestServer } from './helpers';

/** Each test sets what the server does with the next requests. */
let respond: (req: http.IncomingMessage, res: http.ServerResponse) => void;
let server: TestServer;
const clients: ErpClient[] = [];

beforeAll(async () => {
  server = await startServer((req, res) => respond(req, res));
});
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
afterAll(() => server.close());

function client(config: Partial<ErpConnectionConfig> = {}, dateNow?: () => number): ErpClient {
  const created = new ErpClient(
    { name: 'erp-under-test', dialect: 'sandbox', baseUrl: server.url, auth: { type: 'none' }, ...config },
    { dateNow },
  );
  clients.push(created);
  return created;
}

async function failure(promise: Promise<unknown>): Promise<FinanceError> {
  try {
    await promise;
  } catch (error) {
    if (isFinanceError(error)) return error;
    throw error;
  }
  throw new Error('expected the request to fail');
}

describe('ErpClient status handling', () => {
  it.each([
    [400, 'ERP_REJECTED', false],
    [401, 'ERP_AUTH_FAILED', false],
    [403, 'ERP_AUTH_FAILED', false],
    [404, 'ERP_NOT_FOUND', false],
    [408, 'ERP_UNAVAILABLE', true],
    [409, 'ERP_CONFLICT', false],
    [412, 'ERP_CONFLICT', false],
    [417, 'ERP_REJECTED', false],
    [422, 'ERP_REJECTED', false],
    [425, 'ERP_UNAVAILABLE', true],
    [428, 'ERP_REJECTED', false],
    [429, 'ERP_RATE_LIMITED', true],
    [500, 'ERP_UNAVAILABLE', true],
    [501, 'ERP_UNAVAILABLE', false],
    [502, 'ERP_UNAVAILABLE', true],
    [503, 'ERP_UNAVAILABLE', true],
    [504, 'ERP_UNAVAILABLE', true],
    [302, 'ERP_REJECTED', false],
  ])('maps %i to %s (retryable %s)', async (status, code, retryable) => {
    respond = (_req, res) =>
      sendJson(res, status, { code: `V${status}`, detail: 'what the ERP said' }, { Location: '/elsewhere' });
    const error = await failure(client().request({ method: 'POST', path: '/things?apiKey=hidden', body: {} }));
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect(error.httpStatus).toBe(status);
    expect(error.details).toMatchObject({ method: 'POST', path: '/things', vendorCode: `V${status}` });
    expect(error.message).toContain('erp-under-test');
    expect(error.message).toContain('what the ERP said');
    expect(error.message).not.toContain('hidden');
  });

  it('resolves every 2xx, including 204 without a body', async () => {
    respond = (_req, res) => {
      res.writeHead(204);
      res.end();
    };
    await expect(client().request({ method: 'DELETE', path: '/x' })).resolves.toMatchObject({ status: 204 });
  });

  it('reads Retry-After in seconds on 429', async () => {
    respond = (_req, res) => sendJson(res, 429, { title: 'Too many requests' }, { 'Retry-After': '7' });
    const error = await failure(client().request({ method: 'GET', path: '/x' }));
    expect(error).toMatchObject({ code: 'ERP_RATE_LIMITED', retryable: true, retryAfterMs: 7000 });
  });

  it('reads Retry-After as an HTTP-date against the injected wall clock, also on 503', async () => {
    const now = Date.parse('2026-11-27T12:00:00Z');
    respond = (_req, res) => sendJson(res, 503, {}, { 'Retry-After': 'Fri, 27 Nov 2026 12:02:00 GMT' });
    const error = await failure(client({}, () => now).request({ method: 'GET', path: '/x' }));
    expect(error).toMatchObject({ code: 'ERP_UNAVAILABLE', retryable: true, retryAfterMs: 120_000 });
  });

  it('reads the OData error code and message (Business Central style)', async () => {
    respond = (_req, res) =>
      sendJson(res, 400, { error: { code: 'BadRequest_NotFound', message: 'Dimension CC-9 does not exist' } });
    const error = await failure(client().request({ method: 'GET', path: '/x' }));
    expect(error.details).toMatchObject({ vendorCode: 'BadRequest_NotFound' });
    expect(error.message).toContain('Dimension CC-9 does not exist');
  });

  it('removes every configured secret and secret-looking field from the ERP body it carries', async () => {
    const password = 'Pa55-word-xyz';
    const basic = Buffer.from(`ann:${password}`).toString('base64');
    respond = (req, res) =>
      sendJson(res, 422, {
        detail: `Login ann/${password} rejected`,
        echo: { headers: { authorization: req.headers.authorization }, form: `user=ann&pass=${password}` },
        client_secret: 'whatever',
        raw: `Authorization: Basic ${basic}`,
      });
    const error = await failure(
      client({ auth: { type: 'basic', username: 'ann', password } }).request({ method: 'GET', path: '/x' }),
    );
    const everything = `${error.message} ${JSON.stringify(error)} ${String(error.stack)}`;
    expect(everything).not.toContain(password);
    expect(everything).not.toContain(basic);
    expect(everything).not.toContain('whatever');
    expect(error.details?.erpBody).toMatchObject({ detail: 'Login ann/[REDACTED] rejected' });
  });

  it('reports an HTML error page without pasting it into the message', async () => {
    respond = (_req, res) => {
      res.writeHead(502, { 'Content-Type': 'text/html' });
      res.end('<html><body>Bad gateway</body></html>');
    };
    const error = await failure(client().request({ method: 'GET', path: '/x' }));
    expect(error.code).toBe('ERP_UNAVAILABLE');
    expect(error.message).not.toContain('<html>');
    expect(error.details?.erpBody).toContain('Bad gateway');
  });
});

describe('ErpClient transport failures', () => {
  it('times out a request the ERP never answers: ERP_TIMEOUT, retryable', async () => {
    respond = () => undefined; // hold the request forever
    const error = await failure(client({ timeoutMs: 50 }).request({ method: 'POST', path: '/slow', body: {} }));
    expect(error).toMatchObject({ code: 'ERP_TIMEOUT', retryable: true, details: { transportCode: 'ETIMEDOUT' } });
    expect(error.message).toContain('50 ms');
    expect(error.message).toContain('external reference');
  });

  it('honours a per-request timeout', async () => {
    respond = () => undefined;
    const error = await failure(client({ timeoutMs: 60_000 }).request({ method: 'GET', path: '/slow', timeoutMs: 30 }));
    expect(error.code).toBe('ERP_TIMEOUT');
  });

  it('maps a refused connection to ERP_UNAVAILABLE, retryable', async () => {
    const error = await failure(client({ baseUrl: await closedPortUrl() }).request({ method: 'GET', path: '/x' }));
    expect(error).toMatchObject({
      code: 'ERP_UNAVAILABLE',
      retryable: true,
      details: { transportCode: 'ECONNREFUSED' },
    });
  });

  it('maps a reset connection to ERP_UNAVAILABLE, retryable', async () => {
    respond = (req) => req.socket.destroy();
    const error = await failure(client().request({ method: 'GET', path: '/x' }));
    expect(error).toMatchObject({ code: 'ERP_UNAVAILABLE', retryable: true });
    expect(String(error.details?.transportCode)).toMatch(/ECONNRESET|socket hang up/);
  });

  it('on close, rejects queued requests unsent and aborts the one in flight, all retryable', async () => {
    let arrived = 0;
    respond = () => {
      arrived += 1;
    };
    const erp = client({ maxConcurrency: 1 });
    const first = failure(erp.request({ method: 'GET', path: '/a' }));
    const second = failure(erp.request({ method: 'GET', path: '/b' }));
    await until(() => arrived === 1, 'the first request to arrive');
    erp.close();
    const errors = await Promise.all([first, second]);
    for (const error of errors) expect(error).toMatchObject({ code: 'ERP_UNAVAILABLE', retryable: true });
    expect(errors[0].message).toContain('closed');
    expect(arrived).toBe(1);
    await expect(erp.request({ method: 'GET', path: '/c' })).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE' });
  });
});
