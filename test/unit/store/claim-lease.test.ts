import type { FinanceStore } from '../../../lib/reliability/store';
import { BACKENDS, manualClock, storeSandbox, type Clock } from './store-fixture';

describe.each(BACKENDS)('claimLease (%s)', (backend) => {
  const sandbox = storeSandbox('claim-lease', backend);
  let clock: Clock;
  let store: FinanceStore;

  beforeEach(() => {
    clock = manualClock();
    store = sandbox.open({ path: sandbox.newPath(), now: clock.now });
  });
  afterEach(() => store.close());
  afterAll(() => sandbox.cleanup());

  it('gives a free lease to the first holder and refuses others while it runs', async () => {
    expect(await store.claimLease('sla-timers', 'host-a', 30_000)).toBe(true);
    expect(await store.claimLease('sla-timers', 'host-b', 30_000)).toBe(false);
    clock.advance(29_999);
    expect(await store.claimLease('sla-timers', 'host-b', 30_000)).toBe(false);
  });

  it('renews the holder’s own lease, which pushes its end out', async () => {
    await store.claimLease('poll', 'host-a', 30_000);
    clock.advance(20_000);
    expect(await store.claimLease('poll', 'host-a', 30_000)).toBe(true);
    clock.advance(20_000); // 40 s after the first claim, 20 s after the renewal
    expect(await store.claimLease('poll', 'host-b', 30_000)).toBe(false);
  });

  it('moves to another holder once the lease has expired', async () => {
    await store.claimLease('poll', 'host-a', 30_000);
    clock.advance(30_000);
    expect(await store.claimLease('poll', 'host-b', 30_000)).toBe(true);
    expect(await store.claimLease('poll', 'host-a', 30_000)).toBe(false);
  });

  it('keeps leases of different names apart', async () => {
    expect(await store.claimLease('a', 'host-a', 1000)).toBe(true);
    expect(await store.claimLease('b', 'host-b', 1000)).toBe(true);
  });

  it('grants one of many concurrent claims', async () => {
    const holders = Array.from({ length: 20 }, (_, i) => `host-${i}`);
    const results = await Promise.all(holders.map((holder) => store.claimLease('once', holder, 60_000)));
    expect(results.filter(Boolean)).toHaveLength(1);
  });

  it('rejects a lease without a name, a holder or a positive duration', async () => {
    await expect(store.claimLease('', 'host-a', 1000)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    await expect(store.claimLease('x', '', 1000)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    await expect(store.claimLease('x', 'host-a', 0)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
  });

  it('purges leases that ran out, and only those; a purged lease is free to claim', async () => {
    expect(await store.claimLease('writeback-version/doc-1', 'host-a', 1000)).toBe(true);
    expect(await store.claimLease('sla-timers', 'host-b', 5000)).toBe(true);
    clock.advance(1000);
    expect(await store.purgeExpired()).toEqual({ inbox: 0, ledger: 0, kv: 0, leases: 1 });
    // The running lease is still host-b's; the purged one is free.
    expect(await store.claimLease('sla-timers', 'host-a', 5000)).toBe(false);
    expect(await store.claimLease('writeback-version/doc-1', 'host-c', 1000)).toBe(true);
    expect(await store.purgeExpired()).toEqual({ inbox: 0, ledger: 0, kv: 0, leases: 0 });
  });
});
