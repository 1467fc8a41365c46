/**
 * finance-purchase-order ends finance-budget-check's reservation of a requisition once the ERP counts its
 * purchase order (created or updated), on the store the node is configured with (lib/budget/reservations.ts).
 */
import * as path from 'node:path';
import { BudgetReservations, reservationDocumentOf } from '../../lib/budget';
import type { Requisition } from '../../lib/model/types';
import type { FinanceStoreNode } from '../../nodes/shared/config-nodes';
import { coreNodes, helper, tempDir } from '../support/node-red';
import { requisition } from '../unit/purchasing/fixtures';
import financeErp = require('../../nodes/finance-erp/finance-erp');
import financeStore = require('../../nodes/finance-store/finance-store');
import financePurchaseOrder = require('../../nodes/finance-purchase-order/finance-purchase-order');

type Msg = Record<string, any>;

const nodes = [financeErp, financeStore, financePurchaseOrder, coreNodes.catch];

describe('finance-purchase-order releases the budget reserved for the requisition', () => {
  const temp = tempDir('po-reservation');
  let outputs: Array<{ on: string; msg: Msg }> = [];

  const flow = () => [
    { id: 'tab', type: 'tab' },
    {
      id: 'erp',
      type: 'finance-erp',
      z: 'tab',
      dialect: 'sandbox',
      embeddedSandbox: true,
      baseUrl: '',
      company: 'FS-DEMO',
      circuitBreaker: false,
    },
    { id: 'store', type: 'finance-store', z: 'tab', path: path.join(temp.dir, 'store') },
    {
      id: 'po',
      type: 'finance-purchase-order',
      z: 'tab',
      erp: 'erp',
      store: 'store',
      validateMasterData: false,
      wires: [['synced'], ['refused']],
    },
    { id: 'synced', type: 'helper', z: 'tab' },
    { id: 'refused', type: 'helper', z: 'tab' },
    { id: 'catcher', type: 'catch', z: 'tab', scope: ['po'], uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab' },
  ];

  const store = () => (helper.getNode('store') as unknown as FinanceStoreNode).store();

  afterEach(async () => {
    await helper.unload();
  });
  afterAll(() => temp.remove());

  it('releases it once the purchase order is created', async () => {
    await helper.load(nodes, flow());
    for (const id of ['synced', 'refused', 'caught']) {
      helper.getNode(id).on('input', (msg: Msg) => outputs.push({ on: id, msg }));
    }
    const req: Requisition = requisition();
    const scope = { company: 'FS-DEMO', currency: 'EUR', key: 'costCenter=CC-100,glAccount=6300@2026-03' };
    await new BudgetReservations(store(), { holdMs: 3_600_000 }).reserve(
      reservationDocumentOf(req) as string,
      [scope],
      [{ key: scope.key, amount: req.total }],
    );
    const held = async () =>
      (await new BudgetReservations(store(), { holdMs: 1 }).reservedByOthers([scope], 'nobody')).get(scope.key);
    expect(await held()).toEqual(req.total);

    outputs = [];
    helper.getNode('po').receive({ payload: req, finance: { correlationId: 'corr-po-release' } });
    const deadline = Date.now() + 15_000;
    while (outputs.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));

    expect(outputs[0]?.on).toBe('synced');
    // Released: it no longer holds for checks from now on.
    expect(await held()).toEqual({ amount: '0.00', currency: 'EUR' });
  });
});
