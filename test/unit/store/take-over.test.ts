/**
 * Scale-out store operations, on both backends: taking an entry over from the intake that committed and published
 * it (takeOverLease), and listing only one node's expired entries (expiredLeases ownedBy), so entries of other
 * intakes cannot fill a recovery batch.
 */
import { inboxKey, type FinanceStore } from '../../../lib/reliability/store';
import { BACKENDS, manualClock, storeSandbox, type Clock } from './store-fixture';

describe.each(BACKENDS)('taking over published events (%s)', (backend) => {
  const sandbox = storeSandbox('take-over', backend);
  let clock: Clock;
  let store: FinanceStore;
  const key = (id: string) => inboxKey('concur', id);
  const accept = (id: string, owner: string, ms = 60_000) =>
    store.accept({ key: key(id), envelope: { id, source: 'concur' }, payload: { id }, lease: { owner, ms } });

  beforeEach(() => {
    clock = manualClock();
    store = sandbox.open({ path: sandbox.newPath(), now: clock.now });
  });
  afterEach(() => store.close());
  afterAll(() => sandbox.cleanup());

  it('takes a running lease over from the publishing node, once: a second consumer finds it taken', async () => {
    await accept('e1', 'webhook@host-a~1/p1');
    const first = await store.takeOverLease(key('e1'), 'webhook', 'consumer@host-b~2/p2', 30_000);
    expect(first).toMatchObject({
      leased: true,
      entry: { leaseOwner: 'consumer@host-b~2/p2', leaseUntil: clock.now() + 30_000, leaseMs: 30_000, attempts: 2 },
    });
    const second = await store.takeOverLease(key('e1'), 'webhook', 'consumer@host-c~3/p3', 30_000);
    expect(second).toMatchObject({ leased: false, reason: 'held', entry: { leaseOwner: 'consumer@host-b~2/p2' } });
  });

  it('takes over an expired publisher lease too, and any process of the publishing node', async () => {
    await accept('e1', 'webhook@host-a~1/old');
    clock.advance(120_000);
    expect(await store.takeOverLease(key('e1'), 'webhook', 'consumer@b/p', 1000)).toMatchObject({ leased: true });
    await accept('e2', 'webhook');
    expect(await store.takeOverLease(key('e2'), 'webhook', 'consumer@b/p', 1000)).toMatchObject({ leased: true });
  });

  it('does not take over from another node, a node whose id only starts the same, a held or a final entry', async () => {
    await accept('other', 'webhook-2@host-a/p');
    expect(await store.takeOverLease(key('other'), 'webhook', 'c@b/p', 1000)).toMatchObject({ reason: 'held' });
    await accept('parked', 'webhook@host-a/p');
    await store.holdLease(key('parked'), 60_000);
    expect(await store.takeOverLease(key('parked'), 'webhook', 'c@b/p', 1000)).toMatchObject({ reason: 'held' });
    await accept('done', 'webhook@host-a/p');
    await store.finish(key('done'), { status: 'posted' });
    expect(await store.takeOverLease(key('done'), 'webhook', 'c@b/p', 1000)).toMatchObject({ reason: 'final' });
    expect(await store.takeOverLease(key('nothing'), 'webhook', 'c@b/p', 1000)).toEqual({
      leased: false,
      reason: 'missing',
    });
  });

  it('with 0 ms takes over waiting: owned, due at once, no attempt counted until it is handed out', async () => {
    await accept('e1', 'webhook@a/p');
    const waiting = await store.takeOverLease(key('e1'), 'webhook', 'consumer@b/p', 0);
    expect(waiting).toMatchObject({
      leased: true,
      entry: { leaseOwner: 'consumer@b/p', leaseUntil: clock.now(), attempts: 1 },
    });
    expect((await store.expiredLeases(10, 0, { ownedBy: 'consumer' })).map((entry) => entry.key)).toEqual([key('e1')]);
    expect(await store.leaseIfExpired(key('e1'), 'consumer@b/p', 1000)).toMatchObject({ entry: { attempts: 2 } });
  });

  it('refuses a negative duration or an empty node id', async () => {
    await accept('e1', 'webhook@a/p');
    await expect(store.takeOverLease(key('e1'), 'webhook', 'c@b/p', -1)).rejects.toMatchObject({
      code: 'SCHEMA_INVALID',
    });
    await expect(store.takeOverLease(key('e1'), '', 'c@b/p', 1)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
  });

  it('lists only the expired entries of one node, however many of another node expired before them', async () => {
    for (let i = 0; i < 30; i += 1) await accept(`gone${i}`, `removed-intake@a/p`, 1000);
    clock.advance(10);
    await accept('mine', 'in-1@a/old', 1000);
    await accept('mine-bare', 'in-1', 1000);
    await accept('prefix', 'in-10@a/p', 1000);
    await store.accept({ key: key('unowned'), envelope: { id: 'unowned' }, payload: {} });
    clock.advance(5000);
    const all = await store.expiredLeases(5, 0);
    expect(all).toHaveLength(5);
    expect(all.every((entry) => entry.leaseOwner === 'removed-intake@a/p')).toBe(true);
    const mine = await store.expiredLeases(5, 0, { ownedBy: 'in-1' });
    expect(mine.map((entry) => entry.key).sort()).toEqual([key('mine'), key('mine-bare')].sort());
  });
});
