/**
 * finance-event-in in mode poll (Coupa) keeps the node's promise of at most DEFAULT_MAX_IN_FLIGHT events in the
 * flow, like its other transports: a backlog in Coupa is committed and marked exported, the rest waits in the
 * store and leaves as earlier events finish. Polled events are leased to the node's process-qualified owner, so
 * a restarted process recognises them as its own earlier process's.
 */
import * as path from 'node:path';
import { helper, tempDir } from '../support/node-red';
import financeEventIn = require('../../nodes/finance-event-in/finance-event-in');
import financeSource = require('../../nodes/finance-source/finance-source');
import financeStore = require('../../nodes/finance-store/finance-store');
import type { FinanceStoreNode } from '../../nodes/shared/config-nodes';
import { DEFAULT_MAX_IN_FLIGHT } from '../../lib/intake/in-flight';
import { nodeIdOfOwner } from '../../lib/intake/recovery';
import { inboxKey } from '../../lib/reliability/store';
import { coupaStoreOf } from '../../lib/sandbox/coupa';
import { startSandbox, type SandboxHandle } from '../../lib/sandbox/server';

const NODES = [financeSource, financeStore, financeEventIn];
const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('finance-event-in, mode poll: the in-flight window', () => {
  const temp = tempDir('event-in-poll-window');
  let sandbox: SandboxHandle;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
  });
  afterEach(async () => {
    await helper.unload();
  });
  afterAll(async () => {
    await sandbox.close();
    temp.remove();
  });

  const store = () => (helper.getNode('store') as FinanceStoreNode).store();

  it('emits at most the window of a Coupa backlog; the rest wait in the store, leased to this process', async () => {
    const coupa = coupaStoreOf(sandbox.state);
    // With the seed's approved requisition 1001: the window and four more.
    const total = DEFAULT_MAX_IN_FLIGHT + 4;
    for (let id = 5001; id < 5000 + total; id += 1) {
      coupa.upsert('requisitions', {
        id,
        status: 'approved',
        'requested-by': { 'employee-number': 'E1017' },
        currency: { code: 'EUR' },
        'requisition-lines': [
          {
            'line-num': 1,
            description: 'Cloud credits',
            quantity: '2',
            'unit-price': '50.00',
            supplier: { number: 'SUP-1001' },
            account: { 'segment-2': 'CC-400', 'segment-3': '6210' },
          },
        ],
      });
    }
    await helper.load(NODES, [
      { id: 'tab', type: 'tab' },
      { id: 'src', type: 'finance-source', profile: 'coupa', apiBaseUrl: `${sandbox.url}/coupa` },
      { id: 'store', type: 'finance-store', path: path.join(temp.dir, 'store') },
      {
        id: 'in',
        z: 'tab',
        type: 'finance-event-in',
        mode: 'poll',
        pollSeconds: '60',
        source: 'src',
        store: 'store',
        wires: [['accepted'], []],
      },
      { id: 'accepted', z: 'tab', type: 'helper' },
    ]);
    const accepted: any[] = [];
    helper.getNode('accepted').on('input', (msg: any) => accepted.push(msg));

    // The round ends once every requisition is committed and marked exported.
    const approved = () => coupa.all('requisitions').filter((document) => document.status === 'approved');
    for (let i = 0; i < 600 && approved().some((document) => document.exported !== true); i += 1) await pause(50);
    expect(approved().every((document) => document.exported === true)).toBe(true);
    expect(await store().countOpen()).toBe(total);
    expect(accepted).toHaveLength(DEFAULT_MAX_IN_FLIGHT);

    const owners = new Set((await store().listOpen({ limit: total })).map((entry) => entry.leaseOwner));
    expect(owners.size).toBe(1);
    const [owner] = [...owners];
    expect(owner).not.toBe('in');
    expect(nodeIdOfOwner(owner!)).toBe('in');

    // One finishes downstream: one that waited in the store leaves, on its first delivery.
    await store().finish(inboxKey(accepted[0].finance.source, accepted[0].finance.id), { status: 'posted' });
    for (let i = 0; i < 200 && accepted.length === DEFAULT_MAX_IN_FLIGHT; i += 1) await pause(25);
    expect(accepted).toHaveLength(DEFAULT_MAX_IN_FLIGHT + 1);
    expect(accepted[DEFAULT_MAX_IN_FLIGHT].finance.attempt).toBe(1);
  }, 60_000);
});
