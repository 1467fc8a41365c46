#!/usr/bin/env node
/**
 * `finance-sandbox`: runs the sandbox ERP on 127.0.0.1 until SIGINT or SIGTERM.
 *
 *   finance-sandbox [--port 8089] [--auth oauth2 --client-id ID --client-secret SECRET] [--token-ttl SECONDS]
 *
 * The port also comes from SANDBOX_PORT, the client credentials from SANDBOX_CLIENT_ID and
 * SANDBOX_CLIENT_SECRET (better than the command line, where other users of the host can see them).
 */
import { FinanceError } from '../errors';
import type { AuthOptions } from './auth';
import { startSandbox, type SandboxHandle } from './server';

export const DEFAULT_PORT = 8089;

export interface CliOptions {
  port: number;
  auth: AuthOptions;
}

export interface CliIo {
  log(line: string): void;
  error(line: string): void;
  /** Where SIGINT and SIGTERM come from (the process, or a stand-in in tests). */
  signals: { once(signal: 'SIGINT' | 'SIGTERM', listener: () => void): unknown };
}

export interface CliRun {
  handle: SandboxHandle;
  /** Settles once a signal has closed the sandbox. */
  stopped: Promise<void>;
}

const USAGE =
  'usage: finance-sandbox [--port 8089] [--auth oauth2 --client-id ID --client-secret SECRET] [--token-ttl SECONDS]';

function usageError(problem: string): FinanceError {
  return new FinanceError('CONFIG_INVALID', `${problem}\n${USAGE}`);
}

function parsePort(value: string, source: string): number {
  const port = /^\d{1,5}$/.test(value) ? Number(value) : NaN;
  if (!(port >= 0 && port <= 65535))
    throw usageError(`${source} must be a port number from 0 to 65535, not "${value}".`);
  return port;
}

export function parseCliArgs(argv: readonly string[], env: NodeJS.ProcessEnv): CliOptions {
  const flags = new Map<string, string>();
  for (let index = 0; index < argv.length; index += 1) {
    const arg = argv[index];
    const [name, inline] = arg.startsWith('--') ? arg.slice(2).split(/=(.*)/s, 2) : [arg, undefined];
    if (!['port', 'auth', 'client-id', 'client-secret', 'token-ttl'].includes(name)) {
      throw usageError(`Unknown argument "${arg}".`);
    }
    const value = inline ?? argv[index + 1];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) {
      throw usageError(`--${name} needs a value.`);
    }
    if (inline === undefined) index += 1;
    flags.set(name, value);
  }

  const portFlag = flags.get('port');
  const port =
    portFlag !== undefined
      ? parsePort(portFlag, '--port')
      : env.SANDBOX_PORT
        ? parsePort(env.SANDBOX_PORT, 'SANDBOX_PORT')
        : DEFAULT_PORT;

  const authType = flags.get('auth') ?? 'none';
  if (authType === 'none') return { port, auth: { type: 'none' } };
  // "bearer" is accepted too: the API describes the mode by what the API routes demand.
  if (authType !== 'oauth2' && authType !== 'bearer') {
    throw usageError(`--auth must be none or oauth2, not "${authType}".`);
  }
  const clientId = flags.get('client-id') ?? env.SANDBOX_CLIENT_ID;
  const clientSecret = flags.get('client-secret') ?? env.SANDBOX_CLIENT_SECRET;
  if (!clientId || !clientSecret) {
    throw usageError(
      '--auth oauth2 needs --client-id and --client-secret (or SANDBOX_CLIENT_ID / SANDBOX_CLIENT_SECRET).',
    );
  }
  const ttl = flags.get('token-ttl');
  const tokenTtlSeconds = ttl === undefined ? undefined : Number(ttl);
  if (tokenTtlSeconds !== undefined && !(Number.isInteger(tokenTtlSeconds) && tokenTtlSeconds > 0)) {
    throw usageError(`--token-ttl must be a positive whole number of seconds, not "${ttl}".`);
  }
  return {
    port,
    auth: { type: 'oauth2', clientId, clientSecret, ...(tokenTtlSeconds === undefined ? {} : { tokenTtlSeconds }) },
  };
}

const processIo: CliIo = {
  log: (line) => console.log(line),
  error: (line) => console.error(line),
  signals: process,
};

/** Starts the sandbox from command-line arguments and closes it on the first SIGINT or SIGTERM. */
export async function main(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIo = processIo): Promise<CliRun> {
  const options = parseCliArgs(argv, env);
  const handle = await startSandbox({ port: options.port, host: '127.0.0.1', auth: options.auth });
  const mode = options.auth.type === 'oauth2' ? ' (OAuth2: POST /oauth2/token for a bearer token)' : '';
  io.log(`sandbox ERP listening on ${handle.url}${mode}`);
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: string) => () => {
      io.log(`sandbox ERP stopping (${signal})`);
      handle.close().then(resolve, resolve);
    };
    io.signals.once('SIGINT', stop('SIGINT'));
    io.signals.once('SIGTERM', stop('SIGTERM'));
  });
  return { handle, stopped };
}

if (require.main === module) {
  main(process.argv.slice(2), process.env).catch((error: unknown) => {
    const inUse = (error as NodeJS.ErrnoException).code === 'EADDRINUSE';
    const message = inUse
      ? `${(error as Error).message}; pick another port with --port or SANDBOX_PORT.`
      : error instanceof Error
        ? error.message
        : String(error);
    console.error(`finance-sandbox: ${message}`);
    process.exitCode = 1;
  });
}
