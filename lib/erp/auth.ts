/**
 * How one connection authenticates its requests. Static schemes (basic, bearer, API key) are a fixed
 * header; OAuth2 holds a token that can be missing, due for refresh or rejected, so the client asks the
 * strategy to prepare before it waits for the rate limiter and reads the header right before sending.
 */
import type { AxiosInstance } from 'axios';
import type { Clock } from './clock';
import type { AuthConfig } from './config';
import { OAuth2TokenSource } from './oauth2';

export interface AuthStrategy {
  /** Makes credentials ready (for OAuth2: a token is held); may call the token endpoint. */
  prepare(): Promise<void>;
  /** The authentication headers for a request about to be sent. */
  headers(): Record<string, string>;
  /**
   * Called after the ERP answered 401 to a request sent with `sentHeaders`; true when new credentials can
   * be obtained, so sending the request once more makes sense.
   */
  renewAfterUnauthorized(sentHeaders: Record<string, string>): boolean;
  /** Every secret value in use, for redaction. */
  secrets(): string[];
}

export interface AuthDependencies {
  /** Client for the token endpoint (OAuth2 only). */
  tokenHttp: AxiosInstance;
  clock: Clock;
  connection: string;
}

export function createAuthStrategy(auth: AuthConfig, dependencies: AuthDependencies): AuthStrategy {
  switch (auth.type) {
    case 'none':
      return staticHeaders({}, []);
    case 'basic': {
      const encoded = Buffer.from(`${auth.username}:${auth.password}`).toString('base64');
      return staticHeaders({ Authorization: `Basic ${encoded}` }, [auth.password, encoded]);
    }
    case 'bearer':
      return staticHeaders({ Authorization: `Bearer ${auth.token}` }, [auth.token]);
    case 'apiKey':
      return staticHeaders({ [auth.headerName]: auth.apiKey }, apiKeySecrets(auth.apiKey));
    case 'oauth2':
      return oauth2(
        new OAuth2TokenSource({
          credentials: auth,
          http: dependencies.tokenHttp,
          clock: dependencies.clock,
          connection: dependencies.connection,
        }),
      );
  }
}

/**
 * The key as sent and, for a "<scheme> <credentials>" value such as ERPNext's "token <api_key>:<api_secret>",
 * the credentials without the scheme and the secret after the colon: an ERP may name either on its own.
 */
function apiKeySecrets(apiKey: string): string[] {
  const credentials = /^\S+\s+(\S+)$/.exec(apiKey.trim())?.[1];
  if (credentials === undefined) return [apiKey];
  const colon = credentials.indexOf(':');
  return colon === -1 ? [apiKey, credentials] : [apiKey, credentials, credentials.slice(colon + 1)];
}

function staticHeaders(headers: Record<string, string>, secrets: string[]): AuthStrategy {
  return {
    prepare: () => Promise.resolve(),
    headers: () => ({ ...headers }),
    renewAfterUnauthorized: () => false,
    secrets: () => [...secrets],
  };
}

function oauth2(tokens: OAuth2TokenSource): AuthStrategy {
  return {
    prepare: () => tokens.ensure(),
    // After a concurrent 401 invalidated the token between prepare() and now, the request goes without one,
    // gets its own 401, and renews like the others.
    headers: (): Record<string, string> =>
      tokens.token === undefined ? {} : { Authorization: `Bearer ${tokens.token}` },
    renewAfterUnauthorized: (sentHeaders) => {
      const sent = sentHeaders.Authorization?.replace(/^Bearer /, '');
      if (sent !== undefined) tokens.invalidate(sent);
      return true;
    },
    secrets: () => tokens.secrets(),
  };
}
