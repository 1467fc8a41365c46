/**
 * The store operations recovery relies on: leasing at accept, leasing only what has expired, and holding an
 * entry while a step has parked its event on purpose.
 */
import { DEFAULT_LEASE_MS, inboxKey, type FinanceStore } from '../../../lib/reliability/store';
import { BACKENDS, manualClock, storeSandbox, type Clock } from './store-fixture';

describe.each(BACKENDS)('inbox leases for recovery (%s)', (backend) => {
  const sandbox = storeSandbox('recovery-leases', backend);
  let clock: Clock;
  let store: FinanceStore;
  const key = inboxKey('concur', 'e1');
  const event = (lease?: { owner: string; ms: number }) => ({
    key,
    envelope: { id: 'e1', source: 'concur' },
    payload: { amount: '10.00' },
    ...(lease && { lease }),
  });

  beforeEach(() => {
    clock = manualClock();
    store = sandbox.open({ path: sandbox.newPath(), now: clock.now });
  });
  afterEach(() => store.close());
  afterAll(() => sandbox.cleanup());

  describe('accept with a lease', () => {
    it('stores the event already leased: owner, lease end and duration, first attempt', async () => {
      const result = await store.accept(event({ owner: 'intake-1', ms: 60_000 }));
      expect(result.status).toBe('accepted');
      expect(result.entry).toMatchObject({
        state: 'open',
        leaseOwner: 'intake-1',
        leaseUntil: clock.now() + 60_000,
        leaseMs: 60_000,
        attempts: 1,
      });
      expect(await store.get(key)).toEqual(result.entry);
      expect(await store.expiredLeases(10, 0)).toEqual([]);
      clock.advance(60_000);
      expect((await store.expiredLeases(10, 0)).map((entry) => entry.key)).toEqual([key]);
    });

    it('does not lease a duplicate again', async () => {
      await store.accept(event({ owner: 'intake-1', ms: 60_000 }));
      clock.advance(70_000);
      const again = await store.accept(event({ owner: 'intake-2', ms: 60_000 }));
      expect(again).toMatchObject({ status: 'duplicate', entry: { leaseOwner: 'intake-1', attempts: 1 } });
    });

    it('refuses a lease without an owner or with a negative duration, storing nothing', async () => {
      await expect(store.accept(event({ owner: '', ms: 1000 }))).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
      await expect(store.accept(event({ owner: 'intake-1', ms: -1 }))).rejects.toMatchObject({
        code: 'SCHEMA_INVALID',
      });
      expect(await store.countOpen()).toBe(0);
    });

    it('with 0 ms stores the event waiting: owned, due at once, no attempt until it is handed out', async () => {
      const result = await store.accept(event({ owner: 'intake-1', ms: 0 }));
      expect(result.entry).toMatchObject({
        state: 'open',
        leaseOwner: 'intake-1',
        leaseUntil: clock.now(),
        attempts: 0,
      });
      expect((await store.expiredLeases(10, 60_000)).map((entry) => entry.key)).toEqual([key]);
      const handedOut = await store.leaseIfExpired(key, 'intake-1', 60_000);
      expect(handedOut).toMatchObject({ leased: true, entry: { attempts: 1, leaseUntil: clock.now() + 60_000 } });
      expect(await store.expiredLeases(10, 60_000)).toEqual([]);
    });
  });

  describe('leaseIfExpired', () => {
    it('refuses while any lease runs, even the caller’s own, and takes the entry once it has expired', async () => {
      await store.accept(event({ owner: 'intake-1', ms: 1000 }));
      expect(await store.leaseIfExpired(key, 'intake-1', 1000)).toMatchObject({ leased: false, reason: 'held' });
      clock.advance(1000);
      const taken = await store.leaseIfExpired(key, 'intake-1', 2000);
      expect(taken).toMatchObject({
        leased: true,
        entry: { leaseOwner: 'intake-1', leaseUntil: clock.now() + 2000, leaseMs: 2000, attempts: 2 },
      });
      expect(await store.leaseIfExpired(key, 'intake-2', 1000)).toMatchObject({ leased: false, reason: 'held' });
    });

    it('takes an entry that was never leased', async () => {
      await store.accept(event());
      expect(await store.leaseIfExpired(key, 'intake-1', 1000)).toMatchObject({
        leased: true,
        entry: { leaseOwner: 'intake-1', attempts: 1 },
      });
    });

    it('refuses final and unknown entries', async () => {
      await store.accept(event());
      await store.finish(key, { status: 'posted' });
      expect(await store.leaseIfExpired(key, 'intake-1', 1000)).toMatchObject({ leased: false, reason: 'final' });
      expect(await store.leaseIfExpired('nope', 'intake-1', 1000)).toEqual({ leased: false, reason: 'missing' });
    });
  });

  describe('holdLease', () => {
    it('keeps the entry from recovery for the hold plus its lease, without changing owner or attempts', async () => {
      await store.accept(event({ owner: 'intake-1', ms: 1000 }));
      const held = await store.holdLease(key, 10_000);
      expect(held).toMatchObject({
        leased: true,
        entry: { leaseOwner: 'intake-1', leaseUntil: clock.now() + 11_000, attempts: 1, leaseMs: 1000 },
      });
      clock.advance(10_999);
      expect(await store.expiredLeases(10, 0)).toEqual([]);
      expect(await store.leaseIfExpired(key, 'intake-2', 1000)).toMatchObject({ leased: false, reason: 'held' });
      clock.advance(1);
      expect((await store.expiredLeases(10, 0)).map((entry) => entry.key)).toEqual([key]);
    });

    it('with 0 gives back an ordinary lease after a long hold', async () => {
      await store.accept(event({ owner: 'intake-1', ms: 1000 }));
      await store.holdLease(key, 48 * 3_600_000);
      clock.advance(5000);
      expect(await store.holdLease(key, 0)).toMatchObject({ entry: { leaseUntil: clock.now() + 1000 } });
      clock.advance(1000);
      expect(await store.expiredLeases(10, 0)).toHaveLength(1);
    });

    it('adds the default lease to an entry that never had one', async () => {
      await store.accept(event());
      const held = await store.holdLease(key, 500);
      expect(held).toMatchObject({ leased: true, entry: { leaseUntil: clock.now() + 500 + DEFAULT_LEASE_MS } });
      expect(held.leased && held.entry.leaseOwner).toBeUndefined();
      clock.advance(500 + DEFAULT_LEASE_MS - 1);
      expect(await store.expiredLeases(10, 0)).toEqual([]);
    });

    it('answers final and missing, and refuses a negative hold', async () => {
      await store.accept(event());
      await store.finish(key, { status: 'posted' });
      expect(await store.holdLease(key, 1000)).toMatchObject({ leased: false, reason: 'final' });
      expect(await store.holdLease('nope', 1000)).toEqual({ leased: false, reason: 'missing' });
      await expect(store.holdLease(key, -1)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    });
  });

  describe('expireLease', () => {
    it("ends the owner's running lease now, keeping owner and attempts, so the entry is due at once", async () => {
      await store.accept(event({ owner: 'intake-1@old', ms: 60_000 }));
      expect(await store.expireLease(key, 'intake-1@old')).toBe(true);
      expect(await store.get(key)).toMatchObject({ leaseOwner: 'intake-1@old', leaseUntil: clock.now(), attempts: 1 });
      expect((await store.expiredLeases(10, 0)).map((entry) => entry.key)).toEqual([key]);
      expect(await store.expireLease(key, 'intake-1@old')).toBe(false);
    });

    it('leaves alone an entry of another owner, a held, a final and an unknown one', async () => {
      await store.accept(event({ owner: 'intake-1@old', ms: 60_000 }));
      expect(await store.expireLease(key, 'intake-1@new')).toBe(false);
      await store.holdLease(key, 10_000);
      expect(await store.expireLease(key, 'intake-1@old')).toBe(false);
      await store.finish(key, { status: 'posted' });
      expect(await store.expireLease(key, 'intake-1@old')).toBe(false);
      expect(await store.expireLease('unknown', 'intake-1@old')).toBe(false);
    });

    it('ends a lease again once a hold of 0 ms gave back an ordinary lease, or the entry was leased anew', async () => {
      await store.accept(event({ owner: 'intake-1@old', ms: 60_000 }));
      await store.holdLease(key, 10_000);
      await store.holdLease(key, 0);
      expect(await store.expireLease(key, 'intake-1@old')).toBe(true);
      await store.holdLease(key, 10_000);
      clock.advance(80_000);
      await store.leaseIfExpired(key, 'intake-1@old', 60_000);
      expect(await store.expireLease(key, 'intake-1@old')).toBe(true);
    });
  });

  describe('watchInbox', () => {
    it('tells every handle of the store in this process of each finish and each hold of more than 0 ms', async () => {
      const path = sandbox.newPath();
      const first = sandbox.open({ path, now: clock.now });
      const second = sandbox.open({ path, now: clock.now });
      const seen: string[] = [];
      const unwatch = first.watchInbox((changed) => seen.push(`first ${changed}`));
      second.watchInbox((changed) => seen.push(`second ${changed}`));
      for (const id of ['a', 'b', 'c']) {
        await second.accept({ key: id, envelope: { id }, payload: null, lease: { owner: 'in', ms: 1000 } });
      }
      await second.finish('a', { status: 'posted' });
      await first.holdLease('b', 5000);
      await first.holdLease('c', 0);
      await first.lease('c', 'in', 1000);
      expect(seen.sort()).toEqual(['first a', 'first b', 'second a', 'second b']);
      unwatch();
      await second.finish('b', { status: 'posted' });
      expect(seen.filter((line) => line.startsWith('first'))).toHaveLength(2);
      expect(seen).toContain('second b');
    });
  });
});
