import type { MasterDataPage, MasterDataQuery } from '../../../lib/erp/dialect';
import type { MasterDataKind } from '../../../lib/model/types';
import { FinanceError } from '../../../lib/errors';
import {
  MasterDataCache,
  lookupOf,
  readMasterData,
  type MasterDataSnapshot,
} from '../../../lib/purchasing/master-data';
import { masterDataFailures } from '../../../lib/purchasing/validate';
import { RefreshingCache } from '../../../lib/purchasing/refreshing-cache';
import { toPurchaseOrder } from '../../../lib/purchasing/document';
import { demoMasterData, line, requisition } from './fixtures';

/** A dialect that serves the demo master data two records per page and counts the pages asked for. */
function pagedDialect(snapshot: MasterDataSnapshot = demoMasterData()) {
  const pages: Array<{ kind: MasterDataKind; cursor?: string | null }> = [];
  return {
    pages,
    async listMasterData(kind: MasterDataKind, query: MasterDataQuery): Promise<MasterDataPage> {
      pages.push({ kind, cursor: query.cursor });
      const records = (snapshot as unknown as Record<string, Array<{ id: string }>>)[kind] ?? [];
      const start = query.cursor ? Number(query.cursor) : 0;
      const next = start + 2 < records.length ? String(start + 2) : null;
      return { items: records.slice(start, start + 2) as never, nextCursor: next };
    },
  };
}

function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms: number) => (now += ms) };
}

describe('readMasterData', () => {
  it('reads every page of the five kinds validation needs, and no employees', async () => {
    const dialect = pagedDialect();
    const snapshot = await readMasterData(dialect, { correlationId: 'c' });
    expect(snapshot.suppliers.map((supplier) => supplier.id)).toHaveLength(10);
    expect(snapshot.taxCodes).toHaveLength(10);
    expect(snapshot.costCenters).toHaveLength(6);
    expect(snapshot.projects).toHaveLength(4);
    expect(snapshot.glAccounts).toHaveLength(12);
    expect(dialect.pages.filter((page) => page.kind === 'suppliers')).toHaveLength(5);
    expect(dialect.pages.some((page) => page.kind === 'employees')).toBe(false);
  });

  it("looks a cost center listed once per validity interval up as its row in force today, not next year's", () => {
    const snapshot = demoMasterData();
    const now = Date.parse('2026-06-15T00:00:00Z');
    const row = (from: string, ownerId: string, open: boolean) => ({
      id: 'CC-T',
      name: 'Time-dependent',
      modifiedAt: `${from}T00:00:00.000Z`,
      company: 'FS-DEMO',
      open,
      ownerId,
    });
    // In SAP's order (by ValidityEndDate): expired, today's, planned for next year (closed, new owner).
    snapshot.costCenters.push(
      row('2015-01-01', 'E0999', false),
      row('2020-01-01', 'E1001', true),
      row('2027-01-01', 'E1002', false),
    );
    expect(lookupOf(snapshot, now).costCenter('CC-T')).toMatchObject({ ownerId: 'E1001', open: true });
    // Only planned rows: the soonest one.
    const planned = demoMasterData();
    planned.costCenters.push(row('2028-01-01', 'E3', true), row('2027-01-01', 'E2', true));
    expect(lookupOf(planned, now).costCenter('CC-T')).toMatchObject({ ownerId: 'E2' });
  });

  it('leaves out records without an id and stops a source whose cursor repeats', async () => {
    const snapshot = demoMasterData();
    snapshot.projects!.push({ id: '', name: 'nameless', modifiedAt: '', status: 'open' });
    expect((await readMasterData(pagedDialect(snapshot), { correlationId: 'c' })).projects).toHaveLength(4);
    const looping = {
      listMasterData: async (): Promise<MasterDataPage> => ({ items: [], nextCursor: 'same' }),
    };
    await expect(readMasterData(looping, { correlationId: 'c' })).rejects.toMatchObject({
      code: 'ERP_REJECTED',
      message: expect.stringContaining('kept returning more'),
    });
  });
});

describe('an ERP that does not publish tax codes', () => {
  const refusing = (error: FinanceError) => {
    const dialect = pagedDialect();
    return {
      listMasterData: (kind: MasterDataKind, query: MasterDataQuery) =>
        kind === 'taxCodes' ? Promise.reject(error) : dialect.listMasterData(kind, query),
    };
  };

  it("reads the other kinds, and a line's tax code is left to the ERP rather than refused as unknown", async () => {
    const snapshot = await readMasterData(
      refusing(new FinanceError('CONFIG_INVALID', 'Business Central API v2.0 has no taxCodes with rates')),
      { correlationId: 'c' },
    );
    expect(snapshot.taxCodes).toBeUndefined();
    expect(snapshot.suppliers).toHaveLength(10);
    const lookup = lookupOf(snapshot);
    expect(lookup.taxCode).toBeUndefined();
    const po = toPurchaseOrder(requisition({ lines: [line({ taxCode: 'XX-99' })] }), '2026-03-10');
    expect(masterDataFailures(po, lookup)).toEqual([]);
    // With the ERP's tax codes known, the same line is refused.
    expect(masterDataFailures(po, lookupOf(demoMasterData())).map((failure) => failure.rule)).toEqual([
      'taxCodeUnknown',
    ]);
  });

  it('still fails when reading the tax codes fails for another reason', async () => {
    await expect(
      readMasterData(refusing(new FinanceError('ERP_UNAVAILABLE', 'down', { retryable: true })), {
        correlationId: 'c',
      }),
    ).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE' });
  });
});

