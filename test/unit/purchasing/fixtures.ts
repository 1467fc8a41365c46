/** Shared set-up for the purchasing tests: documents valid for the sandbox's FS-DEMO company, its master data, stores. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ErpHttp, ErpRequest, ErpResponse } from '../../../lib/erp/client';
import type { PurchaseOrderLine, Requisition } from '../../../lib/model/types';
import { lookupOf, type MasterDataSnapshot } from '../../../lib/purchasing/master-data';
import type { MasterDataLookup } from '../../../lib/purchasing/validate';
import { openStore, type FinanceStore } from '../../../lib/reliability/store';
import { demoSeed } from '../../../lib/sandbox/seed';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

export function line(overrides: Partial<PurchaseOrderLine> = {}): PurchaseOrderLine {
  return {
    lineId: '1',
    description: 'Laptop stand',
    itemCode: 'LS-1',
    quantity: '2',
    unitPrice: eur('150.00'),
    amount: eur('300.00'),
    taxCode: 'DE-19',
    accountAssignments: [
      { dimensions: { costCenter: 'CC-400', glAccount: '0650' }, percent: '60' },
      { dimensions: { costCenter: 'CC-500', glAccount: '0650' }, percent: '40' },
    ],
    ...overrides,
  };
}

/** An approved requisition for SUP-1001 (Germany) with two lines, version 1. */
export function requisition(overrides: Partial<Requisition> = {}): Requisition {
  const lines = overrides.lines ?? [
    line(),
    line({
      lineId: '2',
      description: 'USB-C dock',
      itemCode: undefined,
      quantity: '1',
      unitPrice: eur('89.90'),
      amount: eur('89.90'),
      accountAssignments: [{ dimensions: { costCenter: 'CC-500', glAccount: '6100' }, percent: '100' }],
    }),
  ];
  const total = lines.reduce((sum, each) => sum + BigInt(each.amount.amount.replace('.', '')), 0n);
  return {
    docType: 'Requisition',
    sourceRef: { system: 'coupa', id: 'REQ-1001', version: 1 },
    requisitionId: 'REQ-1001',
    requesterId: 'E1011',
    supplierId: 'SUP-1001',
    company: 'FS-DEMO',
    state: 'approved',
    currency: 'EUR',
    total: eur(`${total / 100n}.${String(total % 100n).padStart(2, '0')}`),
    ...overrides,
    lines: lines.map((each) => JSON.parse(JSON.stringify(each))),
  };
}

/** The same requisition at another version. */
export function revision(version: number, overrides: Partial<Requisition> = {}): Requisition {
  return requisition({ ...overrides, sourceRef: { system: 'coupa', id: 'REQ-1001', version } });
}

/** The sandbox's FS-DEMO master data as a snapshot. */
export function demoMasterData(): MasterDataSnapshot {
  const master = demoSeed(new Date('2026-03-01T00:00:00Z')).find((company) => company.company.id === 'FS-DEMO')!.master;
  return {
    suppliers: master.suppliers,
    taxCodes: master.taxCodes,
    costCenters: master.costCenters,
    projects: master.projects,
    glAccounts: master.glAccounts,
  };
}

export function demoLookup(): MasterDataLookup {
  return lookupOf(demoMasterData());
}

/** Stores in one temp folder; cleanup() closes them and removes the folder. */
export function storeFolder(name: string) {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), `finance-purchasing-${name}-`));
  const opened: FinanceStore[] = [];
  let counter = 0;
  return {
    open(): FinanceStore {
      const store = openStore({ path: path.join(root, `db-${++counter}`) });
      opened.push(store);
      return store;
    },
    async cleanup(): Promise<void> {
      await Promise.all(opened.map((store) => store.close()));
      fs.rmSync(root, { recursive: true, force: true });
    },
  };
}

/** An ErpHttp that passes every request on and remembers it, with its outcome (status or error code). */
export function recording(http: ErpHttp): ErpHttp & { log: Array<ErpRequest & { outcome: number | string }> } {
  const log: Array<ErpRequest & { outcome: number | string }> = [];
  return {
    log,
    async request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
      try {
        const response = await http.request<T>(request);
        log.push({ ...request, outcome: response.status });
        return response;
      } catch (error) {
        const failure = error as { httpStatus?: number; code?: string };
        log.push({ ...request, outcome: failure.httpStatus ?? String(failure.code) });
        throw error;
      }
    },
  };
}

/** The OAuth2 client the Business Central simulator is started with (`startSandbox({ auth: ... })`). */
export const BC_CLIENT = { clientId: 'bc-app', clientSecret: 'bc-secret-value' };

/** An ERP connection to the Business Central simulator at `baseUrl`, with or without the reference API page. */
export function bcConnection(baseUrl: string, referenceApi?: string) {
  return {
    baseUrl,
    name: 'bc',
    dialect: 'business-central',
    company: 'FS-DEMO',
    auth: {
      type: 'oauth2' as const,
      tokenUrl: `${baseUrl}/contoso.onmicrosoft.com/oauth2/v2.0/token`,
      scope: 'https://api.businesscentral.dynamics.com/.default',
      clientAuth: 'body' as const,
      ...BC_CLIENT,
    },
    options: { tenant: 'contoso.onmicrosoft.com', environment: 'Production', ...(referenceApi && { referenceApi }) },
  };
}
