import type http from 'node:http';
import zlib from 'node:zlib';
import type { FinanceError } from '../../../lib/errors';
import { ErpClient, type ErpConnectionConfig } from '../../../lib/erp/client';
import { mayStillBeApplied, provesNothingWritten } from '../../../lib/posting/idempotent-write';
import { closedPortUrl, sendJson, startServer, until, type TestServer, failure } from './helpers';

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
    expect(mayStillBeApplied(error)).toBe(false); // so the ledger's retry need not wait for the ERP to settle
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
    // Only the unsent one says so: the ERP may still apply the aborted one (lib/posting/idempotent-write.ts).
    expect([errors[0].details?.sent, errors[1].details?.sent]).toEqual([undefined, false]);
    expect([mayStillBeApplied(errors[0]), mayStillBeApplied(errors[1])]).toEqual([true, false]);
    await expect(erp.request({ method: 'GET', path: '/c' })).rejects.toMatchObject({
      code: 'ERP_UNAVAILABLE',
      details: { sent: false },
    });
  });
});

describe('ErpClient answers it cannot read', () => {
  /** Sends `body` as the raw bytes of a gzip answer with this status. */
  const gzipAnswer = (status: number, body: Buffer) => (_req: http.IncomingMessage, res: http.ServerResponse) => {
    res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip' });
    res.end(body);
  };

  /** What every unreadable answer to a write must be: retryable, with its status, and not proof of "not written". */
  const expectAmbiguousWrite = (error: FinanceError, status: number) => {
    expect(error).toMatchObject({ code: 'ERP_UNAVAILABLE', retryable: true, httpStatus: status });
    expect(error.message).toContain(`answered ${status} to POST /docs`);
    expect(error.message).toContain('external reference');
    expect(error.message).not.toContain('Could not reach');
    // The ledger must look the document up before sending it again, never create it blindly.
    expect(provesNothingWritten(error)).toBe(false);
  };

  it('reports a corrupt gzip body with the status the ERP answered, not as unreachable', async () => {
    respond = gzipAnswer(200, Buffer.from('not gzip at all'));
    const error = await failure(client().request({ method: 'POST', path: '/docs', body: { a: 1 } }));
    expectAmbiguousWrite(error, 200);
    expect(error.message).toContain('could not be decoded (Z_DATA_ERROR');
    expect(error.details).toMatchObject({ transportCode: 'Z_DATA_ERROR' });
  });

  it('reports a gzip body cut short the same way', async () => {
    respond = gzipAnswer(201, zlib.gzipSync(JSON.stringify({ id: 'x', pad: 'y'.repeat(1000) })).subarray(0, -10));
    const error = await failure(client().request({ method: 'POST', path: '/docs', body: { a: 1 } }));
    expectAmbiguousWrite(error, 201);
    expect(error.message).toContain('could not be decoded (Z_BUF_ERROR');
  });

  it('rejects an answer over 50 MB once inflated (a gzip bomb) instead of taking the process down', async () => {
    // 60 gzip members of 1 MB each: a valid gzip stream of about 60 KB that inflates to 60 MB.
    const member = zlib.gzipSync(Buffer.alloc(1024 * 1024, 0x61), { level: 9 });
    respond = gzipAnswer(201, Buffer.concat(Array.from({ length: 60 }, () => member)));
    const error = await failure(client().request({ method: 'POST', path: '/docs', body: { a: 1 } }));
    expectAmbiguousWrite(error, 201);
    expect(error.message).toContain('larger than 50 MB');
    expect(error.message).toContain('smaller page size');
    expect(error.details).toMatchObject({ transportCode: 'ANSWER_TOO_LARGE', maxAnswerBytes: 50 * 1024 * 1024 });
  });

  it('says a GET answer over the limit was too large, without the write warning', async () => {
    respond = (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      let sent = 0;
      // Stops writing once the client has gone: it must not read (or the server send) all 60 MB.
      const write = () => {
        while (sent < 60 && !res.destroyed) {
          sent += 1;
          if (!res.write(chunk)) return void res.once('drain', write);
        }
        if (!res.destroyed) res.end();
      };
      write();
    };
    const error = await failure(client().request({ method: 'GET', path: '/docs' }));
    expect(error).toMatchObject({ code: 'ERP_UNAVAILABLE', retryable: true, httpStatus: 200 });
    expect(error.message).toContain('answered 200 to GET /docs, but the answer is larger than 50 MB');
    expect(error.message).not.toContain('external reference');
  });

  it('says a body cut off mid-way was cut off, keeping the status', async () => {
    respond = (req, res) => {
      res.writeHead(201, { 'Content-Type': 'application/json', 'Content-Length': '100' });
      res.write('{"id":"abc"');
      setTimeout(() => req.socket.destroy(), 20);
    };
    const error = await failure(client().request({ method: 'POST', path: '/docs', body: { a: 1 } }));
    expectAmbiguousWrite(error, 201);
    expect(error.message).toContain('was cut off before its end');
  });
});
