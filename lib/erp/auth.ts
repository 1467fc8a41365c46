/**
 * How one connection authenticates its requests. Static schemes (basic, bearer, API key) are a fixed
 * header; OAuth2 holds a token that can be missing, due for refresh or rejected, so the client asks the
 * strategy to prepare before it waits for the rate limiter and reads the header right before sending.
 */
import { FinanceError } from '../errors';
import type { Clock } from './clock';
import type { AuthConfig } from './config';
import { OAuth2TokenSource, type TokenPost } from './oauth2';

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
  /** Sends the token request (OAuth2 only); see TokenPost. */
  postToken: TokenPost;
  /** The deadline postToken keeps, for messages. */
  timeoutMs: number;
  clock: Clock;
  /** Wall-clock now in ms, for Retry-After HTTP-dates. */
  dateNow: () => number;
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
      headerSafe(auth.token, 'the bearer token', dependencies.connection);
      return staticHeaders({ Authorization: `Bearer ${auth.token}` }, [auth.token]);
    case 'apiKey':
      headerSafe(auth.apiKey, 'the API key', dependencies.connection);
      return staticHeaders({ [auth.headerName]: auth.apiKey }, apiKeySecrets(auth.apiKey));
    case 'oauth2':
      return oauth2(
        new OAuth2TokenSource({
          credentials: auth,
          post: dependencies.postToken,
          clock: dependencies.clock,
          connection: dependencies.connection,
          timeoutMs: dependencies.timeoutMs,
          dateNow: dependencies.dateNow,
        }),
      );
  }
}

/** What an HTTP header value may hold (Node's own check): no line breaks, no other control characters. */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;

/**
 * Refuses a credential sent as it is that cannot go into a header, at deploy. Node would refuse every request
 * instead, with an error that looks like an unreachable ERP and is retried until each message ends as a dead
 * letter. The usual cause is a line break copied with the secret. The value is never named. (Basic credentials
 * go base64-encoded, so any character can go; a wrong one earns a 401.)
 */
function headerSafe(value: string, what: string, connection: string): void {
  if (HEADER_VALUE.test(value)) return;
  throw new FinanceError(
    'CONFIG_INVALID',
    `ERP connection "${connection}": ${what} contains a line break or another character an HTTP header cannot carry. Enter it again without it (it was most likely copied along with it).`,
  );
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
