/**
 * SAP purchase-order revisions against the simulator: a changed line PATCHes its own item (and account
 * assignment) under the same number, a removed line's item alone gets the deletion indicator, an added line alone
 * is POSTed; what SAP's state forbids or what would lose history (supplier or currency change, removing, reducing
 * or re-coding a delivered or finally invoiced item) is refused before anything is written.
 */
import { sapStoreOf } from '../../../lib/sandbox/sap/api';
import { ctx, startDialectRig, type DialectRig } from './harness';
import { line, sapConnection, sapPurchaseOrder } from './sap-fixtures';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
const L1 = (quantity: string, costCenter = 'CC-100') =>
  line({
    lineId: 'L1',
    quantity,
    unitPrice: eur('150.00'),
    amount: eur((Number(quantity) * 150).toFixed(2)),
    accountAssignments: [{ dimensions: { costCenter, glAccount: '6300' } }],
  });
const L3 = () =>
  line({
    lineId: 'L3',
    description: 'Added later',
    accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }],
  });

describe('SAP purchase order revisions', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(sapConnection());
  });
  afterAll(() => rig.close());

  const writesSince = (from: number) =>
    rig.http.exchanges
      .slice(from)
      .filter((e) => e.request.method !== 'GET')
      .map((e) => `${e.request.method} ${e.request.path.replace(/^.*\//, '')}`);
  const items = (documentId: string) =>
    (
      sapStoreOf(rig.sandbox.state).snapshot().purchaseOrders as Array<{
        PurchaseOrder: string;
        items: Array<{ PurchaseOrderItem: string; OrderQuantity: string; PurchasingDocumentDeletionCode: string }>;
      }>
    )
      .find((o) => o.PurchaseOrder === documentId)!
      .items.map((i) => `${i.PurchaseOrderItem}:${i.OrderQuantity}${i.PurchasingDocumentDeletionCode ? ':L' : ''}`);

  it('patches the changed line in place, deletes only the removed one and posts only the added one', async () => {
    const created = await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder('rev-1'), ctx);
    const base = sapPurchaseOrder('rev-1');
    // Item 10 is partly received: it must keep its number (and with it the receipt).
    sapStoreOf(rig.sandbox.state).postGoodsReceipt(created.documentId, '10', 1);
    const before = await rig.dialect.getPurchaseOrder(created.documentId, ctx);
    const from = rig.http.exchanges.length;
    const after = await rig.dialect.patchPurchaseOrder(
      created.documentId,
      { lines: [L1('3'), base.lines[1]] },
      before.erpRef.etag!,
      ctx,
    );
    expect(writesSince(from)).toEqual([
      `PATCH A_PurchaseOrder('${created.documentId}')`,
      `PATCH A_PurchaseOrderItem(PurchaseOrder='${created.documentId}',PurchaseOrderItem='10')`,
    ]);
    expect(after.lines.map((l) => `${l.lineId}:${l.quantity}`)).toEqual(['10:3', '20:1']);
    const patch = rig.http.exchanges.find(
      (e) => e.request.method === 'PATCH' && e.request.path.includes("PurchaseOrderItem='10'"),
    );
    expect(patch?.request.body).toEqual({ OrderQuantity: '3' });

    // L2 removed, L3 added, L1's cost center changed (not received any more: a fresh order below).
    const second = await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder('rev-2'), ctx);
    const f2 = rig.http.exchanges.length;
    const revised = await rig.dialect.upsertPurchaseOrder(
      sapPurchaseOrder('rev-2', { lines: [L1('2', 'CC-200'), L3()] }),
      ctx,
    );
    expect(revised.action).toBe('updated');
    const n = second.documentId;
    expect(writesSince(f2)).toEqual([
      `PATCH A_PurchaseOrder('${n}')`,
      `DELETE A_PurchaseOrderItem(PurchaseOrder='${n}',PurchaseOrderItem='20')`,
      `PATCH A_PurOrdAccountAssignment(PurchaseOrder='${n}',PurchaseOrderItem='10',AccountAssignmentNumber='01')`,
      `POST to_PurchaseOrderItem`,
    ]);
    expect(items(n)).toEqual(['10:2', '20:1:L', '30:2']);
    const po = await rig.dialect.getPurchaseOrder(n, ctx);
    expect(po.lines[0].accountAssignments[0].dimensions.costCenter).toBe('CC-200');
    // The same version again writes nothing: each line finds its item by the key SAP keeps.
    const f3 = rig.http.exchanges.length;
    expect(
      (await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder('rev-2', { lines: [L1('2', 'CC-200'), L3()] }), ctx))
        .action,
    ).toBe('unchanged');
    expect(writesSince(f3)).toEqual([]);
  });

  it('refuses a supplier or currency change of an existing order before writing anything', async () => {
    const created = await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder('rev-3'), ctx);
    const before = await rig.dialect.getPurchaseOrder(created.documentId, ctx);
    const from = rig.http.exchanges.length;
    const refused = await rig.dialect
      .patchPurchaseOrder(created.documentId, { supplierId: 'SUP-1002', currency: 'USD' }, before.erpRef.etag!, ctx)
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ERP_CONFLICT', httpStatus: 409, retryable: false });
    expect((refused as Error).message).toMatch(
      /supplier SUP-1001 -> SUP-1002, currency EUR -> USD.*cancel the order in the source/,
    );
    await expect(
      rig.dialect.upsertPurchaseOrder(sapPurchaseOrder('rev-3', { supplierId: 'SUP-1002' }), ctx),
    ).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
    });
    expect(writesSince(from)).toEqual([]);
  });

  it('refuses removing, reducing or re-coding a delivered or finally invoiced item, before writing anything', async () => {
    const created = await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder('rev-4'), ctx);
    const n = created.documentId;
    const store = sapStoreOf(rig.sandbox.state);
    store.postGoodsReceipt(n, '10', 2); // L1 completely delivered
    store.postInvoiceReceipt(n, '20', 1, { final: true }); // L2 finally invoiced
    const base = sapPurchaseOrder('rev-4');
    const from = rig.http.exchanges.length;
    for (const lines of [[L1('1'), base.lines[1]], [L1('2', 'CC-200'), base.lines[1]], [L1('2')], [L1('2'), L3()]]) {
      const refused = await rig.dialect
        .upsertPurchaseOrder(sapPurchaseOrder('rev-4', { lines }), ctx)
        .catch((e: unknown) => e);
      expect(refused).toMatchObject({ code: 'ERP_CONFLICT', httpStatus: 409, retryable: false });
      expect((refused as Error).message).toMatch(/Manage Purchase Orders/);
    }
    expect(writesSince(from)).toEqual([]);
    expect(items(n)).toEqual(['10:2', '20:1']);
    // Raising the delivered item's quantity and adding a line are fine.
    const more = await rig.dialect.upsertPurchaseOrder(
      sapPurchaseOrder('rev-4', { lines: [L1('4'), base.lines[1], L3()] }),
      ctx,
    );
    expect(more.action).toBe('updated');
    expect(items(n)).toEqual(['10:4', '20:1', '30:2']);
  });

  it("passes SAP's own refusal of a change after a goods receipt on as a refusal, with the order as it was", async () => {
    const created = await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder('rev-5'), ctx);
    const n = created.documentId;
    sapStoreOf(rig.sandbox.state).postGoodsReceipt(n, '10', 1); // partly received: no flag the dialect could see
    const refused = await rig.dialect
      .upsertPurchaseOrder(
        sapPurchaseOrder('rev-5', { lines: [L1('2', 'CC-200'), sapPurchaseOrder('rev-5').lines[1]] }),
        ctx,
      )
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ERP_REJECTED', httpStatus: 400 });
    expect((refused as Error).message).toMatch(/valuated goods receipt/);
    expect((await rig.dialect.getPurchaseOrder(n, ctx)).lines[0].accountAssignments[0].dimensions.costCenter).toBe(
      'CC-100',
    );
  });
});
