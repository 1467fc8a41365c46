/**
 * The edges of how the client talks HTTP: a token endpoint that trickles, floods, redirects, throttles or refuses;
 * credentials and correlation ids a header cannot carry; "deflate" without its zlib wrapper; an ERP body with a
 * "__proto__" key; the TLS server name of the ERP kept away from the identity provider.
 */
import net from 'node:net';
import zlib from 'node:zlib';
import type { AddressInfo } from 'node:net';
import { ErpClient, type ErpConnectionConfig, type OAuth2ClientCredentials } from '../../../lib/erp/client';
import { REFUSAL_HOLD_MS } from '../../../lib/erp/oauth2';
import { SapService } from '../../../lib/erp/sap/service';
import { redactValue } from '../../../lib/erp/redact';
import { FakeClock, sendJson, startServer, type Handler, type TestServer, failure } from './helpers';

const SECRET = 'client-secret-value-42';
const servers: TestServer[] = [];
const clients: ErpClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  for (const server of servers.splice(0)) await server.close();
});

async function server(handler: Handler): Promise<TestServer> {
  const started = await startServer(handler);
  servers.push(started);
  return started;
}

function client(config: Partial<ErpConnectionConfig> & { baseUrl: string }, clock?: FakeClock): ErpClient {
  const created = new ErpClient({ name: 'erp', dialect: 'sandbox', auth: { type: 'none' }, ...config }, { clock });
  clients.push(created);
  return created;
}

function oauth2(tokenUrl: string, more: Partial<OAuth2ClientCredentials> = {}): OAuth2ClientCredentials {
  return { type: 'oauth2', tokenUrl, clientId: 'app', clientSecret: SECRET, ...more };
}

/** An ERP that answers every call 200 and counts them. */
async function countingErp(): Promise<{ server: TestServer; calls: () => number }> {
  let calls = 0;
  const erp = await server((_req, res) => {
    calls += 1;
    sendJson(res, 200, { ok: true });
  });
  return { server: erp, calls: () => calls };
}

