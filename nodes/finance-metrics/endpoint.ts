/**
 * The Prometheus endpoint of the finance-metrics nodes: admin-protected on Node-RED's admin server
 * (GET <httpAdminRoot>/finance-metrics/<path>, permission `finance-metrics.read`), or public on the flow
 * HTTP server (GET <httpNodeRoot>/<path>).
 *
 * Node-RED cannot remove admin routes, so the admin route is registered once per runtime and finds the node
 * serving a path on each request (404 when none is deployed); public routes are removed when their node closes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeAPI } from 'node-red';
import { stackOf, type ExpressApp } from '../finance-event-in/http-endpoint';

export type Scrape = () => Promise<string>;

interface Request extends IncomingMessage {
  params: { 0?: string };
}

const adminPaths = new Map<string, Scrape>();
const runtimesWithAdminRoute = new WeakSet<object>();

function answer(response: ServerResponse, scrape: Scrape | undefined, contentType: string): void {
  if (!scrape) {
    response.statusCode = 404;
    response.setHeader('Content-Type', 'text/plain; charset=utf-8');
    response.end('No finance-metrics node serves this path.\n');
    return;
  }
  scrape().then(
    (text) => {
      response.statusCode = 200;
      response.setHeader('Content-Type', contentType);
      response.end(text);
    },
    (err: Error) => {
      response.statusCode = 503;
      response.setHeader('Content-Type', 'text/plain; charset=utf-8');
      response.end(`The metrics could not be read: ${err.message}\n`);
    },
  );
}

/** Serves `scrape` at the node's path; returns the function that stops serving it. */
export function openMetricsEndpoint(
  RED: NodeAPI,
  access: 'admin' | 'public',
  path: string,
  contentType: string,
  scrape: Scrape,
): () => void {
  if (access === 'admin') {
    if (!runtimesWithAdminRoute.has(RED.httpAdmin)) {
      runtimesWithAdminRoute.add(RED.httpAdmin);
      RED.httpAdmin.get(/^\/finance-metrics\/(.+)$/, RED.auth.needsPermission('finance-metrics.read'), ((
        request: Request,
        response: ServerResponse,
      ) => answer(response, adminPaths.get(request.params[0] ?? ''), contentType)) as never);
    }
    adminPaths.set(path, scrape);
    return () => {
      if (adminPaths.get(path) === scrape) adminPaths.delete(path);
    };
  }
  const app = RED.httpNode as unknown as ExpressApp & { get(path: string, handler: unknown): void };
  const route = (_request: IncomingMessage, response: ServerResponse) => answer(response, scrape, contentType);
  app.get(`/${path}`, route);
  return () => {
    const stack = stackOf(app);
    const index = stack.findIndex((layer) => layer.route?.stack.some((entry) => entry.handle === route));
    if (index !== -1) stack.splice(index, 1);
  };
}
