/**
 * A webhook endpoint on an HTTP server of the pack's own, on a port of its own, instead of Node-RED's flow
 * server. Node-RED's server runs every request through Express and its middleware (cookie and body parsers,
 * CORS, httpNodeMiddleware): on the benchmark machine that costs more CPU per webhook than the intake's own work
 * (signature, validation, durable commit). A plain node:http server leaves only the intake's work.
 *
 * One server per host and port is shared by every endpoint on it, each owning one path. The server is plain
 * HTTP: it is meant for loopback or a private network behind a TLS-terminating proxy, and Node-RED's
 * httpNodeAuth and httpNodeMiddleware do not apply to it (the webhook signature is the sender's proof).
 */
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { FinanceError } from '../errors';
import { readRawBody } from './raw-body';
import { PROBLEM_CONTENT_TYPE } from './problem';

export type EndpointHandler = (request: IncomingMessage, response: ServerResponse, rawBody: Promise<Buffer>) => void;

export interface OwnEndpoint {
  host: string;
  port: number;
  /** The request path, starting with '/'. */
  path: string;
  maxBytes: number;
  handler: EndpointHandler;
}

interface Route {
  maxBytes: number;
  handler: EndpointHandler;
}

interface SharedServer {
  server: Server;
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
 * Starts answering POST `path` on host:port (the server starts with the first endpoint on it). Resolves once
 * it listens, with the function that removes the endpoint again (the last one stops the server); rejects with
 * FinanceError CONFIG_INVALID when the port cannot be used or the path is taken.
 */
export async function openOwnEndpoint(endpoint: OwnEndpoint): Promise<() => Promise<void>> {
  const key = `${endpoint.host}:${endpoint.port}`;
  let shared = servers.get(key);
  if (!shared) {
    shared = startServer(endpoint.host, endpoint.port);
    servers.set(key, shared);
  }
  if (shared.routes.has(endpoint.path)) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `Another finance-event-in node already receives POST ${endpoint.path} on port ${endpoint.port}. Give this ` +
        'node another path or port.',
    );
  }
  const route: Route = { maxBytes: endpoint.maxBytes, handler: endpoint.handler };
  shared.routes.set(endpoint.path, route);
  const current = shared;
  try {
    await current.listening;
  } catch (err) {
    current.routes.delete(endpoint.path);
    if (servers.get(key) === current) servers.delete(key);
    throw err;
  }
  return async () => {
    if (current.routes.get(endpoint.path) !== route) return;
    current.routes.delete(endpoint.path);
    if (current.routes.size > 0) return;
    if (servers.get(key) === current) servers.delete(key);
    await new Promise<void>((resolve) => {
      current.server.close(() => resolve());
      // Keep-alive connections that wait for a next request would hold close() open for a minute.
      current.server.closeIdleConnections();
    });
  };
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
  const target = routes.get(path);
  if (!target) {
    refuse(response, 404, 'Not found', `Nothing receives events at ${path} on this port.`);
    return;
  }
  if (request.method !== 'POST') {
    response.setHeader('Allow', 'POST');
    refuse(response, 405, 'Method not allowed', `${path} accepts POST only; send the event as the body of a POST.`);
    return;
  }
  const rawBody = readRawBody(request, { maxBytes: target.maxBytes });
  // Handled: keep the promise from being reported as unhandled before the handler awaits it.
  rawBody.catch(() => undefined);
  target.handler(request, response, rawBody);
}

function pathOf(url: string | undefined): string {
  const path = (url ?? '/').split('?', 1)[0];
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
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
