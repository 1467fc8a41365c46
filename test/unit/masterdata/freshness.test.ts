/**
 * A cache whose scheduled syncs stop renewing it goes out of date: routing and PO validation ask the owner
 * instead, enrichment refuses, and one successful sync makes it ready again.
 */
import { FinanceError } from '../../../lib/errors';
import { cachedLister, enrich, masterDataSettings, syncKind, type MasterDataCache } from '../../../lib/masterdata';
import type { MasterDataLister } from '../../../lib/masterdata/kinds';
import { FakeOwner, employee, tempStores } from './fixtures';

const HOUR = 3_600_000;
const SYNCED = new Date('2026-03-10T08:00:00Z');

function syncEmployees(cache: MasterDataCache, lister: MasterDataLister, at: Date, freshForMs?: number) {
  return syncKind({
    lister,
    cache,
    kind: 'employees',
    mode: 'full',
    ctx: { correlationId: 'fresh' },
    pageSize: 10,
    overlapMs: 0,
    maxPages: 10,
    ...(freshForMs !== undefined && { freshForMs }),
    now: () => at,
    onChange: () => undefined,
  });
}

function owner(): FakeOwner {
  const fake = new FakeOwner();
  fake.set('employees', employee('E1'));
  fake.set('employees', employee('E2', 'E1'));
  return fake;
}

describe('masterDataSettings: how long a scheduled copy stays fresh', () => {
  it('is four sync intervals, at least an hour, and unbounded without a schedule', () => {
    expect(masterDataSettings({ intervalMinutes: 30 }).freshForMs).toBe(2 * HOUR);
    expect(masterDataSettings({ intervalMinutes: 5 }).freshForMs).toBe(HOUR);
    expect(masterDataSettings({}).freshForMs).toBe(HOUR); // the default 15 minutes
    expect(masterDataSettings({ intervalMinutes: 0 }).freshForMs).toBeUndefined();
  });
});

describe('master data cache freshness', () => {
  const stores = tempStores('fresh');
  afterAll(() => stores.cleanup());

  it('a sync promises freshness for freshForMs; after that the kind is outdated until a sync renews it', async () => {
    const { cache } = stores.open();
    const source = owner();
    await syncEmployees(cache, source, SYNCED, HOUR);
    expect((await cache.state('employees')).freshUntil).toBe('2026-03-10T09:00:00.000Z');
    expect(await cache.readiness('employees', SYNCED.getTime() + HOUR - 1)).toBe('ready');
    expect(await cache.readiness('employees', SYNCED.getTime() + HOUR)).toBe('outdated');

    // A failing sync changes nothing: the copy stays outdated.
    const failing: MasterDataLister = { listMasterData: () => Promise.reject(new Error('ERP down')) };
    await expect(syncEmployees(cache, failing, new Date(SYNCED.getTime() + 2 * HOUR), HOUR)).rejects.toThrow(
      'ERP down',
    );
    expect(await cache.readiness('employees', SYNCED.getTime() + 2 * HOUR)).toBe('outdated');

    const renewed = new Date(SYNCED.getTime() + 3 * HOUR);
    await syncEmployees(cache, source, renewed, HOUR);
    expect(await cache.readiness('employees', renewed.getTime() + 1)).toBe('ready');
  });

  it('a sync without a schedule removes an earlier promise: the copy is never outdated', async () => {
    const { cache } = stores.open();
    await syncEmployees(cache, owner(), SYNCED, HOUR);
    await syncEmployees(cache, owner(), SYNCED);
    expect((await cache.state('employees')).freshUntil).toBeUndefined();
    expect(await cache.readiness('employees', SYNCED.getTime() + 1000 * HOUR)).toBe('ready');
  });

  it('a kind never synced in full is incomplete', async () => {
    const { cache } = stores.open();
    expect(await cache.readiness('employees')).toBe('incomplete');
  });

  it('routing and PO validation read an outdated kind from the owner, a fresh one from the cache', async () => {
    const { cache } = stores.open();
    await syncEmployees(cache, owner(), SYNCED, HOUR);
    const erp = owner();
    erp.set('employees', employee('E3', 'E1')); // joined after the last sync
    let now = SYNCED.getTime() + HOUR / 2;
    const lister = cachedLister(cache, erp, () => now);

    const fresh = await lister.listMasterData('employees', { cursor: null, limit: 10 }, { correlationId: 't' });
    expect(fresh.items.map((record) => record.id)).toEqual(['E1', 'E2']);
    expect(erp.calls).toHaveLength(0);

    now = SYNCED.getTime() + HOUR;
    const outdated = await lister.listMasterData('employees', { cursor: null, limit: 10 }, { correlationId: 't' });
    expect(outdated.items.map((record) => record.id)).toEqual(['E1', 'E2', 'E3']);
    expect(erp.calls).toHaveLength(1);
  });

  it('enrichment refuses an outdated kind with a retryable error that says when it was synced', async () => {
    const { cache } = stores.open();
    await syncEmployees(cache, owner(), SYNCED, HOUR);
    const report = { employeeId: 'E2' };

    const fresh = await enrich(cache, report, SYNCED.getTime() + HOUR / 2);
    expect(fresh.masterData.employee?.managerChain.map((manager) => manager.id)).toEqual(['E1']);

    const refusal = await enrich(cache, report, SYNCED.getTime() + HOUR).catch((err: unknown) => err);
    expect(refusal).toBeInstanceOf(FinanceError);
    expect(refusal).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      retryable: true,
      details: { kind: 'employees', syncedAt: SYNCED.toISOString(), freshUntil: '2026-03-10T09:00:00.000Z' },
    });
    expect((refusal as Error).message).toContain(`employees last synced at ${SYNCED.toISOString()}`);
  });
});
