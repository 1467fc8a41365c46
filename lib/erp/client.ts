/**
 * ErpClient: the HTTP connection to one ERP (one per `finance-erp` config node). Every dialect talks to its
 * ERP through it, so keep-alive, the concurrency cap, the rate limit, authentication, correlation headers,
 * error codes and secret redaction are done once, here.
 *
 * A request goes: circuit breaker -> concurrency slot -> end of a 429's hold -> credentials ready -> rate-limit
 * grant -> send at once. The breaker comes first so that, while the ERP is failing, calls stop at once instead of
 * queueing for a slot; the grant comes last so nothing can delay a send after its grant and bunch sends beyond
 * the limit. A 429 with Retry-After holds every request not sent yet until that time (RetryAfterHold).
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { rootCertificates } from 'node:tls';
import { inspect } from 'node:util';
import { ExchangeCancel, exchange, type HttpResult } from './http-transport';
import { FinanceError } from '../errors';
import { CircuitBreaker, type CircuitState } from '../reliability/circuit-breaker';
import { createAuthStrategy, type AuthStrategy } from './auth';
import { MAX_TOKEN_ANSWER_BYTES } from './oauth2';
import { systemClock, type Clock } from './clock';
import {
  resolveConnectionConfig,
  summarizeConnection,
  withoutQuery,
  type ConnectionSummary,
  type ErpConnectionConfig,
  type ResolvedConnectionConfig,
  type TlsOptions,
} from './config';
import { errorForResponse, errorForTransport, type CallFacts } from './http-errors';
import { RateLimiter } from './rate-limiter';
import { redactValue } from './redact';
import { RetryAfterHold } from './retry-after-hold';
import { Semaphore } from './semaphore';
import { noteRequestTimeout } from './request-timeouts';
import { proxyResolver, proxySecrets } from './proxy';
import { ForwardingHttpAgent, ProxyTunnelError, TunnelingHttpsAgent } from './proxy-agents';
import { errorForProxyTunnel } from './proxy-errors';
import { errorForTokenCertificate, tokenTls } from './token-tls';

export type { AuthConfig, ConnectionSummary, ErpConnectionConfig, OAuth2ClientCredentials, TlsOptions } from './config';
export type { RateLimit } from './rate-limiter';
export type { CircuitState } from '../reliability/circuit-breaker';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

export interface ErpRequest {
  method: HttpMethod;
  /** Path below the base URL, starting with "/". */
  path: string;
  query?: Record<string, string | number | boolean | null | undefined>;
  body?: unknown;
  headers?: Record<string, string>;
  /** Sent as X-Correlation-Id; a fresh UUID when absent. */
  correlationId?: string;
  idempotencyKey?: string;
  ifMatch?: string;
  timeoutMs?: number;
  /**
   * Names of answer headers the caller needs from an error answer, kept (under their lower-case names) in the
   * FinanceError's details.answerHeaders: SAP's `x-csrf-token: Required` on a 403 tells an expired CSRF token from a refusal of
   * authorization. Name only headers that carry no secret: the details reach dead letters and the audit.
   */
  keepAnswerHeaders?: readonly string[];
}

export interface ErpResponse<T> {
  status: number;
  data: T;
  /** Lower-case names; set-cookie stays an array. */
  headers: Record<string, string | string[]>;
  etag?: string;
  durationMs: number;
}

/** What a dialect needs from the client; lets a dialect be tested against a stub. */
export interface ErpHttp {
  request<T>(request: ErpRequest): Promise<ErpResponse<T>>;
}

export interface ErpClientStats {
  /** Sent and waiting for the answer. */
  inFlight: number;
  /** Waiting for a concurrency slot. */
  waitingForSlot: number;
  /** Holding a slot, waiting for the rate limit: the connection's own, or the wait a 429's Retry-After asked for. */
  waitingForRateLimit: number;
}

/** One request sent to the ERP, for the audit trail and the metrics: no headers, no body, no query. */
export interface ErpCall {
  method: HttpMethod;
  /** The path without its query string. */
  path: string;
  correlationId: string;
  /** The HTTP status; undefined when no answer came (timeout, reset, refused connection). */
  status?: number;
  /** The error code when no answer came. */
  errorCode?: string;
  durationMs: number;
}

export interface ErpClientDependencies {
  /** Monotonic time and timers for the rate limiter and token expiry. */
  clock?: Clock;
  /** Wall-clock now in ms, for Retry-After HTTP-dates. */
  dateNow?: () => number;
  /** Where HTTPS_PROXY, HTTP_PROXY and NO_PROXY are read for the "from the environment" proxy; process.env. */
  environment?: NodeJS.ProcessEnv;
}

