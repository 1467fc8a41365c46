/**
 * The shared hook: a node's outcomes reach the observation hub from onInput (node-input.ts) without any code
 * in the node: which output a message left through, a message that left through none, a failure with its code.
 */
import { EventEmitter } from 'node:events';
import type { Node } from 'node-red';
import { FinanceError } from '../../lib/errors';
import { observations } from '../../lib/observe/hub';
import type { Observation } from '../../lib/observe/observation';
import { onInput } from '../../nodes/shared/node-input';

function fakeNode(type: string): Node & EventEmitter {
  const node = new EventEmitter() as Node & EventEmitter;
  Object.assign(node, { type, id: `${type}-id`, name: 'my node', status: () => undefined });
  return node;
}

const envelope = {
  id: 'evt-1',
  source: 'concur:ACME',
  correlationId: 'corr-1',
  docType: 'ExpenseReport',
  docId: 'R-1',
  attempt: 1,
};

function run(node: Node & EventEmitter, msg: object): Promise<Error | undefined> {
  return new Promise((resolve) => node.emit('input', msg, () => undefined, resolve));
}

describe('the observation hook in onInput', () => {
  const seen: Observation[] = [];
  let stop: () => void;
  beforeEach(() => {
    seen.length = 0;
    stop = observations.subscribe((observation) => seen.push(observation));
  });
  afterEach(() => stop());

  it('reports each message sent with the name of its output, with the facts of its envelope and ERP reference', async () => {
    const node = fakeNode('finance-post');
    onInput(node, async (msg, send) => {
      send([null, { ...msg, erp: { system: 'BC', number: 'JNL-1', httpStatus: 422, token: 'never' } } as never]);
    });
    await run(node, { finance: envelope, headers: { authorization: 'Bearer x' } });
    expect(seen).toEqual([
      expect.objectContaining({
        kind: 'outcome',
        node: { type: 'finance-post', id: 'finance-post-id', name: 'my node' },
        output: 'refused',
        correlationId: 'corr-1',
        system: 'concur:ACME',
        process: 'expense',
        sourceIds: { eventId: 'evt-1', docType: 'ExpenseReport', docId: 'R-1' },
        erp: { system: 'BC', number: 'JNL-1', httpStatus: 422 },
      }),
    ]);
    expect(JSON.stringify(seen)).not.toMatch(/Bearer|never/);
  });

  it("reports a failure with its code, and a message kept without output under the node type's silent outcome", async () => {
    const failing = fakeNode('finance-writeback');
    onInput(failing, async () => {
      throw new FinanceError('ERP_TIMEOUT', 'no answer', { httpStatus: 504, retryable: true });
    });
    expect(await run(failing, { finance: envelope })).toMatchObject({ code: 'ERP_TIMEOUT' });
    const keeping = fakeNode('finance-dead-letter');
    onInput(keeping, async () => undefined);
    await run(keeping, { finance: envelope });
    expect(seen.map((o) => [o.kind, o.node?.type, o.output ?? o.error?.code])).toEqual([
      ['failure', 'finance-writeback', 'ERP_TIMEOUT'],
      ['outcome', 'finance-dead-letter', 'dead-lettered'],
    ]);
    expect(seen[0]!.error).toEqual({ code: 'ERP_TIMEOUT', httpStatus: 504 });
  });

  it('adds the facts a node names (finance-map: the mapping used)', async () => {
    const node = fakeNode('finance-map');
    onInput(node, async (msg, send) => send([msg, null]), {
      facts: () => ({ mapping: { profile: 'concur', version: '0.1.0' } }),
    });
    await run(node, { finance: envelope });
    expect(seen[0]).toMatchObject({ output: 'valid', mapping: { profile: 'concur', version: '0.1.0' } });
  });
});
