/**
 * An event that waited in the MQTT intake's persistent session longer than the signature tolerance (the node was
 * stopped for a few minutes: a restart, an upgrade) is stored, not refused as stale and then dropped by the
 * broker. Against the test broker (mosquitto on 127.0.0.1:1883) with a real LMDB store and the real Intake.
 */
import { randomUUID } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import type { IntakeAccepted, IntakeDuplicate, IntakeRejected } from '../../../lib/intake/intake';
import { MqttIntake } from '../../../lib/intake/mqtt-intake';
import { inboxKey, type FinanceStore } from '../../../lib/reliability/store';
import { sampleEvent } from '../../../lib/sources/sampleEvents';
import { intakeFor, SECRET, storeSandbox } from './fixtures';

const BROKER = 'mqtt://127.0.0.1:1883';
/** Unique per run, so runs never see each other's messages or sessions. */
const RUN = randomUUID().slice(0, 8);
const TOPIC = `FI-${RUN}/held`;
const CLIENT_ID = `FI-${RUN}-held`;

type Result = IntakeAccepted | IntakeDuplicate | IntakeRejected;

describe('MqttIntake with a signed event the session kept while the node was stopped', () => {
  const sandbox = storeSandbox('mqtt-held');
  let store: FinanceStore;
  let publisher: MqttClient;
  /** Added to the clock of the intake: how long the node was away. */
  let awayMs = 0;

  beforeAll(async () => {
    store = sandbox.open();
    publisher = await connectAsync(BROKER, { protocolVersion: 5, clientId: `FI-${RUN}-pub` });
  });
  afterAll(async () => {
    await publisher.endAsync();
    // Ends the session, so the broker stops keeping messages for it.
    const client = await connectAsync(BROKER, {
      protocolVersion: 5,
      clientId: CLIENT_ID,
      clean: true,
      properties: { sessionExpiryInterval: 0 },
    });
    await client.endAsync();
    await sandbox.cleanup();
  });

  function subscription(results: Result[]): { intake: MqttIntake; connected: Promise<void> } {
    let ready!: () => void;
    const connected = new Promise<void>((resolve) => (ready = resolve));
    const intake = new MqttIntake({
      url: BROKER,
      topic: TOPIC,
      clientId: CLIENT_ID,
      claim: false,
      intake: intakeFor(store, { now: () => Date.now() + awayMs }),
      store: () => store,
      onResult: (result) => results.push(result),
      onState: (state) => {
        if (state.state === 'connected') ready();
      },
    });
    intake.start();
    return { intake, connected };
  }

  async function until(condition: () => boolean, ms = 10_000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 25));
  }

  it('stores it after a stop of 6 minutes, and a redelivery of it is a duplicate', async () => {
    const results: Result[] = [];
    // The session and its subscription exist; then the node stops.
    const first = subscription(results);
    await first.connected;
    await first.intake.close();

    const event = sampleEvent({ profile: 'cloudevents', seed: 77, secret: SECRET });
    await publisher.publishAsync(TOPIC, event.rawBody, { qos: 1, properties: { userProperties: event.headers } });

    awayMs = 6 * 60 * 1000; // it comes back 6 minutes later: the signed timestamp is beyond the 300 s tolerance
    const second = subscription(results);
    await second.connected;
    await until(() => results.length > 0);
    await second.intake.close();

    expect(results.map((result) => result.outcome)).toEqual(['accepted']);
    const body = JSON.parse(event.rawBody.toString('utf8')) as { id: string; source: string };
    const entry = await store.get(inboxKey(body.source, body.id));
    expect(entry?.envelope).toMatchObject({ id: body.id, source: body.source });

    // The same bytes published again (a replay through the broker) are answered as a duplicate.
    const third = subscription(results);
    await third.connected;
    await publisher.publishAsync(TOPIC, event.rawBody, { qos: 1, properties: { userProperties: event.headers } });
    await until(() => results.length > 1);
    await third.intake.close();
    expect(results.map((result) => result.outcome)).toEqual(['accepted', 'duplicate']);
  }, 30_000);
});
