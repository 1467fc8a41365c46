/**
 * MqttIntake against the test broker (mosquitto on 127.0.0.1:1883), with a stand-in intake whose commit takes
 * 20 ms: enough for messages to queue up behind the one being committed, as they do under load.
 */
import { randomUUID } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import type { Intake } from '../../../lib/intake/intake';
import { MqttIntake } from '../../../lib/intake/mqtt-intake';

const BROKER = 'mqtt://127.0.0.1:1883';
/** Unique per run, so runs never see each other's messages or sessions. */
const RUN = randomUUID().slice(0, 8);
const COMMIT_MS = 20;

/** Commits every message after COMMIT_MS and remembers the numbers of the ones it committed. */
function slowIntake(committed: number[]): Intake {
  return {
    check: (event: { rawBody: Buffer }) => ({
      outcome: 'checked',
      event: { key: event.rawBody.toString('utf8', 0, 8) },
    }),
    commit: (event: { key: string }) =>
      new Promise((resolve) =>
        setTimeout(() => {
          committed.push(Number(event.key));
          resolve({ outcome: 'accepted', httpStatus: 202 });
        }, COMMIT_MS),
      ),
  } as unknown as Intake;
}

/** The store's kv space, in memory: where the intake remembers the filter of its session. */
const kvValues = new Map<string, unknown>();
const kv = {
  kvGet: async (namespace: string, key: string) => kvValues.get(`${namespace}/${key}`),
  kvPut: async (namespace: string, key: string, value: unknown) => {
    kvValues.set(`${namespace}/${key}`, value);
  },
};

/** Starts a subscription and resolves once it is subscribed. */
async function subscribed(name: string, committed: number[], delivered: number[] = []): Promise<MqttIntake> {
  let ready!: () => void;
  const connected = new Promise<void>((resolve) => (ready = resolve));
  const intake = new MqttIntake({
    url: BROKER,
    topic: `finance-sync-test/${RUN}/${name}`,
    clientId: `finance-sync-test-${RUN}-${name}`,
    claim: false,
    intake: slowIntake(committed),
    store: () => kv,
    onResult: (_result, message) => delivered.push(Number(message.rawBody.toString('utf8', 0, 8))),
    onState: (state) => {
      if (state.state === 'connected') ready();
    },
  });
  intake.start();
  await connected;
  return intake;
}

/** Closes within `ms`, or says it did not. */
async function closesWithin(intake: MqttIntake, ms: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still not closed'), ms)));
  const result = await Promise.race([intake.close().then(() => 'closed'), timeout]);
  clearTimeout(timer);
  return result;
}

describe('MqttIntake.close', () => {
  let publisher: MqttClient;
  beforeAll(async () => {
    publisher = await connectAsync(BROKER, { protocolVersion: 5, clientId: `finance-sync-test-${RUN}-pub` });
  });
  afterAll(async () => {
    await publisher.endAsync();
    // Ends any session a failed test left, so the broker stops keeping messages for it.
    for (const name of ['queued']) {
      const client = await connectAsync(BROKER, { protocolVersion: 5, clientId: `finance-sync-test-${RUN}-${name}` });
      await client.endAsync();
    }
  });

  /** 300 messages of 2 KB, each starting with its number (8 digits). */
  async function publishMany(name: string, count = 300): Promise<void> {
    await Promise.all(
      Array.from({ length: count }, (_, index) => {
        const payload = Buffer.alloc(2000, 0x61);
        payload.write(String(index).padStart(8, '0'));
        return publisher.publishAsync(`finance-sync-test/${RUN}/${name}`, payload, { qos: 1 });
      }),
    );
  }

  it('finishes at once with messages queued, and the broker delivers the unacknowledged ones again', async () => {
    const committed: number[] = [];
    const first = await subscribed('queued', committed);
    await publishMany('queued');
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await closesWithin(first, 3_000)).toBe('closed');

    // The same session again: everything the first run did not acknowledge comes back; nothing is lost.
    const delivered: number[] = [];
    const second = await subscribed('queued', committed, delivered);
    const deadline = Date.now() + 20_000;
    while (new Set(committed).size < 300 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(await closesWithin(second, 3_000)).toBe('closed');
    expect(new Set(committed).size).toBe(300);
  });
});
