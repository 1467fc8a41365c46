/**
 * The request pipeline. For /api/ routes, in this order: count the request, apply injected faults (rate limit,
 * reset, timeout, error), demand auth, find the route, read the body, claim the Idempotency-Key, wait the
 * injected latency, run the operation, answer and remember the answer under the key. Control routes
 * (/_sandbox/, /oauth2/token) skip the counting, faults, auth and idempotency.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AuthGate } from './auth';
import { checkJsonContentType, parseJsonBody, readRawBody } from './http-body';
import { requestFingerprint, type IdempotencyStore, type StoredResponse } from './idempotency';
import { SandboxProblem } from './problem';
import { API_ROUTES, CONTROL_ROUTES, matchRoute, type RouteMatch } from './router';
import type { SandboxState } from './state';
import type { SandboxResponse } from './types';
import { handleVendor, isVendorPath } from './vendors';

export interface HandlerContext {
  state: SandboxState;
  auth: AuthGate;
  /** Waits the injected latency; the server owns the timers so it can clear them on close. */
  delay(ms: number): Promise<void>;
}

const EMPTY = Buffer.alloc(0);
const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

function serialize(response: SandboxResponse): StoredResponse {
  const body = response.body === undefined ? '' : JSON.stringify(response.body);
  const headers: Record<string, string> = { ...response.headers };
  if (body !== '' && headers['Content-Type'] === undefined) headers['Content-Type'] = 'application/json';
  return { status: response.status, headers, body };
}

function problemResponse(problem: SandboxProblem): SandboxResponse {
  return {
    status: problem.status,
    headers: { ...problem.headers, 'Content-Type': 'application/problem+json' },
    body: problem.toBody(),
  };
}

function toResponse(error: unknown): SandboxResponse {
  if (error instanceof SandboxProblem) return problemResponse(error);
  const message = error instanceof Error ? error.message : String(error);
  return problemResponse(
    new SandboxProblem(500, 'INTERNAL_ERROR', `The sandbox failed on this request (${message}); report it as a bug.`),
  );
}

function send(res: ServerResponse, stored: StoredResponse, extraHeaders?: Record<string, string>): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(stored.status, {
    ...stored.headers,
    ...extraHeaders,
    'Content-Length': Buffer.byteLength(stored.body),
  });
  res.end(stored.body);
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function createRequestHandler(context: HandlerContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    handle(context, req, res).catch((error: unknown) => send(res, serialize(toResponse(error))));
  };
}

async function handle(context: HandlerContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = req.url ?? '/';
  const queryStart = url.indexOf('?');
  const path = queryStart < 0 ? url : url.slice(0, queryStart);
  const query = new URLSearchParams(queryStart < 0 ? '' : url.slice(queryStart + 1));
  const method = req.method ?? 'GET';

  if (isVendorPath(path)) {
    const rawBody = method === 'GET' || method === 'DELETE' ? EMPTY : await readRawBody(req);
    const { auth, state } = context;
    if (state.faults.latencyMs > 0) await context.delay(state.faults.latencyMs);
    send(res, serialize(handleVendor({ state, auth, req, path, query, rawBody })));
    return;
  }

  if (!path.startsWith('/api/')) {
    const match = matchRoute(CONTROL_ROUTES, method, path);
    const rawBody = method === 'GET' ? EMPTY : await readRawBody(req);
    send(res, serialize(run(context, req, match, query, rawBody)));
    return;
  }

  const { state } = context;
  state.counters.requests += 1;
  if (injectFault(state, req, res)) return;
  context.auth.checkBearer(req.headers.authorization);
  const match = matchRoute(API_ROUTES, method, path);
  const isWrite = method === 'POST' || method === 'PATCH';
  if (isWrite && match.route.body === 'json') checkJsonContentType(req.headers['content-type']);
  const rawBody = isWrite ? await readRawBody(req) : EMPTY;

  const key = isWrite ? headerValue(req.headers['idempotency-key']) : undefined;
  if (key === undefined) {
    if (state.faults.latencyMs > 0) await context.delay(state.faults.latencyMs);
    send(res, serialize(run(context, req, match, query, rawBody)));
    return;
  }

  const store = state.idempotency;
  const claim = claimKey(store, key, requestFingerprint(method, path, rawBody));
  if (claim.kind === 'replay') {
    state.counters.duplicateWritesPrevented += 1;
    send(res, claim.response, { 'Idempotent-Replayed': 'true' });
    return;
  }
  if (state.faults.latencyMs > 0) await context.delay(state.faults.latencyMs);
  const stored = serialize(run(context, req, match, query, rawBody));
  // A server-side failure releases the key so the client's retry is applied; anything else is the answer.
  if (stored.status >= 500) store.abandon(key);
  else store.complete(key, stored);
  send(res, stored);
}

