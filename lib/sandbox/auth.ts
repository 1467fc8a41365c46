/**
 * OAuth2 client credentials (RFC 6749 section 4.4), the way Entra ID protects Business Central: POST
 * /oauth2/token with the client id and secret (form fields or HTTP Basic) returns a bearer token that /api/
 * routes demand. With auth off, any credentials get a token and no route asks for one, so a client configured
 * for OAuth2 also works against an open sandbox.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { SandboxProblem } from './problem';
import type { SandboxResponse } from './types';

export type AuthOptions =
  { type: 'none' } | { type: 'oauth2'; clientId: string; clientSecret: string; tokenTtlSeconds?: number };

const DEFAULT_TOKEN_TTL_SECONDS = 3600;

/** Compares secrets in constant time; hashing first makes the lengths equal without leaking them. */
function sameSecret(given: string, expected: string): boolean {
  const digest = (value: string) => createHash('sha256').update(value).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value; // not percent-encoded after all: take it as sent
  }
}

function oauthError(status: number, error: string, description: string, headers?: Record<string, string>) {
  // RFC 6749 error members inside a problem object, so OAuth clients and problem readers both understand it.
  return new SandboxProblem(status, error.toUpperCase(), description, {
    headers,
    members: { error, error_description: description },
  });
}

export class AuthGate {
  private readonly tokens = new Map<string, number>();

  constructor(
    private readonly options: AuthOptions,
    private readonly now: () => Date,
  ) {}

  get enabled(): boolean {
    return this.options.type === 'oauth2';
  }

  /**
   * For simulators whose API takes a key and secret on every request (Frappe's `token key:secret`): in OAuth2
   * mode they must be the configured client id and secret; otherwise any pair is accepted.
   */
  acceptsClient(key: string, secret: string): boolean {
    const options = this.options;
    if (options.type !== 'oauth2') return true;
    return sameSecret(key, options.clientId) && sameSecret(secret, options.clientSecret);
  }

  /** Answers POST /oauth2/token from its form-encoded body. */
  issueToken(headers: IncomingHttpHeaders, rawBody: Buffer): SandboxResponse {
    const form = new URLSearchParams(rawBody.toString('utf8'));
    if (form.get('grant_type') !== 'client_credentials') {
      throw oauthError(400, 'unsupported_grant_type', 'Only grant_type=client_credentials is supported.');
    }
    const { clientId, clientSecret } = this.credentials(headers, form);
    const options = this.options;
    if (options.type === 'oauth2') {
      if (clientId === undefined || clientSecret === undefined) {
        throw oauthError(401, 'invalid_client', 'Send client_id and client_secret (form fields or HTTP Basic).', {
          'WWW-Authenticate': 'Basic realm="sandbox"',
        });
      }
      if (!sameSecret(clientId, options.clientId) || !sameSecret(clientSecret, options.clientSecret)) {
        throw oauthError(401, 'invalid_client', 'The client id or secret is wrong.', {
          'WWW-Authenticate': 'Basic realm="sandbox"',
        });
      }
    }
    const ttlSeconds = (options.type === 'oauth2' && options.tokenTtlSeconds) || DEFAULT_TOKEN_TTL_SECONDS;
    const nowMs = this.now().getTime();
    for (const [token, expiresAtMs] of this.tokens) {
      if (expiresAtMs <= nowMs) this.tokens.delete(token);
    }
    const token = randomBytes(32).toString('base64url');
    this.tokens.set(token, nowMs + ttlSeconds * 1000);
    return {
      status: 200,
      headers: { 'Cache-Control': 'no-store' },
      body: { access_token: token, token_type: 'Bearer', expires_in: ttlSeconds },
    };
  }

  /** Throws 401 unless auth is off or the request carries a live bearer token. */
  checkBearer(authorization: string | undefined): void {
    if (!this.enabled) return;
    const match = authorization === undefined ? null : /^Bearer\s+(\S+)$/i.exec(authorization);
    if (!match) {
      throw new SandboxProblem(
        401,
        'UNAUTHORIZED',
        'Send Authorization: Bearer <token>; get a token from POST /oauth2/token.',
        {
          headers: { 'WWW-Authenticate': 'Bearer realm="sandbox"' },
        },
      );
    }
    const expiresAtMs = this.tokens.get(match[1]);
    if (expiresAtMs === undefined || expiresAtMs <= this.now().getTime()) {
      throw new SandboxProblem(401, 'UNAUTHORIZED', 'The bearer token is unknown or expired; get a new one.', {
        headers: { 'WWW-Authenticate': 'Bearer realm="sandbox", error="invalid_token"' },
      });
    }
  }

  private credentials(
    headers: IncomingHttpHeaders,
    form: URLSearchParams,
  ): { clientId?: string; clientSecret?: string } {
    const basic = /^Basic\s+(\S+)$/i.exec(headers.authorization ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon >= 0) {
        // RFC 6749 2.3.1: the id and secret are form-url-encoded before they go into the Basic header.
        return { clientId: formDecode(decoded.slice(0, colon)), clientSecret: formDecode(decoded.slice(colon + 1)) };
      }
    }
    return { clientId: form.get('client_id') ?? undefined, clientSecret: form.get('client_secret') ?? undefined };
  }
}
