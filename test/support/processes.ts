/**
 * Starts the real things end-to-end tests need (the built sandbox CLI and a Node-RED process with the pack
 * linked into a temporary user directory) on free loopback ports, never 1880 or 8089, and stops them again.
 * Every process started here is killed by `stopAll()` (call it in afterAll) and on process exit.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { NODE_RED_CLI } from './node-red-install';

const root = path.resolve(__dirname, '..', '..');
const started = new Set<ChildProcess>();

process.on('exit', () => {
  for (const child of started) child.kill('SIGKILL');
});

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { timeoutMs = 30_000, intervalMs = 100 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}

export interface RunningProcess {
  child: ChildProcess;
  url: string;
  port: number;
  output: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<void>;
}

function track(child: ChildProcess, port: number): RunningProcess {
  started.add(child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    child,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    stop: async (signal: NodeJS.Signals = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      started.delete(child);
    },
  };
}

async function httpOk(url: string): Promise<true | undefined> {
  const response = await fetch(url);
  return response.ok ? true : undefined;
}

export async function startSandboxProcess(extraArgs: string[] = []): Promise<RunningProcess> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [path.join(root, 'dist/lib/sandbox/cli.js'), '--port', String(port), ...extraArgs],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const running = track(child, port);
  await waitFor('the sandbox ERP', () => httpOk(`${running.url}/_sandbox/state`));
  return running;
}

export interface NodeRedOptions {
  /** Deployed after start; leave out to keep the user directory's flows (a restart). */
  flows?: unknown[];
  /** Credentials by node id; deployed with the flows through the admin API, as the editor does. */
  credentials?: Record<string, Record<string, string>>;
  /** Reuse a user directory, e.g. to restart a host; a new one is made otherwise. */
  userDir?: string;
  env?: Record<string, string>;
}

/** A fresh user directory with the pack linked in, like `npm start` makes. */
export function makeUserDir(): string {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-sync-nr-'));
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name: string };
  const link = path.join(userDir, 'node_modules', ...pkg.name.split('/'));
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync(root, link, 'dir');
  return userDir;
}

/** Deploys flows and their credentials through the admin API (a full deployment). */
export async function deployFlows(
  editorUrl: string,
  flows: unknown[],
  credentials: Record<string, Record<string, string>> = {},
  host?: RunningProcess,
): Promise<void> {
  const startsBefore = host ? startedFlowsCount(host.output()) : 0;
  const response = await fetch(`${editorUrl}/flows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' },
    body: JSON.stringify({ flows, credentials }),
  });
  if (!response.ok) throw new Error(`deploy failed: ${response.status} ${await response.text()}`);
  // Node-RED answers a deploy before it has started the new flows (flows/index.js setFlows returns the revision
  // "asynchronously to the actual start"), so an endpoint may not be registered yet when the answer comes. With
  // the host's log at hand, wait for its "Started flows" line.
  if (host) {
    await waitFor(
      'Node-RED to start the deployed flows',
      async () => (startedFlowsCount(host.output()) > startsBefore ? true : undefined),
      { timeoutMs: 60_000 },
    );
  }
}

export async function startNodeRed(options: NodeRedOptions): Promise<RunningProcess & { userDir: string }> {
  const userDir = options.userDir ?? makeUserDir();
  if (!options.userDir) fs.writeFileSync(path.join(userDir, 'flows.json'), '[]');
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [NODE_RED_CLI, '--userDir', userDir, '--settings', path.join(root, 'flows/settings.js')],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // Info level, for the "Started flows" line that says a deploy has really started (see below).
      env: { ...process.env, PORT: String(port), NODE_RED_LOG_LEVEL: 'info', ...options.env },
    },
  );
  const running = track(child, port);
  await waitFor(
    'Node-RED to start its flows',
    async () => {
      if (child.exitCode !== null) throw new Error(`Node-RED exited early:\n${running.output()}`);
      const response = await fetch(`${running.url}/flows`, { headers: { 'Node-RED-API-Version': 'v2' } });
      return response.ok ? true : undefined;
    },
    { timeoutMs: 60_000 },
  );
  if (options.flows) {
    await waitFor('Node-RED to start the flows it found', async () =>
      startedFlowsCount(running.output()) > 0 ? true : undefined,
    );
    await deployFlows(running.url, options.flows, options.credentials, running);
  }
  return { ...running, userDir };
}

function startedFlowsCount(log: string): number {
  return log.split('Started flows').length - 1;
}

export async function stopAll(): Promise<void> {
  await Promise.all(
    [...started].map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  started.clear();
}
