/**
 * ERPNext checks a purchase-order change only after the order it changes is cancelled: Frappe amends only a
 * cancelled document, and the budget is checked when the amendment is submitted. A cancel cannot be undone, so
 * when ERPNext refuses the change the previous version must be submitted again as the amendment: one order in
 * force holding the last applied version, the refusal still a refusal to the pack, and the next valid change
 * applied to that order. When even that fails, a person is told what to do.
 */
import type { ErpHttp, ErpRequest, ErpResponse } from '../../../lib/erp/client';
import { createDialect, type ErpDialect } from '../../../lib/erp/dialect';
import { FinanceError } from '../../../lib/errors';
import { sum } from '../../../lib/model/money';
import type { PurchaseOrder, PurchaseOrderLine } from '../../../lib/model/types';
import { isRefusal } from '../../../lib/posting/idempotent-write';
import { diffPurchaseOrder } from '../../../lib/purchasing/diff';
import { contentOf } from '../../../lib/purchasing/document';
import { updatePurchaseOrder, type UpdateRequest } from '../../../lib/purchasing/update';
import { erpnextStoreOf } from '../../../lib/sandbox/erpnext/api';
import { line } from '../purchasing/fixtures';
import { erpnextConnection, erpnextPurchaseOrder } from './erpnext-fixtures';
import { ctx, startDialectRig, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

const poLine = (
  lineId: string,
  quantity: string,
  price: string,
  amount: string,
  costCenter = 'CC-100',
  glAccount = '6300',
): PurchaseOrderLine =>
  line({
    lineId,
    description: `Item ${lineId}`,
    quantity,
    unitPrice: eur(price),
    amount: eur(amount),
    accountAssignments: [{ dimensions: { costCenter, glAccount } }],
  });

const order = (reference: string, lines: PurchaseOrderLine[]): PurchaseOrder =>
  erpnextPurchaseOrder(reference, {
    lines,
    total: sum(
      lines.map((l) => l.amount),
      'EUR',
    ),
  });

/** A dialect over the rig whose requests go through `intercept` first: an error it answers is thrown instead. */
function interceptedDialect(rig: DialectRig, intercept: (request: ErpRequest) => FinanceError | undefined): ErpDialect {
  const http: ErpHttp = {
    request: async <T>(request: ErpRequest): Promise<ErpResponse<T>> => {
      const error = intercept(request);
      if (error) throw error;
      return rig.http.request<T>(request);
    },
  };
  return createDialect('erpnext', http, { ...erpnextConnection()(), baseUrl: rig.sandbox.url });
}

const isSubmitOf = (request: ErpRequest, name: string) =>
  request.method === 'PUT' &&
  decodeURIComponent(request.path).endsWith(`/Purchase Order/${name}`) &&
  (request.body as { docstatus?: number } | undefined)?.docstatus === 1;

const unavailable = () =>
  new FinanceError('ERP_UNAVAILABLE', 'HTTP 503 from the proxy', { httpStatus: 503, retryable: true });

describe('ERPNext purchase-order change that ERPNext refuses', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection());
  });
  afterAll(() => rig.close());

  const store = () => erpnextStoreOf(rig.sandbox.state).table('Purchase Order');
  const ordersWith = (reference: string) =>
    [...store().values()]
      .filter((doc) => doc.custom_external_ref === reference)
      .map((doc) => [doc.name, doc.docstatus]);
  /** What an order commits, item by item, as ERPNext holds it. */
  const itemsOf = (name: string) =>
    (store().get(name)!.items as Array<Record<string, unknown>>).map((item) => [
      item.item_name,
      item.qty,
      item.rate,
      item.expense_account,
      item.cost_center,
    ]);

  /** The update the pack sends for `to`, computed on `from` as it was written (its ETag `etag`). */
  const change = (
    id: string,
    from: PurchaseOrder,
    to: PurchaseOrder,
    etag: string,
    version: number,
  ): UpdateRequest => ({
    documentId: id,
    cached: { content: contentOf(from), etag },
    changes: diffPurchaseOrder(contentOf(from), contentOf(to)),
    wanted: contentOf(to),
    ledgerKey: `coupa:PurchaseOrder:${from.externalReference}:${version}:update-po`,
    correlationId: 'amend-refused-test',
  });

  it('submits the previous version again when the amendment is refused at insert (a quantity of 0); the next change applies to it', async () => {
    const reference = 'refused-quantity-0';
    const v1 = order(reference, [poLine('L1', '2', '150.00', '300.00'), poLine('L2', '1', '50.00', '50.00')]);
    const created = await rig.dialect.upsertPurchaseOrder(v1, ctx);
    const id = created.documentId;
    // A renamed line (not a quantity change alone, which goes through Update Items) is cancel + amend.
    const v2 = { ...v1, lines: [v1.lines[0], poLine('L2b', '0', '50.00', '0.00')] };

    const refused = await updatePurchaseOrder(rig.dialect, change(id, v1, v2, created.version!, 2)).catch(
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({
      code: 'ERP_REJECTED',
      httpStatus: 417,
      retryable: false,
      details: { vendorCode: 'ValidationError', cancelled: id, restoredAs: `${id}-1` },
    });
    // Still a refusal to the pack (refused, written back), not a dead letter.
    expect(isRefusal(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/Quantity must be greater than 0/);
    expect((refused as Error).message).toMatch(new RegExp(`previous version was submitted again as ${id}-1`));
    expect(ordersWith(reference)).toEqual([
      [id, 2],
      [`${id}-1`, 1],
    ]);
    expect(itemsOf(`${id}-1`)).toEqual(itemsOf(id));
    expect(await rig.dialect.getPurchaseOrder(id, ctx)).toMatchObject({
      erpRef: { documentId: `${id}-1` },
      status: 'open',
      total: eur('350.00'),
    });

    // The pack still holds version 1 with its old ETag: the 412 makes it read the order in force and amend that.
    const v3 = { ...v1, lines: [poLine('L1c', '3', '150.00', '450.00')] };
    const applied = await updatePurchaseOrder(rig.dialect, change(id, v1, v3, created.version!, 3));
    expect(applied.action === 'updated' && applied.po).toMatchObject({
      erpRef: { documentId: `${id}-2` },
      status: 'open',
      total: eur('450.00'),
    });
    expect(ordersWith(reference)).toEqual([
      [id, 2],
      [`${id}-1`, 2],
      [`${id}-2`, 1],
    ]);
  });

  it('brings the refused draft back to the previous version and submits it when the budget stops the amendment', async () => {
    const reference = 'refused-budget-stop';
    const v1 = order(reference, [poLine('L1', '1', '100.00', '100.00', 'CC-300', '6000')]);
    const id = (await rig.dialect.upsertPurchaseOrder(v1, ctx)).documentId;
    const v2 = order(reference, [poLine('L1b', '1000', '100.00', '100000.00', 'CC-300', '6000')]);

    const refused = await rig.dialect.upsertPurchaseOrder(v2, ctx).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ERP_REJECTED',
      httpStatus: 417,
      details: { vendorCode: 'BudgetError', budget: { status: 'exceeded' }, restoredAs: `${id}-1` },
    });
    expect(isRefusal(refused)).toBe(true);
    expect(ordersWith(reference)).toEqual([
      [id, 2],
      [`${id}-1`, 1],
    ]);
    expect(itemsOf(`${id}-1`)).toEqual(itemsOf(id));
    expect(store().get(`${id}-1`)).toMatchObject({ grand_total: 100, amended_from: id });
    // The order in force is version 1: sending version 1 again changes nothing.
    expect(await rig.dialect.upsertPurchaseOrder(v1, ctx)).toMatchObject({
      action: 'unchanged',
      documentId: `${id}-1`,
    });
  });

  it('puts the previous version back when the refused submit is of a draft amendment an interrupted attempt left', async () => {
    const reference = 'refused-left-draft';
    const v1 = order(reference, [poLine('L1', '1', '100.00', '100.00', 'CC-300', '6000')]);
    const id = (await rig.dialect.upsertPurchaseOrder(v1, ctx)).documentId;
    const v2 = order(reference, [poLine('L1b', '1000', '100.00', '100000.00', 'CC-300', '6000')]);
    let lost = false;
    const dialect = interceptedDialect(rig, (request) => {
      if (lost || !isSubmitOf(request, `${id}-1`)) return undefined;
      lost = true;
      return unavailable();
    });
    await expect(dialect.upsertPurchaseOrder(v2, ctx)).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE' });
    expect(ordersWith(reference)).toEqual([
      [id, 2],
      [`${id}-1`, 0],
    ]);

    const refused = await dialect.upsertPurchaseOrder(v2, ctx).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ERP_REJECTED',
      details: { vendorCode: 'BudgetError', budget: { status: 'exceeded' }, restoredAs: `${id}-1` },
    });
    expect(ordersWith(reference)).toEqual([
      [id, 2],
      [`${id}-1`, 1],
    ]);
    expect(itemsOf(`${id}-1`)).toEqual(itemsOf(id));
  });

  it('tells a person to amend the order by hand when submitting the previous version again fails too', async () => {
    const reference = 'refused-not-restored';
    const v1 = order(reference, [poLine('L1', '1', '100.00', '100.00', 'CC-300', '6000')]);
    const id = (await rig.dialect.upsertPurchaseOrder(v1, ctx)).documentId;
    const v2 = order(reference, [poLine('L1b', '1000', '100.00', '100000.00', 'CC-300', '6000')]);
    let submits = 0;
    // The first submit of the amendment reaches ERPNext (budget Stop); the second, of the previous version, does not.
    const dialect = interceptedDialect(rig, (request) =>
      isSubmitOf(request, `${id}-1`) && ++submits === 2 ? unavailable() : undefined,
    );

    const error = await dialect.upsertPurchaseOrder(v2, ctx).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
      details: {
        documentId: id,
        vendorCode: 'AMENDMENT_NOT_RESTORED',
        refusal: { code: 'ERP_REJECTED' },
        failure: { code: 'ERP_UNAVAILABLE' },
      },
    });
    // Not a refusal: it goes to the dead letter, for the person the message addresses.
    expect(isRefusal(error)).toBe(false);
    expect((error as Error).message).toMatch(/BudgetError/);
    expect((error as Error).message).toMatch(new RegExp(`amend ${id} with its previous content`));
    expect((error as Error).message).toMatch(new RegExp(`draft ${id}-1 is left`));
    expect(ordersWith(reference)).toEqual([
      [id, 2],
      [`${id}-1`, 0],
    ]);
  });

  it('simulator: refuses an amendment of an order that is not cancelled, as Frappe does (validate_amended_from)', async () => {
    const created = await rig.dialect.upsertPurchaseOrder(
      order('amend-submitted', [poLine('L1', '1', '5.00', '5.00')]),
      ctx,
    );
    const doc = store().get(created.documentId)!;
    const items = (doc.items as Array<Record<string, unknown>>).map((item) =>
      Object.fromEntries(['item_code', 'item_name', 'qty', 'uom', 'rate', 'expense_account'].map((f) => [f, item[f]])),
    );
    const refused = await rig.http
      .request({
        method: 'POST',
        path: '/api/resource/Purchase%20Order',
        body: {
          supplier: doc.supplier,
          company: doc.company,
          transaction_date: doc.transaction_date,
          currency: doc.currency,
          items,
          amended_from: doc.name,
        },
        correlationId: 'test',
      })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ httpStatus: 417, details: { vendorCode: 'ValidationError' } });
    expect((refused as Error).message).toMatch(/cannot be amended because it is not cancelled/);
    expect(store().get(created.documentId)).toMatchObject({ docstatus: 1 });
  });
});
