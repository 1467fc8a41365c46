import type { IncomingHttpHeaders } from 'node:http';
import { ErpClient, type OAuth2ClientCredentials } from '../../../lib/erp/client';
import { closedPortUrl, FakeClock, sendJson, startServer, until, type TestServer, failure } from './helpers';

const CLIENT_SECRET = 'very-secret-client-secret';

interface TokenCall {
  headers: IncomingHttpHeaders;
  form: URLSearchParams;
}

/** The identity provider: answers what `tokenAnswer` says, numbering the tokens it issues. */
let tokenServer: TestServer;
let tokenCalls: TokenCall[];
let tokenAnswer: (call: number) => { status: number; body: unknown; delayMs?: number };
/** The ERP: accepts the tokens in `validTokens`, records which token each request carried. */
let erpServer: TestServer;
let validTokens: Set<string>;
let erpCalls: (string | undefined)[];
const clients: ErpClient[] = [];

beforeAll(async () => {
  tokenServer = await startServer((req, res, body) => {
    tokenCalls.push({ headers: req.headers, form: new URLSearchParams(body) });
    const answer = tokenAnswer(tokenCalls.length);
    // Holding the answer briefly lets concurrent callers pile up behind the one token request.
    setTimeout(() => sendJson(res, answer.status, answer.body), answer.delayMs ?? 0);
  });
  erpServer = await startServer((req, res) => {
    const token = req.headers.authorization?.replace(/^Bearer /, '');
    erpCalls.push(token);
    if (token && validTokens.has(token)) sendJson(res, 200, { ok: true });
    else sendJson(res, 401, { error: { code: 'Authentication_InvalidCredentials', message: 'token expired' } });
  });
});
beforeEach(() => {
  tokenCalls = [];
  erpCalls = [];
  validTokens = new Set(['token-1', 'token-2', 'token-3']);
  tokenAnswer = (call) => ({
    status: 200,
    body: { access_token: `token-${call}`, token_type: 'Bearer', expires_in: 3600 },
  });
});
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
});
afterAll(async () => {
  await tokenServer.close();
  await erpServer.close();
});

function client(auth: Partial<OAuth2ClientCredentials> = {}, clock?: FakeClock, maxConcurrency = 8): ErpClient {
  const created = new ErpClient(
    {
      name: 'bc',
      dialect: 'sandbox',
      baseUrl: erpServer.url,
      maxConcurrency,
      auth: {
        type: 'oauth2',
        tokenUrl: `${tokenServer.url}/oauth2/token`,
        clientId: 'app-id',
        clientSecret: CLIENT_SECRET,
        ...auth,
      },
    },
    { clock },
  );
  clients.push(created);
  return created;
}

