import { randomUUID } from 'node:crypto';
import { connect, type MqttClient } from 'mqtt';
import { compileTopicTemplate, MqttWritebackTarget } from '../../../lib/writeback/mqtt-target';
import type { WritebackRequest } from '../../../lib/writeback/target';

/** The real Mosquitto broker of the test host. */
const BROKER = 'mqtt://127.0.0.1:1883';

const request: WritebackRequest = {
  outcome: {
    system: 'concur',
    documentId: 'RPT/1001',
    status: 'posted',
    erpRef: { system: 'erp', dialect: 'sandbox', documentType: 'journal', documentId: 'd-1', number: 'JNL-000042' },
    correlationId: 'corr-1',
  },
  idempotencyKey: 'fs1-key',
  correlationId: 'corr-1',
  at: '2026-03-11T10:00:00.000Z',
};

describe('compileTopicTemplate', () => {
  it('fills the placeholders with values made safe as single topic levels', () => {
    const topic = compileTopicTemplate('fin/{system}/{documentId}/{status}');
    expect(topic(request.outcome)).toBe('fin/concur/RPT_1001/posted');
    expect(topic({ ...request.outcome, documentId: 'a+b#c' })).toBe('fin/concur/a_b_c/posted');
  });

  it('refuses empty topics, wildcards, $-topics and unknown placeholders', () => {
    for (const template of ['', 'a/#', 'a/+/b', '$SYS/x', 'a/{reportId}']) {
      expect(() => compileTopicTemplate(template)).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
    }
  });
});

describe('MQTT write-back target against the real broker', () => {
  const prefix = `finance-sync-test/${randomUUID()}`;
  let subscriber: MqttClient;
  let target: MqttWritebackTarget | undefined;

  beforeAll(async () => {
    subscriber = connect(BROKER, { clientId: `sub-${randomUUID()}` });
    await new Promise<void>((resolve, reject) => {
      subscriber.once('connect', () => resolve());
      subscriber.once('error', reject);
    });
    await subscriber.subscribeAsync(`${prefix}/#`, { qos: 1 });
  });
  afterEach(async () => {
    await target?.close();
    target = undefined;
  });
  afterAll(async () => {
    await subscriber.endAsync(true);
  });

  it('publishes the status event with QoS 1, not retained, and resolves on the PUBACK', async () => {
    const states: string[] = [];
    target = new MqttWritebackTarget({
      brokerUrl: BROKER,
      topicTemplate: `${prefix}/{system}/{documentId}`,
      onState: (state) => states.push(state),
    });
    await waitFor(() => target!.connected);
    const received = new Promise<{ topic: string; payload: Buffer; qos: number; retain: boolean }>((resolve) => {
      subscriber.once('message', (topic, payload, packet) =>
        resolve({ topic, payload, qos: packet.qos, retain: packet.retain }),
      );
    });

    expect(await target.send(request)).toBe('sent');
    const message = await received;
    expect(message.topic).toBe(`${prefix}/concur/RPT_1001`);
    expect(message.qos).toBe(1);
    expect(message.retain).toBe(false);
    expect(JSON.parse(message.payload.toString('utf8'))).toEqual({
      ...request.outcome,
      idempotencyKey: 'fs1-key',
      at: '2026-03-11T10:00:00.000Z',
    });
    expect(states).toEqual(['connecting', 'connected']);
  });

  it('fails fast and retryably while the broker cannot be reached', async () => {
    target = new MqttWritebackTarget({ brokerUrl: 'mqtt://127.0.0.1:1', topicTemplate: `${prefix}/x` });
    await expect(target.send(request)).rejects.toMatchObject({
      code: 'ERP_UNAVAILABLE',
      retryable: true,
      message: expect.stringContaining('not connected'),
    });
  });

  it('refuses a broker address with credentials or another scheme', () => {
    expect(() => new MqttWritebackTarget({ brokerUrl: 'mqtt://u:p@127.0.0.1', topicTemplate: 'a' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('user name or password') }),
    );
    expect(() => new MqttWritebackTarget({ brokerUrl: 'http://127.0.0.1', topicTemplate: 'a' })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
