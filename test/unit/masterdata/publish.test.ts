import { randomUUID } from 'node:crypto';
import { connect } from 'mqtt';
import { RetainedPublisher, recordTopic } from '../../../lib/masterdata';

/** Against the Mosquitto broker on 127.0.0.1:1883, under a topic prefix of its own. */
describe('RetainedPublisher: one retained message per record', () => {
  const prefix = `test/finance-md/${randomUUID()}`;
  const publisher = new RetainedPublisher({ brokerUrl: 'mqtt://127.0.0.1:1883', topicPrefix: prefix });
  afterAll(() => publisher.close());

  async function retained(): Promise<Map<string, string>> {
    const client = connect('mqtt://127.0.0.1:1883', { clientId: `finance-md-test-${randomUUID()}` });
    const seen = new Map<string, string>();
    client.on('message', (topic, payload, packet) => {
      if (packet.retain) seen.set(topic, payload.toString());
    });
    await new Promise<void>((resolve, reject) => {
      client.once('connect', () =>
        client.subscribe(`${prefix}/#`, { qos: 1 }, (err) => (err ? reject(err) : resolve())),
      );
      client.once('error', reject);
    });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await client.endAsync();
    return seen;
  }

  it('a late subscriber receives the current copy of each record; a removal clears its topic', async () => {
    const e1 = { id: 'E1', name: 'One', active: true, modifiedAt: '2026-03-01T00:00:00.000Z' };
    const e1b = { ...e1, name: 'One, renamed', modifiedAt: '2026-03-02T00:00:00.000Z' };
    const e2 = { id: 'E/2', name: 'Two', active: true, modifiedAt: '2026-03-01T00:00:00.000Z' };
    await publisher.publish({ kind: 'employees', id: 'E1', change: 'created', after: e1 });
    await publisher.publish({ kind: 'employees', id: 'E1', change: 'updated', before: e1, after: e1b });
    await publisher.publish({ kind: 'employees', id: 'E/2', change: 'created', after: e2 });
    expect(recordTopic(prefix, { kind: 'employees', id: 'E/2' })).toBe(`${prefix}/employees/E%2F2`);
    // Reversible: ids that differ keep different topics (A/B and A_B shared one when / became _).
    const ids = ['A/B', 'A_B', 'A%2FB', 'A+B', 'A#B', 'A\u0000B', 'A%B'];
    const topics = ids.map((id) => recordTopic(prefix, { kind: 'costCenters', id }));
    expect(new Set(topics).size).toBe(ids.length);
    expect(topics.map((topic) => decodeURIComponent(topic.split('/').at(-1)!))).toEqual(ids);

    const first = await retained();
    expect(JSON.parse(first.get(`${prefix}/employees/E1`)!)).toEqual(e1b);
    expect(JSON.parse(first.get(`${prefix}/employees/E%2F2`)!)).toEqual(e2);

    await publisher.publish({ kind: 'employees', id: 'E/2', change: 'removed', before: e2 });
    await publisher.publish({ kind: 'employees', id: 'E1', change: 'removed', before: e1b });
    expect((await retained()).size).toBe(0);
  });
});
