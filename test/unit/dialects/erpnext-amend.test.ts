/**
 * A purchase-order change in ERPNext is three writes: cancel the submitted order, insert its amendment
 * (`amended_from`), submit the amendment. An answer lost after any of them must not lead the retry to amend
 * the original again (a second live order with the same reference: money committed twice). The retry
 * continues with the amendment the failed attempt left, and the change ends with one live order.
 */
import type { ErpHttp, ErpRequest, ErpResponse } from '../../../lib/erp/client';
import { createDialect, type ErpDialect } from '../../../lib/erp/dialect';
import { FinanceError } from '../../../lib/errors';
import type { PurchaseOrderLine } from '../../../lib/model/types';
import { diffPurchaseOrder } from '../../../lib/purchasing/diff';
import { contentOf } from '../../../lib/purchasing/document';
import { updatePurchaseOrder, type UpdateRequest } from '../../../lib/purchasing/update';
import { erpnextStoreOf } from '../../../lib/sandbox/erpnext/api';
import { line } from '../purchasing/fixtures';
import { erpnextConnection, erpnextPurchaseOrder } from './erpnext-fixtures';
import { ctx, startDialectRig, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

interface Loss {
  method: string;
  /** Matches the request path (decoded). */
  path: RegExp;
  /** `after`: the ERP applies the request and the answer is lost; `before`: the request never arrives. */
  when: 'after' | 'before';
  error: () => FinanceError;
}

const unavailable = () =>
  new FinanceError('ERP_UNAVAILABLE', 'HTTP 503 from the proxy', { httpStatus: 503, retryable: true });
const timeout = () => new FinanceError('ERP_TIMEOUT', 'no answer within the timeout', { retryable: true });

/** Passes requests to the rig, losing the first one that matches `loss` once. */
function lossyDialect(rig: DialectRig, loss: Loss): ErpDialect {
  let pending = true;
  const http: ErpHttp = {
    request: async <T>(request: ErpRequest): Promise<ErpResponse<T>> => {
      const hit = pending && request.method === loss.method && loss.path.test(decodeURIComponent(request.path));
      if (!hit) return rig.http.request<T>(request);
      pending = false;
      if (loss.when === 'after') await rig.http.request<T>(request);
      throw loss.error();
    },
  };
  return createDialect('erpnext', http, { ...erpnextConnection()(), baseUrl: rig.sandbox.url });
}

const poLine = (lineId: string, quantity: string, price: string, amount: string): PurchaseOrderLine =>
  line({
    lineId,
    description: `Item ${lineId}`,
    quantity,
    unitPrice: eur(price),
    amount: eur(amount),
    accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }],
  });