describe('an ERP that does not publish projects (SAP: WBS elements are checked at the write)', () => {
  it("reads the other kinds, and a line's project is left to the ERP rather than refused as unknown", async () => {
    const dialect = pagedDialect();
    const snapshot = await readMasterData(
      {
        listMasterData: (kind: MasterDataKind, query: MasterDataQuery) =>
          kind === 'projects' || kind === 'taxCodes'
            ? Promise.reject(
                new FinanceError('CONFIG_INVALID', `${kind} are not read from SAP`, {
                  details: { kind, notPublished: true },
                }),
              )
            : dialect.listMasterData(kind, query),
      },
      { correlationId: 'c' },
    );
    expect(snapshot.projects).toBeUndefined();
    expect(snapshot.costCenters.length).toBeGreaterThan(0);
    const lookup = lookupOf(snapshot);
    expect(lookup.project).toBeUndefined();
    const unknownProject = [
      { dimensions: { costCenter: 'CC-400', glAccount: '6100', project: 'WBS-NOPE' }, percent: '100' },
    ];
    const po = toPurchaseOrder(
      requisition({ lines: [line({ taxCode: undefined, accountAssignments: unknownProject })] }),
      '2026-03-10',
    );
    expect(masterDataFailures(po, lookup)).toEqual([]);
    // With the ERP's projects known, the same line is refused.
    expect(masterDataFailures(po, lookupOf(demoMasterData())).map((failure) => failure.rule)).toEqual([
      'projectUnknown',
    ]);
  });
});

describe('RefreshingCache', () => {
  it('loads once, serves the value, refreshes in the background once it is older than the interval', async () => {
    const clock = manualClock();
    let loads = 0;
    const cache = new RefreshingCache({ load: async () => ++loads, refreshMs: 1000, retryMs: 100, clock: clock.now });
    expect(cache.ageMs()).toBeUndefined();
    expect(await cache.get()).toBe(1);
    expect(await cache.get()).toBe(1);
    clock.advance(1000);
    expect(await cache.get()).toBe(1); // the old value while the new one loads
    await cache.refresh();
    expect(await cache.get()).toBe(2);
    expect(loads).toBe(2);
  });

  it('fails when there is no value yet; afterwards serves the old one and waits retryMs after a failure', async () => {
    const clock = manualClock();
    const errors: unknown[] = [];
    let fail = true;
    let loads = 0;
    const cache = new RefreshingCache({
      load: async () => {
        loads += 1;
        if (fail) throw new Error('ERP down');
        return loads;
      },
      refreshMs: 1000,
      retryMs: 100,
      clock: clock.now,
      onError: (error) => errors.push(error),
    });
    await expect(cache.get()).rejects.toThrow('ERP down');
    fail = false;
    expect(await cache.get()).toBe(2);
    fail = true;
    clock.advance(1000);
    expect(await cache.get()).toBe(2);
    await new Promise((resolve) => setImmediate(resolve));
    expect(errors).toHaveLength(1);
    expect(await cache.get()).toBe(2);
    expect(loads).toBe(3); // not asked again before retryMs
    clock.advance(100);
    await cache.get();
    expect(loads).toBe(4);
  });

  it('joins a load in progress instead of starting another', async () => {
    let loads = 0;
    const cache = new RefreshingCache({ load: async () => ++loads, refreshMs: 1000, retryMs: 100 });
    await Promise.all([cache.get(), cache.get(), cache.refresh()]);
    expect(loads).toBe(1);
  });
});

describe('MasterDataCache', () => {
  it('looks records up by id', async () => {
    const cache = new MasterDataCache({
      read: async () => demoMasterData(),
      refreshMs: 60_000,
      retryMs: 1000,
      recheckAfterMs: 1000,
    });
    const lookup = await cache.lookup();
    expect(lookup.supplier('SUP-1009')?.status).toBe('blocked');
    expect(lookup.project?.('PRJ-1907')?.status).toBe('closed');
    expect(lookup.glAccount('6999')?.open).toBe(false);
    expect(lookup.taxCode?.('DE-19')?.country).toBe('DE');
    expect(lookup.costCenter('CC-600')?.open).toBe(true);
    expect(lookup.supplier('SUP-0000')).toBeUndefined();
  });

  it('rechecks (reloads) only a copy older than recheckAfterMs, so a refusal burst reloads once', async () => {
    const clock = manualClock();
    const snapshot = demoMasterData();
    let reads = 0;
    const cache = new MasterDataCache({
      read: async () => {
        reads += 1;
        return JSON.parse(JSON.stringify(snapshot));
      },
      refreshMs: 15 * 60_000,
      retryMs: 60_000,
      recheckAfterMs: 60_000,
      clock: clock.now,
    });
    expect((await cache.lookup()).supplier('SUP-1009')?.status).toBe('blocked');
    expect(await cache.recheck()).toBeUndefined();
    snapshot.suppliers.find((supplier) => supplier.id === 'SUP-1009')!.status = 'active';
    clock.advance(60_000);
    const fresh = await cache.recheck();
    expect(fresh?.supplier('SUP-1009')?.status).toBe('active');
    expect(await cache.recheck()).toBeUndefined();
    expect(reads).toBe(2);
  });
});