/** Claims the key or throws the problem that says why the request cannot go ahead. */
function claimKey(store: IdempotencyStore, key: string, fingerprint: string) {
  if (key.length === 0 || key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new SandboxProblem(
      400,
      'INVALID_IDEMPOTENCY_KEY',
      `Idempotency-Key must have 1 to ${MAX_IDEMPOTENCY_KEY_LENGTH} characters.`,
    );
  }
  const outcome = store.begin(key, fingerprint);
  if (outcome.kind === 'reused') {
    throw new SandboxProblem(
      422,
      'IDEMPOTENCY_KEY_REUSED',
      `Idempotency-Key "${key}" was used for a different request; use a new key for a new request.`,
    );
  }
  if (outcome.kind === 'inProgress') {
    throw new SandboxProblem(
      409,
      'IDEMPOTENCY_IN_PROGRESS',
      `A request with Idempotency-Key "${key}" is still being processed; retry after it has been answered.`,
      { headers: { 'Retry-After': '1' } },
    );
  }
  return outcome;
}

/** Runs the operation; a problem or a bug becomes an answer instead of an exception. */
function run(
  context: HandlerContext,
  req: IncomingMessage,
  match: RouteMatch,
  query: URLSearchParams,
  rawBody: Buffer,
): SandboxResponse {
  try {
    const body = match.route.body === 'json' ? parseJsonBody(rawBody) : undefined;
    return match.route.handle({
      state: context.state,
      auth: context.auth,
      params: match.params,
      query,
      headers: req.headers,
      body,
      rawBody,
    });
  } catch (error) {
    return toResponse(error);
  }
}

/** Applies the configured faults; true when the request has been dealt with (answered, held or dropped). */
function injectFault(state: SandboxState, req: IncomingMessage, res: ServerResponse): boolean {
  const decision = state.faults.decide();
  switch (decision.kind) {
    case 'none':
      return false;
    case 'rateLimited':
      state.counters.rateLimited += 1;
      send(
        res,
        serialize(
          problemResponse(
            new SandboxProblem(
              429,
              'RATE_LIMITED',
              `Too many requests; wait ${decision.retryAfterSeconds} s (Retry-After) and slow down.`,
              {
                headers: { 'Retry-After': String(decision.retryAfterSeconds) },
              },
            ),
          ),
        ),
      );
      return true;
    case 'reset':
      state.counters.faultsInjected += 1;
      req.socket.destroy();
      return true;
    case 'timeout':
      // Hold the request: read and drop its body, never answer. The client's timeout or the server's close
      // (closeAllConnections) ends it.
      state.counters.faultsInjected += 1;
      req.resume();
      return true;
    case 'error':
      state.counters.faultsInjected += 1;
      send(
        res,
        serialize(
          problemResponse(
            new SandboxProblem(decision.status, 'INJECTED_FAULT', `Injected fault: HTTP ${decision.status}.`, {
              headers:
                decision.retryAfterSeconds === undefined ? {} : { 'Retry-After': String(decision.retryAfterSeconds) },
            }),
          ),
        ),
      );
      return true;
  }
}
