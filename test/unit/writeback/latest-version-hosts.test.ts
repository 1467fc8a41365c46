/**
 * LatestVersionGuard across hosts and nodes: two guards on one store (two hosts on one PostgreSQL store, each
 * with its own process queue, or two write-back nodes of one process on one LMDB store) write back one document
 * one at a time, and an older version never lands after a newer one nor lowers the recorded version.
 */
import { KeyedQueue } from '../../../lib/purchasing/keyed-queue';
import type { FinanceStore } from '../../../lib/reliability/store';
import { LatestVersionGuard, lockTtlMs, WRITEBACK_VERSIONS_NAMESPACE } from '../../../lib/writeback/latest-version';
import { manualClock, storeSandbox, type Clock } from '../store/store-fixture';

const KEY = 'coupa:coupa:Requisition:1001';
const WRITE_TIMEOUT_MS = 1000;

/** A write the test finishes when it wants to: `started` resolves once the write runs, `finish()` ends it. */
function heldWrite(landed: string[], status: string) {
  let finish!: () => void;
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const task = async () => {
    started();
    await finished;
    landed.push(status);
    return { value: status, written: true };
  };
  return { task, running, finish };
}

describe('LatestVersionGuard on a store two hosts share (postgres)', () => {
  const sandbox = storeSandbox('wb-latest-version', 'postgres');
  let clock: Clock;
  let hostA: FinanceStore;
  let hostB: FinanceStore;
  let guardA: LatestVersionGuard;
  let guardB: LatestVersionGuard;
  let landed: string[];

  beforeEach(() => {
    clock = manualClock();
    const location = sandbox.newPath();
    hostA = sandbox.open({ path: location, now: clock.now });
    hostB = sandbox.open({ path: location, now: clock.now });
    // Two hosts: each its own process, so each its own queue; only the store's lease keeps them apart.
    const timeouts = { writeTimeoutMs: WRITE_TIMEOUT_MS };
    guardA = new LatestVersionGuard(hostA, { holderPrefix: 'wb-a', queue: new KeyedQueue(), ...timeouts });
    guardB = new LatestVersionGuard(hostB, { holderPrefix: 'wb-b', queue: new KeyedQueue(), ...timeouts });
    landed = [];
  });
  afterAll(() => sandbox.cleanup());

  const write = (status: string) => async () => {
    landed.push(status);
    return { value: status, written: true };
  };
  const recorded = () => hostB.kvGet(WRITEBACK_VERSIONS_NAMESPACE, KEY);

  it('refuses, retryably and without sending, a write-back while another guard writes the document', async () => {
    const ordered = heldWrite(landed, 'ordered v1');
    const first = guardA.run(KEY, 1, ordered.task);
    await ordered.running;

    await expect(guardB.run(KEY, 2, write('cancelled v2'))).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: true,
      details: { sent: false },
    });
    ordered.finish();
    expect(await first).toBe('ordered v1');
    expect(landed).toEqual(['ordered v1']);

    // The first guard gave its lease back (shortened to 1 ms): the retry goes through a moment later.
    clock.advance(1);
    expect(await guardB.run(KEY, 2, write('cancelled v2'))).toBe('cancelled v2');
    clock.advance(1);
    expect(await guardA.run(KEY, 1, write('ordered v1 again'))).toBe('superseded');
    expect(landed).toEqual(['ordered v1', 'cancelled v2']);
    expect(await recorded()).toBe(2);
  });

  it('never lowers the recorded version, even when a write outlasted its lease', async () => {
    const slow = heldWrite(landed, 'ordered v1');
    const first = guardA.run(KEY, 1, slow.task);
    await slow.running;
    clock.advance(lockTtlMs(WRITE_TIMEOUT_MS));

    expect(await guardB.run(KEY, 2, write('cancelled v2'))).toBe('cancelled v2');
    slow.finish();
    await first;
    expect(await recorded()).toBe(2);
    clock.advance(1);
    expect(await guardA.run(KEY, 1, write('ordered v1 again'))).toBe('superseded');
  });

  it('keeps the lease in the store while a write outlasts its TTL, renewing it as it runs', async () => {
    let renewed!: () => void;
    const renewal = new Promise<void>((resolve) => (renewed = resolve));
    const renewing = new LatestVersionGuard(
      {
        sharedAcrossHosts: hostA.sharedAcrossHosts,
        kvGet: hostA.kvGet.bind(hostA),
        kvPut: hostA.kvPut.bind(hostA),
        claimLease: async (...args: Parameters<FinanceStore['claimLease']>) => {
          const claimed = await hostA.claimLease(...args);
          if (claimed && clock.now() > start) renewed();
          return claimed;
        },
      },
      { holderPrefix: 'wb-a', queue: new KeyedQueue(), writeTimeoutMs: WRITE_TIMEOUT_MS, renewEveryMs: 10 },
    );
    const start = clock.now();
    const slow = heldWrite(landed, 'ordered v1');
    const first = renewing.run(KEY, 1, slow.task);
    await slow.running;
    clock.advance(lockTtlMs(WRITE_TIMEOUT_MS) - 1);
    await renewal;
    clock.advance(2); // past the TTL of the first claim
    await expect(guardB.run(KEY, 2, write('cancelled v2'))).rejects.toMatchObject({ code: 'ERP_CONFLICT' });
    slow.finish();
    expect(await first).toBe('ordered v1');
    clock.advance(1);
    expect(await guardB.run(KEY, 2, write('cancelled v2'))).toBe('cancelled v2');
    expect(landed).toEqual(['ordered v1', 'cancelled v2']);
  });

  // A holder whose renewals stopped: its host froze or died (renewals run every third of the TTL, far beyond
  // this test's run time, so guardA's never come here).
  it('lets another guard write once a stuck holder’s lease has lapsed, not before', async () => {
    const stuck = heldWrite(landed, 'ordered v1');
    const first = guardA.run(KEY, 1, stuck.task);
    await stuck.running;
    clock.advance(lockTtlMs(WRITE_TIMEOUT_MS) - 1);
    await expect(guardB.run(KEY, 2, write('cancelled v2'))).rejects.toMatchObject({ code: 'ERP_CONFLICT' });
    clock.advance(1);
    expect(await guardB.run(KEY, 2, write('cancelled v2'))).toBe('cancelled v2');
    stuck.finish();
    await first;
    expect(await recorded()).toBe(2);
  });
});

