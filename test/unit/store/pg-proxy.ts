/**
 * A TCP proxy in front of the test PostgreSQL server, to play the network's part in outage tests: it can be
 * down (connections refused), up, or silent (connections stay open but nothing gets through, as in a network
 * partition without a reset).
 */
import * as net from 'node:net';
import { TEST_PG } from './store-fixture';

export interface PgProxy {
  port: number;
  up(): Promise<void>;
  /** Refuses new connections and cuts the open ones. */
  down(): Promise<void>;
  /** Keeps the open connections but forwards nothing any more, in either direction. */
  silence(): void;
  /** Forwards again (connections that lost bytes meanwhile are out of step; new ones work). */
  speak(): void;
}

export function pgProxy(port: number): PgProxy {
  let server: net.Server | undefined;
  let silent = false;
  const sockets = new Set<net.Socket>();
  const forward = (from: net.Socket, to: net.Socket) =>
    from.on('data', (data) => {
      if (!silent) to.write(data);
    });
  const track = (socket: net.Socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  };
  return {
    port,
    up: () =>
      new Promise((resolve) => {
        silent = false;
        server = net.createServer((client) => {
          const upstream = net.connect(TEST_PG.port, TEST_PG.host);
          [client, upstream].forEach(track);
          forward(client, upstream);
          forward(upstream, client);
          client.on('close', () => upstream.destroy());
          upstream.on('close', () => client.destroy());
        });
        server.listen(port, '127.0.0.1', () => resolve());
      }),
    down: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        if (server) server.close(() => resolve());
        else resolve();
        server = undefined;
      }),
    silence: () => {
      silent = true;
    },
    speak: () => {
      silent = false;
    },
  };
}
