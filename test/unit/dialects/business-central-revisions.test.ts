/**
 * Revisions and cancels of Business Central purchase orders never destroy what BC holds:
 * - only the lines that differ are written: a changed line is PATCHed with its own If-Match (it keeps its id,
 *   and with it what was received and invoiced against it), an added line POSTed, a removed one DELETEd;
 * - a change BC's order cannot take is refused before anything is written (ERP_CONFLICT, not retryable): any
 *   line, vendor or currency change of an order that is not Draft (BC Released or Pending Approval), a quantity
 *   below what was received or invoiced, removing or re-coding a line with receipts or invoices, a vendor or
 *   currency change once anything is received, and a cancel (delete) of an order with receipts;
 * - the simulator refuses the same as BC does (TestStatusOpen, Qty. Rcd. Not Invoiced), so these tests fail
 *   against a dialect that leaves the checks to BC and is caught part-way.
 */
import type { ErpRequest } from '../../../lib/erp/client';
import type { PurchaseOrder } from '../../../lib/model/types';
import { bcStoreOf, type BcCompany } from '../../../lib/sandbox/business-central/store';
import { line } from '../purchasing/fixtures';
import { ctx, startDialectRig, today, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

const CONFIG = {
  name: 'bc',
  dialect: 'business-central',
  company: 'FS-DEMO',
  auth: { type: 'none' as const },
  options: { tenant: 'contoso.onmicrosoft.com', environment: 'Production', referenceApi: 'finsync/finance/v1.0' },
};

const L1 = (quantity = '2') =>
  line({
    lineId: 'L1',
    quantity,
    unitPrice: eur('150.00'),
    amount: eur(`${Number(quantity) * 150}.00`),
    taxCode: undefined,
    accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }],
  });
const L2 = () =>
  line({ lineId: 'L2', description: 'Split line', quantity: '1', unitPrice: eur('100.00'), amount: eur('100.00') });
const L3 = () =>
  line({
    lineId: 'L3',
    quantity: '1',
    unitPrice: eur('20.00'),
    amount: eur('20.00'),
    taxCode: undefined,
    accountAssignments: [{ dimensions: { costCenter: 'CC-200', glAccount: '6100' } }],
  });

function purchaseOrder(externalReference: string, overrides: Partial<PurchaseOrder> = {}): PurchaseOrder {
  return {
    docType: 'PurchaseOrder',
    sourceRef: { system: 'coupa', id: externalReference, version: 1 },
    externalReference,
    supplierId: 'SUP-1001',
    orderDate: today(),
    currency: 'EUR',
    total: eur('400.00'),
    lines: [L1(), L2()],
    ...overrides,
  };
}