describe('LatestVersionGuard on a store of one host (lmdb)', () => {
  const sandbox = storeSandbox('wb-latest-version-local', 'lmdb');
  afterAll(() => sandbox.cleanup());

  it('queues the write-backs of two nodes of one process one after the other, with no lease in the store', async () => {
    const location = sandbox.newPath();
    const storeA = sandbox.open({ path: location });
    const storeB = sandbox.open({ path: location });
    let leases = 0;
    const counting = (store: FinanceStore) => ({
      sharedAcrossHosts: store.sharedAcrossHosts,
      kvGet: store.kvGet.bind(store),
      kvPut: store.kvPut.bind(store),
      claimLease: (...args: Parameters<FinanceStore['claimLease']>) => {
        leases += 1;
        return store.claimLease(...args);
      },
    });
    // Two write-back nodes: two guards, each on its own handle of the store, in one process (the default queue).
    const nodeA = new LatestVersionGuard(counting(storeA), { holderPrefix: 'wb-a' });
    const nodeB = new LatestVersionGuard(counting(storeB), { holderPrefix: 'wb-b' });
    const landed: string[] = [];
    const ordered = heldWrite(landed, 'ordered v1');
    const first = nodeA.run(KEY, 1, ordered.task);
    await ordered.running;
    let secondDone = false;
    const second = nodeB
      .run(KEY, 2, async () => {
        landed.push('cancelled v2');
        return { value: 'cancelled v2', written: true };
      })
      .finally(() => (secondDone = true));
    await new Promise((resolve) => setImmediate(resolve));
    expect(secondDone).toBe(false); // waits behind the first, instead of failing
    ordered.finish();
    expect(await first).toBe('ordered v1');
    expect(await second).toBe('cancelled v2');
    expect(await nodeA.run(KEY, 1, async () => ({ value: 'again', written: true }))).toBe('superseded');
    expect(landed).toEqual(['ordered v1', 'cancelled v2']);
    expect(await storeB.kvGet(WRITEBACK_VERSIONS_NAMESPACE, KEY)).toBe(2);
    expect(leases).toBe(0);
  });
});
