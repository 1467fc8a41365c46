import { FinanceError } from '../../../lib/errors';
import { inboxKey, type FinanceStore } from '../../../lib/reliability/store';
import { BACKENDS, manualClock, storeSandbox, type Clock } from './store-fixture';

const DAY = 24 * 60 * 60 * 1000;

describe.each(BACKENDS)('inbox (%s)', (backend) => {
  const sandbox = storeSandbox('inbox', backend);
  let clock: Clock;
  let store: FinanceStore;

  beforeEach(() => {
    clock = manualClock();
    store = sandbox.open({ path: sandbox.newPath(), now: clock.now, maxInboxEntries: 5 });
  });
  afterEach(() => store.close());
  afterAll(() => sandbox.cleanup());

  const event = (id: string, payload: unknown = { amount: '10.00', currency: 'EUR' }) => ({
    key: inboxKey('concur', id),
    envelope: { id, source: 'concur', type: 'expense.submitted' },
    payload,
  });

  it('accepts a new event as an open entry stamped with the clock', async () => {
    const result = await store.accept(event('e1'));
    expect(result.status).toBe('accepted');
    expect(result.entry).toEqual({
      key: 'concur\u0000e1',
      envelope: { id: 'e1', source: 'concur', type: 'expense.submitted' },
      payload: { amount: '10.00', currency: 'EUR' },
      receivedAt: clock.now(),
      state: 'open',
      attempts: 0,
    });
    expect(await store.get('concur\u0000e1')).toEqual(result.entry);
    expect(await store.countOpen()).toBe(1);
  });

  it('keeps an explicit receivedAt', async () => {
    const result = await store.accept({ ...event('e1'), receivedAt: 42 });
    expect(result.entry.receivedAt).toBe(42);
  });

  it('answers a duplicate with the first entry and does not replace it', async () => {
    await store.accept(event('e1', { n: 1 }));
    const again = await store.accept(event('e1', { n: 2 }));
    expect(again.status).toBe('duplicate');
    expect(again.entry.payload).toEqual({ n: 1 });
    expect((await store.get(inboxKey('concur', 'e1')))?.payload).toEqual({ n: 1 });
    expect(await store.countOpen()).toBe(1);
  });

  it('answers a duplicate of a finished event with its outcome', async () => {
    await store.accept(event('e1'));
    await store.finish(inboxKey('concur', 'e1'), { status: 'posted', detail: { documentId: 'JE-7' } });
    const again = await store.accept(event('e1'));
    expect(again.status).toBe('duplicate');
    expect(again.entry.state).toBe('final');
    expect(again.entry.outcome).toEqual({ status: 'posted', detail: { documentId: 'JE-7' }, at: clock.now() });
  });

  it('finish makes the entry final, frees its open slot and keeps the first outcome', async () => {
    const key = inboxKey('concur', 'e1');
    await store.accept(event('e1'));
    await store.lease(key, 'worker-a', 1000);
    clock.advance(5);
    const finished = await store.finish(key, { status: 'refused' });
    expect(finished).toMatchObject({ state: 'final', outcome: { status: 'refused', at: clock.now() }, attempts: 1 });
    expect(finished?.leaseOwner).toBeUndefined();
    expect(finished?.outcome).not.toHaveProperty('detail');
    expect(await store.countOpen()).toBe(0);
    expect(await store.listOpen()).toEqual([]);

    const second = await store.finish(key, { status: 'posted' });
    expect(second?.outcome?.status).toBe('refused');
    expect(await store.countOpen()).toBe(0);
    expect(await store.finish(inboxKey('concur', 'unknown'), { status: 'posted' })).toBeUndefined();
  });

  it('rejects with STORE_FULL at the high-water mark and accepts again once entries finish', async () => {
    for (let i = 0; i < 5; i++) await store.accept(event(`e${i}`));
    const refused = store.accept(event('e5'));
    await expect(refused).rejects.toMatchObject({ code: 'STORE_FULL', retryable: true });
    await expect(refused).rejects.toBeInstanceOf(FinanceError);
    expect(await store.get(inboxKey('concur', 'e5'))).toBeUndefined();

    // A duplicate is still answered while full: the sender gets its acknowledgement.
    expect((await store.accept(event('e0'))).status).toBe('duplicate');

    await store.finish(inboxKey('concur', 'e0'), { status: 'posted' });
    expect((await store.accept(event('e5'))).status).toBe('accepted');
    expect(await store.countOpen()).toBe(5);
  });

  describe('leases', () => {
    const key = inboxKey('concur', 'e1');
    beforeEach(() => store.accept(event('e1')));

    it('lease hands the entry to one owner, counts the attempt and refuses others until it expires', async () => {
      const first = await store.lease(key, 'worker-a', 1000);
      expect(first).toMatchObject({
        leased: true,
        entry: { leaseOwner: 'worker-a', leaseUntil: clock.now() + 1000, attempts: 1 },
      });

      const other = await store.lease(key, 'worker-b', 1000);
      expect(other).toMatchObject({ leased: false, reason: 'held', entry: { leaseOwner: 'worker-a' } });

      clock.advance(1000);
      const takeover = await store.lease(key, 'worker-b', 1000);
      expect(takeover).toMatchObject({ leased: true, entry: { leaseOwner: 'worker-b', attempts: 2 } });
    });

    it('lets the same owner lease again (a redelivery) and counts it', async () => {
      await store.lease(key, 'worker-a', 1000);
      const again = await store.lease(key, 'worker-a', 1000);
      expect(again).toMatchObject({ leased: true, entry: { attempts: 2 } });
    });

    it('renewLease extends only the holder’s lease and does not count an attempt', async () => {
      await store.lease(key, 'worker-a', 1000);
      clock.advance(900);
      const renewed = await store.renewLease(key, 'worker-a', 1000);
      expect(renewed).toMatchObject({ leased: true, entry: { leaseUntil: clock.now() + 1000, attempts: 1 } });
      expect(await store.renewLease(key, 'worker-b', 1000)).toMatchObject({ leased: false, reason: 'held' });

      clock.advance(1500);
      expect(await store.expiredLeases(10, 0)).toHaveLength(1);
    });

    it('releaseLease frees the entry for the holder only', async () => {
      await store.lease(key, 'worker-a', 1000);
      expect(await store.releaseLease(key, 'worker-b')).toBe(false);
      expect(await store.releaseLease(key, 'worker-a')).toBe(true);
      const entry = await store.get(key);
      expect(entry?.leaseOwner).toBeUndefined();
      expect(entry?.leaseUntil).toBeUndefined();
      expect((await store.lease(key, 'worker-b', 1000)).leased).toBe(true);
    });

    it('refuses leases on final and unknown entries', async () => {
      await store.finish(key, { status: 'posted' });
      expect(await store.lease(key, 'worker-a', 1000)).toMatchObject({ leased: false, reason: 'final' });
      expect(await store.renewLease(key, 'worker-a', 1000)).toMatchObject({ leased: false, reason: 'final' });
      expect(await store.lease('nope', 'worker-a', 1000)).toEqual({ leased: false, reason: 'missing' });
      expect(await store.releaseLease(key, 'worker-a')).toBe(false);
    });
  });

  describe('expiredLeases', () => {
    it('returns never-leased entries only after the grace period', async () => {
      await store.accept(event('e1'));
      expect(await store.expiredLeases(10, 30_000)).toEqual([]);
      clock.advance(30_000);
      const due = await store.expiredLeases(10, 30_000);
      expect(due.map((entry) => entry.key)).toEqual([inboxKey('concur', 'e1')]);
    });

    it('returns leased entries once the lease has expired, and never final ones', async () => {
      await store.accept(event('e1'));
      await store.accept(event('e2'));
      await store.lease(inboxKey('concur', 'e1'), 'worker-a', 60_000);
      await store.lease(inboxKey('concur', 'e2'), 'worker-a', 60_000);
      await store.finish(inboxKey('concur', 'e2'), { status: 'posted' });
      clock.advance(59_999);
      expect(await store.expiredLeases(10, 0)).toEqual([]);
      clock.advance(1);
      const due = await store.expiredLeases(10, 0);
      expect(due).toHaveLength(1);
      expect(due[0]).toMatchObject({ key: inboxKey('concur', 'e1'), leaseOwner: 'worker-a', state: 'open' });
    });

    it('lists expired leases before unleased entries, oldest first, up to the limit', async () => {
      await store.accept(event('old'));
      clock.advance(10);
      await store.accept(event('leased'));
      clock.advance(10);
      await store.accept(event('young'));
      await store.lease(inboxKey('concur', 'leased'), 'worker-a', 5);
      clock.advance(100);
      const due = await store.expiredLeases(10, 50);
      expect(due.map((entry) => entry.envelope.id)).toEqual(['leased', 'old', 'young']);
      expect((await store.expiredLeases(2, 50)).map((entry) => entry.envelope.id)).toEqual(['leased', 'old']);
    });
  });

  it('listOpen pages through open entries in key order', async () => {
    for (const id of ['c', 'a', 'd', 'b']) await store.accept(event(id));
    await store.finish(inboxKey('concur', 'b'), { status: 'posted' });
    const first = await store.listOpen({ limit: 2 });
    expect(first.map((entry) => entry.envelope.id)).toEqual(['a', 'c']);
    const next = await store.listOpen({ limit: 2, after: first[1].key });
    expect(next.map((entry) => entry.envelope.id)).toEqual(['d']);
  });

  it('purgeExpired forgets final entries after the retention period and never open ones', async () => {
    const path = sandbox.newPath();
    const short = sandbox.open({ path, now: clock.now, dedupRetentionMs: DAY });
    // The intake reads it to refuse events older than the memory (lib/intake/intake.ts).
    expect(short.dedupRetentionMs).toBe(DAY);
    await short.accept(event('done'));
    await short.accept(event('open'));
    await short.finish(inboxKey('concur', 'done'), { status: 'posted' });

    clock.advance(DAY - 1);
    expect(await short.purgeExpired()).toEqual({ inbox: 0, ledger: 0, kv: 0, leases: 0 });
    clock.advance(1);
    expect(await short.purgeExpired()).toEqual({ inbox: 1, ledger: 0, kv: 0, leases: 0 });
    expect(await short.get(inboxKey('concur', 'done'))).toBeUndefined();
    expect(await short.get(inboxKey('concur', 'open'))).toMatchObject({ state: 'open' });

    clock.advance(365 * DAY);
    await short.purgeExpired();
    expect(await short.countOpen()).toBe(1);
    // Once forgotten, the same event is new again: de-duplication memory is bounded by design.
    expect((await short.accept(event('done'))).status).toBe('accepted');
  });

  it('purges more expired entries than fit in one batch', async () => {
    const busy = sandbox.open({ path: sandbox.newPath(), now: clock.now, dedupRetentionMs: 1000 });
    const keys = Array.from({ length: 2500 }, (_, i) => inboxKey('ramp', `e${i}`));
    await Promise.all(keys.map((key) => busy.accept({ key, envelope: {}, payload: null })));
    await Promise.all(keys.map((key) => busy.finish(key, { status: 'posted' })));
    clock.advance(1000);
    expect(await busy.purgeExpired()).toEqual({ inbox: 2500, ledger: 0, kv: 0, leases: 0 });
    expect(await busy.get(keys[2499])).toBeUndefined();
  });

  describe('bad input', () => {
    it.each([
      ['an empty key', { key: '', envelope: {}, payload: 1 }],
      ['a key that is too long', { key: 'x'.repeat(1001), envelope: {}, payload: 1 }],
      ['a missing envelope', { key: 'k', envelope: null as unknown as object, payload: 1 }],
      ['a receivedAt that is not a time', { key: 'k', envelope: {}, payload: 1, receivedAt: Number.NaN }],
    ])('rejects %s with SCHEMA_INVALID', async (_what, input) => {
      await expect(store.accept(input)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    });

    it('rejects a payload MessagePack cannot hold, stores nothing, and keeps working', async () => {
      await expect(store.accept({ key: 'big', envelope: {}, payload: { n: 10n ** 30n } })).rejects.toMatchObject({
        code: 'SCHEMA_INVALID',
        message: expect.stringContaining('cannot be stored'),
      });
      expect(await store.get('big')).toBeUndefined();
      expect(await store.countOpen()).toBe(0);
      expect((await store.accept(event('e1'))).status).toBe('accepted');
    });

    it('rejects lease arguments that make no sense', async () => {
      await expect(store.lease('k', '', 1000)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
      await expect(store.lease('k', 'worker', 0)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
      await expect(store.expiredLeases(0, 0)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
      await expect(store.finish('k', { status: '' })).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    });
  });
});
