/**
 * finance-approval and finance-purchase-order with "Master data cache" set read the cache a finance-master-data
 * node filled, not the ERP: the ERP is changed after the sync, and the nodes still see the cached records.
 */
import { startSandbox, type SandboxHandle } from '../../lib/sandbox/server';
import { coreNodes, helper, tempDir } from '../support/node-red';
import financeApproval = require('../../nodes/finance-approval/finance-approval');
import financeErp = require('../../nodes/finance-erp/finance-erp');
import financeMasterData = require('../../nodes/finance-master-data/finance-master-data');
import financePurchaseOrder = require('../../nodes/finance-purchase-order/finance-purchase-order');
import financeStore = require('../../nodes/finance-store/finance-store');
import { patchMasterRecord } from '../support/sandbox-api';

type Msg = Record<string, any>;

const nodes = [financeErp, financeStore, financeMasterData, financeApproval, financePurchaseOrder, coreNodes.catch];
const at = { x: 100, y: 100 };

const matrix = {
  financeController: 'controller',
  roles: { controller: 'E1003' },
  slaHours: 24,
  rules: [{ id: 'manager', currency: 'EUR', approvers: [{ type: 'manager' }] }],
};

const eur = (amount: string) => ({ amount, currency: 'EUR' });

const expenseReport = {
  docType: 'ExpenseReport',
  sourceRef: { system: 'expenses', id: 'ER-CACHE-1', version: 1 },
  reportId: 'ER-CACHE-1',
  employeeId: 'E1011',
  company: 'FS-DEMO',
  submittedAt: '2026-03-01T10:00:00Z',
  state: 'submitted',
  total: eur('200.00'),
  lines: [
    { lineId: '1', date: '2026-03-01', amount: eur('200.00'), dimensions: { costCenter: 'CC-200', glAccount: '6000' } },
  ],
};

const requisition = (id: string) => ({
  docType: 'Requisition',
  sourceRef: { system: 'procurement', id, version: 1 },
  requisitionId: id,
  requesterId: 'E1017',
  supplierId: 'SUP-1001',
  company: 'FS-DEMO',
  state: 'approved',
  currency: 'EUR',
  total: eur('100.00'),
  lines: [
    {
      lineId: '1',
      description: 'Cables',
      quantity: '1',
      unitPrice: eur('100.00'),
      amount: eur('100.00'),
      taxCode: 'DE-19',
      accountAssignments: [{ dimensions: { costCenter: 'CC-400', glAccount: '0650' }, percent: '100' }],
    },
  ],
});

describe('approval and purchase-order nodes reading the master data cache', () => {
  let sandbox: SandboxHandle;
  const temp = tempDir('md-consumers');

  const base = (): Msg[] => [
    { id: 'tab', type: 'tab' },
    { id: 'erp', type: 'finance-erp', dialect: 'sandbox', baseUrl: sandbox.url, company: 'FS-DEMO' },
    { id: 'store', type: 'finance-store', path: `${temp.dir}/store` },
    { id: 'catcher', type: 'catch', z: 'tab', ...at, scope: null, uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab', ...at },
  ];

  const patch = (kind: string, id: string, body: object) => patchMasterRecord(sandbox.url, kind, id, body);

  function next(ids: string[]): Promise<{ on: string; msg: Msg }> {
    return new Promise((resolve) => {
      const listeners = ids.map((id) => {
        const node = helper.getNode(id);
        const listener = (msg: Msg) => {
          for (const [each, added] of listeners) each.removeListener('input', added);
          resolve({ on: id, msg });
        };
        node.on('input', listener);
        return [node, listener] as const;
      });
    });
  }

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
  });
  afterEach(async () => {
    await helper.unload();
  });
  afterAll(async () => {
    await sandbox.close();
    temp.remove();
  });

  it('route and validate with the cached records while the ERP has changed since the sync', async () => {
    // The cache learns that SUP-1001 is blocked and who E1011's manager is (E1013)...
    await patch('suppliers', 'SUP-1001', { status: 'blocked' });
    await helper.load(nodes, [
      ...base(),
      {
        id: 'syncer',
        type: 'finance-master-data',
        z: 'tab',
        ...at,
        mode: 'sync',
        store: 'store',
        erp: 'erp',
        cache: 'demo',
        intervalMinutes: 0,
        wires: [[], ['summary']],
      },
      { id: 'summary', type: 'helper', z: 'tab', ...at },
    ]);
    const synced = next(['summary', 'caught']);
    helper.getNode('syncer').receive({ sync: 'full' });
    expect((await synced).on).toBe('summary');
    await helper.unload();

    // ...then the ERP changes, and no sync follows.
    await patch('suppliers', 'SUP-1001', { status: 'active' });
    await patch('employees', 'E1011', { managerId: 'E1016' });

    await helper.load(nodes, [
      ...base(),
      {
        id: 'approval',
        type: 'finance-approval',
        z: 'tab',
        ...at,
        store: 'store',
        erp: 'erp',
        masterDataCache: 'demo',
        matrix,
        delegations: [],
        wires: [['approved'], ['rejected'], ['escalated'], ['request']],
      },
      ...['approved', 'rejected', 'escalated', 'request'].map((id) => ({ id, type: 'helper', z: 'tab', ...at })),
      {
        id: 'po-cached',
        type: 'finance-purchase-order',
        z: 'tab',
        ...at,
        store: 'store',
        erp: 'erp',
        validateMasterData: true,
        masterDataCache: 'demo',
        wires: [['synced'], ['refused']],
      },
      {
        id: 'po-erp',
        type: 'finance-purchase-order',
        z: 'tab',
        ...at,
        store: 'store',
        erp: 'erp',
        validateMasterData: true,
        wires: [['synced'], ['refused']],
      },
      { id: 'synced', type: 'helper', z: 'tab', ...at },
      { id: 'refused', type: 'helper', z: 'tab', ...at },
    ]);

    const routed = next(['approved', 'rejected', 'escalated', 'request', 'caught']);
    helper.getNode('approval').receive({ payload: expenseReport, finance: { correlationId: 'c1' } });
    const request = await routed;
    expect(request.on).toBe('request');
    expect(request.msg.approval.approver).toBe('E1013'); // the ERP now says E1016

    const fromCache = next(['synced', 'refused', 'caught']);
    helper.getNode('po-cached').receive({ payload: requisition('REQ-CACHE-1') });
    const refused = await fromCache;
    expect(refused.on).toBe('refused');
    expect(JSON.stringify(refused.msg.errors)).toContain('SUP-1001');

    const fromErp = next(['synced', 'refused', 'caught']);
    helper.getNode('po-erp').receive({ payload: requisition('REQ-CACHE-2') });
    expect((await fromErp).on).toBe('synced');
  });
});
