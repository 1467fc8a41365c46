/**
 * Master data sync against the real sandbox ERP process (dist/lib/sandbox/cli.js) over HTTP: a full sync of
 * all six kinds in small pages, then deltas, with records changed while a sync runs (between its pages).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ErpClient } from '../../lib/erp/client';
import { createSandboxDialect } from '../../lib/erp/sandbox/dialect';
import type { CallContext } from '../../lib/erp/dialect';
import {
  MASTER_DATA_KINDS,
  MasterDataCache,
  SyncRunner,
  type MasterDataChange,
  type MasterDataKind,
  type MasterDataLister,
} from '../../lib/masterdata';
import { openStore, type FinanceStore } from '../../lib/reliability/store';
import { startSandboxProcess, stopAll, type RunningProcess } from '../support/processes';
import { patchMasterRecord } from '../support/sandbox-api';

jest.setTimeout(120_000);

/** The sandbox seed (lib/sandbox/API.md): records per kind in FS-DEMO. */
const SEED: Record<MasterDataKind, number> = {
  employees: 25,
  suppliers: 10,
  costCenters: 6,
  projects: 4,
  glAccounts: 12,
  taxCodes: 10,
};

describe('finance-master-data sync against the sandbox ERP process', () => {
  let sandbox: RunningProcess;
  let client: ErpClient;
  let store: FinanceStore;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-md-e2e-'));

  beforeAll(async () => {
    sandbox = await startSandboxProcess();
    client = new ErpClient({ name: 'sandbox-erp', dialect: 'sandbox', baseUrl: sandbox.url, auth: { type: 'none' } });
    store = openStore({ path: path.join(dir, 'store') });
  });
  afterAll(async () => {
    client?.close();
    await store?.close();
    await stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const patch = (kind: MasterDataKind, id: string, body: object) => patchMasterRecord(sandbox.url, kind, id, body);

  /** The sandbox dialect, with a hook that runs before each page after the first of a listing. */
  function listerWithHook(hook: { beforePage?: (kind: MasterDataKind, page: number) => Promise<void> }) {
    const dialect = createSandboxDialect(client, { name: 'sandbox-erp', company: 'FS-DEMO' });
    const pages = new Map<MasterDataKind, number>();
    const lister: MasterDataLister & { requests: Array<{ kind: MasterDataKind; modifiedSince?: string }> } = {
      requests: [],
      async listMasterData(kind, query, ctx: CallContext) {
        const page = query.cursor ? (pages.get(kind) ?? 0) + 1 : 0;
        pages.set(kind, page);
        if (page > 0) await hook.beforePage?.(kind, page);
        lister.requests.push({ kind, ...(query.modifiedSince && { modifiedSince: query.modifiedSince }) });
        return dialect.listMasterData(kind, query, ctx);
      },
    };
    return lister;
  }

  it('full sync in pages of 4, a record changed between pages kept, then deltas that read only what changed', async () => {
    const hook: { beforePage?: (kind: MasterDataKind, page: number) => Promise<void> } = {};
    const lister = listerWithHook(hook);
    const changes: MasterDataChange[] = [];
    const cache = new MasterDataCache(store, 'e2e');
    const runner = new SyncRunner({
      store,
      cache,
      owners: MASTER_DATA_KINDS.map((kind) => ({ kind, owner: 'erp', lister: async () => lister })),
      pageSize: 4,
      overlapMs: 5_000,
      maxPages: 100,
      onChange: (change) => {
        changes.push(change);
      },
    });

    // During the full sync, E1001 (on the first page of employees, which was already read) gets a new approval
    // limit before page 2 is read, and SUP-1001 (first page of suppliers) is blocked before page 2 of suppliers.
    hook.beforePage = async (kind, page) => {
      if (kind === 'employees' && page === 1)
        await patch('employees', 'E1001', { approvalLimit: { amount: '2000000.00', currency: 'EUR' } });
      if (kind === 'suppliers' && page === 1) await patch('suppliers', 'SUP-1001', { status: 'blocked' });
    };
    const full = await runner.run('delta'); // a first delta runs as full
    hook.beforePage = undefined;

    expect(full.failures).toEqual([]);
    for (const result of full.kinds) {
      expect(result).toMatchObject({ mode: 'full', removed: 0, skipped: 0 });
      expect(result.pages).toBeGreaterThanOrEqual(Math.ceil(SEED[result.kind] / 4));
    }
    // Every record arrived, each once as created; the two changed mid-sync also as updated.
    for (const kind of MASTER_DATA_KINDS) {
      const created = changes.filter((change) => change.kind === kind && change.change === 'created');
      expect(new Set(created.map((change) => change.id)).size).toBe(SEED[kind]);
      expect(created).toHaveLength(SEED[kind]);
    }
    const e1001 = await cache.get('employees', 'E1001');
    expect(e1001).toMatchObject({ approvalLimit: { amount: '2000000.00', currency: 'EUR' } });
    expect(await cache.get('suppliers', 'SUP-1001')).toMatchObject({ status: 'blocked' });
    expect(changes.filter((change) => change.change === 'updated').map((change) => change.id)).toEqual([
      'E1001',
      'SUP-1001',
    ]);

    // A delta with nothing changed reads from the high-water mark and emits nothing.
    changes.length = 0;
    lister.requests.length = 0;
    const quiet = await runner.run('delta');
    expect(changes).toEqual([]);
    expect(quiet.kinds.every((result) => result.mode === 'delta')).toBe(true);
    const employeesState = await cache.state('employees');
    expect(lister.requests.find((request) => request.kind === 'employees')?.modifiedSince).toBe(
      new Date(Date.parse(employeesState.highWater!) - 5_000).toISOString(),
    );

    // Changes in the ERP after the sync, one of them during the next delta: each arrives once, with before/after.
    await patch('projects', 'PRJ-1907', { status: 'open' });
    await patch('employees', 'E1012', { managerId: 'E1004' });
    hook.beforePage = async (kind, page) => {
      if (kind === 'costCenters' && page === 1) await patch('costCenters', 'CC-100', { ownerId: 'E1003' });
    };
    const before = await cache.get('employees', 'E1012');
    const delta = await runner.run('delta');
    hook.beforePage = undefined;
    expect(delta.failures).toEqual([]);
    expect(changes.map((change) => [change.kind, change.id, change.change])).toEqual(
      expect.arrayContaining([
        ['employees', 'E1012', 'updated'],
        ['projects', 'PRJ-1907', 'updated'],
      ]),
    );
    const e1012 = changes.find((change) => change.id === 'E1012')!;
    expect(e1012.before).toEqual(before);
    expect(e1012.after).toMatchObject({ managerId: 'E1004' });
    // CC-100 was changed during this delta: it was either in the page read after the change, or it is read by
    // the next delta; either way the cache ends with it and it is reported once.
    await runner.run('delta');
    expect(await cache.get('costCenters', 'CC-100')).toMatchObject({ ownerId: 'E1003' });
    expect(changes.filter((change) => change.id === 'CC-100')).toHaveLength(1);
    expect(changes).toHaveLength(3);

    // A record deleted in the ERP: a delta cannot see it, the next full sync removes it with its last copy.
    const removedRecord = await cache.get('glAccounts', '6999');
    const removal = await fetch(`${sandbox.url}/_sandbox/companies/FS-DEMO/glAccounts/6999/remove`, { method: 'POST' });
    expect(removal.status).toBe(200);
    changes.length = 0;
    await runner.run('delta');
    expect(changes).toEqual([]);
    const full2 = await runner.run('full');
    expect(full2.kinds.find((result) => result.kind === 'glAccounts')).toMatchObject({ removed: 1, created: 0 });
    expect(changes).toEqual([{ kind: 'glAccounts', id: '6999', change: 'removed', before: removedRecord }]);
    expect(await cache.get('glAccounts', '6999')).toBeUndefined();

    // The cache matches the ERP record for record.
    for (const kind of MASTER_DATA_KINDS) {
      const erp = await (await fetch(`${sandbox.url}/api/v1/companies/FS-DEMO/${kind}?limit=500`)).json();
      const cached = [];
      for await (const record of cache.all(kind)) cached.push(record);
      const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : 1);
      expect(cached.sort(byId)).toEqual((erp as { items: Array<{ id: string }> }).items.sort(byId));
    }
  });
});
