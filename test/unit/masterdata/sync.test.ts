import { syncKind, type MasterDataChange, type SyncKindOptions } from '../../../lib/masterdata';
import type { MasterDataCache } from '../../../lib/masterdata';
import { FakeOwner, employee, tempStores } from './fixtures';

describe('syncKind: full and delta, paged, with change messages', () => {
  const stores = tempStores('sync');
  afterAll(() => stores.cleanup());

  function sync(owner: FakeOwner, cache: MasterDataCache, extra: Partial<SyncKindOptions> = {}) {
    const changes: MasterDataChange[] = [];
    const run = syncKind({
      lister: owner,
      cache,
      kind: 'employees',
      mode: 'delta',
      ctx: { correlationId: 'test' },
      pageSize: 2,
      overlapMs: 60_000,
      maxPages: 100,
      now: () => new Date('2026-03-10T00:00:00Z'),
      onChange: (change) => {
        changes.push(change);
      },
      ...extra,
    });
    return run.then((result) => ({ result, changes }));
  }

  function seed(owner: FakeOwner, count: number) {
    for (let i = 1; i <= count; i += 1) owner.set('employees', employee(`E${i}`, i > 1 ? 'E1' : undefined));
  }

  it('a first delta runs as a full sync, reads every page and emits one created change per record', async () => {
    const owner = new FakeOwner();
    seed(owner, 5);
    const { cache } = stores.open();
    const { result, changes } = await sync(owner, cache);
    expect(result).toMatchObject({ mode: 'full', pages: 3, read: 5, created: 5, updated: 0, removed: 0 });
    expect(owner.calls.every((call) => call.modifiedSince === undefined)).toBe(true);
    expect(changes.map((change) => [change.change, change.id])).toEqual(
      ['E1', 'E2', 'E3', 'E4', 'E5'].map((id) => ['created', id]),
    );
    expect(changes[0].before).toBeUndefined();
    expect(changes[0].after).toEqual(owner.records.get('employees')!.get('E1'));
    expect(await cache.get('employees', 'E3')).toEqual(owner.records.get('employees')!.get('E3'));
    expect(await cache.readiness('employees')).toBe('ready');
    expect((await cache.state('employees')).highWater).toBe(owner.records.get('employees')!.get('E5')!.modifiedAt);
  });

  it('a delta asks from the high-water mark minus the overlap and emits only what changed, with before and after', async () => {
    const owner = new FakeOwner();
    seed(owner, 5);
    const { cache } = stores.open();
    await sync(owner, cache);
    const highWater = (await cache.state('employees')).highWater!;
    const before = owner.records.get('employees')!.get('E2')!;
    const after = owner.change('employees', 'E2', {
      managerId: 'E3',
      approvalLimit: { amount: '500.00', currency: 'EUR' },
    });
    owner.set('employees', employee('E6', 'E2'));
    owner.calls.length = 0;

    const { result, changes } = await sync(owner, cache);

    expect(owner.calls[0].modifiedSince).toBe(new Date(Date.parse(highWater) - 60_000).toISOString());
    expect(result).toMatchObject({ mode: 'delta', created: 1, updated: 1, removed: 0 });
    // The overlap re-reads records that did not change: they emit nothing.
    expect(result.unchanged).toBeGreaterThan(0);
    expect(changes).toEqual([
      { kind: 'employees', id: 'E2', change: 'updated', before, after },
      { kind: 'employees', id: 'E6', change: 'created', after: owner.records.get('employees')!.get('E6') },
    ]);
    expect(await cache.get('employees', 'E2')).toEqual(after);
  });

  it('a full sync removes what the owner no longer lists; a delta cannot tell and removes nothing', async () => {
    const owner = new FakeOwner();
    seed(owner, 4);
    const { cache } = stores.open();
    await sync(owner, cache, { mode: 'full' });
    const gone = owner.records.get('employees')!.get('E3')!;
    owner.remove('employees', 'E3');

    const delta = await sync(owner, cache);
    expect(delta.result.removed).toBe(0);
    expect(await cache.get('employees', 'E3')).toEqual(gone);

    const full = await sync(owner, cache, { mode: 'full' });
    expect(full.result).toMatchObject({ mode: 'full', removed: 1, created: 0, updated: 0 });
    expect(full.changes).toEqual([{ kind: 'employees', id: 'E3', change: 'removed', before: gone }]);
    expect(await cache.get('employees', 'E3')).toBeUndefined();
  });

  it('a delta becomes full once the last full sync is older than fullAfterMs', async () => {
    const owner = new FakeOwner();
    seed(owner, 2);
    const { cache } = stores.open();
    await sync(owner, cache, { now: () => new Date('2026-03-01T00:00:00Z') });
    const { result } = await sync(owner, cache, { fullAfterMs: 3_600_000 });
    expect(result.mode).toBe('full');
  });

  it('cursor paging by (modifiedAt, id): a record changed between page 1 and page 2 is seen again in the same sync', async () => {
    const owner = new FakeOwner('modified-cursor');
    seed(owner, 6);
    const { cache } = stores.open();
    owner.beforePage = (page) => {
      if (page === 1) owner.change('employees', 'E1', { name: 'Renamed during the sync' });
    };
    const { result, changes } = await sync(owner, cache);
    expect(result.read).toBe(7);
    expect(changes.filter((change) => change.id === 'E1').map((change) => change.change)).toEqual([
      'created',
      'updated',
    ]);
    expect(await cache.get('employees', 'E1')).toMatchObject({ name: 'Renamed during the sync' });
  });

  it('offset paging: a change the sync paged past is caught by the next delta thanks to the overlap', async () => {
    // E1 is on page 1 and changed after that page was read; then E6 (on page 3) changes too. The first sync
    // sees E6's change (the newest modifiedAt) but not E1's, which is older than the high-water mark.
    const run = async (overlapMs: number) => {
      const owner = new FakeOwner('id-offset');
      seed(owner, 6);
      const { cache } = stores.open();
      await sync(owner, cache, { mode: 'full', overlapMs });
      owner.beforePage = (page) => {
        if (page === 1) {
          owner.change('employees', 'E1', { name: 'Changed mid-sync' });
          owner.change('employees', 'E6', { name: 'Changed later' });
        }
      };
      const first = await sync(owner, cache, { overlapMs });
      owner.beforePage = undefined;
      const second = await sync(owner, cache, { overlapMs });
      return { first, second, cached: await cache.get('employees', 'E1') };
    };

    const withOverlap = await run(60_000);
    expect(withOverlap.first.changes.map((change) => change.id)).toEqual(['E6']);
    expect(withOverlap.second.changes.map((change) => change.id)).toEqual(['E1']);
    expect(withOverlap.cached).toMatchObject({ name: 'Changed mid-sync' });

    // Without the overlap the change would be lost: this is what the overlap is for.
    const withoutOverlap = await run(0);
    expect(withoutOverlap.second.changes).toEqual([]);
    expect(withoutOverlap.cached).not.toMatchObject({ name: 'Changed mid-sync' });
  });

  it('skips records without an id or modifiedAt, and never applies a copy older than the cached one', async () => {
    const owner = new FakeOwner();
    seed(owner, 2);
    const { cache } = stores.open();
    await sync(owner, cache);
    const newer = owner.records.get('employees')!.get('E2')!;
    const lister = {
      listMasterData: async () => ({
        items: [
          { id: '', name: 'x', modifiedAt: newer.modifiedAt },
          { id: 'E9', name: 'no date' },
          { ...newer, name: 'An old copy', modifiedAt: '2020-01-01T00:00:00Z' },
        ] as never[],
        nextCursor: null,
      }),
    };
    const { result, changes } = await sync(owner, cache, { lister, mode: 'full' });
    expect(result).toMatchObject({ skipped: 2, stale: 1 });
    expect(result.invalid).toEqual([
      { id: '', reason: 'no id' },
      { id: 'E9', reason: 'no valid modifiedAt' },
    ]);
    expect(await cache.get('employees', 'E2')).toEqual(newer);
    // E1 was not listed by this full sync: removed. E2 was listed (as a stale copy): kept.
    expect(changes.map((change) => [change.change, change.id])).toEqual([['removed', 'E1']]);
  });

  it('a change whose delivery fails is not cached, so the next sync finds it again', async () => {
    const owner = new FakeOwner();
    seed(owner, 3);
    const { cache } = stores.open();
    await sync(owner, cache);
    owner.change('employees', 'E2', { active: false });
    await expect(
      sync(owner, cache, {
        onChange: () => {
          throw new Error('broker down');
        },
      }),
    ).rejects.toThrow('broker down');
    expect(await cache.get('employees', 'E2')).toMatchObject({ active: true });
    const { changes } = await sync(owner, cache);
    expect(changes).toMatchObject([{ id: 'E2', change: 'updated', after: { active: false } }]);
  });

  it('stops an owner whose cursors repeat', async () => {
    const { cache } = stores.open();
    const lister = { listMasterData: async () => ({ items: [], nextCursor: 'again' }) };
    await expect(sync(new FakeOwner(), cache, { lister })).rejects.toMatchObject({ code: 'ERP_REJECTED' });
  });
});