describe('Business Central purchase order revisions', () => {
  let rig: DialectRig;
  let sequence = 0;
  beforeAll(async () => {
    rig = await startDialectRig(() => CONFIG);
  });
  afterAll(() => rig.close());

  const company = (): BcCompany =>
    [...bcStoreOf(rig.sandbox.state).companies.values()].find((c) => c.name === 'FS-DEMO')!;
  const record = (id: string) => company().purchaseOrders.get(id)!;
  const bcLine = (id: string, lineId: string) => record(id).lines.find((l) => l.description2 === lineId)!;
  /** A new order in BC (Draft), and where the exchanges after it start. */
  async function newOrder(): Promise<{ id: string; reference: string; from: number }> {
    sequence += 1;
    const reference = `coupa:PurchaseOrder:PO-REV-${sequence}:1`;
    const created = await rig.dialect.upsertPurchaseOrder(purchaseOrder(reference), ctx);
    return { id: created.documentId, reference, from: rig.http.exchanges.length };
  }
  const writes = (from: number) =>
    rig.http.exchanges
      .slice(from)
      .filter((e) => e.request.method !== 'GET')
      .map((e) => ({
        method: e.request.method,
        path: e.request.path,
        ifMatch: e.request.ifMatch,
        body: e.request.body,
      }));
  const etag = async (id: string) => (await rig.dialect.getPurchaseOrder(id, ctx)).erpRef.etag!;

  describe('change only the lines that differ', () => {
    it('PATCHes a changed line with its own If-Match and keeps its id (and what was received on it)', async () => {
      const { id, reference, from } = await newOrder();
      const before = bcLine(id, 'L1');
      // Received 1 of 2, then reopened in BC (Draft again): more of L1 is ordered.
      bcStoreOf(rig.sandbox.state).postAgainstLine(id, String(before.id), { receivedQuantity: 1 });
      bcStoreOf(rig.sandbox.state).setPurchaseOrderStatus(id, 'Draft');
      const lineEtag = bcLine(id, 'L1')['@odata.etag'];
      const updated = await rig.dialect.upsertPurchaseOrder(purchaseOrder(reference, { lines: [L1('4'), L2()] }), ctx);
      expect(updated.action).toBe('updated');
      const sent = writes(from);
      expect(sent.map((w) => w.method)).toEqual(['PATCH', 'PATCH']);
      expect(sent[0].path).toMatch(/purchaseOrders\([0-9a-f-]+\)$/);
      expect(sent[1]).toMatchObject({
        path: expect.stringMatching(new RegExp(`purchaseOrderLines\\(${String(before.id)}\\)$`)),
        ifMatch: lineEtag,
        body: { quantity: 4 },
      });
      expect(bcLine(id, 'L1')).toMatchObject({ id: before.id, quantity: 4, receivedQuantity: 1 });
      expect(record(id).lines).toHaveLength(3); // L1 and the two BC lines of the split L2
    });

    it('POSTs only an added line and DELETEs only a removed one', async () => {
      const { id, from } = await newOrder();
      const ids = record(id).lines.map((l) => l.id);
      await rig.dialect.patchPurchaseOrder(id, { lines: [L1(), L3()] }, await etag(id), ctx);
      const sent = writes(from);
      expect(sent.map((w) => w.method)).toEqual(['PATCH', 'DELETE', 'DELETE', 'POST']);
      expect(sent[3].body).toMatchObject({ description2: 'L3', quantity: 1 });
      const after = record(id).lines;
      expect(after.map((l) => l.description2)).toEqual(['L1', 'L3']);
      expect(after[0].id).toBe(ids[0]); // L1 untouched
      // BC numbers an added line after the last line the order has.
      expect(after[1].sequence).toBe(20000);
    });

    it('replaces a line moved to another G/L account or dimension (nothing received on it)', async () => {
      const { id, from } = await newOrder();
      const moved = { ...L1(), accountAssignments: [{ dimensions: { costCenter: 'CC-200', glAccount: '6300' } }] };
      await rig.dialect.patchPurchaseOrder(id, { lines: [moved, L2()] }, await etag(id), ctx);
      expect(writes(from).map((w) => w.method)).toEqual(['PATCH', 'DELETE', 'POST']);
      const held = await rig.dialect.getPurchaseOrder(id, ctx);
      expect(held.lines.find((l) => l.lineId === 'L1')?.accountAssignments[0].dimensions.costCenter).toBe('CC-200');
    });

    it('writes nothing for a replay, and reads the order status into erpRef.status', async () => {
      const { id, reference, from } = await newOrder();
      const again = await rig.dialect.upsertPurchaseOrder(purchaseOrder(reference), ctx);
      expect(again).toMatchObject({ action: 'unchanged', status: 'draft' });
      expect(writes(from)).toEqual([]);
      bcStoreOf(rig.sandbox.state).setPurchaseOrderStatus(id, 'Open');
      expect((await rig.dialect.getPurchaseOrder(id, ctx)).erpRef.status).toBe('released');
    });
  });

  describe('refused before anything is written', () => {
    const refusal = { code: 'ERP_CONFLICT', retryable: false, httpStatus: 409 };

    it('any line change of a Released (API Open) or Pending Approval order, with what to do in BC', async () => {
      const { id, reference, from } = await newOrder();
      const number = record(id).header.number as string;
      bcStoreOf(rig.sandbox.state).setPurchaseOrderStatus(id, 'Open');
      const error = await rig.dialect
        .patchPurchaseOrder(id, { lines: [L1('3'), L2()] }, await etag(id), ctx)
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ ...refusal, details: { status: 'Open', number } });
      expect((error as Error).message).toMatch(
        new RegExp(`PO ${number} is Released .*\\(API status Open\\).*Reopen it in Business Central, then replay`),
      );
      bcStoreOf(rig.sandbox.state).setPurchaseOrderStatus(id, 'In_x0020_Review');
      await expect(
        rig.dialect.upsertPurchaseOrder(purchaseOrder(reference, { lines: [L1(), L2(), L3()] }), ctx),
      ).rejects.toThrow(/is Pending Approval \(API status In_x0020_Review\)/);
      await expect(
        rig.dialect.patchPurchaseOrder(id, { supplierId: 'SUP-1002' }, await etag(id), ctx),
      ).rejects.toMatchObject(refusal);
      expect(writes(from)).toEqual([]);
      // A header change BC allows on a released order goes through.
      bcStoreOf(rig.sandbox.state).setPurchaseOrderStatus(id, 'Open');
      await rig.dialect.patchPurchaseOrder(id, { orderDate: '2026-01-20' }, await etag(id), ctx);
      expect(record(id).header.orderDate).toBe('2026-01-20');
    });

    it('a quantity below what was received, removing a received or invoiced line, a vendor or currency change after a receipt', async () => {
      const { id, from } = await newOrder();
      const store = bcStoreOf(rig.sandbox.state);
      store.postAgainstLine(id, String(bcLine(id, 'L1').id), { receivedQuantity: 2, invoicedQuantity: 1 });
      store.setPurchaseOrderStatus(id, 'Draft'); // reopened: the status allows changes, the receipt does not
      const attempt = async (patch: Parameters<typeof rig.dialect.patchPurchaseOrder>[1]) =>
        rig.dialect.patchPurchaseOrder(id, patch, await etag(id), ctx).then(
          () => new Error('accepted'),
          (e: unknown) => e as Error,
        );
      const below = await attempt({ lines: [L1('1'), L2()] });
      expect(below).toMatchObject(refusal);
      expect(below.message).toMatch(/line L1 .*would go to quantity 1, below the 2 already received or invoiced/);
      const removed = await attempt({ lines: [L2()] });
      expect(removed).toMatchObject(refusal);
      expect(removed.message).toMatch(/line L1 .*has 2 received and 1 invoiced, so it cannot be removed/);
      const recoded = await attempt({
        lines: [{ ...L1(), accountAssignments: [{ dimensions: { costCenter: 'CC-300', glAccount: '6300' } }] }, L2()],
      });
      expect(recoded).toMatchObject(refusal);
      await expect(attempt({ supplierId: 'SUP-1002' })).resolves.toMatchObject({
        ...refusal,
        message: expect.stringMatching(/its vendor cannot change once anything is received/),
      });
      await expect(attempt({ currency: 'USD' })).resolves.toMatchObject({
        ...refusal,
        message: expect.stringMatching(/its currency cannot change once anything is received/),
      });
      expect(writes(from)).toEqual([]);
      expect(bcLine(id, 'L1')).toMatchObject({ quantity: 2, receivedQuantity: 2 });
      // What the receipt allows still goes through: more of L1, and the untouched L2 removed.
      await rig.dialect.patchPurchaseOrder(id, { lines: [L1('2'), L3()] }, await etag(id), ctx);
      expect(record(id).lines.map((l) => l.description2)).toEqual(['L1', 'L3']);
    });

    it('a cancel (delete) of an order with receipts', async () => {
      const { id, reference, from } = await newOrder();
      bcStoreOf(rig.sandbox.state).postAgainstLine(id, String(bcLine(id, 'L1').id), { receivedQuantity: 1 });
      const error = await rig.dialect.cancelPurchaseOrder({ externalReference: reference, documentId: id }, ctx).then(
        () => new Error('accepted'),
        (e: unknown) => e as Error,
      );
      expect(error).toMatchObject(refusal);
      expect(error.message).toMatch(
        /line L1 .*with 1 received and 0 invoiced.*nothing was deleted.*replay this cancel/,
      );
      expect(writes(from)).toEqual([]);
      expect(company().purchaseOrders.has(id)).toBe(true);
    });

    it('a change computed on an older copy is answered 412 without writing, so the caller reads the order again', async () => {
      const { id, from } = await newOrder();
      const old = await etag(id);
      bcStoreOf(rig.sandbox.state).postAgainstLine(id, String(bcLine(id, 'L1').id), { receivedQuantity: 1 });
      await expect(rig.dialect.patchPurchaseOrder(id, { lines: [L2()] }, old, ctx)).rejects.toMatchObject({
        code: 'ERP_CONFLICT',
        httpStatus: 412,
      });
      expect(writes(from)).toEqual([]);
    });
  });
});

