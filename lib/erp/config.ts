/**
 * The settings of one ERP connection (the `finance-erp` config node) and their validation. Values come
 * from an edit dialog, so every mistake gets a CONFIG_INVALID error naming the field and the fix; secret
 * values are never echoed back.
 */
import { FinanceError } from '../errors';
import type { CircuitBreakerSettings } from '../reliability/circuit-breaker';
import type { RateLimit } from './rate-limiter';
import { PROXY_MODES, summarizeProxy, type ProxySetting, type ProxySummary } from './proxy';

export interface OAuth2ClientCredentials {
  type: 'oauth2';
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scope?: string;
  audience?: string;
  /** How the client proves itself to the token endpoint: HTTP Basic (default, RFC 6749 2.3.1) or form fields. */
  clientAuth?: 'basic' | 'body';
}

export type AuthConfig =
  | { type: 'none' }
  | { type: 'basic'; username: string; password: string }
  | { type: 'bearer'; token: string }
  | { type: 'apiKey'; headerName: string; apiKey: string }
  | OAuth2ClientCredentials;

/** What the Node-RED core tls-config node's addTLSOptions() fills in. */
export interface TlsOptions {
  rejectUnauthorized?: boolean;
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer;
  key?: string | Buffer;
  passphrase?: string;
  servername?: string;
}

export interface ErpConnectionConfig {
  name?: string;
  dialect: string;
  baseUrl: string;
  company?: string;
  auth: AuthConfig;
  /** Whole exchange, from sending to the last byte of the answer. Default 30000. */
  timeoutMs?: number;
  /** Requests in flight at once; also the keep-alive socket pool size. Default 8. */
  maxConcurrency?: number;
  rateLimit?: RateLimit | null;
  /** Settings of the connection's circuit breaker (missing ones take the defaults); null turns it off. */
  circuitBreaker?: Partial<CircuitBreakerSettings> | null;
  tls?: TlsOptions;
  /** Forward proxy for the ERP and the token endpoint; from the environment (HTTPS_PROXY...) when absent. */
  proxy?: ProxySetting;
  userAgent?: string;
  /** Dialect-specific settings (see DialectConfig.options): tenant, environment, sapClient, servicePath, site... */
  options?: Readonly<Record<string, string | undefined>>;
}

export interface ResolvedConnectionConfig extends ErpConnectionConfig {
  name: string;
  baseUrl: string;
  timeoutMs: number;
  maxConcurrency: number;
  rateLimit: RateLimit | null;
  userAgent: string;
}

