/**
 * OAuth2 client credentials (RFC 6749 section 4.4), the way Business Central (Entra ID), SAP BTP, Coupa
 * and the sandbox issue tokens. One token is cached per connection and shared by all its requests:
 * - single flight: however many requests find the token missing, one token request goes out;
 * - refresh ahead: from 60 s (or 10 % of the lifetime, if shorter) before expiry the next request fetches a
 *   new token, and if the identity provider fails in that window the old, still valid token is used;
 * - after a 401 from the ERP the client calls invalidate() with the token it used, so only the first of many
 *   concurrent 401s throws the token away.
 * - a refusal of the client credentials (invalid_client and the like) is remembered for REFUSAL_HOLD_MS: the
 *   requests queued behind it fail with it at once instead of each asking the identity provider again, which
 *   a flood of events would turn into a storm of token requests (Entra ID answers one with AADSTS50196).
 * Failures are ERP_AUTH_FAILED and never carry the client secret.
 */
import { FinanceError, isFinanceError } from '../errors';
import type { Clock } from './clock';
import { withoutQuery, type OAuth2ClientCredentials } from './config';
import { parseRetryAfter, transportCodeOf } from './http-errors';
import { UnreadableAnswerError, describeBytes, type HttpResult } from './http-transport';
import { isRecord } from './records';
import { redactText } from './redact';

/**
 * Posts the form to the token endpoint and resolves with its answer, whatever the status. It follows no
 * redirect, reads at most MAX_TOKEN_ANSWER_BYTES and bounds the whole exchange by `timeoutMs`: a token
 * endpoint that trickles its answer must not hold every request of the connection for ever.
 */
export type TokenPost = (tokenUrl: string, form: string, headers: Record<string, string>) => Promise<HttpResult>;

