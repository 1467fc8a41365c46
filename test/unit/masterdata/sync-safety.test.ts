/** A full sync removes only what the owner really no longer lists; odd ids are records like any other. */
import { enrich, syncKind, type MasterDataChange, type SyncKindOptions } from '../../../lib/masterdata';
import type { MasterDataCache } from '../../../lib/masterdata';
import type { MasterDataLister, MasterRecord } from '../../../lib/masterdata/kinds';
import { FakeOwner, employee, tempStores } from './fixtures';

describe('master data sync safety', () => {
  const stores = tempStores('sync-safety');
  afterAll(() => stores.cleanup());

  async function sync(lister: MasterDataLister, cache: MasterDataCache, extra: Partial<SyncKindOptions> = {}) {
    const changes: MasterDataChange[] = [];
    const result = await syncKind({
      lister,
      cache,
      kind: 'employees',
      mode: 'full',
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
    return { result, changes };
  }

  function listing(items: unknown[]): MasterDataLister {
    return { listMasterData: async () => ({ items: items as MasterRecord[], nextCursor: null }) };
  }

  it('a full sync keeps a listed record whose modifiedAt is broken: it is skipped, not reported removed', async () => {
    const owner = new FakeOwner();
    owner.set('employees', employee('E1'));
    owner.set('employees', employee('E2', 'E1'));
    const { cache } = stores.open();
    await sync(owner, cache);
    const e1 = owner.records.get('employees')!.get('E1')!;
    const e2 = owner.records.get('employees')!.get('E2')!;

    const { result, changes } = await sync(listing([e1, { ...e2, modifiedAt: 'yesterday' }]), cache);

    expect(result).toMatchObject({ skipped: 1, removed: 0 });
    expect(result.invalid).toEqual([{ id: 'E2', reason: 'no valid modifiedAt' }]);
    expect(changes).toEqual([]);
    expect(await cache.get('employees', 'E2')).toEqual(e2);
  });

  it('an offset-paging owner that deletes a record between pages does not lose a live one (second listing)', async () => {
    const owner = new FakeOwner('id-offset');
    for (let i = 1; i <= 6; i += 1) owner.set('employees', employee(`E${i}`));
    const { cache } = stores.open();
    await sync(owner, cache);
    // After page 1 (E1, E2) was read, E1 is deleted: E3 moves onto page 1 and the first listing misses it.
    let deleted = false;
    owner.beforePage = (page) => {
      if (page === 1 && !deleted) {
        deleted = true;
        owner.remove('employees', 'E1');
      }
    };
    const { result, changes } = await sync(owner, cache);
    expect(result.relisted).toBe(1);
    expect(changes).toEqual([]);
    expect(await cache.get('employees', 'E3')).toBeDefined();
    // The deleted one goes with the next full sync, confirmed by its second listing.
    const next = await sync(owner, cache);
    expect(next.changes.map((change) => [change.change, change.id])).toEqual([['removed', 'E1']]);
    expect(next.result.relisted).toBeUndefined();
    for (const id of ['E2', 'E3', 'E4', 'E5', 'E6']) expect(await cache.get('employees', id)).toBeDefined();
  });

  it('a full listing with no records at all does not empty a filled cache', async () => {
    const owner = new FakeOwner();
    owner.set('employees', employee('E1'));
    owner.set('employees', employee('E2', 'E1'));
    const { cache } = stores.open();
    await sync(owner, cache);
    const stateBefore = await cache.state('employees');
    const changes: MasterDataChange[] = [];

    await expect(
      sync(listing([]), cache, {
        onChange: (change) => {
          changes.push(change);
        },
      }),
    ).rejects.toMatchObject({ code: 'ERP_REJECTED', message: expect.stringMatching(/listed no employees/) });

    expect(changes).toEqual([]);
    expect(await cache.get('employees', 'E1')).toBeDefined();
    expect(await cache.get('employees', 'E2')).toBeDefined();
    expect(await cache.state('employees')).toEqual(stateBefore);
  });

  it('a first full sync of an owner with no records completes (nothing to lose)', async () => {
    const { cache } = stores.open();
    const { result } = await sync(listing([]), cache);
    expect(result).toMatchObject({ mode: 'full', read: 0, removed: 0 });
    expect(await cache.readiness('employees')).toBe('ready');
  });

  it('records with the ids __proto__ and constructor are cached, kept and enriched like any other', async () => {
    const owner = new FakeOwner();
    owner.set('employees', employee('__proto__'));
    owner.set('employees', employee('constructor', '__proto__'));
    owner.set('costCenters', { id: '__proto__', name: 'Odd', ownerId: 'constructor', open: true });
    owner.set('costCenters', { id: 'constructor', name: 'Odder', open: true });
    const { cache } = stores.open();
    await sync(owner, cache);
    await sync(owner, cache, { kind: 'costCenters' });
    const again = await sync(owner, cache);
    expect(again.changes).toEqual([]);

    const { masterData, notFound } = await enrich(cache, {
      employeeId: 'constructor',
      lines: [{ dimensions: { costCenter: '__proto__' } }, { dimensions: { costCenter: 'constructor' } }],
    });

    expect(notFound).toEqual([]);
    expect(masterData.employee?.managerChain.map((manager) => manager.id)).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(masterData.costCenters)).toBe(Object.prototype);
    expect(Object.keys(masterData.costCenters).sort()).toEqual(['__proto__', 'constructor']);
    expect(JSON.parse(JSON.stringify(masterData.costCenters)).__proto__).toMatchObject({
      name: 'Odd',
      owner: { id: 'constructor' },
    });
  });
});
