/**
 * The webhook endpoint of a `finance-event-in` node on Node-RED's flow HTTP server (RED.httpNode, where
 * core `http in` routes live). The route has no body parser in front of it: the body is read raw by
 * lib/intake/raw-body, because the signature covers the exact bytes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeAPI } from 'node-red';
import type { HttpAnswer } from '../../lib/intake/answer';

type Handler = (request: IncomingMessage, response: ServerResponse) => void;

interface RouteLayer {
  route?: { stack: Array<{ handle: unknown }> };
}

/** Registers POST `path`; returns the function that removes exactly this route again (on close). */
export function openEndpoint(RED: NodeAPI, path: string, handler: Handler): () => void {
  const app = RED.httpNode;
  app.post(path, handler as never);
  return () => {
    // Express 4 keeps the router in app._router, Express 5 (Node-RED 5) in app.router.
    const router = app as unknown as { _router?: { stack: RouteLayer[] }; router?: { stack: RouteLayer[] } };
    const stack = (router._router ?? router.router)?.stack ?? [];
    const index = stack.findIndex((layer) => layer.route?.stack.some((entry) => entry.handle === handler));
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