export interface TokenSourceOptions {
  credentials: OAuth2ClientCredentials;
  post: TokenPost;
  clock: Clock;
  /** The connection name, for messages. */
  connection: string;
  /** The deadline `post` keeps, for messages. */
  timeoutMs: number;
  /** Wall-clock now in ms, for a Retry-After HTTP-date. */
  dateNow?: () => number;
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
 * 1 MB: a token answer is a few KB (an Entra ID token with its claims stays well under 16 KB). More than this
 * is not a token endpoint's answer, and reading it whole would only cost memory.
 */
export const MAX_TOKEN_ANSWER_BYTES = 1024 * 1024;
/**
 * How long a refusal of the client credentials is answered from memory. Long enough that a burst of queued
 * events costs one token request, short enough that a secret the identity provider had not yet taken on
 * (Entra ID takes a minute or two after a new secret is added) works soon without a redeploy.
 */
export const REFUSAL_HOLD_MS = 30_000;
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
  /** The last refusal of the client credentials and until when (clock time) it is given without asking again. */
  #refusal: { error: FinanceError; until: number } | null = null;

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
    const refusal = this.#refusal;
    if (refusal && this.#options.clock.now() < refusal.until) return Promise.reject(refusal.error);
    this.#fetching ??= this.#fetch().finally(() => {
      this.#fetching = null;
    });
    return this.#fetching;
  }

  async #fetch(): Promise<void> {
    try {
      await this.#request();
      this.#refusal = null;
    } catch (error) {
      if (isFinanceError(error) && !error.retryable) {
        this.#refusal = { error, until: this.#options.clock.now() + REFUSAL_HOLD_MS };
      }
      throw error;
    }
  }

  async #request(): Promise<void> {
    const { credentials, post, clock } = this.#options;
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
    let response: HttpResult;
    try {
      response = await post(credentials.tokenUrl, form.toString(), headers);
    } catch (error) {
      throw this.#unanswered(error);
    }
    const body: unknown = response.data;
    const status = response.status;
    if (status !== 200) {
      // Both fields are the provider's free text: either may echo the client secret it was sent.
      const { error, description } = oauthError(body, (text) => this.#redact(text));
      const said = error ? ` ${error}${description ? `: ${description}` : ''}` : '';
      if (status >= 500 || status === 429) {
        const retryAfter = response.headers['retry-after'];
        throw this.#failure(
          `the OAuth2 token endpoint ${this.#endpoint()} answered ${status}${said}. The identity provider is failing for now; the call is retryable.`,
          {
            retryable: true,
            httpStatus: status,
            oauthError: error,
            retryAfterMs: parseRetryAfter(
              Array.isArray(retryAfter) ? retryAfter[0] : retryAfter,
              (this.#options.dateNow ?? Date.now)(),
            ),
          },
        );
      }
      if (status >= 300 && status < 400) {
        throw this.#failure(
          `the OAuth2 token endpoint ${this.#endpoint()} answered ${status}, a redirect, which is not followed (it would carry the client credentials elsewhere). Set the token URL to the identity provider's final token endpoint.`,
          { retryable: false, httpStatus: status },
        );
      }
      throw this.#failure(
        `the OAuth2 token endpoint ${this.#endpoint()} refused the client credentials (${status}${said}). Check the client id, client secret, scope and token URL of the connection.`,
        { retryable: false, httpStatus: status, oauthError: error },
      );
    }
    const token = isRecord(body) ? body.access_token : undefined;
    if (typeof token !== 'string' || token === '') {
      throw this.#failure(
        `the OAuth2 token endpoint ${this.#endpoint()} answered without an access_token. Check that the token URL is the identity provider's OAuth2 token endpoint.`,
        { retryable: false, httpStatus: status },
      );
    }
    const lifetimeMs = lifetimeOf(isRecord(body) ? body.expires_in : undefined);
    const lead = Math.min(MAX_REFRESH_LEAD_MS, lifetimeMs / 10);
    if (this.#held) this.#retire(this.#held.value);
    this.#held = { value: token, refreshAt: requestedAt + lifetimeMs - lead, expiresAt: requestedAt + lifetimeMs };
  }

  /** The token request got no usable answer: no connection, the deadline, an answer too large or cut off. */
  #unanswered(error: unknown): FinanceError {
    // The connection closing (a redeploy) says so itself, and is retryable as it is.
    if (isFinanceError(error)) return error;
    if (error instanceof UnreadableAnswerError && error.kind === 'too-large') {
      return this.#failure(
        `the OAuth2 token endpoint ${this.#endpoint()} answered ${error.status} with more than ${describeBytes(MAX_TOKEN_ANSWER_BYTES)}, which is no token answer. Check that the token URL is the identity provider's OAuth2 token endpoint.`,
        { retryable: false, httpStatus: error.status },
      );
    }
    const code = transportCodeOf(error);
    // The request error names no header, so nothing of the client secret is kept; it is not kept as a cause.
    const why =
      code === 'ETIMEDOUT'
        ? `did not answer within ${this.#options.timeoutMs} ms`
        : error instanceof UnreadableAnswerError
          ? `answered ${error.status}, but its body could not be read (${code ?? 'broken body'})`
          : `could not be reached (${code ?? 'network error'})`;
    return this.#failure(
      `the OAuth2 token endpoint ${this.#endpoint()} ${why}. The call is retryable; if this keeps happening, check the token URL and that the identity provider is reachable from this host.`,
      { retryable: true },
    );
  }

  #endpoint(): string {
    return withoutQuery(this.#options.credentials.tokenUrl);
  }

  #redact(text: string): string {
    return redactText(text, this.secrets());
  }

  #failure(
    problem: string,
    facts: { retryable: boolean; httpStatus?: number; oauthError?: string; retryAfterMs?: number },
  ): FinanceError {
    return new FinanceError('ERP_AUTH_FAILED', `ERP connection "${this.#options.connection}": ${problem}`, {
      httpStatus: facts.httpStatus,
      retryable: facts.retryable,
      retryAfterMs: facts.retryAfterMs,
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
