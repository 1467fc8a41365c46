/** An ERP that echoes the credentials it was sent: nothing of them may reach the error, its body or its stack. */
import { isFinanceError, type FinanceError } from '../../../lib/errors';
import { ErpClient, type AuthConfig } from '../../../lib/erp/client';
import { sendJson, startServer, until, type TestServer } from './helpers';

let server: TestServer;
let answer: (authorization: string | undefined) => unknown;

beforeAll(async () => {
  server = await startServer((req, res) => sendJson(res, 401, answer(req.headers.authorization)));
});
afterAll(() => server.close());

async function failureWith(auth: AuthConfig): Promise<FinanceError> {
  const client = new ErpClient({ name: 'erp', dialect: 'sandbox', baseUrl: server.url, auth });
  try {
    await client.request({ method: 'GET', path: '/api/resource/Supplier' });
  } catch (error) {
    if (isFinanceError(error)) return error;
    throw error;
  } finally {
    client.close();
  }
  throw new Error('expected the request to fail');
}

describe('an ERP answering 401 with the credentials it was sent', () => {
  it("keeps ERPNext's api secret out, also when the ERP names it apart from the header", async () => {
    const apiSecret = 'f3c9e1a7b2d4c6e';
    answer = (authorization) => ({
      exc_type: 'AuthenticationError',
      message: `Invalid api_secret ${apiSecret} for api_key 4f9a1c2b3d4e5f6`,
      _server_messages: JSON.stringify([JSON.stringify({ message: `sent ${String(authorization).slice(6)}` })]),
    });
    const error = await failureWith({
      type: 'apiKey',
      headerName: 'Authorization',
      apiKey: `token 4f9a1c2b3d4e5f6:${apiSecret}`,
    });
    expect(error.code).toBe('ERP_AUTH_FAILED');
    const everything = `${error.message} ${JSON.stringify(error)} ${String(error.stack)}`;
    expect(everything).not.toContain(apiSecret);
  });
});

describe('an OAuth2 token endpoint answering 400 with the client secret it was sent', () => {
  it('keeps the secret out of the error, whichever field of the OAuth error names it', async () => {
    const clientSecret = 'Zq8~secret.value-42';
    let tokenServer: TestServer | undefined;
    try {
      tokenServer = await startServer((_req, res, body) => {
        const sent = new URLSearchParams(body).get('client_secret');
        sendJson(res, 400, {
          error: `invalid_client (client_secret ${String(sent)} is not valid)`,
          error_description: `AADSTS7000215: Invalid client secret provided: ${String(sent)}`,
        });
      });
      const error = await failureWith({
        type: 'oauth2',
        tokenUrl: `${tokenServer.url}/oauth2/token`,
        clientId: 'app-id',
        clientSecret,
        clientAuth: 'body',
      });
      expect(error).toMatchObject({ code: 'ERP_AUTH_FAILED', httpStatus: 400 });
      const everything = `${error.message} ${JSON.stringify(error)} ${String(error.stack)}`;
      expect(everything).not.toContain(clientSecret);
    } finally {
      await tokenServer?.close();
    }
  });
});

describe('an ERP echoing an OAuth2 token that a concurrent 401 has just dropped', () => {
  it('keeps the dropped token out of the error of the request still in flight with it', async () => {
    let issued = 0;
    let releaseSlow: (() => void) | undefined;
    let slowArrived = false;
    let tokenServer: TestServer | undefined;
    let erp: TestServer | undefined;
    let client: ErpClient | undefined;
    try {
      tokenServer = await startServer((_req, res) => {
        issued += 1;
        sendJson(res, 200, { access_token: `oauth-token-${issued}-abcdefgh`, expires_in: 3600 });
      });
      erp = await startServer((req, res) => {
        const token = String(req.headers.authorization).replace(/^Bearer /, '');
        if (req.url === '/slow') {
          // Answers only after the other request has made the client drop this token.
          slowArrived = true;
          releaseSlow = () => sendJson(res, 400, { message: `request with access ${token} has a bad field` });
        } else if (req.url === '/x' && token === 'oauth-token-1-abcdefgh') {
          sendJson(res, 401, { message: 'token expired' });
        } else sendJson(res, 200, { ok: true });
      });
      client = new ErpClient({
        name: 'erp',
        dialect: 'sandbox',
        baseUrl: erp.url,
        auth: { type: 'oauth2', tokenUrl: `${tokenServer.url}/token`, clientId: 'app-id', clientSecret: 'cs-1' },
      });
      await client.request({ method: 'GET', path: '/warm-up' });
      const slow = client.request({ method: 'GET', path: '/slow' }).then(
        () => undefined,
        (error: unknown) => error,
      );
      await until(() => slowArrived, 'the slow request');
      // 401 on token 1: the client drops it, fetches token 2 and succeeds.
      await client.request({ method: 'GET', path: '/x' });
      expect(issued).toBe(2);
      releaseSlow?.();
      const error = await slow;
      if (!isFinanceError(error)) throw new Error('expected the slow request to fail with a FinanceError');
      const everything = `${error.message} ${JSON.stringify(error)} ${String(error.stack)}`;
      expect(everything).toContain('has a bad field');
      expect(everything).not.toContain('oauth-token-1-abcdefgh');
    } finally {
      client?.close();
      await erp?.close();
      await tokenServer?.close();
    }
  });
});