interface RawResponse {
  status: number;
  data: unknown;
  headers: Record<string, string | string[]>;
  sentHeaders: Record<string, string>;
  durationMs: number;
}

export class ErpClient implements ErpHttp {
  // Private fields: JSON.stringify and util.inspect cannot reach them, so the credentials inside stay hidden.
  readonly #config: ResolvedConnectionConfig;
  readonly #httpAgent: http.Agent;
  readonly #httpsAgent: TunnelingHttpsAgent;
  readonly #defaultHeaders: Record<string, string>;
  readonly #agents: http.Agent[];
  readonly #auth: AuthStrategy;
  readonly #slots: Semaphore;
  readonly #limiter: RateLimiter | null;
  readonly #hold: RetryAfterHold;
  readonly #breaker: CircuitBreaker | null;
  readonly #dateNow: () => number;
  readonly #inFlight = new Set<ExchangeCancel>();
  /** Token requests in flight, so that close() stops them too. */
  readonly #tokenRequests = new Set<ExchangeCancel>();
  readonly #tokenHttpAgent: http.Agent;
  readonly #tokenHttpsAgent: TunnelingHttpsAgent;
  readonly #callListeners = new Set<(call: ErpCall) => void>();
  #closed = false;

  constructor(config: ErpConnectionConfig, dependencies: ErpClientDependencies = {}) {
    this.#config = resolveConnectionConfig(config);
    noteRequestTimeout(this.#config.timeoutMs);
    const { maxConcurrency, tls, userAgent } = this.#config;
    const clock = dependencies.clock ?? systemClock;
    this.#dateNow = dependencies.dateNow ?? Date.now;
    // Both the ERP and the token endpoint go through the connection's proxy: a host that reaches one only
    // through it reaches the other the same way.
    const resolver = proxyResolver(this.#config.proxy, dependencies.environment ?? process.env);
    const proxying = { resolver, connectTimeoutMs: this.#config.timeoutMs };
    const httpAgent = new ForwardingHttpAgent({
      keepAlive: true,
      maxSockets: maxConcurrency,
      maxFreeSockets: maxConcurrency,
      resolver,
    });
    const httpsAgent = new TunnelingHttpsAgent({
      keepAlive: true,
      maxSockets: maxConcurrency,
      maxFreeSockets: maxConcurrency,
      ...tlsAgentOptions(tls),
      ...proxying,
    });
    // The token endpoint is often a public identity provider (Entra ID) while the ERP sits behind a private
    // CA, so its agent trusts the public roots as well as the configured CA. On another host than the ERP its
    // certificate is checked even when the ERP's is not (see tokenTls).
    const tokenAgent = new TunnelingHttpsAgent({
      keepAlive: false,
      ...tlsAgentOptions(tokenTls(tls, this.#config)),
      ...withPublicRoots(tls?.ca),
      ...proxying,
    });
    this.#tokenHttpsAgent = tokenAgent;
    this.#tokenHttpAgent = new ForwardingHttpAgent({ keepAlive: false, resolver });
    this.#agents = [httpAgent, httpsAgent, tokenAgent, this.#tokenHttpAgent];
    this.#httpAgent = httpAgent;
    this.#httpsAgent = httpsAgent;
    this.#defaultHeaders = { 'User-Agent': userAgent, Accept: 'application/json' };
    this.#auth = createAuthStrategy(this.#config.auth, {
      postToken: (tokenUrl, form, headers) => this.#postToken(tokenUrl, form, headers),
      timeoutMs: this.#config.timeoutMs,
      clock,
      dateNow: this.#dateNow,
      connection: this.#config.name,
    });
    this.#slots = new Semaphore(maxConcurrency);
    this.#limiter = this.#config.rateLimit ? new RateLimiter(this.#config.rateLimit, clock) : null;
    this.#hold = new RetryAfterHold(clock);
    this.#breaker =
      this.#config.circuitBreaker === null
        ? null
        : new CircuitBreaker(this.#config.name, this.#config.circuitBreaker ?? {}, clock);
  }

  get name(): string {
    return this.#config.name;
  }

  get dialect(): string {
    return this.#config.dialect;
  }

  get company(): string | undefined {
    return this.#config.company;
  }

  /**
   * Resolves for 2xx answers; anything else is thrown as a FinanceError with a code from the pack's list.
   * While the circuit breaker is open the request is not sent: it fails at once with CIRCUIT_OPEN.
   */
  async request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
    if (this.#closed) throw this.#closedError({ sent: false });
    checkPath(request.path, this.#config.name);
    return this.#breaker ? this.#breaker.run(() => this.#exchange<T>(request)) : this.#exchange<T>(request);
  }

  /** The breaker's state; always 'closed' when the connection has no breaker. */
  circuitState(): CircuitState {
    return this.#breaker?.state ?? 'closed';
  }

  /** Calls `listener` on every change of the breaker's state; returns the function that stops it. */
  onCircuitState(listener: (state: CircuitState) => void): () => void {
    const breaker = this.#breaker;
    if (!breaker) return () => undefined;
    breaker.on('state', listener);
    return () => {
      breaker.off('state', listener);
    };
  }

  /** Calls `listener` after every request that was sent (answered or not); returns the function that stops it. */
  onCall(listener: (call: ErpCall) => void): () => void {
    this.#callListeners.add(listener);
    return () => {
      this.#callListeners.delete(listener);
    };
  }

  #reportCall(call: ErpCall): void {
    for (const listener of this.#callListeners) {
      try {
        listener(call);
      } catch {
        // An observer must never fail the request it observes.
      }
    }
  }

  async #exchange<T>(request: ErpRequest): Promise<ErpResponse<T>> {
    const release = await this.#slots.acquire();
    try {
      let response = await this.#send(request);
      if (response.status === 401 && this.#auth.renewAfterUnauthorized(response.sentHeaders)) {
        response = await this.#send(request);
      }
      if (response.status >= 200 && response.status < 300) {
        const etag = response.headers.etag;
        return {
          status: response.status,
          data: response.data as T,
          headers: response.headers,
          etag: typeof etag === 'string' ? etag : undefined,
          durationMs: response.durationMs,
        };
      }
      const facts = this.#facts(request);
      const error = errorForResponse(facts, response, this.#dateNow());
      if (response.status === 429 && error.retryAfterMs !== undefined) this.#hold.holdFor(error.retryAfterMs);
      throw withAnswerHeaders(error, response.headers, request.keepAnswerHeaders, facts.secrets);
    } finally {
      release();
    }
  }

  stats(): ErpClientStats {
    return {
      inFlight: this.#inFlight.size,
      waitingForSlot: this.#slots.waiting,
      waitingForRateLimit: (this.#limiter?.waiting ?? 0) + this.#hold.waiting,
    };
  }

  /**
   * How long a request waits for its answer (the connection's Timeout). The ledger gives the ERP as long again to
   * settle after a write that got no answer (lib/posting/idempotent-write.ts).
   */
  get timeoutMs(): number {
    return this.#config.timeoutMs;
  }

  /** A summary without secrets, for status, logs and the editor. */
  describe(): ConnectionSummary {
    return summarizeConnection(this.#config);
  }

  toJSON(): ConnectionSummary {
    return this.describe();
  }

  toString(): string {
    return `ErpClient(${this.#config.name}, ${this.#config.dialect}, ${this.#config.baseUrl})`;
  }

  [inspect.custom](): string {
    return this.toString();
  }

  /**
   * Stops the connection: queued requests are rejected unsent, requests in flight are aborted, keep-alive
   * sockets are destroyed. Rejected requests are retryable: nothing was lost, only not sent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const closed = this.#closedError({ sent: false });
    this.#slots.close(closed);
    this.#limiter?.close(closed);
    this.#hold.close(closed);
    for (const inFlight of this.#inFlight) inFlight.cancel(closed);
    for (const tokenRequest of this.#tokenRequests) tokenRequest.cancel(closed);
    for (const agent of this.#agents) agent.destroy();
  }

  async #send(request: ErpRequest): Promise<RawResponse> {
    // A 429 that came while this request waited for its token or its grant holds it too: it waits for the hold
    // and takes a new grant, so the rate limit's spacing still holds after it.
    do {
      this.#failIfHeldLongerThanTimeout(request);
      await this.#hold.wait();
      await this.#auth.prepare();
      if (this.#limiter) await this.#limiter.acquire();
    } while (this.#hold.active);
    // close() may have come while this request waited for its token: it must not go out on a closed connection.
    if (this.#closed) throw this.#closedError({ sent: false });
    const sentHeaders = this.#auth.headers();
    const correlationId = request.correlationId ?? randomUUID();
    const headers: Record<string, string> = {
      ...request.headers,
      'X-Correlation-Id': headerSafeCorrelationId(correlationId),
      ...sentHeaders,
    };
    if (request.idempotencyKey !== undefined) headers['Idempotency-Key'] = request.idempotencyKey;
    if (request.ifMatch !== undefined) headers['If-Match'] = request.ifMatch;
    const timeoutMs = request.timeoutMs ?? this.#config.timeoutMs;
    const cancel = new ExchangeCancel();
    let timedOut = false;
    // Our own deadline covers the whole exchange; a socket idle timeout would let a trickling answer run on.
    const deadline = setTimeout(() => {
      timedOut = true;
      cancel.cancel(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    this.#inFlight.add(cancel);
    const startedAt = performance.now();
    try {
      const response = await exchange({
        method: request.method,
        baseUrl: this.#config.baseUrl,
        path: request.path,
        query: request.query,
        body: request.body,
        headers: { ...this.#defaultHeaders, ...headers },
        cancel,
        httpAgent: this.#httpAgent,
        httpsAgent: this.#httpsAgent,
      });
      const durationMs = performance.now() - startedAt;
      const call = { method: request.method, path: withoutQuery(request.path), correlationId };
      this.#reportCall({ ...call, status: response.status, durationMs });
      return { status: response.status, data: response.data, headers: response.headers, sentHeaders, durationMs };
    } catch (error) {
      if (this.#closed && !timedOut) throw this.#closedError();
      const failure =
        this.#proxyFailure(`${request.method} ${withoutQuery(request.path)}`, error, cancel) ??
        errorForTransport(this.#facts(request), error, {
          timedOutAfterMs: timedOut ? timeoutMs : undefined,
        });
      this.#reportCall({
        method: request.method,
        path: withoutQuery(request.path),
        correlationId,
        errorCode: failure.code,
        durationMs: performance.now() - startedAt,
      });
      throw failure;
    } finally {
      clearTimeout(deadline);
      this.#inFlight.delete(cancel);
    }
  }

  /** One token request: the connection's timeout bounds the whole exchange, as for ERP calls (see TokenPost). */
  async #postToken(tokenUrl: string, form: string, headers: Record<string, string>): Promise<HttpResult> {
    if (this.#closed) throw this.#closedError({ sent: false });
    const timeoutMs = this.#config.timeoutMs;
    const cancel = new ExchangeCancel();
    const deadline = setTimeout(() => {
      cancel.cancel(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: 'ETIMEDOUT' }));
    }, timeoutMs);
    this.#tokenRequests.add(cancel);
    try {
      return await this.#tokenExchange(tokenUrl, form, headers, cancel);
    } catch (error) {
      throw (
        this.#proxyFailure('the OAuth2 token request', error, cancel, tokenUrl) ??
        errorForTokenCertificate(this.#config, error) ??
        error
      );
    } finally {
      clearTimeout(deadline);
      this.#tokenRequests.delete(cancel);
    }
  }

  #tokenExchange(
    tokenUrl: string,
    form: string,
    headers: Record<string, string>,
    cancel: ExchangeCancel,
  ): Promise<HttpResult> {
    return exchange({
      method: 'POST',
      baseUrl: tokenUrl,
      path: '',
      body: form,
      headers: { ...this.#defaultHeaders, ...headers },
      cancel,
      httpAgent: this.#tokenHttpAgent,
      httpsAgent: this.#tokenHttpsAgent,
      maxAnswerBytes: MAX_TOKEN_ANSWER_BYTES,
    });
  }

  /**
   * A call that never got through the proxy: the tunnel was refused or the proxy unreachable (the agent's
   * ProxyTunnelError), or our deadline came while the request still waited for its tunnel. Undefined for any
   * other failure, which the ERP's or the token endpoint's own handling reports.
   */
  #proxyFailure(
    call: string,
    error: unknown,
    cancel: ExchangeCancel,
    url = this.#config.baseUrl,
  ): FinanceError | undefined {
    const connection = this.#config.name;
    if (error instanceof ProxyTunnelError) return errorForProxyTunnel(connection, call, error);
    if (cancel.reason === undefined || cancel.hadConnection || this.#closed) return undefined;
    const target = new URL(url);
    if (target.protocol !== 'https:') return undefined;
    const agent = url === this.#config.baseUrl ? this.#httpsAgent : this.#tokenHttpsAgent;
    const route = agent.routeFor(target.hostname.replace(/^\[(.*)\]$/, '$1'), Number(target.port) || 443);
    if (route === undefined) return undefined;
    const reason = `the proxy ${route.label} did not open a tunnel to ${target.host} within ${this.#config.timeoutMs} ms`;
    return errorForProxyTunnel(connection, call, new ProxyTunnelError('timeout', route.label, reason));
  }

  #facts(request: ErpRequest): CallFacts {
    return {
      connection: this.#config.name,
      method: request.method,
      path: withoutQuery(request.path),
      secrets: this.#auth.secrets().concat(tlsSecrets(this.#config.tls), proxySecrets(this.#config.proxy)),
    };
  }

  /**
   * `unsent`: the request was closed before it went out (details.sent false), so the ERP never saw it and a
   * retry need not wait for the ERP to settle (lib/posting/idempotent-write.ts).
   */
  /**
   * A request that a 429's hold would keep longer than its own timeout fails now, unsent and retryable after the
   * wait: a message is not kept in memory for an hour of Retry-After; its durable retry waits instead.
   */
  #failIfHeldLongerThanTimeout(request: ErpRequest): void {
    const heldMs = this.#hold.remainingMs;
    const timeoutMs = request.timeoutMs ?? this.#config.timeoutMs;
    if (heldMs <= timeoutMs) return;
    throw new FinanceError(
      'ERP_RATE_LIMITED',
      `ERP connection "${this.#config.name}" is throttled: the ERP answered 429 and asked for no requests for another ${Math.ceil(heldMs / 1000)} s, longer than this request's timeout (${timeoutMs} ms), so ${request.method} ${withoutQuery(request.path)} was not sent. It is retryable after that wait; lower the connection rate limit if this repeats.`,
      { retryable: true, retryAfterMs: heldMs, details: { sent: false } },
    );
  }

  #closedError(unsent?: { sent: false }): FinanceError {
    const before = unsent ? 'before the request was sent' : 'before the request was answered';
    return new FinanceError(
      'ERP_UNAVAILABLE',
      `ERP connection "${this.#config.name}" was closed (redeploy or shutdown) ${before}; it can be retried once the connection is open again.`,
      { retryable: true, ...(unsent ? { details: unsent } : {}) },
    );
  }
}

/**
 * The correlation id as a header can carry it. An id made from a source's document id may hold characters
 * beyond Latin-1, which Node refuses in a header: the request would fail every time for a header that only
 * informs. Such an id is sent percent-encoded; the audit trail keeps it as it is.
 */
function headerSafeCorrelationId(correlationId: string): string {
  return /^[\x20-\x7e]*$/.test(correlationId) ? correlationId : encodeURIComponent(correlationId);
}

/** Paths are relative to the base URL: an absolute URL would carry the connection's credentials elsewhere. */
function checkPath(path: unknown, connection: string): void {
  if (typeof path !== 'string' || !path.startsWith('/') || path.startsWith('//')) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `ERP connection "${connection}": a request path must start with a single "/" and is relative to the base URL.`,
    );
  }
}

