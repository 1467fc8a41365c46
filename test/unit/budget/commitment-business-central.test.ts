/**
 * Netting a revision's own purchase order on Business Central without its reference API page, which cannot
 * find a purchase order by reference: the budget check reads finance-purchase-order's record of the PO it
 * applied (kv po-versions in the shared store) and asks BC for that PO by id. Probe of finding 5: a
 * requisition of 5,000.00 on CC-100/6300 (budget 8,000.00) revised to 5,500.00 was "exceeded, available
 * 3,000.00" because the 5,000.00 BC already counts was counted again.
 */
import { checkDocumentBudget, COMMITMENT_NETTED, COMMITMENT_NOT_NETTED, openCommitmentOf } from '../../../lib/budget';
import { LedgerWriter } from '../../../lib/posting/idempotent-write';
import { KeyedQueue } from '../../../lib/purchasing/keyed-queue';
import { syncPurchaseOrder } from '../../../lib/purchasing/sync';
import { VersionBook } from '../../../lib/purchasing/versions';
import type { FinanceStore } from '../../../lib/reliability/store';
import { ctx, currentPeriod, startDialectRig, today, type DialectRig } from '../dialects/harness';
import { storeFolder } from '../purchasing/fixtures';
import { eur, orderLine, purchaseOrder, requisition } from './documents';

const BC_WITHOUT_REFERENCE_API = () => ({
  name: 'bc',
  dialect: 'business-central',
  company: 'FS-DEMO',
  auth: { type: 'none' as const },
  options: { tenant: 'contoso.onmicrosoft.com', environment: 'Production' },
});
const dims = { costCenter: 'CC-100', glAccount: '6300' };
const OPTIONS = {
  warningPercent: 90,
  noBudget: 'exceeded' as const,
  periodFrom: 'document' as const,
  correlationId: 'c',
};

const order = (version: number, amount: string) => ({
  ...requisition([orderLine('1', '1', amount, amount, [{ dimensions: dims, percent: '100' }])], amount),
  sourceRef: { system: 'coupa', id: 'REQ-BC-NET', version },
});

describe('netting on Business Central without the reference API page', () => {
  const folder = storeFolder('budget-bc-netting');
  let rig: DialectRig;
  let store: FinanceStore;
  let versions: VersionBook;

  beforeEach(async () => {
    rig = await startDialectRig(BC_WITHOUT_REFERENCE_API);
    store = folder.open();
    versions = new VersionBook(store);
  });
  afterEach(() => rig.close());
  afterAll(() => folder.cleanup());

  /** What finance-purchase-order does with the document: creates (or changes) its PO and records it. */
  async function applyPurchaseOrder(document: unknown): Promise<void> {
    const deps = {
      dialect: rig.dialect,
      writer: new LedgerWriter(store, { ownerPrefix: 'test' }),
      versions,
      queue: new KeyedQueue(),
    };
    const result = await syncPurchaseOrder(deps, { document, correlationId: 'c', now: new Date() });
    if (result.outcome !== 'synced') throw new Error(JSON.stringify(result));
  }

  it("nets the requisition's PO found through the pack's record, and says so", async () => {
    expect(rig.dialect.findsPurchaseOrdersByReference).toBe(false);
    const budgetBefore = await checkDocumentBudget(rig.dialect, order(1, '5000.00'), OPTIONS);
    expect(budgetBefore).toMatchObject({ status: 'within', available: eur('8000.00'), period: currentPeriod() });
    await applyPurchaseOrder(order(1, '5000.00'));

    const revision = order(2, '5500.00');
    const lookup = await openCommitmentOf(rig.dialect, revision, ctx, versions);
    expect(lookup.commitment?.orderDate).toBe(today());
    expect(lookup.erpMessages).toEqual([expect.objectContaining({ code: COMMITMENT_NETTED })]);
    const budget = await checkDocumentBudget(rig.dialect, revision, {
      ...OPTIONS,
      committed: lookup.commitment,
      commitmentMessages: lookup.erpMessages,
    });
    // BC counts the 5,000.00 of the open PO: 3,000.00 left, of which the revision asks only 500.00 more.
    expect(budget).toMatchObject({
      status: 'within',
      key: `costCenter=CC-100,glAccount=6300@${currentPeriod()}`,
      requested: eur('500.00'),
      available: eur('3000.00'),
      erpMessages: [expect.objectContaining({ code: COMMITMENT_NETTED })],
    });
  });

  it('nets nothing once the recorded PO is cancelled', async () => {
    await applyPurchaseOrder(order(1, '5000.00'));
    await applyPurchaseOrder({ ...order(2, '5000.00'), cancelled: true });
    expect(await openCommitmentOf(rig.dialect, order(3, '5500.00'), ctx, versions)).toEqual({ erpMessages: [] });
  });

  it('nets a revised purchase order the same way, by its external reference', async () => {
    const po = (version: number, amount: string) => ({
      ...purchaseOrder([orderLine('1', '1', amount, amount, [{ dimensions: dims, percent: '100' }])], amount, today()),
      sourceRef: { system: 'coupa', id: 'PO-77', version },
    });
    await applyPurchaseOrder(po(1, '5000.00'));
    const lookup = await openCommitmentOf(rig.dialect, po(2, '5500.00'), ctx, versions);
    const budget = await checkDocumentBudget(rig.dialect, po(2, '5500.00'), {
      ...OPTIONS,
      committed: lookup.commitment,
    });
    expect(budget).toMatchObject({ status: 'within', requested: eur('500.00'), available: eur('3000.00') });
  });

  it('without a store to read the record from, checks in full and says netting was not possible', async () => {
    await applyPurchaseOrder(order(1, '5000.00'));
    const lookup = await openCommitmentOf(rig.dialect, order(2, '5500.00'), ctx);
    expect(lookup).toEqual({
      erpMessages: [
        expect.objectContaining({
          code: COMMITMENT_NOT_NETTED,
          severity: 'warning',
          text: expect.stringContaining('cannot find a purchase order by its reference'),
        }),
      ],
    });
  });

  it('checks in full and says so while the create of its PO has an unknown outcome', async () => {
    await versions.unsettled.put('coupa:REQ-BC-NET', {
      ledgerKey: 'coupa:Requisition:REQ-BC-NET:1:create-po',
      version: 1,
      since: new Date().toISOString(),
      sent: {
        externalReference: 'coupa:REQ-BC-NET',
        source: 'Requisition REQ-BC-NET',
        supplierId: 'SUP-1001',
        orderDate: today(),
        total: eur('5000.00'),
        lineDescriptions: ['Item 1'],
      },
    });
    const lookup = await openCommitmentOf(rig.dialect, order(2, '5500.00'), ctx, versions);
    expect(lookup.commitment).toBeUndefined();
    expect(lookup.erpMessages).toEqual([
      expect.objectContaining({ code: COMMITMENT_NOT_NETTED, text: expect.stringContaining('unknown outcome') }),
    ]);
  });
});