describe('OAuth2 client credentials', () => {
  it('asks for a token with HTTP Basic client auth, scope and audience, and sends it as Bearer', async () => {
    await client({ scope: 'https://api.businesscentral.dynamics.com/.default', audience: 'erp' }).request({
      method: 'GET',
      path: '/x',
    });
    expect(tokenCalls).toHaveLength(1);
    const { headers, form } = tokenCalls[0];
    expect(headers.authorization).toBe(`Basic ${Buffer.from(`app-id:${CLIENT_SECRET}`).toString('base64')}`);
    expect(headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(form.get('grant_type')).toBe('client_credentials');
    expect(form.get('scope')).toBe('https://api.businesscentral.dynamics.com/.default');
    expect(form.get('audience')).toBe('erp');
    expect(form.get('client_secret')).toBeNull();
    expect(erpCalls).toEqual(['token-1']);
  });

  it('can send the client id and secret as form fields instead', async () => {
    await client({ clientAuth: 'body' }).request({ method: 'GET', path: '/x' });
    const { headers, form } = tokenCalls[0];
    expect(headers.authorization).toBeUndefined();
    expect(form.get('client_id')).toBe('app-id');
    expect(form.get('client_secret')).toBe(CLIENT_SECRET);
  });

  it('caches the token across calls', async () => {
    const erp = client();
    for (let i = 0; i < 5; i++) await erp.request({ method: 'GET', path: '/x' });
    expect(tokenCalls).toHaveLength(1);
    expect(erpCalls).toEqual(['token-1', 'token-1', 'token-1', 'token-1', 'token-1']);
  });

  it('refreshes the token 60 s before it expires', async () => {
    const clock = new FakeClock();
    const erp = client({}, clock);
    await erp.request({ method: 'GET', path: '/x' });
    clock.advance(3_540_000 - 1);
    await erp.request({ method: 'GET', path: '/x' });
    expect(tokenCalls).toHaveLength(1);
    clock.advance(1);
    await erp.request({ method: 'GET', path: '/x' });
    expect(tokenCalls).toHaveLength(2);
    expect(erpCalls).toEqual(['token-1', 'token-1', 'token-2']);
  });

  it('refreshes a short-lived token 10 % of its lifetime early', async () => {
    tokenAnswer = (call) => ({ status: 200, body: { access_token: `token-${call}`, expires_in: '300' } });
    const clock = new FakeClock();
    const erp = client({}, clock);
    await erp.request({ method: 'GET', path: '/x' });
    clock.advance(270_000);
    await erp.request({ method: 'GET', path: '/x' });
    expect(erpCalls).toEqual(['token-1', 'token-2']);
  });

  it('keeps using a still valid token when the refresh ahead of expiry fails', async () => {
    const clock = new FakeClock();
    const erp = client({}, clock);
    await erp.request({ method: 'GET', path: '/x' });
    tokenAnswer = () => ({ status: 503, body: { error: 'temporarily_unavailable' } });
    clock.advance(3_550_000);
    await erp.request({ method: 'GET', path: '/x' });
    expect(erpCalls).toEqual(['token-1', 'token-1']);
    clock.advance(50_000); // now past expiry: no token to fall back on
    const error = await failure(erp.request({ method: 'GET', path: '/x' }));
    expect(error).toMatchObject({ code: 'ERP_AUTH_FAILED', retryable: true });
  });

  it('shares one token request among 20 concurrent calls', async () => {
    tokenAnswer = (call) => ({ status: 200, body: { access_token: `token-${call}`, expires_in: 3600 }, delayMs: 20 });
    const erp = client({}, undefined, 20);
    await Promise.all(Array.from({ length: 20 }, () => erp.request({ method: 'GET', path: '/x' })));
    expect(tokenCalls).toHaveLength(1);
    expect(erpCalls).toHaveLength(20);
    expect(new Set(erpCalls)).toEqual(new Set(['token-1']));
  });

  it('after a 401 fetches a new token once and sends the request again', async () => {
    validTokens = new Set(['token-2']);
    const response = await client().request({ method: 'GET', path: '/x' });
    expect(response.status).toBe(200);
    expect(tokenCalls).toHaveLength(2);
    expect(erpCalls).toEqual(['token-1', 'token-2']);
  });

  it('renews once for many concurrent 401s on the same token', async () => {
    validTokens = new Set(['token-2']);
    const erp = client({}, undefined, 10);
    await erp.request({ method: 'GET', path: '/warm-up' }).catch(() => undefined);
    expect(tokenCalls).toHaveLength(2);
    // token-2 is held now; revoke it, then ten requests hit 401 together
    validTokens = new Set(['token-3']);
    await Promise.all(Array.from({ length: 10 }, () => erp.request({ method: 'GET', path: '/x' })));
    expect(tokenCalls).toHaveLength(3);
  });

  it('gives up with ERP_AUTH_FAILED when the fresh token is refused too', async () => {
    validTokens = new Set();
    const error = await failure(client().request({ method: 'GET', path: '/x' }));
    expect(error).toMatchObject({ code: 'ERP_AUTH_FAILED', httpStatus: 401, retryable: false });
    expect(tokenCalls).toHaveLength(2);
    expect(erpCalls).toHaveLength(2);
    for (const token of ['token-1', 'token-2'])
      expect(`${error.message} ${JSON.stringify(error)}`).not.toContain(token);
  });

  it('reports a refused client as ERP_AUTH_FAILED without the secret, and never calls the ERP', async () => {
    tokenAnswer = () => ({
      status: 400,
      body: {
        error: 'invalid_client',
        error_description: `AADSTS7000215: Invalid client secret ${CLIENT_SECRET} provided.`,
      },
    });
    const error = await failure(client().request({ method: 'GET', path: '/x' }));
    expect(error).toMatchObject({ code: 'ERP_AUTH_FAILED', retryable: false, httpStatus: 400 });
    expect(error.message).toContain('invalid_client');
    expect(error.message).toContain('client secret');
    const everything = `${error.message} ${JSON.stringify(error)} ${String(error.stack)}`;
    expect(everything).not.toContain(CLIENT_SECRET);
    expect(everything).not.toContain(Buffer.from(`app-id:${CLIENT_SECRET}`).toString('base64'));
    expect(erpCalls).toHaveLength(0);
  });

  it('reports a failing token endpoint (500) as ERP_AUTH_FAILED, retryable, without the secret', async () => {
    tokenAnswer = () => ({ status: 500, body: { error: 'server_error' } });
    const error = await failure(client().request({ method: 'GET', path: '/x' }));
    expect(error).toMatchObject({ code: 'ERP_AUTH_FAILED', retryable: true, httpStatus: 500 });
    expect(JSON.stringify(error)).not.toContain(CLIENT_SECRET);
    expect(erpCalls).toHaveLength(0);
  });

  it('reports an answer without access_token as ERP_AUTH_FAILED', async () => {
    tokenAnswer = () => ({ status: 200, body: { token_type: 'Bearer' } });
    const error = await failure(client().request({ method: 'GET', path: '/x' }));
    expect(error.code).toBe('ERP_AUTH_FAILED');
    expect(error.message).toContain('access_token');
  });

  it('reports an unreachable token endpoint as ERP_AUTH_FAILED, retryable', async () => {
    const tokenUrl = `${await closedPortUrl()}/oauth2/token`;
    const error = await failure(client({ tokenUrl }).request({ method: 'GET', path: '/x' }));
    expect(error).toMatchObject({ code: 'ERP_AUTH_FAILED', retryable: true });
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('does not send a request that was waiting for its token when the connection closes', async () => {
    tokenAnswer = () => ({ status: 200, body: { access_token: 'token-1', expires_in: 3600 }, delayMs: 50 });
    const erp = client();
    const pending = erp.request({ method: 'GET', path: '/x' });
    await until(() => tokenCalls.length === 1, 'the token request');
    erp.close();
    await expect(pending).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE', retryable: true });
    expect(erpCalls).toHaveLength(0);
  });

  it('tries again after a failed token request instead of caching the failure', async () => {
    tokenAnswer = (call) =>
      call === 1 ? { status: 503, body: {} } : { status: 200, body: { access_token: 'token-2', expires_in: 3600 } };
    const erp = client();
    await expect(erp.request({ method: 'GET', path: '/x' })).rejects.toMatchObject({ code: 'ERP_AUTH_FAILED' });
    await expect(erp.request({ method: 'GET', path: '/x' })).resolves.toMatchObject({ status: 200 });
    expect(erpCalls).toEqual(['token-2']);
  });
});
