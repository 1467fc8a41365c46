/**
 * finance-post ends finance-budget-check's reservation of a report once the ERP counts it (posted) or refused it
 * for good, on the store the post node is configured with (lib/budget/reservations.ts).
 */
import * as path from 'node:path';
import { BudgetReservations, RESERVATIONS_BY_DOCUMENT, reservationDocumentOf } from '../../lib/budget';
import type { ExpenseReport } from '../../lib/model/types';
import { startSandbox, type SandboxHandle } from '../../lib/sandbox/server';
import type { FinanceStoreNode } from '../../nodes/shared/config-nodes';
import { coreNodes, helper, tempDir } from '../support/node-red';
import { approvedReport } from '../unit/posting/fixtures';
import financeErp = require('../../nodes/finance-erp/finance-erp');
import financeStore = require('../../nodes/finance-store/finance-store');
import financePost = require('../../nodes/finance-post/finance-post');

type Msg = Record<string, any>;

const nodes = [financeErp, financeStore, financePost, coreNodes.catch];

describe('finance-post releases the budget reserved for the report', () => {
  const temp = tempDir('post-reservation');
  let sandbox: SandboxHandle;
  let storeCount = 0;
  let outputs: Array<{ on: string; msg: Msg }> = [];

  function flow() {
    storeCount += 1;
    return [
      { id: 'tab', type: 'tab' },
      { id: 'erp', type: 'finance-erp', z: 'tab', dialect: 'sandbox', baseUrl: sandbox.url, company: 'FS-DEMO' },
      { id: 'store', type: 'finance-store', z: 'tab', path: path.join(temp.dir, `store-${storeCount}`) },
      {
        id: 'post',
        type: 'finance-post',
        z: 'tab',
        erp: 'erp',
        store: 'store',
        kind: 'journal',
        postingDate: 'document',
        requireApproval: true,
        wires: [['posted'], ['refused']],
      },
      { id: 'posted', type: 'helper', z: 'tab' },
      { id: 'refused', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
  }

  const store = () => (helper.getNode('store') as unknown as FinanceStoreNode).store();

  const scope = { company: 'FS-DEMO', currency: 'EUR', key: 'costCenter=CC-100,glAccount=6300@2026-03' };

  /** What reports hold on the budget now (released ones no longer do). */
  const held = async () =>
    (await new BudgetReservations(store(), { holdMs: 1 }).reservedByOthers([scope], 'nobody')).get(scope.key);

  /** What finance-budget-check would have reserved for `report` on the store the post node uses. */
  async function reserveFor(report: ExpenseReport): Promise<void> {
    await new BudgetReservations(store(), { holdMs: 3_600_000 }).reserve(
      reservationDocumentOf(report) as string,
      [scope],
      [{ key: scope.key, amount: report.total }],
    );
  }

  async function send(payload: ExpenseReport): Promise<{ on: string; msg: Msg }> {
    const seen = outputs.length;
    helper.getNode('post').receive({
      payload,
      approval: { state: 'approved', sourceRef: payload.sourceRef },
      finance: { correlationId: 'corr-release' },
    });
    const deadline = Date.now() + 10_000;
    while (outputs.length === seen && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    return outputs[seen];
  }

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
  });
  beforeEach(async () => {
    await fetch(`${sandbox.url}/_sandbox/reset`, { method: 'POST' });
    await helper.load(nodes, flow());
    outputs = [];
    for (const id of ['posted', 'refused', 'caught']) {
      helper.getNode(id).on('input', (msg: Msg) => outputs.push({ on: id, msg }));
    }
  });
  afterEach(async () => {
    await helper.unload();
  });
  afterAll(async () => {
    await sandbox.close();
    temp.remove();
  });

  it('releases it once the report is posted', async () => {
    const report = approvedReport();
    await reserveFor(report);
    const other = { ...approvedReport(), sourceRef: { system: 'concur', id: 'RPT-OTHER' } };
    await reserveFor(other);
    expect(await held()).toEqual({ amount: '551.00', currency: 'EUR' });

    expect((await send(report)).on).toBe('posted');
    // The posted report's reservation no longer holds; the other report's does.
    expect(await held()).toEqual(other.total);
    expect(await store().kvList(RESERVATIONS_BY_DOCUMENT)).toHaveLength(1);
  });

  it('releases it when the ERP refuses the report for good', async () => {
    const report = approvedReport({ employeeId: 'E9999' });
    await reserveFor(report);

    expect((await send(report)).on).toBe('refused');
    expect(await held()).toEqual({ amount: '0.00', currency: 'EUR' });
  });
});
