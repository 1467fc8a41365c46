/**
 * OAuth2 client credentials (RFC 6749 section 4.4), the way Business Central (Entra ID), SAP BTP, Coupa
 * and the sandbox issue tokens. One token is cached per connection and shared by all its requests:
 * - single flight: however many requests find the token missing, one token request goes out;
 * - refresh ahead: from 60 s (or 10 % of the lifetime, if shorter) before expiry the next request fetches a
 *   new token, and if the identity provider fails in that window the old, still valid token is used;
 * - after a 401 from the ERP the client calls invalidate() with the token it used, so only the first of many
 *   concurrent 401s throws the token away.
 * Failures are ERP_AUTH_FAILED and never carry the client secret.
 */
import type { AxiosInstance } from 'axios';
import { FinanceError } from '../errors';
import type { Clock } from './clock';
import { withoutQuery, type OAuth2ClientCredentials } from './config';
import { transportCodeOf } from './http-errors';
import { isRecord } from './records';
import { redactText } from './redact';

export interface TokenSourceOptions {
  credentials: OAuth2ClientCredentials;
  /** Sends the token request; configured with a timeout, no redirects and validateStatus () => true. */
  http: AxiosInstance;
  clock: Clock;
  /** The connection name, for messages. */
  connection: string;
}

interface HeldToken {
  value: string;
  /** Clock time from which the next request fetches a fresh token. */
  refreshAt: number;
  /** Clock time after which the token must not be used; Infinity when the provider gave no lifetime. */
  expiresAt: number;
}

const MAX_REFRESH_LEAD_MS = 60_000;
/**
 * How many replaced or invalidated tokens stay on the redaction list. A request still in flight with one of
 * them may get an error body that echoes it; a few renewals cover any request that is still running.
 */
const RETIRED_TOKENS_KEPT = 4;

export class OAuth2TokenSource {
  readonly #options: TokenSourceOptions;
  #held: HeldToken | null = null;
  /** Tokens no longer sent, newest last: in-flight requests may still see them echoed in an error body. */
  readonly #retired: string[] = [];
  #fetching: Promise<void> | null = null;

  constructor(options: TokenSourceOptions) {
    this.#options = options;
  }

  /** The token to send now, if there is one. */
  get token(): string | undefined {
    return this.#held?.value;
  }

