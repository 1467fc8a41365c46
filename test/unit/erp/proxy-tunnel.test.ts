/**
 * ErpClient through a real forward proxy on loopback: CONNECT tunnels to a local HTTPS server with a
 * self-signed certificate, plain-HTTP forwarding, and the proxy's failures.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { ErpClient, type ErpConnectionConfig } from '../../../lib/erp/client';
import { closedPortUrl, selfSignedCertificate, sendJson, startServer, type TestServer, failure } from './helpers';

const ERP_HOST = 'erp.example.test';
const PROXY_PASSWORD = 'proxy-s3cret-pw';

interface ConnectSeen {
  target: string;
  authorization?: string;
}

/** How the proxy answers CONNECT: open the tunnel, refuse with a status, or never answer. */
type ProxyBehaviour = { kind: 'tunnel' } | { kind: 'refuse'; status: number } | { kind: 'hang' };

describe('ErpClient through a forward proxy', () => {
  let certificate: string;
  let erp: https.Server;
  let erpPort: number;
  /** Headers of every request the ERP received. */
  let erpSeen: http.IncomingHttpHeaders[];
  let erpConnections: number;
  let proxy: http.Server;
  let proxyUrl: string;
  let connects: ConnectSeen[];
  let behaviour: ProxyBehaviour;
  const proxySockets = new Set<net.Socket>();
  /** The proxy's side of CONNECTs left unanswered. */
  let hung: net.Socket[];
  const clients: ErpClient[] = [];

  beforeAll(async () => {
    const pem = selfSignedCertificate(ERP_HOST, `DNS:${ERP_HOST}`);
    certificate = pem.cert;
    erp = https.createServer({ key: pem.key, cert: certificate }, (req, res) => {
      erpSeen.push(req.headers);
      if (req.url === '/oauth/token') sendJson(res, 200, { access_token: 'token-via-proxy', expires_in: 3600 });
      else sendJson(res, 200, { path: req.url });
    });
    erp.on('secureConnection', () => {
      erpConnections += 1;
    });
    await new Promise<void>((resolve) => erp.listen(0, '127.0.0.1', resolve));
    erpPort = (erp.address() as AddressInfo).port;

    proxy = http.createServer();
    // Tunnelled sockets leave the server's bookkeeping: closeAllConnections() does not reach them.
    proxy.on('connection', (socket: net.Socket) => proxySockets.add(socket));
    // Whatever host the client asks for, the tunnel leads to the local ERP: the client never resolves the
    // ERP's name itself when it goes through a proxy, so a made-up name works and proves it.
    proxy.on('connect', (req: http.IncomingMessage, client: net.Socket) => {
      connects.push({ target: req.url ?? '', authorization: req.headers['proxy-authorization'] });
      if (behaviour.kind === 'hang') {
        hung.push(client);
        return;
      }
      if (behaviour.kind === 'refuse') {
        client.end(`HTTP/1.1 ${behaviour.status} No\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      const upstream = net.connect(erpPort, '127.0.0.1', () => {
        proxySockets.add(upstream);
        client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
      client.on('error', () => upstream.destroy());
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
  });

  beforeEach(() => {
    erpSeen = [];
    erpConnections = 0;
    connects = [];
    behaviour = { kind: 'tunnel' };
    hung = [];
  });

  afterEach(() => {
    for (const client of clients.splice(0)) client.close();
  });

  afterAll(async () => {
    for (const socket of proxySockets) socket.destroy();
    proxy.closeAllConnections();
    erp.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
    await new Promise<void>((resolve) => erp.close(() => resolve()));
  });

  function client(config: Partial<ErpConnectionConfig>, environment: NodeJS.ProcessEnv = {}): ErpClient {
    const created = new ErpClient(
      {
        name: 'bc',
        dialect: 'sandbox',
        baseUrl: `https://${ERP_HOST}/api`,
        auth: { type: 'bearer', token: 'erp-bearer-token' },
        tls: { ca: certificate },
        timeoutMs: 2_000,
        ...config,
      },
      { environment },
    );
    clients.push(created);
    return created;
  }

  const explicitProxy = () => ({
    mode: 'url' as const,
    url: proxyUrl,
    username: 'proxy-user',
    password: PROXY_PASSWORD,
  });

  it('tunnels to the ERP with CONNECT, verifies its certificate, and reuses the tunnel for the next call', async () => {
    const erpClient = client({ proxy: explicitProxy() });
    const first = await erpClient.request<{ path: string }>({ method: 'GET', path: '/companies' });
    const second = await erpClient.request<{ path: string }>({ method: 'GET', path: '/vendors' });
    expect(first.data.path).toBe('/api/companies');
    expect(second.data.path).toBe('/api/vendors');
    expect(connects.map((seen) => seen.target)).toEqual([`${ERP_HOST}:443`]);
    expect(erpConnections).toBe(1);
  });

  it('sends the proxy credentials on the CONNECT only: the ERP never sees Proxy-Authorization', async () => {
    await client({ proxy: explicitProxy() }).request({ method: 'GET', path: '/companies' });
    const expected = `Basic ${Buffer.from(`proxy-user:${PROXY_PASSWORD}`).toString('base64')}`;
    expect(connects[0].authorization).toBe(expected);
    expect(erpSeen).toHaveLength(1);
    expect(erpSeen[0]['proxy-authorization']).toBeUndefined();
    expect(erpSeen[0].authorization).toBe('Bearer erp-bearer-token');
  });

  it('takes the proxy and its credentials from HTTPS_PROXY by default', async () => {
    const withCredentials = proxyUrl.replace('http://', `http://env-user:${PROXY_PASSWORD}@`);
    await client({}, { HTTPS_PROXY: withCredentials }).request({ method: 'GET', path: '/companies' });
    expect(connects).toHaveLength(1);
    expect(connects[0].authorization).toBe(`Basic ${Buffer.from(`env-user:${PROXY_PASSWORD}`).toString('base64')}`);
  });

  it('goes straight to a host NO_PROXY names, and to loopback, without asking the proxy', async () => {
    const direct = client({}, { HTTPS_PROXY: proxyUrl, NO_PROXY: `.example.test` });
    // Straight means the client resolves the made-up name itself, which fails: the proxy saw nothing.
    const error = await failure(direct.request({ method: 'GET', path: '/companies' }));
    expect(error.code).toBe('ERP_UNAVAILABLE');
    const loopback = client(
      { baseUrl: `https://127.0.0.1:${erpPort}/api`, tls: { ca: certificate, servername: ERP_HOST } },
      { HTTPS_PROXY: proxyUrl },
    );
    await loopback.request({ method: 'GET', path: '/companies' });
    expect(erpSeen).toHaveLength(1);
    expect(connects).toEqual([]);
  });

  it('uses no proxy with the setting "none", even with HTTPS_PROXY set', async () => {
    const direct = client({ proxy: { mode: 'none' } }, { HTTPS_PROXY: proxyUrl });
    await failure(direct.request({ method: 'GET', path: '/companies' }));
    expect(connects).toEqual([]);
  });

  it('reports a 407 as ERP_AUTH_FAILED naming the proxy, without its credentials, and as not sent', async () => {
    behaviour = { kind: 'refuse', status: 407 };
    const error = await failure(client({ proxy: explicitProxy() }).request({ method: 'POST', path: '/invoices' }));
    expect(error.code).toBe('ERP_AUTH_FAILED');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(new URL(proxyUrl).host);
    expect(error.message).toContain('407');
    expect(error.details).toMatchObject({ sent: false, proxyStatus: 407 });
    const everything = JSON.stringify(error.toJSON()) + error.message + String(error.stack);
    expect(everything).not.toContain(PROXY_PASSWORD);
    expect(everything).not.toContain(Buffer.from(`proxy-user:${PROXY_PASSWORD}`).toString('base64'));
    expect(erpSeen).toEqual([]);
  });

  it('reports a 502 from the proxy as retryable ERP_UNAVAILABLE, not sent', async () => {
    behaviour = { kind: 'refuse', status: 502 };
    const error = await failure(client({ proxy: explicitProxy() }).request({ method: 'POST', path: '/invoices' }));
    expect(error.code).toBe('ERP_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ sent: false, proxyStatus: 502 });
  });

  it('reports a 403 from the proxy as ERP_UNAVAILABLE that retrying will not fix', async () => {
    behaviour = { kind: 'refuse', status: 403 };
    const error = await failure(client({ proxy: explicitProxy() }).request({ method: 'GET', path: '/companies' }));
    expect(error.code).toBe('ERP_UNAVAILABLE');
    expect(error.retryable).toBe(false);
    expect(error.details).toMatchObject({ sent: false, proxyStatus: 403 });
  });

  it('reports a proxy that refuses connections as retryable ERP_UNAVAILABLE, not sent', async () => {
    const down = { mode: 'url' as const, url: await closedPortUrl(), password: PROXY_PASSWORD, username: 'u' };
    const error = await failure(client({ proxy: down }).request({ method: 'POST', path: '/invoices' }));
    expect(error.code).toBe('ERP_UNAVAILABLE');
    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ sent: false, transportCode: 'ECONNREFUSED' });
    expect(error.message).toContain('proxy');
    expect(error.message).not.toContain(PROXY_PASSWORD);
  });

  it("bounds the CONNECT by the connection's timeout: ERP_TIMEOUT, retryable, not sent", async () => {
    behaviour = { kind: 'hang' };
    const started = Date.now();
    const erpClient = client({ proxy: explicitProxy(), timeoutMs: 300 });
    const error = await failure(erpClient.request({ method: 'POST', path: '/invoices' }));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(error.code).toBe('ERP_TIMEOUT');
    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ sent: false });
    expect(error.message).toContain('did not open a tunnel');
    // The unanswered CONNECT is given up too, not left open on the proxy.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the CONNECT stayed open')), 1_000);
      const socket = hung[0];
      if (socket.destroyed || socket.readableEnded) resolve();
      // The proxy's side sees the client's end of the connection (it may hold its own half open).
      const ended = () => {
        clearTimeout(timer);
        resolve();
      };
      socket.once('end', ended);
      socket.once('close', ended);
    });
  });

  it("reports a call's own shorter timeout that ends while waiting for the tunnel as not sent", async () => {
    behaviour = { kind: 'hang' };
    const erpClient = client({ proxy: explicitProxy(), timeoutMs: 5_000 });
    const started = Date.now();
    const error = await failure(erpClient.request({ method: 'POST', path: '/invoices', timeoutMs: 200 }));
    // Given up at the call's own deadline, not when the proxy finally answers or the tunnel's timer ends.
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(error.code).toBe('ERP_TIMEOUT');
    expect(error.details).toMatchObject({ sent: false, proxy: new URL(proxyUrl).host });
    expect(error.message).toContain('did not open a tunnel');
  });

  it('sends the OAuth2 token request through the proxy as well', async () => {
    const erpClient = client({
      proxy: explicitProxy(),
      auth: {
        type: 'oauth2',
        tokenUrl: 'https://erp.example.test/oauth/token',
        clientId: 'client-id',
        clientSecret: 'client-secret',
      },
    });
    await erpClient.request({ method: 'GET', path: '/companies' });
    expect(connects.map((seen) => seen.target)).toEqual([`${ERP_HOST}:443`, `${ERP_HOST}:443`]);
    expect(erpSeen.map((headers) => headers.authorization)).toEqual([
      `Basic ${Buffer.from('client-id:client-secret').toString('base64')}`,
      'Bearer token-via-proxy',
    ]);
  });

  it('reports a 407 on the token request as ERP_AUTH_FAILED about the proxy', async () => {
    behaviour = { kind: 'refuse', status: 407 };
    const erpClient = client({
      proxy: explicitProxy(),
      auth: { type: 'oauth2', tokenUrl: 'https://login.example.test/token', clientId: 'c', clientSecret: 's' },
    });
    const error = await failure(erpClient.request({ method: 'GET', path: '/companies' }));
    expect(error.code).toBe('ERP_AUTH_FAILED');
    expect(error.message).toContain('the OAuth2 token request was not sent');
    expect(connects.map((seen) => seen.target)).toEqual(['login.example.test:443']);
  });

  it('sends a plain-HTTP call to the proxy with the absolute URL as its path', async () => {
    const forwarded: Array<{ url?: string; host?: string; authorization?: string }> = [];
    const forwardingProxy: TestServer = await startServer((req, res) => {
      forwarded.push({ url: req.url, host: req.headers.host, authorization: req.headers['proxy-authorization'] });
      sendJson(res, 200, { ok: true });
    });
    try {
      const erpClient = client(
        { baseUrl: 'http://erp.example.test:8080/api', tls: undefined },
        { HTTP_PROXY: forwardingProxy.url.replace('http://', 'http://u:p@') },
      );
      await erpClient.request({ method: 'GET', path: '/companies', query: { $filter: "name eq 'A'" } });
      expect(forwarded).toEqual([
        {
          url: "http://erp.example.test:8080/api/companies?%24filter=name+eq+'A'".replace('%24', '$'),
          host: 'erp.example.test:8080',
          authorization: `Basic ${Buffer.from('u:p').toString('base64')}`,
        },
      ]);
    } finally {
      await forwardingProxy.close();
    }
  });
});
