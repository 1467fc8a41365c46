/**
 * finance-event-in in mode mqtt across deploys, in a real Node-RED runtime against the test broker
 * (127.0.0.1:1883): what the broker session keeps while the node is disabled, and what it must not keep after the
 * topic changes.
 */
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import { connectAsync, type MqttClient } from 'mqtt';
import { helper, tempDir } from '../support/node-red';
import financeEventIn = require('../../nodes/finance-event-in/finance-event-in');
import financeSource = require('../../nodes/finance-source/finance-source');
import financeStore = require('../../nodes/finance-store/finance-store');
import { sampleEvent } from '../../lib/sources/sampleEvents';
import { waitFor } from '../support/processes';

const SECRET = 'event-in-session-test-secret';
const BROKER = 'mqtt://127.0.0.1:1883';
/** Every topic and client id of this run is unique, so runs never see each other's messages or sessions. */
const RUN = randomUUID().slice(0, 8);
const NODES = [financeSource, financeStore, financeEventIn];
const credentials = { src: { secret: SECRET } };

describe('finance-event-in (mode mqtt) across deploys', () => {
  const temp = tempDir('event-in-session');
  const clientIds: string[] = [];
  let publisher: MqttClient;
  /** finance.id of every event the node emitted on output 1, across deploys. */
  let accepted: string[];
  const listening = new WeakSet<object>();

  beforeAll(async () => {
    publisher = await connectAsync(BROKER, { protocolVersion: 5, clientId: `finance-sync-test-${RUN}-pub` });
  });
  beforeEach(() => {
    accepted = [];
  });
  afterEach(async () => {
    await helper.unload();
  });
  afterAll(async () => {
    await publisher.endAsync();
    // Ends the persistent sessions the tests created, so the broker stops keeping messages for them.
    for (const clientId of clientIds) {
      const client = await connectAsync(BROKER, { protocolVersion: 5, clientId, clean: true });
      await client.endAsync();
    }
    temp.remove();
  });

  function flow(name: string, options: { topic?: string; tabDisabled?: boolean; nodeDisabled?: boolean } = {}) {
    const clientId = `finance-sync-test-${RUN}-${name}`;
    if (!clientIds.includes(clientId)) clientIds.push(clientId);
    return [
      { id: 'tab', type: 'tab', disabled: options.tabDisabled === true },
      { id: 'src', type: 'finance-source', z: 'tab', profile: 'cloudevents' },
      { id: 'store', type: 'finance-store', z: 'tab', path: path.join(temp.dir, name) },
      {
        id: 'in',
        z: 'tab',
        type: 'finance-event-in',
        mode: 'mqtt',
        broker: BROKER,
        topic: options.topic ?? `finance-sync-test/${RUN}/${name}`,
        clientId,
        source: 'src',
        store: 'store',
        d: options.nodeDisabled === true,
        wires: [['accepted']],
      },
      { id: 'accepted', z: 'tab', type: 'helper' },
    ];
  }

  /** Deploys `nodes` (the first time with load) and resolves once the intake is subscribed. */
  async function deploy(nodes: object[], first: boolean, type: 'flows' | 'nodes' = 'flows'): Promise<void> {
    if (first) await helper.load(NODES, nodes, credentials);
    else await helper.setFlows(nodes, type, credentials);
    const output = helper.getNode('accepted');
    // A deploy of modified nodes only keeps the unchanged helper node, and its listener.
    if (!listening.has(output)) {
      listening.add(output);
      output.on('input', (msg: { finance: { id: string } }) => accepted.push(msg.finance.id));
    }
    await waitFor('the intake to be subscribed', async () => (statusTexts().includes('connected') ? true : undefined));
  }

  /** Deploys `nodes`, in which the intake is disabled. */
  async function deployDisabled(nodes: object[]): Promise<void> {
    await helper.setFlows(nodes, 'flows', credentials);
    expect(helper.getNode('in')).toBeFalsy();
  }

  /** The status texts of the intake deployed now (the spy is on the prototype: it has every instance's). */
  function statusTexts(): string[] {
    const node = helper.getNode('in');
    return (node.status as any)
      .getCalls()
      .filter((call: { thisValue: unknown }) => call.thisValue === node)
      .map((call: { args: Array<{ text?: string }> }) => call.args[0]?.text);
  }

  async function publish(topic: string, seed: number): Promise<string> {
    const event = sampleEvent({ seed, secret: SECRET });
    await publisher.publishAsync(topic, event.rawBody, { qos: 1, properties: { userProperties: event.headers } });
    return (JSON.parse(event.rawBody.toString()) as { id: string }).id;
  }

  const emitted = (id: string) =>
    waitFor(`event ${id} to be emitted`, async () => (accepted.includes(id) ? true : undefined), {
      timeoutMs: 10_000,
      intervalMs: 20,
    });

  it.each([
    ['its tab', { tabDisabled: true }],
    ['the node', { nodeDisabled: true }],
  ])(
    'keeps the broker session while %s is disabled: events published meanwhile arrive after enabling',
    async (what, disabled) => {
      const name = what === 'its tab' ? 'disabled-tab' : 'disabled-node';
      const topic = `finance-sync-test/${RUN}/${name}`;
      await deploy(flow(name), true);
      await deployDisabled(flow(name, disabled));
      const meanwhile = [await publish(topic, 41), await publish(topic, 42)];

      await deploy(flow(name), false);
      await emitted(meanwhile[1]);
      expect(accepted).toEqual(meanwhile);
    },
  );

  it('no longer accepts events on the old topic after a redeploy that changed it', async () => {
    const oldTopic = `finance-sync-test/${RUN}/changed-old`;
    const newTopic = `finance-sync-test/${RUN}/changed-new`;
    await deploy(flow('changed', { topic: oldTopic }), true);
    await deploy(flow('changed', { topic: newTopic }), false, 'nodes');

    // One publisher, one subscriber session: mosquitto delivers in the order published, so once the second event
    // is in, the first would have been too.
    await publish(oldTopic, 43);
    const onNewTopic = await publish(newTopic, 44);
    await emitted(onNewTopic);
    expect(accepted).toEqual([onNewTopic]);
  });
});
