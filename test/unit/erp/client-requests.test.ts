import type { IncomingHttpHeaders } from 'node:http';
import { inspect } from 'node:util';
import { ErpClient, type ErpConnectionConfig } from '../../../lib/erp/client';
import { sendJson, startServer, type TestServer } from './helpers';

interface Seen {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  body: string;
}

describe('ErpClient requests', () => {
  let server: TestServer;
  let seen: Seen[];
  const clients: ErpClient[] = [];

  beforeAll(async () => {
    server = await startServer((req, res, body) => {
      seen.push({ method: req.method, url: req.url, headers: req.headers, body });
      sendJson(
        res,
        req.method === 'POST' ? 201 : 200,
        { ok: true, echo: body ? JSON.parse(body) : null },
        {
          ETag: 'W/"7"',
          'X-Custom': 'yes',
        },
      );
    });
  });
  beforeEach(() => {
    seen = [];
  });
  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });
  afterAll(() => server.close());

  function client(config: Partial<ErpConnectionConfig>): ErpClient {
    const created = new ErpClient({
      name: 'test-erp',
      dialect: 'sandbox',
      baseUrl: server.url,
      auth: { type: 'none' },
      ...config,
    });
    clients.push(created);
    return created;
  }

  it.each([
    ['none', { type: 'none' } as const, undefined, undefined],
    [
      'basic',
      { type: 'basic', username: 'ann', password: 'pw:1' } as const,
      'authorization',
      `Basic ${Buffer.from('ann:pw:1').toString('base64')}`,
    ],
    ['bearer', { type: 'bearer', token: 'tok-123' } as const, 'authorization', 'Bearer tok-123'],
    ['apiKey', { type: 'apiKey', headerName: 'X-API-Key', apiKey: 'key-456' } as const, 'x-api-key', 'key-456'],
  ])('sends %s credentials on the wire', async (_type, auth, header, value) => {
    await client({ auth }).request({ method: 'GET', path: '/ping' });
    const headers = seen[0].headers;
    if (header) expect(headers[header]).toBe(value);
    else expect(headers.authorization).toBeUndefined();
  });

  it('sends the correlation id, idempotency key and If-Match it is given, and JSON', async () => {
    const response = await client({}).request<{ echo: unknown }>({
      method: 'PATCH',
      path: '/purchaseOrders/7',
      query: { expand: 'lines', skip: undefined },
      body: { amount: { amount: '10.00', currency: 'EUR' } },
      correlationId: 'corr-1',
      idempotencyKey: 'idem-1',
      ifMatch: 'W/"6"',
      headers: { 'X-Extra': 'e' },
    });
    const { headers, url, method, body } = seen[0];
    expect(method).toBe('PATCH');
    expect(url).toBe('/purchaseOrders/7?expand=lines');
    expect(headers['x-correlation-id']).toBe('corr-1');
    expect(headers['idempotency-key']).toBe('idem-1');
    expect(headers['if-match']).toBe('W/"6"');
    expect(headers['x-extra']).toBe('e');
    expect(headers['content-type']).toMatch(/^application\/json/);
    expect(headers['user-agent']).toBe('node-red-finance-sync');
    expect(JSON.parse(body)).toEqual({ amount: { amount: '10.00', currency: 'EUR' } });
    expect(response.status).toBe(200);
    expect(response.data.echo).toEqual({ amount: { amount: '10.00', currency: 'EUR' } });
    expect(response.etag).toBe('W/"7"');
    expect(response.headers['x-custom']).toBe('yes');
  });

  it('makes up a correlation id when none is given, and sends no idempotency key or If-Match', async () => {
    await client({}).request({ method: 'POST', path: '/x', body: {} });
    const headers = seen[0].headers;
    expect(headers['x-correlation-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(headers['idempotency-key']).toBeUndefined();
    expect(headers['if-match']).toBeUndefined();
  });

  it('keeps a path prefix of the base URL', async () => {
    await client({ baseUrl: `${server.url}/erp/v2/` }).request({ method: 'GET', path: '/companies' });
    expect(seen[0].url).toBe('/erp/v2/companies');
  });

  it('refuses an absolute URL as path, so credentials never go to another host', async () => {
    const erp = client({ auth: { type: 'bearer', token: 't' } });
    await expect(erp.request({ method: 'GET', path: 'http://evil.example/steal' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
    await expect(erp.request({ method: 'GET', path: '//evil.example/steal' })).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
    });
    expect(seen).toHaveLength(0);
  });

  it('never shows a secret in describe(), JSON, toString() or inspect', () => {
    const secrets = ['pw-secret-1', 'bearer-secret-2', 'api-secret-3', 'oauth-secret-4', 'tls-pass-5'];
    const erps = [
      client({ auth: { type: 'basic', username: 'ann', password: secrets[0] } }),
      client({ auth: { type: 'bearer', token: secrets[1] } }),
      client({ auth: { type: 'apiKey', headerName: 'X-Key', apiKey: secrets[2] } }),
      client({
        auth: {
          type: 'oauth2',
          tokenUrl: 'https://login.example/token?x=1',
          clientId: 'app',
          clientSecret: secrets[3],
        },
        tls: { passphrase: secrets[4], rejectUnauthorized: false },
      }),
    ];
    for (const erp of erps) {
      const shown = [
        JSON.stringify(erp),
        String(erp),
        inspect(erp, { showHidden: true, depth: 10 }),
        JSON.stringify(erp.describe()),
      ].join(' ');
      for (const secret of secrets) expect(shown).not.toContain(secret);
    }
    expect(erps[3].describe()).toMatchObject({
      name: 'test-erp',
      auth: { type: 'oauth2', clientId: 'app', tokenUrl: 'https://login.example/token' },
      tls: { rejectUnauthorized: false, ca: false, clientCertificate: false },
    });
  });
});