describe('the OAuth2 token endpoint', () => {
  it('is asked at exactly its URL, query included, with the form and no path added', async () => {
    const seen: { url?: string; body: string }[] = [];
    const tokens = await server((req, res, body) => {
      seen.push({ url: req.url, body });
      sendJson(res, 200, { access_token: 't1', expires_in: 3600 });
    });
    const erp = await countingErp();
    await client({
      baseUrl: erp.server.url,
      auth: oauth2(`${tokens.url}/tenant/oauth2/v2.0/token?api-version=1`),
    }).request({ method: 'GET', path: '/x' });
    expect(seen).toEqual([{ url: '/tenant/oauth2/v2.0/token?api-version=1', body: 'grant_type=client_credentials' }]);
  });

  it('is bounded by the timeout for the whole answer, not only until its first byte', async () => {
    const tokens = await server((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"access_token":"t1",');
      const trickle = setInterval(() => res.write(' '), 50);
      res.on('close', () => clearInterval(trickle));
    });
    const erp = await countingErp();
    const startedAt = Date.now();
    const error = await failure(
      client({ baseUrl: erp.server.url, timeoutMs: 300, auth: oauth2(`${tokens.url}/token`) }).request({
        method: 'GET',
        path: '/x',
      }),
    );
    expect(Date.now() - startedAt).toBeLessThan(2000);
    expect(error).toMatchObject({ code: 'ERP_AUTH_FAILED', retryable: true });
    expect(error.message).toContain('did not answer within 300 ms');
    expect(erp.calls()).toBe(0);
  });

  it('reads at most 1 MB of its answer and says that is no token answer', async () => {
    const tokens = await server((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(`{"access_token":"t1","pad":"${'a'.repeat(2 * 1024 * 1024)}"}`);
    });
    const erp = await countingErp();
    const error = await failure(
      client({ baseUrl: erp.server.url, auth: oauth2(`${tokens.url}/token`) }).request({ method: 'GET', path: '/x' }),
    );
    expect(error).toMatchObject({ code: 'ERP_AUTH_FAILED', retryable: false, httpStatus: 200 });
    expect(error.message).toContain('more than 1 MB');
    expect(erp.calls()).toBe(0);
  });

  it('answers a refusal of the client from memory for a while instead of asking again per request', async () => {
    let tokenCalls = 0;
    const tokens = await server((_req, res) => {
      tokenCalls += 1;
      sendJson(res, 401, {
        error: 'invalid_client',
        error_description: `AADSTS7000215: Invalid client secret ${SECRET}`,
      });
    });
    const erp = await countingErp();
    const clock = new FakeClock();
    const connection = client({ baseUrl: erp.server.url, auth: oauth2(`${tokens.url}/token`) }, clock);
    const errors = await Promise.all(
      Array.from({ length: 5 }, () => failure(connection.request({ method: 'GET', path: '/x' }))),
    );
    errors.push(await failure(connection.request({ method: 'GET', path: '/x' })));
    expect(tokenCalls).toBe(1);
    for (const error of errors) {
      expect(error).toMatchObject({ code: 'ERP_AUTH_FAILED', retryable: false, httpStatus: 401 });
      expect(error.message).toContain('invalid_client');
      expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(SECRET);
    }
    clock.advance(REFUSAL_HOLD_MS);
    await failure(connection.request({ method: 'GET', path: '/x' }));
    expect(tokenCalls).toBe(2);
    expect(erp.calls()).toBe(0);
  });

  it('passes on the Retry-After of a throttling or failing identity provider', async () => {
    let answer = { status: 429, retryAfter: '30' };
    const tokens = await server((_req, res) =>
      sendJson(res, answer.status, { error: 'temporarily_unavailable' }, { 'Retry-After': answer.retryAfter }),
    );
    const erp = await countingErp();
    const connection = new ErpClient(
      { name: 'erp', dialect: 'sandbox', baseUrl: erp.server.url, auth: oauth2(`${tokens.url}/token`) },
      { dateNow: () => Date.parse('2026-11-29T12:00:00Z') },
    );
    clients.push(connection);
    const throttled = await failure(connection.request({ method: 'GET', path: '/x' }));
    expect(throttled).toMatchObject({
      code: 'ERP_AUTH_FAILED',
      retryable: true,
      httpStatus: 429,
      retryAfterMs: 30_000,
    });
    answer = { status: 503, retryAfter: 'Sun, 29 Nov 2026 12:02:00 GMT' };
    const failing = await failure(connection.request({ method: 'GET', path: '/x' }));
    expect(failing).toMatchObject({ httpStatus: 503, retryable: true, retryAfterMs: 120_000 });
  });

  it('does not follow a redirect with the client credentials, and says to set the final token URL', async () => {
    let elsewhereCalls = 0;
    const elsewhere = await server((_req, res) => {
      elsewhereCalls += 1;
      sendJson(res, 200, { access_token: 'stolen', expires_in: 3600 });
    });
    let tokenCalls = 0;
    const tokens = await server((_req, res) => {
      tokenCalls += 1;
      res.writeHead(307, { Location: `${elsewhere.url}/token` });
      res.end();
    });
    const erp = await countingErp();
    const error = await failure(
      client({ baseUrl: erp.server.url, auth: oauth2(`${tokens.url}/token`) }).request({ method: 'GET', path: '/x' }),
    );
    expect(error).toMatchObject({ code: 'ERP_AUTH_FAILED', retryable: false, httpStatus: 307 });
    expect(error.message).toContain('redirect, which is not followed');
    expect(error.message).toContain('final token endpoint');
    expect(tokenCalls).toBe(1);
    expect(elsewhereCalls).toBe(0);
    expect(erp.calls()).toBe(0);
  });

  it("does not send the ERP's TLS server name to an identity provider on another host", async () => {
    // A bare TCP server reads the TLS ClientHello, whose server_name extension holds the name in clear text.
    const hellos: Buffer[] = [];
    const sniffer = net.createServer((socket) => {
      socket.once('data', (hello: Buffer) => {
        hellos.push(hello);
        socket.destroy();
      });
    });
    await new Promise<void>((resolve) => sniffer.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = sniffer.address() as AddressInfo;
      const error = await failure(
        client({
          baseUrl: 'https://erp.internal.example',
          tls: { servername: 'erp-cert-name.internal.example' },
          auth: oauth2(`https://localhost:${port}/token`),
        }).request({ method: 'GET', path: '/x' }),
      );
      expect(error.code).toBe('ERP_AUTH_FAILED');
      expect(hellos).toHaveLength(1);
      expect(hellos[0].includes('erp-cert-name.internal.example')).toBe(false);
      expect(hellos[0].includes('localhost')).toBe(true);
    } finally {
      await new Promise<void>((resolve) => sniffer.close(() => resolve()));
    }
  });
});

