import { isFinanceError } from '../../../lib/errors';
import { resolveConnectionConfig, type ErpConnectionConfig } from '../../../lib/erp/config';

const base: ErpConnectionConfig = {
  dialect: 'sandbox',
  baseUrl: 'https://erp.example.com/api/',
  auth: { type: 'none' },
};

function configError(config: unknown): { code: string; message: string } {
  try {
    resolveConnectionConfig(config as ErpConnectionConfig);
  } catch (error) {
    if (isFinanceError(error)) return { code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected CONFIG_INVALID');
}

describe('resolveConnectionConfig', () => {
  it('fills in the defaults and drops a trailing slash from the base URL', () => {
    expect(resolveConnectionConfig(base)).toMatchObject({
      name: 'erp',
      baseUrl: 'https://erp.example.com/api',
      timeoutMs: 30000,
      maxConcurrency: 8,
      rateLimit: null,
    });
  });

  it.each([
    ['a base URL that is not http(s)', { ...base, baseUrl: 'ftp://erp' }, 'baseUrl'],
    ['a base URL that is not a URL', { ...base, baseUrl: 'erp.example.com' }, 'baseUrl'],
    ['a zero concurrency', { ...base, maxConcurrency: 0 }, 'maxConcurrency'],
    ['a fractional timeout', { ...base, timeoutMs: 1.5 }, 'timeoutMs'],
    ['half a rate limit', { ...base, rateLimit: { requests: 10 } }, 'rateLimit'],
    ['an unknown auth type', { ...base, auth: { type: 'kerberos' } }, 'auth.type'],
    ['basic auth without password', { ...base, auth: { type: 'basic', username: 'u' } }, 'auth.password'],
    [
      'an API key header with a space',
      { ...base, auth: { type: 'apiKey', headerName: 'X Key', apiKey: 'k' } },
      'headerName',
    ],
    [
      'OAuth2 with a bad clientAuth',
      {
        ...base,
        auth: { type: 'oauth2', tokenUrl: 'https://id/t', clientId: 'c', clientSecret: 's', clientAuth: 'jwt' },
      },
      'clientAuth',
    ],
    ['no dialect', { ...base, dialect: '' }, 'dialect'],
  ])('refuses %s with CONFIG_INVALID naming the field', (_case, config, field) => {
    const error = configError(config);
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain(field);
  });

  it('refuses credentials in the base URL without echoing them', () => {
    const error = configError({ ...base, baseUrl: 'https://admin:pa55word@erp.example.com' });
    expect(error.code).toBe('CONFIG_INVALID');
    expect(error.message).toContain('auth settings');
    expect(error.message).not.toContain('pa55word');
  });
});