describe('the Business Central simulator refuses as BC does', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(() => CONFIG);
  });
  afterAll(() => rig.close());

  it('line insert, change and delete and a vendor change unless Draft; a line PATCH needs its If-Match; receipts hold', async () => {
    const created = await rig.dialect.upsertPurchaseOrder(purchaseOrder('sim-status-1'), ctx);
    const store = bcStoreOf(rig.sandbox.state);
    const company = [...store.companies.values()].find((c) => c.name === 'FS-DEMO')!;
    const record = company.purchaseOrders.get(created.documentId)!;
    const path = `/v2.0/contoso.onmicrosoft.com/Production/api/v2.0/companies(${company.id})/purchaseOrders(${created.documentId})`;
    const first = record.lines[0];
    const linePath = `${path}/purchaseOrderLines(${first.id})`;
    const send = (request: ErpRequest) => rig.http.request(request).catch((e: unknown) => e);

    expect(await send({ method: 'PATCH', path: linePath, body: { quantity: 5 } })).toMatchObject({ httpStatus: 428 });
    expect(await send({ method: 'PATCH', path: linePath, body: { quantity: 5 }, ifMatch: 'W/"old"' })).toMatchObject({
      httpStatus: 412,
    });
    await send({ method: 'PATCH', path: linePath, body: { quantity: 5 }, ifMatch: String(first['@odata.etag']) });
    expect(record.header.totalAmountExcludingTax).toBe(850); // 5 x 150 + 100

    store.setPurchaseOrderStatus(created.documentId, 'Open');
    const released = {
      httpStatus: 400,
      details: { vendorCode: 'Application_DialogException' },
      message: expect.stringMatching(
        /Status must be equal to 'Open' +in Purchase Header: .*Current value is 'Released'/,
      ),
    };
    const newLine = { lineType: 'Account', lineObjectNumber: '6100', quantity: 1, directUnitCost: 1 };
    const refusedPost = await send({ method: 'POST', path: `${path}/purchaseOrderLines`, body: newLine });
    expect(refusedPost).toMatchObject(released);
    const lineEtag = String(first['@odata.etag']);
    expect(await send({ method: 'PATCH', path: linePath, body: { quantity: 6 }, ifMatch: lineEtag })).toMatchObject(
      released,
    );
    expect(await send({ method: 'DELETE', path: linePath, ifMatch: lineEtag })).toMatchObject(released);
    const headerEtag = String(record.header['@odata.etag']);
    expect(
      await send({ method: 'PATCH', path, body: { vendorNumber: 'SUP-1002' }, ifMatch: headerEtag }),
    ).toMatchObject(released);

    store.postAgainstLine(created.documentId, first.id, { receivedQuantity: 2 });
    store.setPurchaseOrderStatus(created.documentId, 'Draft');
    const etagNow = String(first['@odata.etag']);
    expect(await send({ method: 'PATCH', path: linePath, body: { quantity: 1 }, ifMatch: etagNow })).toMatchObject({
      httpStatus: 400,
      message: expect.stringMatching(/Quantity must not be less than 2/),
    });
    expect(await send({ method: 'DELETE', path: linePath, ifMatch: etagNow })).toMatchObject({
      httpStatus: 400,
      message: expect.stringMatching(/Qty\. Rcd\. Not Invoiced must be equal to '0' +in Purchase Line/),
    });
    expect(
      await send({
        method: 'PATCH',
        path,
        body: { vendorNumber: 'SUP-1002' },
        ifMatch: String(record.header['@odata.etag']),
      }),
    ).toMatchObject({
      httpStatus: 400,
      message: expect.stringMatching(/associated with one or more purchase receipts/),
    });
    expect(await send({ method: 'DELETE', path, ifMatch: String(record.header['@odata.etag']) })).toMatchObject({
      httpStatus: 400,
      message: expect.stringMatching(/Qty\. Rcd\. Not Invoiced/),
    });
    expect(company.purchaseOrders.has(created.documentId)).toBe(true);
  });

  it('a new order is Draft, so the flows of npm start can change it', async () => {
    const created = await rig.dialect.upsertPurchaseOrder(purchaseOrder('sim-status-2'), ctx);
    expect(created.status).toBe('draft');
    const changed = purchaseOrder('sim-status-2', { lines: [L1('5'), L3()] });
    await expect(rig.dialect.upsertPurchaseOrder(changed, ctx)).resolves.toMatchObject({ action: 'updated' });
  });
});
