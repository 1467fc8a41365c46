/**
 * What MqttIntake's persistent session keeps across a redeploy, against real mosquitto brokers: the test broker on
 * 127.0.0.1:1883, and one of this file's own that grants no more than QoS 0 (max_qos 0).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { connectAsync, type MqttClient } from 'mqtt';
import type { Intake } from '../../../lib/intake/intake';
import { MqttIntake, SUBSCRIPTIONS_NAMESPACE, type MqttIntakeState } from '../../../lib/intake/mqtt-intake';
import type { FinanceStore } from '../../../lib/reliability/store';
import { waitFor } from '../../support/processes';

const BROKER = 'mqtt://127.0.0.1:1883';
/** Unique per run, so runs never see each other's messages or sessions. */
const RUN = randomUUID().slice(0, 8);
const topicOf = (name: string) => `finance-sync-test/${RUN}/${name}`;
const clientIdOf = (name: string) => `finance-sync-test-${RUN}-${name}`;

type KvStore = Pick<FinanceStore, 'kvGet' | 'kvPut'>;

/** The store's kv space, in memory: what the intake records there survives its redeploy. */
function memoryStore(): KvStore & { values: Map<string, unknown> } {
  const values = new Map<string, unknown>();
  return {
    values,
    kvGet: async (namespace, key) => values.get(`${namespace}/${key}`),
    kvPut: async (namespace, key, value) => {
      values.set(`${namespace}/${key}`, value);
    },
  };
}

/** Commits every message at once and remembers its body. */
function recordingIntake(committed: string[]): Intake {
  return {
    check: (event: { rawBody: Buffer }) => ({ outcome: 'checked', event: { key: event.rawBody.toString() } }),
    commit: async (event: { key: string }) => {
      committed.push(event.key);
      return { outcome: 'accepted', httpStatus: 202 };
    },
  } as unknown as Intake;
}

interface Running {
  intake: MqttIntake;
  states: MqttIntakeState[];
  /** Resolves with the first state that matches, reported already or still to come. */
  state(predicate: (state: MqttIntakeState) => boolean): Promise<MqttIntakeState>;
}

function run(options: { url?: string; topic: string; clientId: string; store: () => KvStore; committed: string[] }) {
  const states: MqttIntakeState[] = [];
  const waiting: Array<{ predicate: (state: MqttIntakeState) => boolean; resolve: (s: MqttIntakeState) => void }> = [];
  const intake = new MqttIntake({
    url: options.url ?? BROKER,
    topic: options.topic,
    clientId: options.clientId,
    claim: false,
    intake: recordingIntake(options.committed),
    store: options.store,
    onResult: () => undefined,
    onState: (state) => {
      states.push(state);
      for (const waiter of waiting.filter((entry) => entry.predicate(state))) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve(state);
      }
    },
  });
  intake.start();
  const running: Running = {
    intake,
    states,
    state: (predicate) => {
      const seen = states.find(predicate);
      return seen ? Promise.resolve(seen) : new Promise((resolve) => waiting.push({ predicate, resolve }));
    },
  };
  return running;
}

const isConnected = (state: MqttIntakeState) => state.state === 'connected';
const isError = (state: MqttIntakeState) => state.state === 'error';

/** Resolves once `committed` holds `body`. */
function committedAlready(committed: string[], body: string): Promise<true> {
  return waitFor(`"${body}" to be committed`, async () => (committed.includes(body) ? true : undefined), {
    timeoutMs: 10_000,
    intervalMs: 20,
  });
}

