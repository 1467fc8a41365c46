/**
 * Poll mode keeps the intake node's in-flight window (lib/intake/in-flight.ts, through InboxRecovery as the
 * admission): a backlog in Coupa is committed, marked exported and emitted only as far as the window has room;
 * the rest waits in the store, leased to the node's process-qualified owner, and recovery hands it out as slots
 * free.
 */
import { ErpClient } from '../../../lib/erp/client';
import { startCoupaPolling, type CoupaPollingOptions } from '../../../lib/intake/coupa-polling';
import { InFlightWindow } from '../../../lib/intake/in-flight';
import type { IntakeResult } from '../../../lib/intake/intake';
import { InboxRecovery, leaseOwnerFor } from '../../../lib/intake/recovery';
import type { FinanceStore, InboxEntry } from '../../../lib/reliability/store';
import { coupaStoreOf } from '../../../lib/sandbox/coupa';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';
import { getProfile } from '../../../lib/sources/profiles';
import { storeFolder } from '../posting/fixtures';

const OWNER = leaseOwnerFor('intake-node', 'host-1~3fa2b9c0/4f9e0c2d7a11');
const LEASE_MS = 60_000;

const until = async (what: () => boolean) => {
  for (let i = 0; i < 500 && !what(); i += 1) await new Promise((r) => setTimeout(r, 10));
  expect(what()).toBe(true);
};

describe('startCoupaPolling with the intake node in-flight window', () => {
  const folder = storeFolder('coupa-polling-window');
  let sandbox: SandboxHandle;
  let api: ErpClient;
  let store: FinanceStore;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    api = new ErpClient({ name: 'coupa', dialect: 'coupa', baseUrl: `${sandbox.url}/coupa`, auth: { type: 'none' } });
  });
  beforeEach(async () => {
    await fetch(`${sandbox.url}/_sandbox/reset`, { method: 'POST' });
    store = folder.open(Date.now);
  });
  afterAll(async () => {
    api.close();
    await sandbox.close();
    await folder.cleanup();
  });

  async function approvedRequisition(id: number): Promise<void> {
    const response = await fetch(`${sandbox.url}/_sandbox/coupa/requisitions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
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
      }),
    });
    expect(response.status).toBe(201);
  }

  it('emits a backlog only as far as the window has room; the rest waits in the store for recovery', async () => {
    // With the seed's approved requisition 1001: five documents for a window of two.
    for (const id of [3001, 3002, 3003, 3004]) await approvedRequisition(id);
    const handedOut: InboxEntry[] = [];
    const recovery = new InboxRecovery({
      store: () => store,
      owner: OWNER,
      leaseMs: LEASE_MS,
      intervalMs: 60_000,
      window: new InFlightWindow(2),
      verdict: () => 'recover',
      emit: (entry) => handedOut.push(entry),
      onError: (error) => {
        throw error;
      },
    });
    const results: IntakeResult[] = [];
    const options: CoupaPollingOptions = {
      http: api,
      profile: getProfile('coupa', {}),
      resource: 'requisitions',
      store: () => store,
      key: 'intake-node',
      intervalMs: 60_000,
      maxBytes: 1_000_000,
      lease: { owner: OWNER, ms: LEASE_MS },
      admission: recovery,
      onResult: (result) => results.push(result),
    };

    const polling = startCoupaPolling(options);
    await until(() => results.length === 5);
    await polling.stop();

    expect(results.map((result) => result.outcome)).toEqual(Array(5).fill('accepted'));
    const emitted = results.filter((result) => result.outcome === 'accepted' && !result.waiting);
    expect(emitted).toHaveLength(2);
    // Every one is durable, marked exported in Coupa, and owned by the node's process-qualified owner.
    const open = await store.listOpen();
    expect(open).toHaveLength(5);
    expect(open.map((entry) => entry.leaseOwner)).toEqual(Array(5).fill(OWNER));
    const coupa = coupaStoreOf(sandbox.state);
    for (const id of [1001, 3001, 3002, 3003, 3004]) expect(coupa.get('requisitions', id)?.exported).toBe(true);

    // One in flight finishes: recovery hands out one that waited, and no more.
    expect(handedOut).toHaveLength(0);
    const [first] = emitted;
    await store.finish((first as { key: string }).key, { status: 'posted' });
    await until(() => handedOut.length === 1);
    await recovery.stop();
    expect(handedOut).toHaveLength(1);
    expect(handedOut[0].leaseOwner).toBe(OWNER);
  });
});
