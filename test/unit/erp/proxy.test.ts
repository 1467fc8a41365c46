import { bypasses, parseNoProxy, parseProxyUrl, proxyResolver, summarizeProxy } from '../../../lib/erp/proxy';
import { resolveConnectionConfig, summarizeConnection } from '../../../lib/erp/config';
import { FinanceError } from '../../../lib/errors';

const https = (hostname: string, port = 443) => ({ protocol: 'https:', hostname, port });
const http = (hostname: string, port = 80) => ({ protocol: 'http:', hostname, port });

function thrown(action: () => unknown): FinanceError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(FinanceError);
    return error as FinanceError;
  }
  throw new Error('expected a FinanceError');
}

describe('proxyResolver from the environment', () => {
  it('uses HTTPS_PROXY for https targets and HTTP_PROXY for http targets', () => {
    const resolve = proxyResolver(undefined, {
      HTTPS_PROXY: 'http://secure-proxy:3128',
      HTTP_PROXY: 'http://plain:8080',
    });
    expect(resolve(https('api.businesscentral.dynamics.com'))?.label).toBe('secure-proxy:3128');
    expect(resolve(http('erp.internal'))?.label).toBe('plain:8080');
  });

  it('reads the lower-case spellings too, and uses no proxy when neither is set', () => {
    expect(proxyResolver(undefined, { https_proxy: 'proxy:3128' })(https('a.example'))?.label).toBe('proxy:3128');
    expect(proxyResolver(undefined, { http_proxy: 'proxy:3128' })(http('a.example'))?.label).toBe('proxy:3128');
    expect(proxyResolver(undefined, {})(https('a.example'))).toBeUndefined();
    // HTTP_PROXY is not used for https targets: curl and most tools keep them apart.
    expect(proxyResolver(undefined, { HTTP_PROXY: 'proxy:3128' })(https('a.example'))).toBeUndefined();
  });

  it('honours NO_PROXY: host names, domain suffixes with or without a dot, host:port and *', () => {
    const env = (noProxy: string) => ({ HTTPS_PROXY: 'http://proxy:3128', no_proxy: noProxy });
    expect(proxyResolver(undefined, env('erp.corp, other'))(https('erp.corp'))).toBeUndefined();
    expect(proxyResolver(undefined, env('erp.corp'))(https('x.erp.corp'))).toBeUndefined();
    expect(proxyResolver(undefined, env('.corp'))(https('erp.corp'))).toBeUndefined();
    expect(proxyResolver(undefined, env('corp'))(https('erp.corp'))).toBeUndefined();
    expect(proxyResolver(undefined, env('*'))(https('anything.example'))).toBeUndefined();
    expect(proxyResolver(undefined, env('erp.corp:8443'))(https('erp.corp', 8443))).toBeUndefined();
    expect(proxyResolver(undefined, env('erp.corp:8443'))(https('erp.corp'))?.label).toBe('proxy:3128');
    // A suffix matches whole labels only: "corp" does not cover "mycorp".
    expect(proxyResolver(undefined, env('corp'))(https('mycorp'))?.label).toBe('proxy:3128');
    expect(proxyResolver(undefined, env('ERP.Corp'))(https('erp.CORP'))).toBeUndefined();
  });

  it('never sends loopback through the proxy', () => {
    const resolve = proxyResolver(undefined, { HTTPS_PROXY: 'http://proxy:3128' });
    for (const host of ['localhost', '127.0.0.1', '127.1.2.3', '::1', 'erp.localhost']) {
      expect(resolve(https(host))).toBeUndefined();
    }
  });

  it('puts credentials of the proxy URL in the authorization only, never in the label', () => {
    const route = proxyResolver(undefined, { HTTPS_PROXY: 'http://us%40er:p%3Ass@proxy:3128' })(https('a.example'));
    expect(route).toEqual({
      host: 'proxy',
      port: 3128,
      label: 'proxy:3128',
      authorization: `Basic ${Buffer.from('us@er:p:ss').toString('base64')}`,
    });
  });

  it('refuses an https:// proxy and a malformed one, without quoting the URL', () => {
    const https_ = thrown(() => proxyResolver(undefined, { HTTPS_PROXY: 'https://u:secret@proxy:443' }));
    expect(https_.code).toBe('CONFIG_INVALID');
    expect(https_.message).toContain('HTTPS_PROXY');
    expect(https_.message).toContain('https:// proxy');
    expect(https_.message).not.toContain('secret');
    const socks = thrown(() => proxyResolver(undefined, { https_proxy: 'socks5://u:secret@proxy:1080' }));
    expect(socks.message).toContain('https_proxy');
    expect(socks.message).not.toContain('secret');
  });
});

