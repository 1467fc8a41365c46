/**
 * The webhook endpoint of a `finance-event-in` node on Node-RED's flow HTTP server (RED.httpNode, where
 * core `http in` routes live). The signature covers the exact bytes, so the body must be read raw.
 *
 * With Node-RED's default settings the editor's admin app and the flow endpoints share the root path, and
 * the admin app's JSON body parser runs first: it would consume every `application/json` body before our
 * route sees it. So, like core `http in` does for its raw-body routes (21-httpin.js, rawBodyCapture), one
 * middleware at the very top of the root app starts reading the raw body of our POST paths and marks the
 * request as parsed (`req._body`), which every body-parser honours; the route handler then awaits it. The same
 * middleware answers 503 + Retry-After for a path whose node is closed (a redeploy, a reload, a stop) until the
 * next deploy opens it again (see `endpoints`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeAPI } from 'node-red';
import { httpAnswer, type HttpAnswer } from '../../lib/intake/answer';
import { closingRefusal } from '../../lib/intake/intake';
import { readRawBody } from '../../lib/intake/raw-body';
import type { EndpointHandler } from '../../lib/intake/own-listener';
import { routeKey } from '../../lib/intake/route-key';

type Handler = EndpointHandler;

export interface Layer {
  handle?: unknown;
  route?: { stack: Array<{ handle: unknown }> };
}

export interface ExpressApp {
  parent?: ExpressApp;
  use(middleware: unknown): void;
  post(path: string, handler: unknown): void;
  _router?: { stack: Layer[] };
  router?: { stack: Layer[] };
}

interface CapturedRequest extends IncomingMessage {
  _body?: boolean;
  skipRawBodyParser?: boolean;
  financeRawBody?: Promise<Buffer>;
}

/**
 * The webhook paths of this runtime (by routeKey, with httpNodeRoot) -> their endpoint. An endpoint stays here,
 * `live: false`, after its node closed for a redeploy, a reload or a stop: between the old route's removal and
 * the new one's, Express would answer 404 text/html, and senders such as Concur do not retry a 404 (they drop
 * the event). A known path without a live route is answered 503 + Retry-After instead. It is forgotten only
 * when its node is removed, or when the node starts again with another path or mode (forgetDormantEndpoints).
 */
interface Endpoint {
  owner: string;
  maxBytes: number;
  live: boolean;
}
const endpoints = new Map<string, Endpoint>();
const appsWithCapture = new WeakSet<object>();

export function stackOf(app: ExpressApp): Layer[] {
  // Express 4 (Node-RED 4) keeps the router in app._router, Express 5 (Node-RED 5) in app.router.
  return (app._router ?? app.router)?.stack ?? [];
}

function rootOf(app: ExpressApp): ExpressApp {
  return app.parent ? rootOf(app.parent) : app;
}

/** httpNodeRoot and the node's path as one request path: one slash between them, a leading one. */
function fullPathOf(nodeRoot: string, path: string): string {
  const root = ('/' + nodeRoot).replace(/^\/+/, '/').replace(/\/+$/, '');
  return root + ('/' + path).replace(/^\/+/, '/');
}

/**
 * The path of a request target, or '' for one that is no URL (`POST //[`): this runs at the top of Node-RED's
 * root app, before its authentication, so a throw here would answer anyone with a 500 and a stack trace. Express
 * answers such a request 404 itself. (Absolute-form targets, `POST http://host/path`, are URLs and keep working.)
 */
function pathnameOf(target: string | undefined): string {
  try {
    return new URL(target ?? '/', 'http://localhost').pathname;
  } catch {
    return '';
  }
}

function captureRawBodies(request: CapturedRequest, response: ServerResponse, next: () => void): void {
  if (request.method === 'POST' && !request._body) {
    // routeKey matches like Express: a request Express routes to our handler but this lookup missed would
    // reach Node-RED's body parsers, which destroy the signed bytes.
    const endpoint = endpoints.get(routeKey(pathnameOf(request.url)));
    if (endpoint && !endpoint.live) {
      // Between a closed route and its successor: "come back shortly", never Express's 404.
      writeAnswer(response, httpAnswer(closingRefusal()), true);
      return;
    }
    if (endpoint) {
      request.financeRawBody = readRawBody(request, { maxBytes: endpoint.maxBytes });
      // Handled: keep the promise from being reported as unhandled before the route awaits it.
      request.financeRawBody.catch(() => undefined);
      request._body = true;
      request.skipRawBodyParser = true;
    }
  }
  next();
}

function installCapture(RED: NodeAPI): void {
  const root = rootOf(RED.httpNode as unknown as ExpressApp);
  if (appsWithCapture.has(root)) return;
  appsWithCapture.add(root);
  root.use(captureRawBodies);
  const stack = stackOf(root);
  const index = stack.findIndex((layer) => layer.handle === captureRawBodies);
  if (index > 0) stack.unshift(stack.splice(index, 1)[0]);
}

/** Closes an endpoint: `removed` (the node was deleted) forgets its path, anything else keeps it answering 503. */
export type CloseEndpoint = (removed: boolean) => void;

/**
 * Registers POST `path` for the node `owner`; returns the function that removes exactly this route again (on
 * close). Another path the same node had before is forgotten: the node moved.
 */
export function openEndpoint(
  RED: NodeAPI,
  owner: string,
  path: string,
  maxBytes: number,
  handler: Handler,
): CloseEndpoint {
  const nodeRoot = (RED.settings as unknown as { httpNodeRoot?: string }).httpNodeRoot || '/';
  const key = routeKey(fullPathOf(nodeRoot, path));
  installCapture(RED);
  const endpoint: Endpoint = { owner, maxBytes, live: true };
  endpoints.set(key, endpoint);
  forgetDormantEndpoints(owner);
  const route = (request: CapturedRequest, response: ServerResponse): void =>
    handler(request, response, request.financeRawBody ?? readRawBody(request, { maxBytes }));
  const app = RED.httpNode as unknown as ExpressApp;
  app.post(path, route);
  return (removed) => {
    if (endpoints.get(key) === endpoint) {
      if (removed) endpoints.delete(key);
      else endpoint.live = false;
    }
    const stack = stackOf(app);
    const index = stack.findIndex((layer) => layer.route?.stack.some((entry) => entry.handle === route));
    if (index !== -1) stack.splice(index, 1);
  };
}

/** Forgets the paths node `owner` left answering 503: it started again without them (another path or mode). */
export function forgetDormantEndpoints(owner: string): void {
  for (const [key, endpoint] of endpoints) {
    if (endpoint.owner === owner && !endpoint.live) endpoints.delete(key);
  }
}

/** Writes an answer unless one was written already (a sender that went away gets none). */
export function writeAnswer(response: ServerResponse, answer: HttpAnswer, closeConnection = false): void {
  if (response.headersSent || response.destroyed) return;
  const body = JSON.stringify(answer.body);
  response.statusCode = answer.status;
  for (const [name, value] of Object.entries(answer.headers)) response.setHeader(name, value);
  response.setHeader('Content-Length', Buffer.byteLength(body));
  if (closeConnection) response.setHeader('Connection', 'close');
  response.end(body);
}
