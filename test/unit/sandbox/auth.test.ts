import { DEMO, startTestSandbox, type TestSandbox } from './helpers';

const CLIENT_ID = 'finance-sync-test';
const CLIENT_SECRET = 's3cr3t-value-never-echoed';

describe('sandbox OAuth2 mode', () => {
  let sandbox: TestSandbox;

  beforeEach(async () => {
    sandbox = await startTestSandbox({
      auth: { type: 'oauth2', clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, tokenTtlSeconds: 60 },
    });
  });

  afterEach(async () => {
    await sandbox.handle.close();
  });

  async function token(form: Record<string, string>, headers: Record<string, string> = {}) {
    const response = await fetch(`${sandbox.handle.url}/oauth2/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
      body: new URLSearchParams(form).toString(),
    });
    const text = await response.text();
    return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
  }

  it('refuses /api/ requests without a token with 401 and WWW-Authenticate', async () => {
    const reply = await sandbox.call('GET', `${DEMO}/projects`);
    expect(reply.status).toBe(401);
    expect(reply.body.code).toBe('UNAUTHORIZED');
    expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer/);
    const wrong = await sandbox.call('GET', `${DEMO}/projects`, { headers: { authorization: 'Bearer made-up' } });
    expect(wrong.status).toBe(401);
  });

  it('issues a bearer token for the right client credentials, which then opens /api/', async () => {
    const issued = await token({
      grant_type: 'client_credentials',
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
    });
    expect(issued.status).toBe(200);
    expect(issued.body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 60 });
    expect(issued.headers.get('cache-control')).toBe('no-store');
    const reply = await sandbox.call('GET', `${DEMO}/projects`, {
      headers: { authorization: `Bearer ${issued.body.access_token}` },
    });
    expect(reply.status).toBe(200);
  });

  it('accepts the client credentials as HTTP Basic', async () => {
    const basic = Buffer.from(`${CLIENT_ID}:${CLIENT_SECRET}`).toString('base64');
    const issued = await token({ grant_type: 'client_credentials' }, { authorization: `Basic ${basic}` });
    expect(issued.status).toBe(200);
  });

  it('answers wrong or absent credentials with 401 invalid_client and never echoes the secret', async () => {
    const wrong = await token({ grant_type: 'client_credentials', client_id: CLIENT_ID, client_secret: 'guess' });
    expect(wrong.status).toBe(401);
    expect(wrong.body).toMatchObject({ error: 'invalid_client', code: 'INVALID_CLIENT' });
    const absent = await token({ grant_type: 'client_credentials' });
    expect(absent.status).toBe(401);
    expect(wrong.text + absent.text).not.toContain(CLIENT_SECRET);
    const grant = await token({ grant_type: 'password', client_id: CLIENT_ID, client_secret: CLIENT_SECRET });
    expect(grant.status).toBe(400);
    expect(grant.body.error).toBe('unsupported_grant_type');
  });

  it('expires tokens after their lifetime', async () => {
    const issued = await token({
      grant_type: 'client_credentials',
      client_id: CLIENT_ID,
      client_secret: CLIENT_SECRET,
    });
    sandbox.clock.now = new Date(sandbox.clock.now.getTime() + 61_000);
    const reply = await sandbox.call('GET', `${DEMO}/projects`, {
      headers: { authorization: `Bearer ${issued.body.access_token}` },
    });
    expect(reply.status).toBe(401);
    expect(reply.headers.get('www-authenticate')).toContain('invalid_token');
  });

  it('keeps /_sandbox/ open for inspection', async () => {
    expect((await sandbox.call('GET', '/_sandbox/state')).status).toBe(200);
  });
});

describe('sandbox without auth', () => {
  it('lets /api/ through and still hands out tokens, so an OAuth2 client works against it', async () => {
    const sandbox = await startTestSandbox();
    try {
      expect((await sandbox.call('GET', `${DEMO}/projects`)).status).toBe(200);
      const response = await fetch(`${sandbox.handle.url}/oauth2/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'grant_type=client_credentials&client_id=any&client_secret=any',
      });
      expect(response.status).toBe(200);
    } finally {
      await sandbox.handle.close();
    }
  });

  it('refuses to start in OAuth2 mode without a secret', async () => {
    await expect(startTestSandbox({ auth: { type: 'oauth2', clientId: 'x', clientSecret: '' } })).rejects.toMatchObject(
      {
        code: 'CONFIG_INVALID',
      },
    );
  });
});