  /** Makes sure a usable token is held, fetching one when there is none or it is due for refresh. */
  async ensure(): Promise<void> {
    const held = this.#held;
    if (held && this.#options.clock.now() < held.refreshAt) return;
    try {
      await this.#fetchOnce();
    } catch (error) {
      // A hiccup of the identity provider inside the refresh-ahead window must not fail requests that the
      // held token can still authorise.
      if (held && held === this.#held && this.#options.clock.now() < held.expiresAt) return;
      throw error;
    }
  }

  /** Drops `token` if it is still the held one (the ERP answered 401 to it). */
  invalidate(token: string): void {
    if (this.#held?.value !== token) return;
    this.#retire(token);
    this.#held = null;
  }

  /** Every value that must never appear in an error, a log or a dead letter. */
  secrets(): string[] {
    const { clientId, clientSecret } = this.#options.credentials;
    const values = [clientSecret, formEncode(clientSecret), basicCredentials(clientId, clientSecret)];
    if (this.#held) values.push(this.#held.value);
    return values.concat(this.#retired);
  }

  #retire(token: string): void {
    // A provider may hand out the same token again on refresh; one entry is enough.
    if (this.#retired.includes(token)) return;
    this.#retired.push(token);
    if (this.#retired.length > RETIRED_TOKENS_KEPT) this.#retired.shift();
  }

  #fetchOnce(): Promise<void> {
    this.#fetching ??= this.#fetch().finally(() => {
      this.#fetching = null;
    });
    return this.#fetching;
  }

  async #fetch(): Promise<void> {
    const { credentials, http, clock } = this.#options;
    const form = new URLSearchParams({ grant_type: 'client_credentials' });
    if (credentials.scope) form.set('scope', credentials.scope);
    if (credentials.audience) form.set('audience', credentials.audience);
    const headers: Record<string, string> = {
      'Content-Type': 'application/x-www-form-urlencoded',
      Accept: 'application/json',
    };
    if (credentials.clientAuth === 'body') {
      form.set('client_id', credentials.clientId);
      form.set('client_secret', credentials.clientSecret);
    } else {
      headers.Authorization = `Basic ${basicCredentials(credentials.clientId, credentials.clientSecret)}`;
    }
    // Lifetime counts from before the request, so the token is never believed to live longer than it does.
    const requestedAt = clock.now();
    let response;
    try {
      response = await http.post(credentials.tokenUrl, form.toString(), { headers });
    } catch (error) {
      // The axios error holds the request headers (with the client secret), so it is not kept as a cause.
      throw this.#failure(
        `could not reach the OAuth2 token endpoint ${this.#endpoint()} (${transportCodeOf(error) ?? 'network error'}). The call is retryable; if this keeps happening, check the token URL and that the identity provider is reachable from this host.`,
        { retryable: true },
      );
    }
    const body: unknown = response.data;
    if (response.status !== 200) {
      // Both fields are the provider's free text: either may echo the client secret it was sent.
      const { error, description } = oauthError(body, (text) => this.#redact(text));
      const said = error ? ` ${error}${description ? `: ${description}` : ''}` : '';
      if (response.status >= 500 || response.status === 429) {
        throw this.#failure(
          `the OAuth2 token endpoint ${this.#endpoint()} answered ${response.status}${said}. The identity provider is failing for now; the call is retryable.`,
          { retryable: true, httpStatus: response.status, oauthError: error },
        );
      }
      throw this.#failure(
        `the OAuth2 token endpoint ${this.#endpoint()} refused the client credentials (${response.status}${said}). Check the client id, client secret, scope and token URL of the connection.`,
        { retryable: false, httpStatus: response.status, oauthError: error },
      );
    }
    const token = isRecord(body) ? body.access_token : undefined;
    if (typeof token !== 'string' || token === '') {
      throw this.#failure(
        `the OAuth2 token endpoint ${this.#endpoint()} answered without an access_token. Check that the token URL is the identity provider's OAuth2 token endpoint.`,
        { retryable: false, httpStatus: response.status },
      );
    }
    const lifetimeMs = lifetimeOf(isRecord(body) ? body.expires_in : undefined);
    const lead = Math.min(MAX_REFRESH_LEAD_MS, lifetimeMs / 10);
    if (this.#held) this.#retire(this.#held.value);
    this.#held = { value: token, refreshAt: requestedAt + lifetimeMs - lead, expiresAt: requestedAt + lifetimeMs };
  }

  #endpoint(): string {
    return withoutQuery(this.#options.credentials.tokenUrl);
  }

  #redact(text: string): string {
    return redactText(text, this.secrets());
  }

  #failure(problem: string, facts: { retryable: boolean; httpStatus?: number; oauthError?: string }): FinanceError {
    return new FinanceError('ERP_AUTH_FAILED', `ERP connection "${this.#options.connection}": ${problem}`, {
      httpStatus: facts.httpStatus,
      retryable: facts.retryable,
      details: { tokenUrl: this.#endpoint(), oauthError: facts.oauthError },
    });
  }
}

/** HTTP Basic credentials as RFC 6749 2.3.1 wants them: each part form-encoded before base64. */
function basicCredentials(clientId: string, clientSecret: string): string {
  return Buffer.from(`${formEncode(clientId)}:${formEncode(clientSecret)}`).toString('base64');
}

/** application/x-www-form-urlencoded, exactly as the form body encodes it. */
function formEncode(value: string): string {
  return new URLSearchParams([['', value]]).toString().slice(1);
}

/** expires_in in ms; Entra ID v1 sends it as a string. No lifetime: use the token until the ERP says 401. */
function lifetimeOf(expiresIn: unknown): number {
  const seconds = typeof expiresIn === 'string' && expiresIn.trim() !== '' ? Number(expiresIn) : expiresIn;
  return typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : Infinity;
}

function oauthError(body: unknown, redact: (text: string) => string): { error?: string; description?: string } {
  if (!isRecord(body)) return {};
  return {
    error: typeof body.error === 'string' ? redact(body.error) : undefined,
    description: typeof body.error_description === 'string' ? redact(body.error_description) : undefined,
  };
}
