import { manualClock, storeSandbox } from './store-fixture';

describe('claimLease: one holder per named lease', () => {
  const sandbox = storeSandbox('leases');
  afterAll(() => sandbox.cleanup());

  it('grants a free lease, refuses another holder while it runs, renews its own and hands over once expired', async () => {
    const clock = manualClock();
    const store = sandbox.open({ path: sandbox.newPath(), now: clock.now });

    expect(await store.claimLease('master-data', 'host-a', 10_000)).toBe(true);
    expect(await store.claimLease('master-data', 'host-b', 10_000)).toBe(false);
    // Another name is another lease.
    expect(await store.claimLease('other-sync', 'host-b', 10_000)).toBe(true);

    clock.advance(9_000);
    // The holder renews: its lease now runs until 19 s.
    expect(await store.claimLease('master-data', 'host-a', 10_000)).toBe(true);
    clock.advance(9_000);
    expect(await store.claimLease('master-data', 'host-b', 10_000)).toBe(false);

    clock.advance(1_000); // the renewed lease ends exactly now: expired
    expect(await store.claimLease('master-data', 'host-b', 10_000)).toBe(true);
    expect(await store.claimLease('master-data', 'host-a', 10_000)).toBe(false);
  });

  it('grants a lease to exactly one of many concurrent claimants, also through a second handle', async () => {
    const clock = manualClock();
    const path = sandbox.newPath();
    const first = sandbox.open({ path, now: clock.now });
    const second = sandbox.open({ path, now: clock.now });
    const claims = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 ? first : second).claimLease('sync', `holder-${i}`, 60_000)),
    );
    expect(claims.filter(Boolean)).toHaveLength(1);
  });

  it('refuses bad arguments with SCHEMA_INVALID', async () => {
    const store = sandbox.open({ path: sandbox.newPath() });
    await expect(store.claimLease('', 'a', 1000)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    await expect(store.claimLease('x', '', 1000)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    await expect(store.claimLease('x', 'a', 0)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
  });
});
