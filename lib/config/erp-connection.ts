/**
 * Turns the `finance-erp` dialog (settings + credentials) into the ERP client's configuration, checking
 * every field once at deploy so a wrong setting is reported by name instead of failing on the first event.
 */
import { FinanceError } from '../errors';
import type { AuthConfig, ErpConnectionConfig } from '../erp/client';
import { DEFAULT_CIRCUIT_BREAKER, type CircuitBreakerSettings } from '../reliability/circuit-breaker';
import {
  BC_SCOPE,
  businessCentralTokenUrl,
  dialectName,
  dialectOptions,
  type DialectDialogSettings,
} from './erp-dialect-settings';
import type { RetryDialogSettings } from './retry-settings';
import { proxyFromDialog, type ProxyCredentials, type ProxyDialogSettings } from '../erp/proxy-settings';
import { httpBaseUrl, httpUrl, integerSetting, optionalText, requiredText } from './settings';

export const AUTH_TYPES = ['none', 'basic', 'bearer', 'apiKey', 'oauth2', 'frappeToken'] as const;
export type AuthType = (typeof AUTH_TYPES)[number];

/** The retry fields are read by retryPolicyFromDialog (retry-settings.ts), the others here. */
export interface ErpDialogSettings extends RetryDialogSettings, DialectDialogSettings, ProxyDialogSettings {
  name?: string;
  dialect?: string;
  baseUrl?: string;
  company?: string;
  authType?: string;
  tokenUrl?: string;
  scope?: string;
  apiKeyHeader?: string;
  timeoutMs?: string | number;
  maxConcurrency?: string | number;
  rateLimitRequests?: string | number;
  rateLimitWindowSeconds?: string | number;
  embeddedSandbox?: boolean;
  /** Off only when explicitly unticked: older flows without the field keep the breaker on. */
  circuitBreaker?: boolean;
  circuitFailureRate?: string | number;
  circuitMinimumCalls?: string | number;
  circuitWindowSeconds?: string | number;
  circuitOpenSeconds?: string | number;
}

/** Secrets from Node-RED's credential store; they never travel in the flow JSON. */
export interface ErpCredentials extends ProxyCredentials {
  username?: string;
  password?: string;
  token?: string;
  apiKey?: string;
  clientId?: string;
  clientSecret?: string;
  /** ERPNext: the API secret that goes with apiKey. */
  apiSecret?: string;
}

function authConfig(settings: ErpDialogSettings, credentials: ErpCredentials, baseUrl: string): AuthConfig {
  const type = (settings.authType || 'none') as AuthType;
  const secret = (value: string | undefined, field: string): string =>
    requiredText(value, field, `enter it under Authentication (it is kept in Node-RED's credential store)`);
  switch (type) {
    case 'none':
      return { type: 'none' };
    case 'basic':
      return {
        type: 'basic',
        username: secret(credentials.username, 'User name'),
        password: secret(credentials.password, 'Password'),
      };
    case 'bearer':
      return { type: 'bearer', token: secret(credentials.token, 'Bearer token') };
    case 'apiKey':
      return {
        type: 'apiKey',
        headerName: requiredText(settings.apiKeyHeader, 'API key header', 'name the header, e.g. X-API-Key'),
        apiKey: secret(credentials.apiKey, 'API key'),
      };
    case 'oauth2': {
      // Business Central: Entra ID's token URL and BC's scope follow from the tenant when left empty.
      const bc = settings.dialect === 'business-central' && optionalText(settings.bcTenant);
      return {
        type: 'oauth2',
        tokenUrl:
          bc && !optionalText(settings.tokenUrl)
            ? businessCentralTokenUrl(baseUrl, bc)
            : httpUrl(settings.tokenUrl, 'Token URL'),
        clientId: secret(credentials.clientId, 'Client id'),
        clientSecret: secret(credentials.clientSecret, 'Client secret'),
        scope: optionalText(settings.scope) ?? (bc ? BC_SCOPE : undefined),
      };
    }
    case 'frappeToken':
      // Frappe / ERPNext: Authorization: token <api_key>:<api_secret>.
      return {
        type: 'apiKey',
        headerName: 'Authorization',
        apiKey: `token ${secret(credentials.apiKey, 'API key')}:${secret(credentials.apiSecret, 'API secret')}`,
      };
    default:
      throw new FinanceError(
        'CONFIG_INVALID',
        `Authentication "${String(settings.authType)}" is not one of ${AUTH_TYPES.join(', ')}.`,
        { details: { field: 'authType' } },
      );
  }
}

/**
 * `baseUrlOverride` is the address of the embedded sandbox when that option is on: the dialog's base URL is
 * then not used.
 */
export function erpConnectionConfig(
  settings: ErpDialogSettings,
  credentials: ErpCredentials,
  baseUrlOverride?: string,
): ErpConnectionConfig {
  const rateLimitRequests = integerSetting(settings.rateLimitRequests, 'Rate limit (requests)', {
    min: 0,
    max: 1_000_000,
    fallback: 0,
  });
  const rateLimitWindowSeconds = integerSetting(settings.rateLimitWindowSeconds, 'Rate limit (per seconds)', {
    min: 1,
    max: 3600,
    fallback: 1,
  });
  const baseUrl = baseUrlOverride ?? httpBaseUrl(settings.baseUrl, 'Base URL');
  const options = dialectOptions(settings);
  return {
    name: optionalText(settings.name),
    dialect: dialectName(settings.dialect),
    baseUrl,
    company: optionalText(settings.company),
    auth: authConfig(settings, credentials, baseUrl),
    ...(options ? { options } : {}),
    timeoutMs: integerSetting(settings.timeoutMs, 'Timeout (ms)', { min: 100, max: 600_000, fallback: 30_000 }),
    maxConcurrency: integerSetting(settings.maxConcurrency, 'Concurrent requests', { min: 1, max: 100, fallback: 8 }),
    rateLimit: rateLimitRequests > 0 ? { requests: rateLimitRequests, perMs: rateLimitWindowSeconds * 1000 } : null,
    circuitBreaker: circuitBreakerSettings(settings),
    proxy: proxyFromDialog(settings, credentials, 'finance-erp'),
  };
}

function circuitBreakerSettings(settings: ErpDialogSettings): CircuitBreakerSettings | null {
  if (settings.circuitBreaker === false) return null;
  const defaults = DEFAULT_CIRCUIT_BREAKER;
  return {
    failureRateThreshold: integerSetting(settings.circuitFailureRate, 'Circuit breaker failure rate (%)', {
      min: 1,
      max: 100,
      fallback: defaults.failureRateThreshold,
    }),
    minimumCalls: integerSetting(settings.circuitMinimumCalls, 'Circuit breaker minimum calls', {
      min: 1,
      max: 100_000,
      fallback: defaults.minimumCalls,
    }),
    windowMs:
      integerSetting(settings.circuitWindowSeconds, 'Circuit breaker window (s)', {
        min: 1,
        max: 3600,
        fallback: defaults.windowMs / 1000,
      }) * 1000,
    openMs:
      integerSetting(settings.circuitOpenSeconds, 'Circuit breaker open for (s)', {
        min: 1,
        max: 3600,
        fallback: defaults.openMs / 1000,
      }) * 1000,
    halfOpenCalls: defaults.halfOpenCalls,
  };
}
