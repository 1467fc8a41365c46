/**
 * Starts the sandbox ERP: an HTTP server (node:http, keep-alive) over the in-memory state. Used by the CLI, by
 * the `finance-erp` node's "embedded sandbox" option and by tests (which inject the clock and the random
 * source, and read `state` directly).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FinanceError } from '../errors';
import { AuthGate, type AuthOptions } from './auth';
import { createRequestHandler } from './handler';
import { SandboxState } from './state';

export interface SandboxOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Defaults to 127.0.0.1: the sandbox is for this machine only. */
  host?: string;
  /** The data to start from; the demo companies are the only seed, named so callers can say what they expect. */
  seed?: 'demo';
  auth?: AuthOptions;
  /** Random source of fault injection (default Math.random). */
  random?: () => number;
  /** Clock of timestamps, budgets' year, token expiry and the rate limit (default the system clock). */
  now?: () => Date;
}

export interface SandboxHandle {
  url: string;
  port: number;
  /** The live state, for tests. */
  state: SandboxState;
  /** Stops listening and ends every connection, including held "timeout" requests and idle keep-alives. */
  close(): Promise<void>;
}

/** Longer than the usual client idle timeouts (Node's agent 4-5 s, load balancers 60 s), so a client reuses. */
const KEEP_ALIVE_TIMEOUT_MS = 65_000;

function checkAuthOptions(auth: AuthOptions): void {
  if (auth.type !== 'oauth2') return;
  if (!auth.clientId || !auth.clientSecret) {
    throw new FinanceError(
      'CONFIG_INVALID',
      'The sandbox OAuth2 mode needs a client id and a client secret (--client-id and --client-secret).',
    );
  }
  if (auth.tokenTtlSeconds !== undefined && !(Number.isInteger(auth.tokenTtlSeconds) && auth.tokenTtlSeconds > 0)) {
    throw new FinanceError('CONFIG_INVALID', 'tokenTtlSeconds must be a positive whole number of seconds.');
  }
}

export async function startSandbox(options: SandboxOptions = {}): Promise<SandboxHandle> {
  const authOptions = options.auth ?? { type: 'none' };
  checkAuthOptions(authOptions);
  const now = options.now ?? (() => new Date());
  const state = new SandboxState(now, options.random ?? Math.random);
  const auth = new AuthGate(authOptions, now);
  const timers = new Set<NodeJS.Timeout>();
  const delay = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const server = createServer(createRequestHandler({ state, auth, delay }));
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.headersTimeout = KEEP_ALIVE_TIMEOUT_MS + 1000;
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };

  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, state, close };
}
