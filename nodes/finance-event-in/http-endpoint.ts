/**
 * The webhook endpoint of a `finance-event-in` node on Node-RED's flow HTTP server (RED.httpNode, where
 * core `http in` routes live). The signature covers the exact bytes, so the body must be read raw.
 *
 * With Node-RED's default settings the editor's admin app and the flow endpoints share the root path, and
 * the admin app's JSON body parser runs first: it would consume every `application/json` body before our
 * route sees it. So, like core `http in` does for its raw-body routes (21-httpin.js, rawBodyCapture), one
 * middleware at the very top of the root app starts reading the raw body of our POST paths and marks the
 * request as parsed (`req._body`), which every body-parser honours; the route handler then awaits it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeAPI } from 'node-red';
import type { HttpAnswer } from '../../lib/intake/answer';
import { readRawBody } from '../../lib/intake/raw-body';
import type { EndpointHandler } from '../../lib/intake/own-listener';

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

/** Full request paths (with httpNodeRoot) of this runtime's webhook endpoints -> their body limit. */
const capturedPaths = new Map<string, number>();
const appsWithCapture = new WeakSet<object>();

export function stackOf(app: ExpressApp): Layer[] {
  // Express 4 (Node-RED 4) keeps the router in app._router, Express 5 (Node-RED 5) in app.router.
  return (app._router ?? app.router)?.stack ?? [];
}

function rootOf(app: ExpressApp): ExpressApp {
  return app.parent ? rootOf(app.parent) : app;
}

function normalise(path: string): string {
  return ('/' + path).replace(/\/{2,}/g, '/').replace(/\/$/, '') || '/';
}

function captureRawBodies(request: CapturedRequest, _response: ServerResponse, next: () => void): void {
  if (request.method === 'POST' && !request._body) {
    const maxBytes = capturedPaths.get(normalise(new URL(request.url ?? '/', 'http://localhost').pathname));
    if (maxBytes !== undefined) {
      request.financeRawBody = readRawBody(request, { maxBytes });
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

/** Registers POST `path`; returns the function that removes exactly this route again (on close). */
export function openEndpoint(RED: NodeAPI, path: string, maxBytes: number, handler: Handler): () => void {
  const nodeRoot = (RED.settings as unknown as { httpNodeRoot?: string }).httpNodeRoot || '/';
  const fullPath = normalise(`${nodeRoot}/${path}`);
  installCapture(RED);
  capturedPaths.set(fullPath, maxBytes);
  const route = (request: CapturedRequest, response: ServerResponse): void =>
    handler(request, response, request.financeRawBody ?? readRawBody(request, { maxBytes }));
  const app = RED.httpNode as unknown as ExpressApp;
  app.post(path, route);
  return () => {
    capturedPaths.delete(fullPath);
    const stack = stackOf(app);
    const index = stack.findIndex((layer) => layer.route?.stack.some((entry) => entry.handle === route));
    if (index !== -1) stack.splice(index, 1);
  };
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