describe('proxyResolver with an explicit setting', () => {
  it('"none" never proxies, whatever the environment says', () => {
    expect(proxyResolver({ mode: 'none' }, { HTTPS_PROXY: 'http://proxy:3128' })(https('a.example'))).toBeUndefined();
  });

  it('"url" proxies every target, loopback included, with the credential fields', () => {
    const resolve = proxyResolver(
      { mode: 'url', url: 'http://proxy.corp:8080', username: 'svc', password: 'pw' },
      { NO_PROXY: '*' },
    );
    expect(resolve(https('127.0.0.1'))).toEqual({
      host: 'proxy.corp',
      port: 8080,
      label: 'proxy.corp:8080',
      authorization: `Basic ${Buffer.from('svc:pw').toString('base64')}`,
    });
  });
});

describe('NO_PROXY parsing', () => {
  it('reads ports, bracketed IPv6 and bare IPv6 entries', () => {
    expect(parseNoProxy(' a.example:8443, [::1]:443 ,fe80::1 *')).toEqual([
      { host: 'a.example', port: 8443 },
      { host: '::1', port: 443 },
      { host: 'fe80::1' },
      { host: '*' },
    ]);
    expect(bypasses(parseNoProxy('fe80::1'), 'fe80::1', 443)).toBe(true);
    expect(bypasses(parseNoProxy('*.corp'), 'erp.corp', 443)).toBe(true);
  });
});

describe('the proxy setting of a connection', () => {
  const base = { name: 'bc', dialect: 'sandbox', baseUrl: 'https://erp.example', auth: { type: 'none' as const } };

  it('defaults to the environment and summarizes without credentials', () => {
    expect(resolveConnectionConfig(base).proxy).toEqual({ mode: 'environment' });
    const resolved = resolveConnectionConfig({
      ...base,
      proxy: { mode: 'url', url: 'http://proxy.corp:8080', username: 'svc', password: 'top-secret' },
    });
    const summary = summarizeConnection(resolved);
    expect(summary.proxy).toEqual({ mode: 'url', proxy: 'proxy.corp:8080', credentials: true });
    expect(JSON.stringify(summary)).not.toContain('top-secret');
    expect(summarizeProxy({ mode: 'none' })).toEqual({ mode: 'none' });
  });

  it('refuses an unknown mode, a missing URL and an https:// proxy with CONFIG_INVALID', () => {
    const mode = thrown(() => resolveConnectionConfig({ ...base, proxy: { mode: 'socks' } as never }));
    expect(mode.message).toContain('proxy mode must be one of environment, none, url');
    const missing = thrown(() => resolveConnectionConfig({ ...base, proxy: { mode: 'url' } as never }));
    expect(missing.message).toContain('proxy.url is required');
    const secure = thrown(() =>
      resolveConnectionConfig({ ...base, proxy: { mode: 'url', url: 'https://proxy.corp', password: 'pw-x' } }),
    );
    expect(secure.code).toBe('CONFIG_INVALID');
    expect(secure.message).toContain('https:// proxy');
    expect(secure.message).not.toContain('pw-x');
  });

  it('fills in port 80 for a proxy URL without one', () => {
    expect(parseProxyUrl('http://proxy.corp', 'x')).toEqual({ host: 'proxy.corp', port: 80, label: 'proxy.corp:80' });
  });
});
