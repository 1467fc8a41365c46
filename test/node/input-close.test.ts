/**
 * A deploy while a node built on onInput (nodes/shared/node-input.ts) is still handling a message: the node's
 * close waits for it, so the message ends with done() (and its failure reaches the Catch node) before the node
 * is replaced, and a handler that never ends holds the close only for the bound.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { FinanceError } from '../../lib/errors';
import { onInput } from '../../nodes/shared/node-input';
import { coreNodes, helper } from '../support/node-red';

/** Ends the message being handled: resolve to succeed, reject to fail. */
let finish: { resolve: () => void; reject: (err: Error) => void } | undefined;
/** What happened, in order: "close" when Node-RED closed the node, "done" / "failed" when a message ended. */
let events: string[] = [];

interface SlowDef extends NodeDef {
  closeWaitMs?: number;
  label?: string;
}

/** A node whose handler ends when the test says so. */
function slowNode(RED: NodeAPI): void {
  function Slow(this: Node, def: SlowDef) {
    RED.nodes.createNode(this, def);
    onInput(
      this,
      async (msg, send) => {
        await new Promise<void>((resolve, reject) => {
          finish = { resolve, reject };
        });
        send(msg);
      },
      def.closeWaitMs === undefined ? {} : { closeWaitMs: def.closeWaitMs },
    );
    // Registered after onInput's close handler: Node-RED runs close handlers together, so this marks when the
    // close began; the close as a whole ends when helper.setFlows resolves.
    this.on('close', () => events.push('close'));
  }
  RED.nodes.registerType('slow-input', Slow as never);
}

const nodes = [slowNode, coreNodes.catch];

function flow(slow: Record<string, unknown>) {
  return [
    { id: 'tab', type: 'tab' },
    { id: 'slow', type: 'slow-input', z: 'tab', wires: [['out']], ...slow },
    { id: 'out', type: 'helper', z: 'tab' },
    { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab' },
  ];
}

async function started(): Promise<void> {
  const giveUpAt = Date.now() + 5000;
  while (!finish) {
    if (Date.now() > giveUpAt) throw new Error('the handler did not start');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('onInput on a deploy', () => {
  beforeEach(() => {
    finish = undefined;
    events = [];
  });
  afterEach(async () => {
    await helper.unload();
  });

  it('waits for a message that fails during a deploy, so the Catch node gets it before the node is replaced', async () => {
    await helper.load(nodes, flow({ label: 'first' }));
    helper
      .getNode('caught')
      .on('input', (msg: { error: { message: string } }) => events.push(`caught: ${msg.error.message}`));
    helper.getNode('slow').receive({ payload: 1 });
    await started();

    // Only the slow node changes: the Catch node keeps running through this deploy.
    const redeploy = helper.setFlows(flow({ label: 'second' }), 'nodes');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(events).toEqual(['close']);
    finish!.reject(new FinanceError('ERP_UNAVAILABLE', 'the ERP went away', { retryable: true }));
    await redeploy;

    expect(events).toEqual(['close', 'caught: FinanceError: the ERP went away']);
  });

  it('waits for a message that succeeds during the deploy', async () => {
    await helper.load(nodes, flow({ label: 'first' }));
    helper.getNode('out').on('input', () => events.push('sent'));
    helper.getNode('slow').receive({ payload: 1 });
    await started();

    const redeploy = helper.setFlows(flow({ label: 'second' }), 'nodes');
    await new Promise((resolve) => setTimeout(resolve, 100));
    finish!.resolve();
    await redeploy;

    expect(events).toEqual(['close', 'sent']);
  });

  it('holds the close only for the bound when a handler never ends', async () => {
    await helper.load(nodes, flow({ closeWaitMs: 300 }));
    helper.getNode('slow').receive({ payload: 1 });
    await started();

    const startedAt = Date.now();
    await helper.unload();

    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(250);
    expect(Date.now() - startedAt).toBeLessThan(3000);
  });

  it('closes at once when no message is in flight', async () => {
    await helper.load(nodes, flow({}));
    const startedAt = Date.now();
    await helper.unload();
    expect(Date.now() - startedAt).toBeLessThan(1000);
  });
});
