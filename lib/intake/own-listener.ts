/**
 * A webhook endpoint on an HTTP server of the pack's own, on a port of its own, instead of Node-RED's flow
 * server. Node-RED's server runs every request through Express and its middleware (cookie and body parsers,
 * CORS, httpNodeMiddleware): on the benchmark machine that costs more CPU per webhook than the intake's own work
 * (signature, validation, durable commit). A plain node:http server leaves only the intake's work.
 *
 * One server per host and port is shared by every endpoint on it, each owning one path, matched like a route on
 * Node-RED's server (routeKey: any letter case, trailing slash optional). The server is plain
 * HTTP: it is meant for loopback or a private network behind a TLS-terminating proxy, and Node-RED's
 * httpNodeAuth and httpNodeMiddleware do not apply to it (the webhook signature is the sender's proof).
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { FinanceError } from '../errors';
import { httpAnswer } from './answer';
import { closingRefusal } from './intake';
import { readRawBody } from './raw-body';
import { PROBLEM_CONTENT_TYPE } from './problem';
import { routeKey } from './route-key';

export type EndpointHandler = (request: IncomingMessage, response: ServerResponse, rawBody: Promise<Buffer>) => void;

export interface OwnEndpoint {
  host: string;
  port: number;
  /** The request path, starting with '/'. */
  path: string;
  maxBytes: number;
  handler: EndpointHandler;
  /** The node that owns the endpoint (forgetDormantOwnEndpoints); the path when not given. */
  owner?: string;
}

/**
 * A path's route. Without a handler it is dormant: its node closed for a redeploy, a reload or a stop, and the
 * server keeps listening and answers 503 + Retry-After, so senders retry instead of seeing refused
 * connections (or a 404, which Concur does not retry) until the node's next deploy takes the route over.
 */
interface Route {
  owner: string;
  /** The path as its node configured it, for messages. */
  path: string;
  maxBytes: number;
  handler?: EndpointHandler;
}

/** Closes an endpoint; `removed` false (a redeploy, reload or stop) leaves its route dormant. */
export type CloseOwnEndpoint = (removed?: boolean) => Promise<void>;

interface SharedServer {
  server: Server;
  /** By routeKey of the path. */
  routes: Map<string, Route>;
  listening: Promise<void>;
}

/**
 * Time limits that keep a slow or stalled sender from holding a connection (slowloris): the whole request
 * must arrive within 30 s, its headers within 10 s. An idle keep-alive connection is closed after 65 s, longer
 * than the usual 60 s idle timeout of proxies and load balancers in front, so they close first and never
 * reuse a connection this server has just closed.
 */
const REQUEST_TIMEOUT_MS = 30_000;
const HEADERS_TIMEOUT_MS = 10_000;
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

const servers = new Map<string, SharedServer>();

/**
 * Starts answering POST `path` on host:port (the server starts with the first endpoint on it, or is the one a
 * dormant route kept listening). Resolves once it listens, with the function that closes the endpoint again;
 * rejects with FinanceError CONFIG_INVALID when the port cannot be used or another live endpoint has the path.
 */
export async function openOwnEndpoint(endpoint: OwnEndpoint): Promise<CloseOwnEndpoint> {
  const key = `${endpoint.host}:${endpoint.port}`;
  const owner = endpoint.owner ?? endpoint.path;
  const pathKey = routeKey(endpoint.path);
  let shared = servers.get(key);
  if (!shared) {
    shared = startServer(endpoint.host, endpoint.port);
    servers.set(key, shared);
  }
  const taken = shared.routes.get(pathKey);
  if (taken?.handler) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `Another finance-event-in node already receives POST ${taken.path} on port ${endpoint.port}` +
        (taken.path === endpoint.path
          ? ''
          : `, which matches ${endpoint.path} (paths match in any letter case, with or without a trailing slash)`) +
        '. Give this node another path or port.',
    );
  }
  const route: Route = { owner, path: endpoint.path, maxBytes: endpoint.maxBytes, handler: endpoint.handler };
  shared.routes.set(pathKey, route);
  shared.server.ref();
  const current = shared;
  try {
    await current.listening;
  } catch (err) {
    current.routes.delete(pathKey);
    if (servers.get(key) === current) servers.delete(key);
    throw err;
  }
  // The node moved (another path or port): what it left dormant elsewhere answers for nobody.
  await forgetDormantOwnEndpoints(owner);
  return async (removed = true) => {
    if (current.routes.get(pathKey) !== route) return;
    if (removed) {
      current.routes.delete(pathKey);
    } else {
      delete route.handler;
    }
    await stopWhenUnused(key, current);
  };
}

