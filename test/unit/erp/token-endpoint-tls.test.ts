/**
 * Certificate checks towards the OAuth2 token endpoint, against a real HTTPS server on loopback with a
 * self-signed certificate. The server answers for two host names, "localhost" and "127.0.0.1": the ERP is
 * addressed by one and the token endpoint by the other, so they are two hosts to the client.
 */
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { ErpClient, type ErpConnectionConfig } from '../../../lib/erp/client';
import { selfSignedCertificate, sendJson, failure } from './helpers';

const CLIENT_SECRET = 'idp-client-s3cret';

describe('ErpClient: certificate checks of the OAuth2 token endpoint', () => {
  let certificate: string;
  let server: https.Server;
  let port: number;
  /** Paths of the requests the server received. */
  let seen: string[];
  const clients: ErpClient[] = [];

  beforeAll(async () => {
    const pem = selfSignedCertificate('localhost', 'DNS:localhost,IP:127.0.0.1');
    certificate = pem.cert;
    server = https.createServer({ key: pem.key, cert: certificate }, (req, res) => {
      seen.push(req.url ?? '');
      if (req.url === '/oauth/token') sendJson(res, 200, { access_token: 'issued-token', expires_in: 3600 });
      else sendJson(res, 200, { path: req.url, authorization: req.headers.authorization ?? null });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  beforeEach(() => {
    seen = [];
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  /** A connection to the ERP at `erpHost` that gets its tokens from `tokenHost`; certificate checks off unless `tls` says otherwise. */
  function client(erpHost: string, tokenHost: string, tls: ErpConnectionConfig['tls'] = {}): ErpClient {
    const created = new ErpClient(
      {
        name: 'onprem',
        dialect: 'sandbox',
        baseUrl: `https://${erpHost}:${port}/api`,
        auth: {
          type: 'oauth2',
          tokenUrl: `https://${tokenHost}:${port}/oauth/token`,
          clientId: 'finance-sync',
          clientSecret: CLIENT_SECRET,
        },
        tls: { rejectUnauthorized: false, ...tls },
        proxy: { mode: 'none' },
        timeoutMs: 5_000,
        circuitBreaker: null,
      },
      { environment: {} },
    );
    clients.push(created);
    return created;
  }

  it('checks the certificate of a token endpoint on another host even when the ERP certificate is not checked', async () => {
    const connection = client('localhost', '127.0.0.1');
    const error = await failure(connection.request({ method: 'GET', path: '/x' }));
    expect(error).toMatchObject({
      code: 'ERP_AUTH_FAILED',
      retryable: false,
      details: { tokenUrl: `https://127.0.0.1:${port}/oauth/token`, transportCode: 'DEPTH_ZERO_SELF_SIGNED_CERT' },
    });
    // What is wrong, why the ERP's setting does not apply, and what to do.
    expect(error.message).toContain(
      `the certificate of the OAuth2 token endpoint https://127.0.0.1:${port}/oauth/token`,
    );
    expect(error.message).toContain('could not be verified (DEPTH_ZERO_SELF_SIGNED_CERT)');
    expect(error.message).toContain('the client credentials were not sent');
    expect(error.message).toContain(
      "Certificate checks are off for the ERP, but that applies to the ERP's own host only",
    );
    expect(error.message).toContain('Add the CA certificate');
    expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(CLIENT_SECRET);
    // The handshake failed: the token endpoint never got the request, nor did the ERP.
    expect(seen).toEqual([]);
  });

  it('sends the token request to another host once the configured CA vouches for its certificate', async () => {
    const connection = client('localhost', '127.0.0.1', { ca: certificate });
    const answer = await connection.request<{ authorization: string }>({ method: 'GET', path: '/x' });
    expect(answer.data.authorization).toBe('Bearer issued-token');
    expect(seen).toEqual(['/oauth/token', '/api/x']);
  });

  it("leaves a token endpoint on the ERP's own host to the ERP's setting: checks off lets both calls through", async () => {
    const connection = client('localhost', 'localhost');
    const answer = await connection.request<{ authorization: string }>({ method: 'GET', path: '/x' });
    expect(answer.data.authorization).toBe('Bearer issued-token');
    expect(seen).toEqual(['/oauth/token', '/api/x']);
  });

  it('still reaches an ERP with checks off without a token endpoint', async () => {
    const connection = new ErpClient(
      {
        name: 'onprem',
        dialect: 'sandbox',
        baseUrl: `https://localhost:${port}/api`,
        auth: { type: 'basic', username: 'u', password: 'p' },
        tls: { rejectUnauthorized: false },
        proxy: { mode: 'none' },
        circuitBreaker: null,
      },
      { environment: {} },
    );
    clients.push(connection);
    await expect(connection.request({ method: 'GET', path: '/x' })).resolves.toMatchObject({ status: 200 });
  });

  it('says to give the CA when the token endpoint certificate fails while the ERP checks are on', async () => {
    const connection = client('localhost', '127.0.0.1', { rejectUnauthorized: true, ca: undefined });
    const error = await failure(connection.request({ method: 'GET', path: '/x' }));
    expect(error).toMatchObject({ code: 'ERP_AUTH_FAILED', retryable: false });
    expect(error.message).toContain('could not be verified (DEPTH_ZERO_SELF_SIGNED_CERT)');
    expect(error.message).not.toContain('Certificate checks are off');
    expect(error.message).toContain('Add the CA certificate');
  });
});