describe('a last copy has an age limit (maxAgeMs)', () => {
  const HOUR = 3_600_000;
  const start = Date.parse('2026-03-10T08:00:00.000Z');

  /** Loads 1, then fails with `failure` until `recover` is called; then loads 2, 3... */
  function erpDownAfterFirstLoad(maxAgeMs: number) {
    const clock = manualClock(start);
    const failure = new FinanceError('ERP_UNAVAILABLE', 'ERP "main" answered 503 to GET /suppliers?api_key=abc123');
    let down = false;
    let loads = 0;
    const errors: unknown[] = [];
    const cache = new RefreshingCache({
      load: async () => {
        if (down) throw failure;
        loads += 1;
        return loads;
      },
      refreshMs: HOUR,
      retryMs: 60_000,
      maxAgeMs,
      tooOld: (stale) => Object.assign(new Error('too old'), { stale }),
      clock: clock.now,
      onError: (error) => errors.push(error),
    });
    return {
      cache,
      clock,
      failure,
      errors,
      goDown: () => (down = true),
      recover: () => (down = false),
    };
  }

  const settle = () => new Promise((resolve) => setImmediate(resolve));

  it('serves the copy while the source fails, up to the limit', async () => {
    const erp = erpDownAfterFirstLoad(72 * HOUR);
    expect(await erp.cache.get()).toBe(1);
    erp.goDown();
    erp.clock.advance(72 * HOUR);
    expect(await erp.cache.get()).toBe(1);
    await settle();
    expect(erp.errors).toEqual([erp.failure]);
  });

  it("refuses it beyond the limit with tooOld's error, and at once until retryMs has passed", async () => {
    const erp = erpDownAfterFirstLoad(72 * HOUR);
    await erp.cache.get();
    erp.goDown();
    erp.clock.advance(2 * HOUR); // the first failed refresh
    await erp.cache.get();
    await settle();
    erp.clock.advance(70 * HOUR + 1);
    await expect(erp.cache.get()).rejects.toMatchObject({
      message: 'too old',
      stale: {
        loadedAt: start,
        ageMs: 72 * HOUR + 1,
        maxAgeMs: 72 * HOUR,
        failingSince: start + 2 * HOUR,
        lastError: erp.failure,
      },
    });
    erp.recover();
    erp.clock.advance(59_999);
    await expect(erp.cache.get()).rejects.toThrow('too old'); // not asked again yet
    erp.clock.advance(1);
    expect(await erp.cache.get()).toBe(2); // a successful load serves again
  });

  it('0 sets no limit', async () => {
    const erp = erpDownAfterFirstLoad(0);
    await erp.cache.get();
    erp.goDown();
    erp.clock.advance(24 * 365 * HOUR);
    expect(await erp.cache.get()).toBe(1);
  });

  it('MasterDataCache: the refusal says how old the copy is, since when the ERP fails, and what to do', async () => {
    const clock = manualClock(start);
    let down = false;
    const cache = new MasterDataCache({
      read: async () => {
        if (down) throw new FinanceError('ERP_UNAVAILABLE', 'ERP "main" answered 503 to GET /suppliers?api_key=abc123');
        return demoMasterData();
      },
      refreshMs: 15 * 60_000,
      retryMs: 60_000,
      recheckAfterMs: 60_000,
      maxAgeMs: 72 * HOUR,
      clock: clock.now,
    });
    await cache.lookup();
    down = true;
    clock.advance(80 * HOUR);
    const error = (await cache.lookup().catch((err: unknown) => err)) as FinanceError;
    expect(error).toMatchObject({
      code: 'ERP_UNAVAILABLE',
      retryable: true,
      details: {
        loadedAt: '2026-03-10T08:00:00.000Z',
        maxAgeHours: 72,
        failingSince: '2026-03-13T16:00:00.000Z',
        lastError: expect.stringContaining('answered 503'),
      },
    });
    expect(error.message).toContain('The master data copy for purchase-order validation is 80 hours old');
    expect(error.message).toContain('could not be reached to refresh it since 2026-03-13T16:00:00.000Z');
    expect(error.message).toContain('restore the ERP connection, or raise "Use a copy for at most"');
    expect(error.message).not.toContain('abc123');
  });
});
