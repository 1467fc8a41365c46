/**
 * SAP master data for the cache: paged by key (a record deleted in SAP between two pages must not hide a live
 * one from a full sync), and time-dependent cost centers read as their row valid today (a planned row for
 * next year must not stand for the cost center).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ErpHttp, ErpRequest, ErpResponse } from '../../../lib/erp/client';
import { createDialect } from '../../../lib/erp/dialect';
import type { MasterDataKind } from '../../../lib/model/types';
import { MasterDataCache, syncKind, type MasterDataChange } from '../../../lib/masterdata';
import { openStore, type FinanceStore } from '../../../lib/reliability/store';
import { listSapMasterData } from '../../../lib/erp/sap/master-data';
import { SapService } from '../../../lib/erp/sap/service';
import { sapStoreOf } from '../../../lib/sandbox/sap/api';
import { ctx, startDialectRig, type DialectRig } from './harness';
import { SAP_OPTIONS, sapConnection } from './sap-fixtures';

type Kind = Extract<MasterDataKind, 'suppliers' | 'costCenters' | 'glAccounts'>;

const year = new Date().getUTCFullYear();

describe('SAP master data: key paging and time-dependent cost centers', () => {
  let rig: DialectRig;
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-sap-md-'));
  const stores: FinanceStore[] = [];
  // A fresh simulator per test: the tests delete records in it.
  beforeEach(async () => {
    rig = await startDialectRig(sapConnection());
  });
  afterEach(() => rig.close());
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    fs.rmSync(root, { recursive: true, force: true });
  });

  function cache(): MasterDataCache {
    const store = openStore({ path: path.join(root, `db-${stores.length}`) });
    stores.push(store);
    return new MasterDataCache(store, 'sap-test');
  }

  /** Deletes a record in "SAP" (every sandbox company holding it). */
  function deleteInSap(kind: Kind, id: string): void {
    for (const company of rig.sandbox.state.companies.values()) company.records(kind).delete(id);
  }

  function liveIds(kind: Kind): string[] {
    const ids = new Set<string>();
    const companies =
      kind === 'suppliers' ? [...rig.sandbox.state.companies.values()] : [rig.sandbox.state.companies.get('FS-DEMO')!];
    for (const company of companies) for (const id of company.records(kind).keys()) ids.add(id);
    return [...ids].sort();
  }

  it.each(['suppliers', 'costCenters', 'glAccounts'] as const)(
    'a %s listing misses no live record when one on a page already read is deleted between pages',
    async (kind) => {
      const ids: string[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await rig.dialect.listMasterData(kind, { cursor, limit: 3 }, ctx);
        ids.push(...page.items.map((item) => item.id));
        // After the first page, SAP deletes the first record of it.
        if (pages === 0) deleteInSap(kind, page.items[0].id);
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor !== null && pages < 50);
      expect(pages).toBeGreaterThan(1);
      const live = liveIds(kind);
      expect(live.filter((id) => !ids.includes(id))).toEqual([]);
      expect(new Set(ids).size).toBe(ids.length);
    },
  );

  it('a full sync keeps a live cost center when another one is deleted in SAP between its pages', async () => {
    const target = cache();
    const base = {
      cache: target,
      kind: 'costCenters' as const,
      mode: 'full' as const,
      ctx,
      pageSize: 2,
      overlapMs: 60_000,
      maxPages: 50,
      now: () => new Date(),
    };
    await syncKind({ ...base, lister: rig.dialect, onChange: () => {} });
    const before = liveIds('costCenters');
    let page = 0;
    let deleted = '';
    const lister = {
      listMasterData: async (kind: MasterDataKind, query: Parameters<typeof rig.dialect.listMasterData>[1]) => {
        const result = await rig.dialect.listMasterData(kind, query, ctx);
        if (++page === 1) {
          deleted = result.items[0].id;
          deleteInSap('costCenters', deleted);
        }
        return result;
      },
    };
    const changes: MasterDataChange[] = [];
    await syncKind({ ...base, lister, onChange: (change) => void changes.push(change) });
    // Read before its deletion: still cached, and no live cost center removed.
    expect(changes).toEqual([]);
    const cachedIds = async () => {
      const cached: string[] = [];
      for await (const record of target.all('costCenters')) cached.push(record.id);
      return cached.sort();
    };
    expect(await cachedIds()).toEqual(before);
    // The next full sync removes the deleted one, and only it.
    const next = await syncKind({ ...base, lister: rig.dialect, onChange: (change) => void changes.push(change) });
    expect(changes.map((change) => [change.change, change.id])).toEqual([['removed', deleted]]);
    expect(next.relisted).toBeUndefined();
    expect(await cachedIds()).toEqual(before.filter((id) => id !== deleted));
  });

  it("caches a time-dependent cost center as today's row: owner and open flag of today, not next year's", async () => {
    sapStoreOf(rig.sandbox.state).costCenterIntervals.set('CC-100', [
      { from: '2020-01-01', to: `${year}-12-31`, ownerId: 'E1001', blocked: false },
      { from: `${year + 1}-01-01`, to: '9999-12-31', ownerId: 'E1002', blocked: true },
    ]);
    const target = cache();
    const run = () =>
      syncKind({
        lister: rig.dialect,
        cache: target,
        kind: 'costCenters',
        mode: 'full',
        ctx,
        pageSize: 500,
        overlapMs: 60_000,
        maxPages: 10,
        now: () => new Date(),
        onChange: () => {},
      });
    const first = await run();
    expect(first.stale).toBe(0);
    expect(await target.get('costCenters', 'CC-100')).toMatchObject({
      open: true,
      ownerId: 'E1001',
      modifiedAt: '2020-01-01T00:00:00.000Z',
    });
    const second = await run();
    expect(second).toMatchObject({ stale: 0, updated: 0, removed: 0 });

    // A cost center with no row valid today is not postable today: not listed.
    sapStoreOf(rig.sandbox.state).costCenterIntervals.set('CC-200', [{ from: `${year + 1}-01-01`, to: '9999-12-31' }]);
    const page = await rig.dialect.listMasterData('costCenters', { limit: 500 }, ctx);
    expect(page.items.map((item) => item.id)).not.toContain('CC-200');
    expect(page.items.filter((item) => item.id === 'CC-100')).toHaveLength(1);
  });

  it("keeps today's row when the server ignores the validity filter and sends every interval", async () => {
    const d = (iso: string) => `/Date(${Date.parse(iso)})/`;
    const text = { results: [{ Language: 'EN', CostCenterName: 'Sales' }] };
    const rows = [
      {
        CostCenter: 'CC-100',
        ValidityStartDate: d('2015-01-01'),
        ValidityEndDate: d('2019-12-31'),
        IsBlkdForPrimaryCostsPosting: 'X',
        CostCtrResponsibleUser: 'E0999',
        to_Text: text,
      },
      {
        CostCenter: 'CC-100',
        ValidityStartDate: d('2020-01-01'),
        ValidityEndDate: d(`${year}-12-31`),
        IsBlkdForPrimaryCostsPosting: '',
        CostCtrResponsibleUser: 'E1001',
        to_Text: text,
      },
      {
        CostCenter: 'CC-100',
        ValidityStartDate: d(`${year + 1}-01-01`),
        ValidityEndDate: d('9999-12-31'),
        IsBlkdForPrimaryCostsPosting: 'X',
        CostCtrResponsibleUser: 'E1002',
        to_Text: text,
      },
    ];
    const http: ErpHttp = {
      request: async <T>(request: ErpRequest): Promise<ErpResponse<T>> => {
        if (!request.path.endsWith('/A_CostCenter')) throw new Error(`unexpected ${request.path}`);
        return { status: 200, headers: {}, data: { d: { results: rows } } as T, durationMs: 1 };
      },
    };
    const dialect = createDialect('sap', http, {
      name: 'sap',
      company: 'FS01',
      baseUrl: 'http://127.0.0.1:1',
      options: SAP_OPTIONS,
    });
    const page = await dialect.listMasterData('costCenters', { limit: 50 }, ctx);
    expect(page.items).toEqual([
      expect.objectContaining({ id: 'CC-100', open: true, ownerId: 'E1001', modifiedAt: '2020-01-01T00:00:00.000Z' }),
    ]);
    expect(page.nextCursor).toBeNull();
  });

  it("takes today from this host's calendar, not UTC's: past local midnight of 1 January the new year's row holds", async () => {
    const d = (iso: string) => `/Date(${Date.parse(iso)})/`;
    const rows = [
      { ValidityStartDate: d('2020-01-01'), ValidityEndDate: d('2026-12-31'), CostCtrResponsibleUser: 'E1001' },
      {
        ValidityStartDate: d('2027-01-01'),
        ValidityEndDate: d('9999-12-31'),
        IsBlkdForPrimaryCostsPosting: 'X',
        CostCtrResponsibleUser: 'E1002',
      },
    ].map((row) => ({ CostCenter: 'CC-100', IsBlkdForPrimaryCostsPosting: '', to_Text: { results: [] }, ...row }));
    const filters: string[] = [];
    const http: ErpHttp = {
      request: async <T>(request: ErpRequest): Promise<ErpResponse<T>> => {
        filters.push(String(request.query?.$filter));
        return { status: 200, headers: {}, data: { d: { results: rows } } as T, durationMs: 1 };
      },
    };
    const service = (path: string) => new SapService({ http, system: 'sap', path, scenario: 'SAP_COM_0179' });
    const list = (zone: string) =>
      listSapMasterData(
        {
          system: 'sap',
          companyCode: 'FS01',
          chartOfAccounts: 'YCOA',
          services: { suppliers: service('/bp'), costCenters: service('/cc'), glAccounts: service('/gl') },
          // 01:00 on 1 January 2027 in Auckland (UTC+13), still 31 December in UTC.
          now: () => new Date('2026-12-31T12:00:00Z'),
          zone,
        },
        'costCenters',
        { limit: 50 },
        ctx,
      );
    const auckland = await list('Pacific/Auckland');
    expect(auckland.items).toEqual([expect.objectContaining({ id: 'CC-100', open: false, ownerId: 'E1002' })]);
    expect(filters[0]).toContain("ValidityStartDate le datetime'2027-01-01T00:00:00'");
    const london = await list('Europe/London');
    expect(london.items).toEqual([expect.objectContaining({ id: 'CC-100', open: true, ownerId: 'E1001' })]);
  });
});
