/**
 * Which forward proxy, if any, a call to a given host goes through: the connection's "Proxy" setting, and for
 * the default ("from the environment") the HTTPS_PROXY / HTTP_PROXY / NO_PROXY variables as curl reads them.
 * On-premises Node-RED hosts often reach cloud ERPs and identity providers only through such a proxy.
 *
 * The proxy's credentials live only in the route's `authorization` header value: never in a label, a message or
 * a summary, so nothing that is logged or shown can carry them.
 */
import { FinanceError } from '../errors';

/** The connection's "Proxy" setting. */
export type ProxySetting =
  { mode: 'environment' } | { mode: 'none' } | { mode: 'url'; url: string; username?: string; password?: string };

/** One proxy a call goes through. */
export interface ProxyRoute {
  host: string;
  port: number;
  /** host:port, for messages: never the credentials. */
  label: string;
  /** The Proxy-Authorization value ("Basic ..."), when the proxy wants credentials. */
  authorization?: string;
}

/** Where a call goes: scheme, host name (IPv6 without brackets) and port (a number, the default filled in). */
export interface ProxyTarget {
  protocol: string;
  hostname: string;
  port: number;
}

/** Picks the proxy for one target; undefined means a direct connection. */
export type ProxyResolver = (target: ProxyTarget) => ProxyRoute | undefined;

/** A summary of the setting that is safe to show: the proxy's host and port, never its credentials. */
export type ProxySummary = { mode: 'environment' | 'none' } | { mode: 'url'; proxy: string; credentials: boolean };

export const PROXY_MODES = ['environment', 'none', 'url'] as const;

/**
 * The resolver for a connection. The environment is read once, when the connection is made, as the rest of
 * its settings are: a redeploy picks up a changed variable.
 */
export function proxyResolver(setting: ProxySetting | undefined, environment: NodeJS.ProcessEnv): ProxyResolver {
  const chosen = setting ?? { mode: 'environment' };
  if (chosen.mode === 'none') return () => undefined;
  if (chosen.mode === 'url') {
    const route = parseProxyUrl(chosen.url, 'the Proxy URL setting', chosen.username, chosen.password);
    return () => route;
  }
  const httpsProxy = environmentValue(environment, 'HTTPS_PROXY');
  const httpProxy = environmentValue(environment, 'HTTP_PROXY');
  const https = httpsProxy ? parseProxyUrl(httpsProxy.value, httpsProxy.name) : undefined;
  const http = httpProxy ? parseProxyUrl(httpProxy.value, httpProxy.name) : undefined;
  const noProxy = parseNoProxy(environmentValue(environment, 'NO_PROXY')?.value ?? '');
  return (target) => {
    const route = target.protocol === 'https:' ? https : http;
    if (route === undefined || isLoopback(target.hostname)) return undefined;
    return bypasses(noProxy, target.hostname, target.port) ? undefined : route;
  };
}

/** The upper-case variable, else the lower-case one (curl reads both; lower case first only for http_proxy). */
function environmentValue(environment: NodeJS.ProcessEnv, name: string): { name: string; value: string } | undefined {
  for (const spelling of [name, name.toLowerCase()]) {
    const value = environment[spelling]?.trim();
    if (value) return { name: spelling, value };
  }
  return undefined;
}

/**
 * A proxy URL: http://[user:password@]host[:port], the scheme optional as curl allows. An https:// proxy (TLS
 * to the proxy itself) is refused: the pack tunnels through plain-HTTP proxies only. `where` names the setting
 * or variable in messages; the URL itself is never quoted, as it may hold a password.
 */
export function parseProxyUrl(text: string, where: string, username?: string, password?: string): ProxyRoute {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw proxyInvalid(`${where} is not a proxy URL; use http://host:port.`);
  }
  if (url.protocol === 'https:') {
    throw proxyInvalid(
      `${where} is an https:// proxy (TLS to the proxy), which the pack does not support; use the proxy's http:// address (calls to https ERPs are still encrypted end to end through it).`,
    );
  }
  if (url.protocol !== 'http:') throw proxyInvalid(`${where} must be an http:// proxy URL (http://host:port).`);
  if (url.hostname === '') throw proxyInvalid(`${where} has no host name; use http://host:port.`);
  const user = username ?? decodeURIComponent(url.username);
  const secret = password ?? decodeURIComponent(url.password);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port === '' ? 80 : Number(url.port);
  return {
    host,
    port,
    label: `${url.hostname}:${port}`,
    ...(user !== '' || secret !== ''
      ? { authorization: `Basic ${Buffer.from(`${user}:${secret}`, 'utf8').toString('base64')}` }
      : {}),
  };
}

/** One NO_PROXY entry: `*`, a host or domain (with or without its leading dot), optionally with a port. */
interface NoProxyEntry {
  host: string;
  port?: number;
}

export function parseNoProxy(text: string): NoProxyEntry[] {
  const entries: NoProxyEntry[] = [];
  for (const raw of text.split(/[,\s]+/)) {
    const item = raw.trim().toLowerCase();
    if (item === '') continue;
    // [v6]:port, host:port (one colon), or a bare IPv6 address (several colons, no port).
    const bracketed = /^\[(.*)\](?::(\d+))?$/.exec(item);
    const hostPort = /^([^:]+):(\d+)$/.exec(item);
    if (bracketed) entries.push({ host: bracketed[1], port: bracketed[2] ? Number(bracketed[2]) : undefined });
    else if (hostPort) entries.push({ host: hostPort[1], port: Number(hostPort[2]) });
    else entries.push({ host: item });
  }
  return entries;
}

/** Whether NO_PROXY sends this host straight: `*`, the host itself, or a domain it is under. */
export function bypasses(entries: readonly NoProxyEntry[], hostname: string, port: number): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '');
  return entries.some((entry) => {
    if (entry.host === '*') return true;
    if (entry.port !== undefined && entry.port !== port) return false;
    const domain = entry.host.replace(/^\*?\./, '');
    return host === domain || host.endsWith(`.${domain}`);
  });
}

/** The host's own addresses: a system proxy cannot reach them, so they are never proxied. */
export function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return (
    host === 'localhost' ||
    host.endsWith('.localhost') ||
    /^127\.\d+\.\d+\.\d+$/.test(host) ||
    host === '::1' ||
    /^::ffff:127\./.test(host)
  );
}

/** The setting as the editor and status may show it. */
export function summarizeProxy(setting: ProxySetting | undefined): ProxySummary {
  if (setting === undefined || setting.mode === 'environment') return { mode: 'environment' };
  if (setting.mode === 'none') return { mode: 'none' };
  const route = parseProxyUrl(setting.url, 'the Proxy URL setting', setting.username, setting.password);
  return { mode: 'url', proxy: route.label, credentials: route.authorization !== undefined };
}

/** The proxy password, for redaction of messages: the credential must never be echoed. */
export function proxySecrets(setting: ProxySetting | undefined): string[] {
  return setting?.mode === 'url' && setting.password ? [setting.password] : [];
}

function proxyInvalid(message: string): FinanceError {
  return new FinanceError('CONFIG_INVALID', `ERP connection proxy: ${message}`);
}
