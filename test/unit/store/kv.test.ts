import type { FinanceStore } from '../../../lib/reliability/store';
import { BACKENDS, manualClock, storeSandbox, type Clock } from './store-fixture';

describe.each(BACKENDS)('namespaced key-value (%s)', (backend) => {
  const sandbox = storeSandbox('kv', backend);
  let clock: Clock;
  let store: FinanceStore;

  beforeEach(() => {
    clock = manualClock();
    store = sandbox.open({ path: sandbox.newPath(), now: clock.now });
  });
  afterEach(() => store.close());
  afterAll(() => sandbox.cleanup());

  it('stores, reads, overwrites and deletes values', async () => {
    await store.kvPut('cursor', 'concur', { since: '2024-05-01T00:00:00Z' });
    expect(await store.kvGet('cursor', 'concur')).toEqual({ since: '2024-05-01T00:00:00Z' });
    await store.kvPut('cursor', 'concur', { since: '2024-05-02T00:00:00Z' });
    expect(await store.kvGet('cursor', 'concur')).toEqual({ since: '2024-05-02T00:00:00Z' });
    expect(await store.kvDelete('cursor', 'concur')).toBe(true);
    expect(await store.kvDelete('cursor', 'concur')).toBe(false);
    expect(await store.kvGet('cursor', 'concur')).toBeUndefined();
  });

  it('keeps namespaces apart, even when the names are built to collide', async () => {
    await store.kvPut('a', 'b\u0000c', 1);
    await store.kvPut('a\u0000b', 'c', 2);
    await store.kvPut('ab', 'c', 3);
    expect(await store.kvGet('a', 'b\u0000c')).toBe(1);
    expect(await store.kvGet('a\u0000b', 'c')).toBe(2);
    expect(await store.kvGet('ab', 'c')).toBe(3);
    expect((await store.kvList('a')).map((entry) => entry.value)).toEqual([1]);
  });

  it('expires a value after its ttl and purges it', async () => {
    await store.kvPut('timers', 'approval-1', { escalateTo: 'controller' }, 1000);
    await store.kvPut('timers', 'forever', 'x');
    clock.advance(999);
    expect(await store.kvGet('timers', 'approval-1')).toEqual({ escalateTo: 'controller' });
    expect(await store.kvList('timers')).toEqual([
      { key: 'approval-1', value: { escalateTo: 'controller' }, expiresAt: clock.now() + 1 },
      { key: 'forever', value: 'x' },
    ]);
    clock.advance(1);
    expect(await store.kvGet('timers', 'approval-1')).toBeUndefined();
    expect((await store.kvList('timers')).map((entry) => entry.key)).toEqual(['forever']);
    expect(await store.purgeExpired()).toEqual({ inbox: 0, ledger: 0, kv: 1, leases: 0 });
    expect(await store.kvGet('timers', 'forever')).toBe('x');
  });

  it('a rewrite replaces the ttl: a value made permanent is not purged at its old expiry', async () => {
    await store.kvPut('retry', 'job', { attempt: 1 }, 1000);
    await store.kvPut('retry', 'job', { attempt: 2 });
    clock.advance(5000);
    expect(await store.purgeExpired()).toEqual({ inbox: 0, ledger: 0, kv: 0, leases: 0 });
    expect(await store.kvGet('retry', 'job')).toEqual({ attempt: 2 });

    await store.kvPut('retry', 'job', { attempt: 3 }, 1000);
    await store.kvPut('retry', 'job', { attempt: 4 }, 10_000);
    clock.advance(5000);
    expect(await store.purgeExpired()).toEqual({ inbox: 0, ledger: 0, kv: 0, leases: 0 });
    clock.advance(5000);
    expect(await store.purgeExpired()).toEqual({ inbox: 0, ledger: 0, kv: 1, leases: 0 });
  });

  it('deleting an expired value reports that nothing live was removed', async () => {
    await store.kvPut('cache', 'k', 1, 10);
    clock.advance(10);
    expect(await store.kvDelete('cache', 'k')).toBe(false);
    expect(await store.purgeExpired()).toEqual({ inbox: 0, ledger: 0, kv: 0, leases: 0 });
  });

  it('lists a namespace in key order by prefix, up to a limit', async () => {
    for (const key of ['employee:2', 'costCenter:1', 'employee:1', 'employee:3', 'employee']) {
      await store.kvPut('master', key, key.toUpperCase());
    }
    await store.kvPut('mastery', 'employee:0', 'other namespace');
    expect((await store.kvList('master', { prefix: 'employee:' })).map((entry) => entry.key)).toEqual([
      'employee:1',
      'employee:2',
      'employee:3',
    ]);
    expect((await store.kvList('master', { prefix: 'employee:', limit: 2 })).map((entry) => entry.value)).toEqual([
      'EMPLOYEE:1',
      'EMPLOYEE:2',
    ]);
    expect(await store.kvList('master')).toHaveLength(5);
    expect(await store.kvList('nothing-here')).toEqual([]);
  });

  it('kvWrite makes its puts and removals in order, with their ttls', async () => {
    await store.kvPut('holds', 'old', 'was here', 1000);
    await store.kvWrite([
      { namespace: 'holds', key: 'a', value: { amount: '10.00' }, ttlMs: 500 },
      { namespace: 'holds', key: 'b', value: 'kept' },
      { namespace: 'holds', key: 'old', remove: true },
      { namespace: 'index', key: 'doc', value: ['a', 'b'] },
      { namespace: 'index', key: 'doc', remove: true },
      { namespace: 'index', key: 'doc', value: ['a'] },
    ]);
    expect(await store.kvList('holds')).toEqual([
      { key: 'a', value: { amount: '10.00' }, expiresAt: clock.now() + 500 },
      { key: 'b', value: 'kept' },
    ]);
    expect(await store.kvGet('index', 'doc')).toEqual(['a']);
    clock.advance(1000);
    // The removed value's expiry went with it: only the ttl written here is purged.
    expect(await store.purgeExpired()).toEqual({ inbox: 0, ledger: 0, kv: 1, leases: 0 });
    expect((await store.kvList('holds')).map((entry) => entry.key)).toEqual(['b']);
  });

  it('kvWrite writes nothing when one of its changes is bad', async () => {
    await store.kvPut('holds', 'a', 'before');
    for (const bad of [
      { namespace: 'holds', key: '', value: 1 },
      { namespace: 'holds', key: 'c', value: 1, ttlMs: 0 },
    ]) {
      await expect(
        store.kvWrite([
          { namespace: 'holds', key: 'a', value: 'after' },
          { namespace: 'holds', key: 'a', remove: true },
          bad,
        ]),
      ).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    }
    expect(await store.kvList('holds')).toEqual([{ key: 'a', value: 'before' }]);
    await expect(store.kvWrite({} as never)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    await store.kvWrite([]);
  });

  it('rejects bad namespaces, keys and ttls with SCHEMA_INVALID', async () => {
    await expect(store.kvPut('', 'k', 1)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    await expect(store.kvPut('ns', '', 1)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    await expect(store.kvPut('ns', 'k', 1, 0)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    await expect(store.kvPut('ns', 'x'.repeat(999), 1)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
  });
});