describe('values a header cannot carry', () => {
  it('refuses an API key copied with a line break at deploy, without naming it', () => {
    const create = () =>
      client({ baseUrl: 'http://127.0.0.1:1', auth: { type: 'apiKey', headerName: 'X-Api-Key', apiKey: 'key-123\n' } });
    expect(create).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    expect(create).toThrow(/API key contains a line break/);
    expect(create).not.toThrow(/key-123/);
    expect(() => client({ baseUrl: 'http://127.0.0.1:1', auth: { type: 'bearer', token: 'tok\r\nX: y' } })).toThrow(
      /bearer token contains a line break/,
    );
  });

  it('sends a correlation id beyond Latin-1 percent-encoded instead of failing the call', async () => {
    const seen: (string | string[] | undefined)[] = [];
    const erp = await server((req, res) => {
      seen.push(req.headers['x-correlation-id']);
      sendJson(res, 200, {});
    });
    await client({ baseUrl: erp.url }).request({ method: 'GET', path: '/x', correlationId: 'ré-日本-1' });
    await client({ baseUrl: erp.url }).request({ method: 'GET', path: '/x', correlationId: 'plain-1' });
    expect(seen).toEqual([encodeURIComponent('ré-日本-1'), 'plain-1']);
  });

  it('reports a request Node refuses to build as not sent and not retryable, not as an unreachable ERP', async () => {
    const erp = await countingErp();
    const error = await failure(
      client({ baseUrl: erp.server.url }).request({
        method: 'PATCH',
        path: '/x',
        ifMatch: 'W/"1"\r\nX-Evil: 1',
        body: {},
      }),
    );
    expect(error).toMatchObject({ code: 'ERP_REJECTED', retryable: false });
    expect(error.details).toMatchObject({ sent: false, transportCode: 'ERR_INVALID_CHAR' });
    expect(error.message).toContain('was not sent');
    expect(erp.calls()).toBe(0);
  });
});

describe('answers', () => {
  it.each([
    ['raw deflate (no zlib wrapper)', zlib.deflateRawSync],
    ['zlib-wrapped deflate', zlib.deflateSync],
  ])('decodes "deflate" sent as %s', async (_what, compress) => {
    const body = { value: [{ id: 'a'.repeat(5000) }] };
    const erp = await server((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'deflate' });
      res.end(compress(Buffer.from(JSON.stringify(body))));
    });
    expect((await client({ baseUrl: erp.url }).request({ method: 'GET', path: '/x' })).data).toEqual(body);
  });

  it('reads an empty body labelled deflate as empty', async () => {
    const erp = await server((_req, res) => {
      res.writeHead(200, { 'Content-Encoding': 'deflate', 'Content-Length': '0' });
      res.end();
    });
    expect((await client({ baseUrl: erp.url }).request({ method: 'GET', path: '/x' })).data).toBe('');
  });

  it('still stops a raw deflate bomb at the size limit', async () => {
    const bomb = zlib.deflateRawSync(Buffer.alloc(60 * 1024 * 1024, 0x20), { level: 9 });
    const erp = await server((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'deflate' });
      res.end(bomb);
    });
    const error = await failure(client({ baseUrl: erp.url }).request({ method: 'GET', path: '/x' }));
    expect(error).toMatchObject({ code: 'ERP_UNAVAILABLE', httpStatus: 200 });
    expect(error.details).toMatchObject({ transportCode: 'ANSWER_TOO_LARGE' });
  });

  it('keeps a "__proto__" key of an ERP body as data when redacting it', () => {
    const body = JSON.parse('{"__proto__":{"polluted":"yes","token":"t0p"},"a":1}') as unknown;
    const copy = redactValue(body, []) as Record<string, unknown>;
    expect(Object.keys(copy)).toEqual(['__proto__', 'a']);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(copy.polluted).toBeUndefined();
    expect(JSON.stringify(copy)).toBe('{"__proto__":{"polluted":"yes","token":"[REDACTED]"},"a":1}');
  });
});

describe('SAP CSRF session', () => {
  it('sends the cookies SAP set with the token, and no empty Cookie header when it set none', async () => {
    let setCookie: string[] = [];
    const writes: (string | undefined)[] = [];
    const erp = await server((req, res) => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'x-csrf-token': 'csrf-1', ...(setCookie.length > 0 ? { 'Set-Cookie': setCookie } : {}) });
        res.end();
        return;
      }
      writes.push(req.headers.cookie);
      sendJson(res, 201, { d: { PurchaseOrder: '1' } });
    });
    const service = () =>
      new SapService({
        http: client({ baseUrl: erp.url }),
        system: 'sap',
        path: '/sap/opu/odata/sap/X_SRV',
        scenario: 'SAP_COM_0053',
      });
    const write = { method: 'POST' as const, path: '/sap/opu/odata/sap/X_SRV/A_PurchaseOrder', body: {} };
    await service().write(write, { correlationId: 'c-1' });
    setCookie = ['SAP_SESSIONID_S4H_100=abc; path=/; HttpOnly', 'sap-usercontext=sap-client=100; path=/'];
    await service().write(write, { correlationId: 'c-2' });
    expect(writes).toEqual([undefined, 'SAP_SESSIONID_S4H_100=abc; sap-usercontext=sap-client=100']);
  });
});