describe('MqttIntake session on the test broker', () => {
  let publisher: MqttClient;
  const sessions: string[] = [];
  beforeAll(async () => {
    publisher = await connectAsync(BROKER, { protocolVersion: 5, clientId: clientIdOf('pub') });
  });
  afterAll(async () => {
    await publisher.endAsync();
    // Ends the sessions the tests left, so the broker stops keeping messages for them.
    for (const clientId of sessions) {
      const client = await connectAsync(BROKER, { protocolVersion: 5, clientId, clean: true });
      await client.endAsync();
    }
  });

  function session(name: string): string {
    const clientId = clientIdOf(name);
    sessions.push(clientId);
    return clientId;
  }

  it('keeps the session on close: messages published while the node is closed (disabled) arrive afterwards', async () => {
    const clientId = session('kept');
    const store = memoryStore();
    const committed: string[] = [];
    const first = run({ topic: topicOf('kept'), clientId, store: () => store, committed });
    await first.state(isConnected);
    await first.intake.close();

    await publisher.publishAsync(topicOf('kept'), 'while-closed-1', { qos: 1 });
    await publisher.publishAsync(topicOf('kept'), 'while-closed-2', { qos: 1 });
    const again = run({ topic: topicOf('kept'), clientId, store: () => store, committed });
    await committedAlready(committed, 'while-closed-2');
    await again.intake.close();
    expect(committed).toEqual(['while-closed-1', 'while-closed-2']);
  });

  it('unsubscribes the topic the node had before a redeploy, so its messages are no longer accepted', async () => {
    const clientId = session('changed');
    const store = memoryStore();
    const committed: string[] = [];
    const before = run({ topic: topicOf('changed-old'), clientId, store: () => store, committed });
    await before.state(isConnected);
    await before.intake.close();

    const after = run({ topic: topicOf('changed-new'), clientId, store: () => store, committed });
    await after.state(isConnected);
    // One publisher, one subscriber session: mosquitto delivers in the order published, so once the second message
    // is in, the first would have been too.
    await publisher.publishAsync(topicOf('changed-old'), 'on-old-topic', { qos: 1 });
    await publisher.publishAsync(topicOf('changed-new'), 'on-new-topic', { qos: 1 });
    await committedAlready(committed, 'on-new-topic');
    await after.intake.close();
    expect(committed).toEqual(['on-new-topic']);
    // Only the filter the session has now is left in the record.
    expect(store.values.get(`${SUBSCRIPTIONS_NAMESPACE}/${clientId}`)).toEqual([topicOf('changed-new')]);
  });

  it('drops the plain subscription when the topic becomes a shared one: each message is taken once', async () => {
    const clientId = session('shared');
    const store = memoryStore();
    const committed: string[] = [];
    const plain = run({ topic: topicOf('shared'), clientId, store: () => store, committed });
    await plain.state(isConnected);
    await plain.intake.close();

    const shared = run({ topic: `$share/${RUN}/${topicOf('shared')}`, clientId, store: () => store, committed });
    await shared.state(isConnected);
    await publisher.publishAsync(topicOf('shared'), 'first', { qos: 1 });
    await publisher.publishAsync(topicOf('shared'), 'second', { qos: 1 });
    await committedAlready(committed, 'second');
    await shared.intake.close();
    expect(committed.filter((body) => body === 'first')).toHaveLength(1);
  });

  it('subscribes only once the store has said which filters the session has, trying again while it cannot', async () => {
    const clientId = session('store-down');
    const store = memoryStore();
    let unavailable = true;
    const committed: string[] = [];
    const intake = run({
      topic: topicOf('store-down'),
      clientId,
      store: () => {
        if (unavailable) throw new Error('The finance store is closed.');
        return store;
      },
      committed,
    });
    const failed = await intake.state(isError);
    expect(failed).toMatchObject({ error: { code: 'STORE_UNAVAILABLE' } });
    expect(intake.states.some(isConnected)).toBe(false);

    unavailable = false;
    await intake.state(isConnected);
    await intake.intake.close();
    expect(store.values.get(`${SUBSCRIPTIONS_NAMESPACE}/${clientId}`)).toEqual([topicOf('store-down')]);
  });
});

/** A free port of the range this suite's own servers use. */
async function freePortInRange(first = 43500, last = 43549): Promise<number> {
  for (let port = first; port <= last; port += 1) {
    const free = await new Promise<boolean>((resolve) => {
      const server = net.createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error(`No free port in ${first}-${last}.`);
}

describe('MqttIntake on a broker that grants only QoS 0', () => {
  let broker: ChildProcess;
  let url: string;
  let dir: string;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-sync-qos0-'));
    const port = await freePortInRange();
    const config = path.join(dir, 'mosquitto.conf');
    fs.writeFileSync(config, `listener ${port} 127.0.0.1\nallow_anonymous true\nmax_qos 0\npersistence false\n`);
    broker = spawn('mosquitto', ['-c', config], { stdio: 'ignore' });
    url = `mqtt://127.0.0.1:${port}`;
    await waitFor('mosquitto (max_qos 0) to listen', () =>
      connectAsync(url, { protocolVersion: 5, reconnectPeriod: 0 }).then((client) =>
        client.endAsync().then(() => true),
      ),
    );
  });
  afterAll(async () => {
    const exited = new Promise((resolve) => broker.once('exit', resolve));
    broker.kill('SIGTERM');
    await exited;
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses the QoS 0 grant with a CONFIG_INVALID error instead of "connected", and takes no event', async () => {
    const topic = topicOf('qos0');
    const committed: string[] = [];
    const store = memoryStore();
    const intake = run({ url, topic, clientId: clientIdOf('qos0'), store: () => store, committed });
    const failed = await intake.state((state) => isError(state) || isConnected(state));
    expect(failed).toMatchObject({ state: 'error', error: { code: 'CONFIG_INVALID' } });
    expect((failed as { error: Error }).error.message).toMatch(/granted QoS 0.*needs QoS 1 \(at least once\)/);

    // Once another subscriber has a message, the intake would have it too if it were still subscribed.
    const watcher = await connectAsync(url, { protocolVersion: 5, clientId: clientIdOf('qos0-watcher') });
    const seen = new Promise<void>((resolve) => watcher.once('message', () => resolve()));
    await watcher.subscribeAsync(topic, { qos: 0 });
    await watcher.publishAsync(topic, 'at-qos-0', { qos: 0 });
    await seen;
    await watcher.endAsync();
    await intake.intake.close();
    expect(committed).toEqual([]);
    expect(intake.states.some(isConnected)).toBe(false);
  });
});
