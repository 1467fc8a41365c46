/**
 * A PostgreSQL cluster and a mosquitto broker of the test's own, on free loopback ports in temporary
 * directories, so the test may restart and kill them without touching the machine's shared services.
 * PostgreSQL runs as the `postgres` user when the test runs as root (initdb refuses root).
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, waitFor } from '../support/processes';

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function postgresBin(): string {
  const base = '/usr/lib/postgresql';
  const versions = fs
    .readdirSync(base)
    .filter((name) => fs.existsSync(path.join(base, name, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error('No PostgreSQL server binaries under /usr/lib/postgresql/*/bin.');
  return path.join(base, versions[0], 'bin');
}

/** Runs a PostgreSQL tool as the postgres user when we are root. */
function asPostgres(tool: string, args: string[]): string {
  const bin = path.join(postgresBin(), tool);
  const [command, all] = process.getuid?.() === 0 ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  return execFileSync(command, all, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export interface TestPostgres {
  port: number;
  connection: { host: string; port: number; user: string; database: string };
  /** Stops the server the hard way (like a crash: -m immediate) and starts it again. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export async function startPostgres(): Promise<TestPostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-multihost-pg-'));
  const data = path.join(dir, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    fs.chownSync(dir, uid, gid);
  }
  asPostgres('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const options = [
    `-p ${port}`,
    '-c listen_addresses=127.0.0.1',
    `-c unix_socket_directories=${dir}`,
    '-c max_connections=200',
    '-c fsync=on',
    '-c synchronous_commit=on',
  ].join(' ');
  const start = () => asPostgres('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-o', options, '-w', 'start']);
  const stop = (mode: string) => asPostgres('pg_ctl', ['-D', data, '-m', mode, '-w', 'stop']);
  start();
  return {
    port,
    connection: { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' },
    async restart() {
      stop('immediate');
      start();
    },
    async stop() {
      try {
        stop('immediate');
      } catch {
        // already stopped
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface TestBroker {
  port: number;
  url: string;
  /** A clean shutdown (SIGTERM: mosquitto writes its persistence file) and a start on the same port. */
  restart(): Promise<void>;
  stop(): Promise<void>;
  log(): string;
}

/**
 * mosquitto with persistence, so sessions and their queued messages survive a restart, and no limit on
 * queued messages per session (the default, 1000, drops QoS 1 messages of a session once it is full).
 */
export async function startMosquitto(): Promise<TestBroker> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-multihost-mqtt-'));
  const port = await freePort();
  const config = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(
    config,
    [
      `listener ${port} 127.0.0.1`,
      'allow_anonymous true',
      'persistence true',
      `persistence_location ${dir}/`,
      'autosave_interval 5',
      'max_queued_messages 0',
      'max_inflight_messages 20',
      `user ${os.userInfo().username}`,
      'log_dest stdout',
      'log_type error',
      'log_type warning',
      '',
    ].join('\n'),
  );
  let child: ChildProcess | undefined;
  let output = '';
  const launch = async () => {
    const started = spawn('mosquitto', ['-c', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    started.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    started.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    running.add(started);
    child = started;
    await waitFor('mosquitto to listen', async () => {
      if (started.exitCode !== null) throw new Error(`mosquitto exited: ${output}`);
      const net = await import('node:net');
      return new Promise<true | undefined>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.end();
          resolve(true);
        });
        socket.on('error', () => resolve(undefined));
      });
    });
  };
  const halt = async (signal: NodeJS.Signals) => {
    const current = child;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => current.once('exit', () => resolve()));
    current.kill(signal);
    await exited;
    running.delete(current);
  };
  await launch();
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    async restart() {
      await halt('SIGTERM');
      await launch();
    },
    async stop() {
      await halt('SIGKILL');
      fs.rmSync(dir, { recursive: true, force: true });
    },
    log: () => output,
  };
}
