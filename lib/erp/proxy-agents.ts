/**
 * Keep-alive agents that go through a forward proxy when the connection's ProxyResolver says so.
 *
 * HTTPS: the agent's createConnection opens a CONNECT tunnel to the proxy, then TLS to the ERP over it, with the
 * agent's own TLS options (CA, client certificate, rejectUnauthorized, server name). Because the tunnel is made
 * where the agent makes a socket, the pool keeps the tunnelled TLS socket like any other: a keep-alive
 * connection is reused without a new CONNECT. The proxy's credentials go on the CONNECT only; the ERP never
 * sees them.
 *
 * HTTP: a request through a proxy is a request to the proxy with the absolute URL as its path; exchange() in
 * http-transport.ts asks ForwardingHttpAgent.routeFor() and builds it so.
 */
import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';
import type { ProxyResolver, ProxyRoute, ProxyTarget } from './proxy';

export type ProxyFailureKind = 'refused' | 'unreachable' | 'timeout';

/**
 * The tunnel through the proxy could not be opened: nothing reached the ERP. The message names the proxy by
 * host and port only, never its credentials.
 */
export class ProxyTunnelError extends Error {
  readonly kind: ProxyFailureKind;
  /** host:port of the proxy. */
  readonly proxy: string;
  /** The proxy's answer to CONNECT, for 'refused'. */
  readonly status?: number;
  /** The socket's error code, for 'unreachable' (ECONNREFUSED, ENOTFOUND...). */
  readonly code: string;

  constructor(kind: ProxyFailureKind, proxy: string, reason: string, options: { status?: number; code?: string } = {}) {
    super(reason);
    this.name = 'ProxyTunnelError';
    this.kind = kind;
    this.proxy = proxy;
    this.status = options.status;
    this.code = options.code ?? `PROXY_${kind.toUpperCase()}`;
  }
}

export interface ProxyAgentOptions {
  resolver: ProxyResolver;
  /** How long the proxy may take to open a tunnel: the connection's timeout. */
  connectTimeoutMs: number;
}

type ConnectionCallback = (error: Error | null, stream: Duplex) => void;

export class TunnelingHttpsAgent extends https.Agent {
  readonly #resolver: ProxyResolver;
  readonly #connectTimeoutMs: number;
  /** CONNECT requests waiting for the proxy, so that destroy() stops them too. */
  readonly #pendingTunnels = new Set<http.ClientRequest>();

  constructor(options: https.AgentOptions & ProxyAgentOptions) {
    const { resolver, connectTimeoutMs, ...agentOptions } = options;
    super(agentOptions);
    this.#resolver = resolver;
    this.#connectTimeoutMs = connectTimeoutMs;
  }

  /** The proxy a call to this host goes through, if any. */
  routeFor(hostname: string, port: number): ProxyRoute | undefined {
    return this.#resolver({ protocol: 'https:', hostname, port });
  }

  override createConnection(options: https.RequestOptions, callback?: ConnectionCallback): Duplex | null | undefined {
    const hostname = String(options.host ?? options.hostname ?? 'localhost');
    const port = Number(options.port) || 443;
    const route = this.routeFor(hostname, port);
    if (route === undefined || callback === undefined) return super.createConnection(options, callback);
    this.#tunnel(route, hostname, port, options, callback);
    return undefined;
  }

  override destroy(): void {
    for (const pending of this.#pendingTunnels) pending.destroy();
    this.#pendingTunnels.clear();
    super.destroy();
  }

  #tunnel(
    route: ProxyRoute,
    hostname: string,
    port: number,
    options: https.RequestOptions,
    callback: ConnectionCallback,
  ): void {
    const authority = `${hostname.includes(':') ? `[${hostname}]` : hostname}:${port}`;
    const headers: Record<string, string> = { host: authority };
    if (route.authorization !== undefined) headers['proxy-authorization'] = route.authorization;
    const connect = http.request({
      host: route.host,
      port: route.port,
      method: 'CONNECT',
      path: authority,
      headers,
      agent: false,
    });
    this.#pendingTunnels.add(connect);
    let settled = false;
    const settle = (error: Error | null, stream?: Duplex) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      this.#pendingTunnels.delete(connect);
      callback(error, stream as Duplex);
    };
    const timer = setTimeout(() => {
      const reason = `the proxy ${route.label} did not open a tunnel to ${authority} within ${this.#connectTimeoutMs} ms`;
      settle(new ProxyTunnelError('timeout', route.label, reason));
      connect.destroy();
    }, this.#connectTimeoutMs);
    connect.once('connect', (response: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      const status = response.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        socket.destroy();
        const reason = `the proxy ${route.label} answered ${status} to CONNECT ${authority}`;
        settle(new ProxyTunnelError('refused', route.label, reason, { status }));
        return;
      }
      // Bytes after the proxy's answer belong to the TLS handshake; a proxy that sends any is broken.
      if (head.length > 0) socket.unshift(head);
      // The agent's options carry its TLS settings (CA, client certificate, rejectUnauthorized); the address
      // is the tunnel's, so host, port and path are left out.
      const tlsOptions = { ...options } as tls.ConnectionOptions & https.RequestOptions;
      delete tlsOptions.host;
      delete tlsOptions.hostname;
      delete tlsOptions.port;
      delete tlsOptions.path;
      const secure = tls.connect({ ...tlsOptions, socket, servername: servername(options) });
      settle(null, secure);
    });
    connect.on('error', (error: NodeJS.ErrnoException) => {
      const code = error.code ?? 'ERR_PROXY';
      const reason = `could not reach the proxy ${route.label} (${code})`;
      settle(new ProxyTunnelError('unreachable', route.label, reason, { code }));
    });
    connect.end();
  }
}

/** The name sent in TLS SNI: the agent computed it from the host (or the connection's servername); never an IP. */
function servername(options: https.RequestOptions): string | undefined {
  const name = (options as { servername?: string }).servername ?? String(options.host ?? '');
  return name === '' || /^[\d.]+$/.test(name) || name.includes(':') ? undefined : name;
}

export class ForwardingHttpAgent extends http.Agent {
  readonly #resolver: ProxyResolver;

  constructor(options: http.AgentOptions & Pick<ProxyAgentOptions, 'resolver'>) {
    const { resolver, ...agentOptions } = options;
    super(agentOptions);
    this.#resolver = resolver;
  }

  /** The proxy a plain-HTTP call to this target goes through, if any. */
  routeFor(target: ProxyTarget): ProxyRoute | undefined {
    return this.#resolver(target);
  }
}
