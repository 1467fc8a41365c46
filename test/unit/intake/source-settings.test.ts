import {
  DEFAULT_SOURCE_API_MAX_CONCURRENCY,
  DEFAULT_SOURCE_API_TIMEOUT_MS,
  sourceSettings,
  webhookSecrets,
} from '../../../lib/intake/source-settings';
import type { SignatureScheme } from '../../../lib/sources/signatures';

const STANDARD_SECRET = 'whsec_' + Buffer.from('a-standard-webhooks-key').toString('base64');

function errorOf(fn: () => unknown): any {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('nothing was thrown');
}

describe('sourceSettings', () => {
  it('builds the profile with its default scheme, the default tolerance and both secrets', () => {
    const credentials = { secret: 'new', previousSecret: 'old' };
    const settings = sourceSettings({ profile: 'ramp' }, credentials);
    expect(settings).toMatchObject({ profileName: 'ramp', signatureScheme: 'ramp', toleranceSeconds: 300 });
    expect(webhookSecrets(settings.signatureScheme, credentials)).toEqual(['new', 'old']);
    expect(settings.profile.name).toBe('ramp');
    expect(settings.api).toBeUndefined();
  });

  it('passes the chosen profile its own options only', () => {
    const concur = sourceSettings(
      {
        profile: 'concur',
        costCenterField: 'custom1',
        projectField: 'custom2',
        glAccountByExpenseType: '{"AIRFR": "6100"}',
        employeeIdFrom: 'user_id',
      },
      { secret: 's' },
    );
    expect(concur.profile.name).toBe('concur');
    expect(
      errorOf(() => sourceSettings({ profile: 'ramp', dimensionKey: 'external_name' }, { secret: 's' })),
    ).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/ramp profile option "dimensionKey"/),
    });
  });

  it('reports each bad setting by name', () => {
    const cases: Array<[object, object, RegExp, string?]> = [
      [{ profile: 'brex' }, {}, /Profile "brex" is not one of cloudevents, concur, ramp, coupa/, 'profile'],
      [{ signatureScheme: 'md5' }, { secret: 's' }, /Signature scheme "md5"/, 'signatureScheme'],
      [{ toleranceSeconds: '0' }, { secret: 's' }, /Tolerance \(s\) must be a whole number from 1 to 86400/],
      [
        { profile: 'concur', glAccountByExpenseType: '{AIRFR: 6100}' },
        { secret: 's' },
        /GL account by expense type is not valid JSON/,
        'glAccountByExpenseType',
      ],
      [
        { profile: 'concur', approvalStatusMap: '["A_PEND"]' },
        { secret: 's' },
        /Custom approval statuses must be a JSON object/,
        'approvalStatusMap',
      ],
      [{ apiBaseUrl: 'ftp://api.example.com' }, { secret: 's' }, /API base URL must start with http/],
      [
        { apiBaseUrl: 'https://api.example.com', apiAuthType: 'basic' },
        { secret: 's' },
        /API authentication "basic"/,
        'apiAuthType',
      ],
      [{ apiBaseUrl: 'https://api.example.com', apiAuthType: 'bearer' }, { secret: 's' }, /Bearer token is empty/],
      [{ apiBaseUrl: 'https://api.example.com', apiAuthType: 'oauth2' }, { secret: 's' }, /Token URL is empty/],
      [
        { apiBaseUrl: 'https://api.example.com', apiTimeoutMs: '50' },
        { secret: 's' },
        /API timeout \(ms\) must be a whole number from 100 to 600000; it is "50"/,
        'API timeout (ms)',
      ],
      [
        { apiBaseUrl: 'https://api.example.com', apiMaxConcurrency: '2.5' },
        { secret: 's' },
        /API requests at once must be a whole number from 1 to 100/,
        'API requests at once',
      ],
    ];
    for (const [settings, credentials, message, field] of cases) {
      const error = errorOf(() => sourceSettings(settings, credentials));
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) });
      if (field) expect(error.details).toEqual({ field });
    }
  });

  it('needs no secret with the scheme none, and accepts Standard Webhooks secrets as the sender shows them', () => {
    expect(webhookSecrets('none', {})).toEqual([]);
    expect(webhookSecrets('standard-webhooks', { secret: STANDARD_SECRET })).toEqual([STANDARD_SECRET]);
  });

  it('reports a missing or unusable webhook secret by name, only when the secrets are asked for', () => {
    const cases: Array<[SignatureScheme, object, RegExp, string]> = [
      ['generic', {}, /Webhook secret is empty, and the "generic" signature scheme needs it/, 'secret'],
      ['ramp', { previousSecret: 'only-the-old-one' }, /Webhook secret is empty/, 'secret'],
      [
        'standard-webhooks',
        { secret: STANDARD_SECRET, previousSecret: 'not base64!' },
        /Previous secret is not valid/,
        'previousSecret',
      ],
    ];
    for (const [scheme, credentials, message, field] of cases) {
      const error = errorOf(() => webhookSecrets(scheme, credentials));
      expect(error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringMatching(message) });
      expect(error.details).toEqual({ field });
    }
    // A Coupa source polled over its API, or one used for write-back only, is usable without a webhook secret.
    const coupa = sourceSettings(
      { profile: 'coupa', apiBaseUrl: 'https://acme.coupahost.com', apiAuthType: 'none' },
      {},
    );
    expect(coupa).toMatchObject({ profileName: 'coupa', signatureScheme: 'generic' });
    expect(coupa.api).toMatchObject({ baseUrl: 'https://acme.coupahost.com' });
  });

  it("gives the write-back API the dialog's timeout and width, and the ERP connection's defaults without them", () => {
    const api = (settings: object) => sourceSettings({ apiBaseUrl: 'https://api.example.com', ...settings }, {}).api;
    expect(api({ signatureScheme: 'none', apiTimeoutMs: '2000', apiMaxConcurrency: '64' })).toMatchObject({
      timeoutMs: 2000,
      maxConcurrency: 64,
    });
    expect(api({ signatureScheme: 'none', apiTimeoutMs: '', apiMaxConcurrency: '' })).toMatchObject({
      timeoutMs: DEFAULT_SOURCE_API_TIMEOUT_MS,
      maxConcurrency: DEFAULT_SOURCE_API_MAX_CONCURRENCY,
    });
    expect(api({ signatureScheme: 'none' })).toMatchObject({ timeoutMs: 30_000, maxConcurrency: 8 });
  });

  it('configures the write-back API with its auth, never echoing a secret in an error', () => {
    const settings = sourceSettings(
      {
        name: 'Ramp prod',
        profile: 'ramp',
        apiBaseUrl: 'https://api.ramp.example/developer/v1/',
        apiAuthType: 'oauth2',
        tokenUrl: 'https://api.ramp.example/token',
        scope: 'reimbursements:write',
      },
      { secret: 's', clientId: 'client-1', clientSecret: 'client-secret-value' },
    );
    expect(settings.api).toMatchObject({
      name: 'Ramp prod API',
      dialect: 'ramp',
      baseUrl: 'https://api.ramp.example/developer/v1',
      auth: {
        type: 'oauth2',
        tokenUrl: 'https://api.ramp.example/token',
        clientId: 'client-1',
        clientSecret: 'client-secret-value',
        scope: 'reimbursements:write',
      },
    });
    const error = errorOf(() =>
      sourceSettings({ apiBaseUrl: 'https://user:pa55word@api.example.com' }, { secret: 's' }),
    );
    expect(error.message).toMatch(/API base URL must not contain a user name or password/);
    expect(error.message).not.toContain('pa55word');
    const query = errorOf(() => sourceSettings({ apiBaseUrl: 'https://api.example.com/v1?key=K-1' }, { secret: 's' }));
    expect(query.message).toMatch(/API base URL must not contain a query/);
  });

  it("passes the API's own Proxy fields to its client, and names finance-source in a refusal", () => {
    const api = { profile: 'ramp', apiBaseUrl: 'https://api.ramp.com', apiAuthType: 'bearer' };
    expect(sourceSettings(api, { secret: 's', token: 't' }).api?.proxy).toEqual({ mode: 'environment' });
    const explicit = sourceSettings(
      { ...api, proxyMode: 'url', proxyUrl: 'http://proxy.corp:3128' },
      { secret: 's', token: 't', proxyUsername: 'svc', proxyPassword: 'pw' },
    );
    expect(explicit.api?.proxy).toEqual({
      mode: 'url',
      url: 'http://proxy.corp:3128',
      username: 'svc',
      password: 'pw',
    });
    const error = errorOf(() => sourceSettings({ ...api, proxyMode: 'url' }, { secret: 's', token: 't' }));
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toMatch(/Proxy URL is empty.*finance-source/);
  });
});