/** The error with the answer headers the caller asked to keep (ErpRequest.keepAnswerHeaders), redacted. */
function withAnswerHeaders(
  error: FinanceError,
  headers: Record<string, string | string[]>,
  names: readonly string[] | undefined,
  secrets: readonly string[],
): FinanceError {
  const kept = Object.fromEntries(
    (names ?? []).flatMap((name) => {
      const value = headers[name.toLowerCase()];
      return value === undefined ? [] : [[name.toLowerCase(), redactValue(value, secrets)]];
    }),
  );
  if (Object.keys(kept).length === 0) return error;
  return new FinanceError(error.code, error.message, {
    httpStatus: error.httpStatus,
    retryable: error.retryable,
    retryAfterMs: error.retryAfterMs,
    details: { ...error.details, answerHeaders: kept },
  });
}

function tlsAgentOptions(tls: TlsOptions | undefined): https.AgentOptions {
  if (!tls) return {};
  const { rejectUnauthorized, ca, cert, key, passphrase, servername } = tls;
  return Object.fromEntries(
    Object.entries({ rejectUnauthorized, ca, cert, key, passphrase, servername }).filter(
      ([, value]) => value !== undefined,
    ),
  );
}

function withPublicRoots(ca: TlsOptions['ca']): https.AgentOptions {
  if (ca === undefined) return {};
  return { ca: [...rootCertificates, ...(Array.isArray(ca) ? ca : [ca])] };
}

function tlsSecrets(tls: TlsOptions | undefined): string[] {
  return tls?.passphrase ? [tls.passphrase] : [];
}
