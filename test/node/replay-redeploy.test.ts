/**
 * A dead-letter replay cut off by a full redeploy (or a restart). The replayed message has no inbox entry the
 * intake's recovery would send again, so before the fix its letter stayed `replayed` while the document was never
 * posted. Now the dead-letter node marks the replay cut when it closes and sends it again when it starts.
 */
import * as path from 'node:path';
import type { Node } from 'node-red';
import type { DeadLetterQueue } from '../../lib/reliability/dead-letter-commands';
import { startSandbox, type SandboxHandle } from '../../lib/sandbox/server';
import { coreNodes, helper, tempDir } from '../support/node-red';
import { approvedReport } from '../unit/posting/fixtures';
import financeDeadLetter = require('../../nodes/finance-dead-letter/finance-dead-letter');
import financeErp = require('../../nodes/finance-erp/finance-erp');
import financeStore = require('../../nodes/finance-store/finance-store');
import financePost = require('../../nodes/finance-post/finance-post');

type Msg = Record<string, any>;
interface DeadLetterNode extends Node {
  queue(): DeadLetterQueue;
}

const nodes = [financeErp, financeStore, financePost, financeDeadLetter, coreNodes.catch];

describe('a dead-letter replay during a full redeploy', () => {
  const temp = tempDir('replay-redeploy');
  let sandbox: SandboxHandle;

  function flow() {
    return [
      { id: 'tab', type: 'tab' },
      {
        id: 'erp',
        type: 'finance-erp',
        z: 'tab',
        name: 'demo-erp',
        dialect: 'sandbox',
        baseUrl: sandbox.url,
        company: 'FS-DEMO',
        // One attempt: a failure is not parked but reported to Catch, which a redeploy has stopped.
        retryMaximumAttempts: '1',
        timeoutMs: '4000',
      },
      { id: 'store', type: 'finance-store', z: 'tab', path: path.join(temp.dir, 'store') },
      {
        id: 'post',
        type: 'finance-post',
        z: 'tab',
        erp: 'erp',
        store: 'store',
        kind: 'journal',
        postingDate: 'document',
        requireApproval: true,
        wires: [['posted'], []],
      },
      { id: 'posted', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: ['post'], uncaught: false, wires: [['dlq']] },
      { id: 'dlq', type: 'finance-dead-letter', z: 'tab', store: 'store', ratePerSecond: '10', wires: [['post'], []] },
    ];
  }

  function message(): Msg {
    const payload = approvedReport();
    return {
      payload,
      approval: { state: 'approved', sourceRef: payload.sourceRef },
      finance: {
        id: 'evt-replay-1',
        source: 'concur:company-1',
        correlationId: 'corr-replay-1',
        docType: 'ExpenseReport',
        docId: 'RPT-1001',
        version: 2,
        attempt: 1,
      },
    };
  }

  const queue = () => (helper.getNode('dlq') as DeadLetterNode).queue();
  const sandboxState = async () => (await fetch(`${sandbox.url}/_sandbox/state`)).json();
  const setFaults = (faults: object) =>
    fetch(`${sandbox.url}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(faults),
    });

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
  });
  afterAll(async () => {
    await setFaults({});
    await helper.unload();
    await sandbox.close();
    temp.remove();
  });

  it('is sent again by the redeployed flow: the document is posted once and the letter shows two replays', async () => {
    const deployed = flow();
    await helper.load(nodes, deployed);
    await setFaults({ errorRate: 1, errorStatus: 401 }); // refused credentials: not retryable, a dead letter
    helper.getNode('post').receive(message());
    await waitFor(async () => (await queue().letters.count({ status: 'open' })) === 1);
    const [letter] = (await queue().letters.list()).letters;

    await setFaults({ timeoutRate: 1 }); // the replayed write is held: still in flight at the redeploy
    helper.getNode('dlq').receive({ topic: 'replay', payload: 'all' });
    await waitFor(async () => (await queue().letters.count({ status: 'replayed' })) === 1);
    await new Promise((resolve) => setTimeout(resolve, 300));
    await setFaults({});

    await helper.setFlows(deployed, 'full');

    await waitFor(async () => (await sandboxState()).postings.length === 1, 25_000);
    const after = await queue().letters.get(letter.id);
    expect(after).toMatchObject({ status: 'replayed', replayCount: 2 });
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await sandboxState()).postings).toHaveLength(1);
  }, 45_000);
});

async function waitFor(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const giveUpAt = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error(`not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