/** Forgets the routes node `owner` left dormant (it started again elsewhere, or without a port of its own). */
export async function forgetDormantOwnEndpoints(owner: string): Promise<void> {
  for (const [key, shared] of [...servers]) {
    for (const [pathKey, route] of [...shared.routes]) {
      if (route.owner === owner && !route.handler) shared.routes.delete(pathKey);
    }
    await stopWhenUnused(key, shared);
  }
}

/**
 * No route left: the server stops and frees its port. Only dormant ones left: it goes on answering 503 but no
 * longer keeps the process alive (unref), so a runtime that ends is not held open by it.
 */
async function stopWhenUnused(key: string, shared: SharedServer): Promise<void> {
  if ([...shared.routes.values()].some((route) => route.handler)) return;
  if (shared.routes.size > 0) {
    shared.server.unref();
    return;
  }
  if (servers.get(key) === shared) servers.delete(key);
  if (!shared.server.listening) return;
  await new Promise<void>((resolve) => {
    shared.server.close(() => resolve());
    // Keep-alive connections that wait for a next request would hold close() open for a minute.
    shared.server.closeIdleConnections();
  });
}

function startServer(host: string, port: number): SharedServer {
  const routes = new Map<string, Route>();
  const server = http.createServer({ keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS }, (request, response) =>
    route(routes, request, response),
  );
  server.requestTimeout = REQUEST_TIMEOUT_MS;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  const listening = new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => reject(listenFailure(host, port, err)));
    server.listen(port, host, () => resolve());
  });
  // Failures after listening (a socket error) belong to their request; the server itself goes on.
  listening.then(() => server.on('error', () => undefined)).catch(() => undefined);
  return { server, routes, listening };
}

function route(routes: Map<string, Route>, request: IncomingMessage, response: ServerResponse): void {
  const path = pathOf(request.url);
  const target = routes.get(routeKey(path));
  if (!target) {
    refuse(response, 404, 'Not found', `Nothing receives events at ${path} on this port.`);
    return;
  }
  if (request.method !== 'POST') {
    response.setHeader('Allow', 'POST');
    refuse(response, 405, 'Method not allowed', `${path} accepts POST only; send the event as the body of a POST.`);
    return;
  }
  if (!target.handler) {
    answerClosing(response);
    return;
  }
  const rawBody = readRawBody(request, { maxBytes: target.maxBytes });
  // Handled: keep the promise from being reported as unhandled before the handler awaits it.
  rawBody.catch(() => undefined);
  target.handler(request, response, rawBody);
}

/** The request's path as sent, for lookup (by routeKey) and for messages. */
function pathOf(url: string | undefined): string {
  return (url ?? '/').split('?', 1)[0];
}

/** A dormant route: the same 503 a closing node answers. The body is not read, so the connection is closed. */
function answerClosing(response: ServerResponse): void {
  const answer = httpAnswer(closingRefusal());
  const body = JSON.stringify(answer.body);
  response.statusCode = answer.status;
  for (const [name, value] of Object.entries(answer.headers)) response.setHeader(name, value);
  response.setHeader('Content-Length', Buffer.byteLength(body));
  response.setHeader('Connection', 'close');
  response.end(body);
}

function refuse(response: ServerResponse, status: number, title: string, detail: string): void {
  const body = JSON.stringify({ type: 'about:blank', title, status, detail });
  response.statusCode = status;
  response.setHeader('Content-Type', PROBLEM_CONTENT_TYPE);
  response.setHeader('Content-Length', Buffer.byteLength(body));
  response.end(body);
}

function listenFailure(host: string, port: number, err: NodeJS.ErrnoException): FinanceError {
  const what =
    err.code === 'EADDRINUSE'
      ? `port ${port} on ${host} is already in use by another program or node`
      : err.code === 'EACCES'
        ? `this process may not listen on port ${port} (ports below 1024 need privileges)`
        : err.code === 'EADDRNOTAVAIL'
          ? `${host} is not an address of this machine`
          : err.message;
  return new FinanceError(
    'CONFIG_INVALID',
    `The webhook endpoint cannot listen: ${what}. Choose another port or listen address, or leave the port empty ` +
      "to use Node-RED's own web server.",
    { cause: err },
  );
}