/** A summary that is safe to log, show in a status or put in a dead letter. */
export interface ConnectionSummary {
  name: string;
  dialect: string;
  baseUrl: string;
  company?: string;
  auth: {
    type: AuthConfig['type'];
    username?: string;
    headerName?: string;
    tokenUrl?: string;
    clientId?: string;
    scope?: string;
  };
  timeoutMs: number;
  maxConcurrency: number;
  rateLimit: RateLimit | null;
  tls: { rejectUnauthorized: boolean; ca: boolean; clientCertificate: boolean; servername?: string };
  proxy: ProxySummary;
  userAgent: string;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_CONCURRENCY = 8;
export const DEFAULT_USER_AGENT = 'node-red-finance-sync';

export function resolveConnectionConfig(config: ErpConnectionConfig): ResolvedConnectionConfig {
  if (typeof config !== 'object' || config === null) {
    throw invalid('ERP connection', 'the connection settings are missing; configure the finance-erp node');
  }
  const name = typeof config.name === 'string' && config.name.trim() !== '' ? config.name : 'erp';
  const where = `ERP connection "${name}"`;
  requireString(config.dialect, 'dialect', where);
  optionalString(config.company, 'company', where);
  optionalString(config.userAgent, 'userAgent', where);
  const timeoutMs = positiveInteger(config.timeoutMs, 'timeoutMs', where) ?? DEFAULT_TIMEOUT_MS;
  const maxConcurrency = positiveInteger(config.maxConcurrency, 'maxConcurrency', where) ?? DEFAULT_MAX_CONCURRENCY;
  return {
    ...config,
    name,
    baseUrl: checkUrl(config.baseUrl, 'baseUrl', where),
    auth: checkAuth(config.auth, where),
    timeoutMs,
    maxConcurrency,
    rateLimit: checkRateLimit(config.rateLimit, where),
    proxy: checkProxy(config.proxy, where),
    userAgent: config.userAgent ?? DEFAULT_USER_AGENT,
  };
}

export function summarizeConnection(config: ResolvedConnectionConfig): ConnectionSummary {
  const auth = config.auth;
  const tls = config.tls ?? {};
  return {
    name: config.name,
    dialect: config.dialect,
    baseUrl: config.baseUrl,
    company: config.company,
    auth:
      auth.type === 'basic'
        ? { type: auth.type, username: auth.username }
        : auth.type === 'apiKey'
          ? { type: auth.type, headerName: auth.headerName }
          : auth.type === 'oauth2'
            ? { type: auth.type, tokenUrl: withoutQuery(auth.tokenUrl), clientId: auth.clientId, scope: auth.scope }
            : { type: auth.type },
    timeoutMs: config.timeoutMs,
    maxConcurrency: config.maxConcurrency,
    rateLimit: config.rateLimit,
    tls: {
      rejectUnauthorized: tls.rejectUnauthorized !== false,
      ca: tls.ca !== undefined,
      clientCertificate: tls.cert !== undefined,
      servername: tls.servername,
    },
    proxy: summarizeProxy(config.proxy),
    userAgent: config.userAgent,
  };
}

/** A URL without its query and fragment, where API keys sometimes hide. */
export function withoutQuery(url: string): string {
  const cut = url.search(/[?#]/);
  return cut === -1 ? url : url.slice(0, cut);
}

function checkAuth(auth: AuthConfig, where: string): AuthConfig {
  if (typeof auth !== 'object' || auth === null) {
    throw invalid(where, 'auth is missing; choose none, basic, bearer, apiKey or oauth2');
  }
  switch (auth.type) {
    case 'none':
      return auth;
    case 'basic':
      requireString(auth.username, 'auth.username', where);
      requireString(auth.password, 'auth.password', where);
      return auth;
    case 'bearer':
      requireString(auth.token, 'auth.token', where);
      return auth;
    case 'apiKey':
      requireString(auth.headerName, 'auth.headerName', where);
      if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(auth.headerName)) {
        throw invalid(
          where,
          'auth.headerName is not a valid HTTP header name; use letters, digits and "-", e.g. X-API-Key',
        );
      }
      requireString(auth.apiKey, 'auth.apiKey', where);
      return auth;
    case 'oauth2':
      checkUrl(auth.tokenUrl, 'auth.tokenUrl', where);
      requireString(auth.clientId, 'auth.clientId', where);
      requireString(auth.clientSecret, 'auth.clientSecret', where);
      optionalString(auth.scope, 'auth.scope', where);
      optionalString(auth.audience, 'auth.audience', where);
      if (auth.clientAuth !== undefined && auth.clientAuth !== 'basic' && auth.clientAuth !== 'body') {
        throw invalid(where, 'auth.clientAuth must be "basic" or "body"');
      }
      return auth;
    default:
      throw invalid(
        where,
        `auth.type "${String((auth as { type?: unknown }).type)}" is not supported; use none, basic, bearer, apiKey or oauth2`,
      );
  }
}

function checkUrl(value: unknown, field: string, where: string): string {
  let url: URL | undefined;
  try {
    url = typeof value === 'string' ? new URL(value) : undefined;
  } catch {
    url = undefined;
  }
  // The value itself is not echoed: a pasted URL may carry credentials.
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw invalid(where, `${field} must be an absolute http:// or https:// URL such as https://erp.example.com/api`);
  }
  if (url.username || url.password) {
    throw invalid(where, `${field} must not contain a user name or password; enter credentials in the auth settings`);
  }
  return (value as string).replace(/\/+$/, '');
}

function checkRateLimit(value: unknown, where: string): RateLimit | null {
  if (value === undefined || value === null) return null;
  const limit = value as Partial<RateLimit>;
  const requests = positiveInteger(limit.requests, 'rateLimit.requests', where);
  const perMs = positiveInteger(limit.perMs, 'rateLimit.perMs', where);
  if (requests === undefined || perMs === undefined) {
    throw invalid(
      where,
      'rateLimit needs both requests and perMs, e.g. { requests: 6000, perMs: 300000 }; or leave it empty',
    );
  }
  return { requests, perMs };
}

function requireString(value: unknown, field: string, where: string): void {
  if (typeof value !== 'string' || value.trim() === '') {
    throw invalid(where, `${field} is required and must be a non-empty string`);
  }
}

function optionalString(value: unknown, field: string, where: string): void {
  if (value !== undefined && (typeof value !== 'string' || value.trim() === '')) {
    throw invalid(where, `${field} must be a non-empty string when it is set; leave it out otherwise`);
  }
}

function positiveInteger(value: unknown, field: string, where: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw invalid(where, `${field} must be a positive whole number`);
  }
  return value;
}

function invalid(where: string, problem: string): FinanceError {
  return new FinanceError('CONFIG_INVALID', `${where}: ${problem}.`);
}

/** The proxy setting: one of the modes; an explicit proxy's URL is checked here, so a deploy reports it. */
function checkProxy(proxy: unknown, where: string): ProxySetting {
  if (proxy === undefined || proxy === null) return { mode: 'environment' };
  const mode = (proxy as { mode?: unknown }).mode;
  if (typeof proxy !== 'object' || !(PROXY_MODES as readonly unknown[]).includes(mode)) {
    throw invalid(where, `proxy mode must be one of ${PROXY_MODES.join(', ')}`);
  }
  const setting = proxy as ProxySetting;
  if (setting.mode === 'url') {
    requireString(setting.url, 'proxy.url', where);
    optionalString(setting.username, 'proxy.username', where);
    optionalString(setting.password, 'proxy.password', where);
    summarizeProxy(setting);
  }
  return setting;
}