describe('ERPNext purchase-order change after a lost answer', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection());
  });
  afterAll(() => rig.close());

  const ordersWith = (reference: string) =>
    [...erpnextStoreOf(rig.sandbox.state).table('Purchase Order').values()]
      .filter((doc) => doc.custom_external_ref === reference)
      .map((doc) => [doc.name, doc.docstatus]);

  /**
   * An order with two lines in ERPNext, and the update request that raises line 1 from 2 to 3 pieces and
   * renames it: a change of a line's description is one Update Items cannot make, so it is cancel + amend.
   */
  async function orderAndChange(reference: string): Promise<{ id: string; request: UpdateRequest }> {
    const v1 = erpnextPurchaseOrder(reference, {
      total: eur('400.00'),
      lines: [poLine('L1', '2', '150.00', '300.00'), poLine('L2', '1', '100.00', '100.00')],
    });
    const v2 = { ...v1, lines: [poLine('L1b', '3', '150.00', '450.00'), v1.lines[1]] };
    const created = await rig.dialect.upsertPurchaseOrder(v1, ctx);
    const request = {
      documentId: created.documentId,
      cached: { content: contentOf(v1), etag: created.version! },
      changes: diffPurchaseOrder(contentOf(v1), contentOf(v2)),
      wanted: contentOf(v2),
      ledgerKey: `coupa:PurchaseOrder:${reference}:2:update-po`,
      correlationId: 'amend-test',
    };
    return { id: created.documentId, request };
  }

  it.each([
    ['a 503 after the ERP applied it', unavailable],
    ['a timeout after the ERP applied it', timeout],
  ])(
    "continues with the submitted amendment when the submit's answer was lost (%s): one live order",
    async (_label, error) => {
      const reference = `amend-lost-submit-${error().code}`;
      const { id, request } = await orderAndChange(reference);
      const dialect = lossyDialect(rig, {
        method: 'PUT',
        path: new RegExp(`Purchase Order/${id}-1$`),
        when: 'after',
        error,
      });
      await expect(updatePurchaseOrder(dialect, request)).rejects.toMatchObject({ code: error().code });
      const retried = await updatePurchaseOrder(dialect, request);
      expect(retried.action).toBe('updated');
      expect(retried.action === 'updated' && retried.po).toMatchObject({
        erpRef: { documentId: `${id}-1` },
        status: 'open',
        total: eur('550.00'),
      });
      expect(ordersWith(reference)).toEqual([
        [id, 2],
        [`${id}-1`, 1],
      ]);
      expect((await dialect.findByReference('purchaseOrder', reference, ctx))?.documentId).toBe(`${id}-1`);
    },
  );

  it("submits the draft amendment when the insert's answer was lost, instead of inserting another", async () => {
    const reference = 'amend-lost-insert';
    const { id, request } = await orderAndChange(reference);
    const dialect = lossyDialect(rig, { method: 'POST', path: /Purchase Order$/, when: 'after', error: unavailable });
    await expect(updatePurchaseOrder(dialect, request)).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE' });
    expect(ordersWith(reference)).toEqual([
      [id, 2],
      [`${id}-1`, 0],
    ]);
    const retried = await updatePurchaseOrder(dialect, request);
    expect(retried.action === 'updated' && retried.po.erpRef.documentId).toBe(`${id}-1`);
    expect(ordersWith(reference)).toEqual([
      [id, 2],
      [`${id}-1`, 1],
    ]);
  });

  it('refuses, without writing, a change to an order cancelled with no live amendment', async () => {
    const reference = 'amend-insert-never-arrived';
    const { id, request } = await orderAndChange(reference);
    const dialect = lossyDialect(rig, { method: 'POST', path: /Purchase Order$/, when: 'before', error: unavailable });
    await expect(updatePurchaseOrder(dialect, request)).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE' });
    const before = rig.http.exchanges.length;
    const refused = await updatePurchaseOrder(dialect, request).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
      details: { vendorCode: 'CANCELLED_WITHOUT_AMENDMENT', cancelled: id },
    });
    expect((refused as Error).message).toMatch(/amend it there by hand/);
    expect(rig.http.exchanges.slice(before).filter((e) => e.request.method !== 'GET')).toEqual([]);
    expect(ordersWith(reference)).toEqual([[id, 2]]);
  });

  it('reads and cancels the live amendment when given the id of the order it replaced', async () => {
    const reference = 'amend-then-cancel';
    const { id, request } = await orderAndChange(reference);
    await updatePurchaseOrder(rig.dialect, request);
    expect(await rig.dialect.getPurchaseOrder(id, ctx)).toMatchObject({
      erpRef: { documentId: `${id}-1` },
      status: 'open',
    });
    const cancelled = await rig.dialect.cancelPurchaseOrder({ externalReference: reference, documentId: id }, ctx);
    expect(cancelled).toMatchObject({ documentId: `${id}-1`, status: 'cancelled' });
    expect(ordersWith(reference)).toEqual([
      [id, 2],
      [`${id}-1`, 2],
    ]);
  });

  it('names both live amendments of one order (the duplicate an earlier defect left) instead of picking one', async () => {
    const reference = 'amend-twice';
    const created = await rig.dialect.upsertPurchaseOrder(erpnextPurchaseOrder(reference), ctx);
    await rig.dialect.cancelPurchaseOrder({ externalReference: reference }, ctx);
    const original = erpnextStoreOf(rig.sandbox.state).table('Purchase Order').get(created.documentId)!;
    const amendment = () =>
      rig.http.request({
        method: 'POST',
        path: '/api/resource/Purchase%20Order',
        body: {
          ...pick(original, ['supplier', 'company', 'transaction_date', 'currency']),
          amended_from: original.name,
        },
        correlationId: 'test',
      });
    await amendment();
    await amendment();
    const error = await rig.dialect.getPurchaseOrder(created.documentId, ctx).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
      details: { amendments: expect.arrayContaining([`${created.documentId}-1`, `${created.documentId}-2`]) },
    });
    expect((error as Error).message).toMatch(/committed more than once/);
  });

  it('simulator: a cancelled document takes no second cancel, as Frappe answers (417 Cannot edit cancelled document)', async () => {
    const created = await rig.dialect.upsertPurchaseOrder(erpnextPurchaseOrder('cancel-twice'), ctx);
    const cancelled = await rig.dialect.cancelPurchaseOrder({ externalReference: 'cancel-twice' }, ctx);
    const doc = erpnextStoreOf(rig.sandbox.state).table('Purchase Order').get(cancelled.documentId)!;
    const again = await rig.http
      .request({
        method: 'PUT',
        path: `/api/resource/Purchase%20Order/${encodeURIComponent(created.documentId)}`,
        body: { docstatus: 2, modified: doc.modified },
        correlationId: 'test',
      })
      .catch((e: unknown) => e);
    expect(again).toMatchObject({ httpStatus: 417, details: { vendorCode: 'ValidationError' } });
    expect((again as Error).message).toMatch(/Cannot edit cancelled document/);
  });
});

function pick(doc: Record<string, unknown>, fields: string[]): Record<string, unknown> {
  const items = (doc.items as Array<Record<string, unknown>>).map((item) =>
    Object.fromEntries(['item_code', 'item_name', 'qty', 'uom', 'rate', 'expense_account'].map((f) => [f, item[f]])),
  );
  return { ...Object.fromEntries(fields.map((field) => [field, doc[field]])), items };
}
