import type { FinanceStore } from '../../../lib/reliability/store';
import { PURGE_LEASE, StoreHousekeeping } from '../../../lib/reliability/store-housekeeping';
import { BACKENDS, manualClock, storeSandbox, type Clock } from './store-fixture';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !condition(); waited += 10) {
    if (waited > 5000) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

describe.each(BACKENDS)('store housekeeping (%s)', (backend) => {
  const sandbox = storeSandbox('housekeeping', backend);
  let clock: Clock;
  let store: FinanceStore;

  beforeEach(() => {
    clock = manualClock();
    store = sandbox.open({ path: sandbox.newPath(), now: clock.now });
  });
  afterEach(() => store.close());
  afterAll(() => sandbox.cleanup());

  it('removes what expired, first after a delay and then at every interval, and stops', async () => {
    const purged: unknown[] = [];
    const housekeeping = new StoreHousekeeping({
      store,
      firstAfterMs: 30,
      everyMs: 30,
      onPurged: (result) => purged.push(result),
      onError: (err) => purged.push(err),
    });
    await store.kvPut('retry', 'job-1', 1, 1000);
    await store.kvPut('retry', 'job-2', 2, 5000);
    await store.kvPut('cursor', 'kept', 3);
    clock.advance(1000);
    housekeeping.start();
    await until(() => purged.length === 1, 'the first purge');
    expect(purged).toEqual([{ inbox: 0, ledger: 0, kv: 1, leases: 0 }]);
    clock.advance(4000);
    await until(() => purged.length === 2, 'the second purge');
    expect(purged[1]).toEqual({ inbox: 0, ledger: 0, kv: 1, leases: 0 });

    await housekeeping.stop();
    await store.kvPut('retry', 'job-3', 3, 1);
    clock.advance(1);
    await sleep(100);
    expect(purged).toHaveLength(2);
    expect(await store.kvList('retry')).toEqual([]);
    expect(await store.kvGet('cursor', 'kept')).toBe(3);
  });

  it('reports a failed purge and tries again at the next interval', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const failingOnce: Pick<FinanceStore, 'purgeExpired' | 'claimLease' | 'sharedAcrossHosts'> = {
      sharedAcrossHosts: store.sharedAcrossHosts,
      claimLease: (name, holder, ttlMs) => store.claimLease(name, holder, ttlMs),
      purgeExpired: () => {
        calls += 1;
        return calls === 1 ? Promise.reject(new Error('disk unavailable')) : store.purgeExpired();
      },
    };
    const housekeeping = new StoreHousekeeping({
      store: failingOnce,
      firstAfterMs: 10,
      everyMs: 10,
      onError: (err) => errors.push(err),
    });
    housekeeping.start();
    await until(() => calls >= 2, 'a second purge');
    await housekeeping.stop();
    expect(errors).toEqual([new Error('disk unavailable')]);
  });

  if (backend === 'postgres') {
    it('purges from one host at a time on a shared store', async () => {
      const a = new StoreHousekeeping({ store, holder: 'host-a/1' });
      const b = new StoreHousekeeping({ store, holder: 'host-b/2' });
      expect(await a.purgeNow()).toEqual({ inbox: 0, ledger: 0, kv: 0, leases: 0 });
      expect(await b.purgeNow()).toBeUndefined();
      // host-a holds the lease; it does not lapse at its own purge.
      expect(await store.claimLease(PURGE_LEASE, 'host-b/2', 1000)).toBe(false);
    });
  }
});
