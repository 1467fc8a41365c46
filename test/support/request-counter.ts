/**
 * A loopback HTTP proxy in front of the sandbox ERP that remembers every request it forwards (method, path,
 * a hash of the body), so a test can tell a first call from a repeated one: how many calls were retries, and
 * whether one document was created more than once. It passes failures through as they happened: an answer
 * that never comes stays unanswered until the client gives up (the proxy then drops the upstream call too),
 * and a reset upstream connection resets the client's connection.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';

export interface ForwardedRequest {
  method: string;
  /** Path and query, as the client sent them. */
  url: string;
  body: string;
  /** When the proxy received it (ms since the epoch). */
  at: number;
}

export interface RequestCounter {
  /** The proxy's base URL, to put where the sandbox's would go. */
  url: string;
  /** Every request forwarded so far, in arrival order. */
  requests: ForwardedRequest[];
  /** Requests that repeated an earlier one exactly (same method, URL and body bytes): the retries. */
  repeats(): number;
  close(): Promise<void>;
}

export function startRequestCounter(targetUrl: string): Promise<RequestCounter> {
  const target = new URL(targetUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const requests: ForwardedRequest[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({ method: req.method ?? 'GET', url: req.url ?? '/', body: body.toString('utf8'), at: Date.now() });
      const upstream = http.request(
        {
          host: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers: { ...req.headers, host: target.host },
          agent,
        },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
          answer.on('error', () => res.destroy());
        },
      );
      // A reset (or any broken connection) upstream is passed on as a broken connection, not as an answer.
      upstream.on('error', () => res.socket?.destroy());
      // The client gave up (its own timeout): the held upstream call is dropped with it.
      res.on('close', () => {
        if (!res.writableFinished) upstream.destroy();
      });
      upstream.end(body);
    });
  });

  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}`,
        requests,
        repeats: () => {
          const seen = new Set<string>();
          let repeated = 0;
          for (const request of requests) {
            const key = `${request.method} ${request.url} ${createHash('sha256').update(request.body).digest('hex')}`;
            if (seen.has(key)) repeated += 1;
            else seen.add(key);
          }
          return repeated;
        },
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            agent.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
