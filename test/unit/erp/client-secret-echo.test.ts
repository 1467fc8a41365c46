/** An ERP that echoes the credentials it was sent: nothing of them may reach the error, its body or its stack. */
import { isFinanceError, type FinanceError } from '../../../lib/errors';
import { ErpClient, type AuthConfig } from '../../../lib/erp/client';
import { sendJson, startServer, type TestServer } from './helpers';

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
