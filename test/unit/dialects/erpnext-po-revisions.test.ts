/**
 * Revisions and cancels of a submitted ERPNext Purchase Order as an ERPNext user makes them: quantities, rates
 * and removed lines through Update Items (update_child_qty_rate), the order keeping its name; cancel + amend
 * only for what Update Items cannot change, and only while nothing is received or billed (ERPNext refuses to
 * cancel a linked order: LinkExistsError); ERPNext's refusals of Update Items checked before anything is written.
 */
import { sum } from '../../../lib/model/money';
import type { PurchaseOrder, PurchaseOrderLine } from '../../../lib/model/types';
import { isRefusal } from '../../../lib/posting/idempotent-write';
import { diffPurchaseOrder } from '../../../lib/purchasing/diff';
import { contentOf } from '../../../lib/purchasing/document';
import { updatePurchaseOrder } from '../../../lib/purchasing/update';
import { erpnextStoreOf } from '../../../lib/sandbox/erpnext/api';
import { line } from '../purchasing/fixtures';
import { erpnextConnection, erpnextPurchaseOrder } from './erpnext-fixtures';
import { ctx, startDialectRig, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
const UPDATE_ITEMS = '/api/method/erpnext.controllers.accounts_controller.update_child_qty_rate';

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

const order = (reference: string, lines: PurchaseOrderLine[], overrides: Partial<PurchaseOrder> = {}) =>
  erpnextPurchaseOrder(reference, {
    lines,
    total: sum(
      lines.map((l) => l.amount),
      'EUR',
    ),
    ...overrides,
  });

describe('ERPNext purchase-order revisions and cancels of a submitted order', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection());
  });
  afterAll(() => rig.close());

  const store = () => erpnextStoreOf(rig.sandbox.state);
  const orders = () => store().table('Purchase Order');
  const ordersWith = (reference: string) =>
    [...orders().values()]
      .filter((doc) => doc.custom_external_ref === reference)
      .map((doc) => [doc.name, doc.docstatus]);
  const items = (name: string) =>
    (orders().get(name)!.items as Array<Record<string, unknown>>).map((item) => [
      item.item_name,
      item.qty,
      item.amount,
    ]);
  const writesSince = (from: number) =>
    rig.http.exchanges
      .slice(from)
      .filter((e) => e.request.method !== 'GET')
      .map((e) => `${e.request.method} ${decodeURIComponent(e.request.path)}`);

  /** v1 (two lines, 2 x 150.00 and 1 x 100.00) submitted in ERPNext. */
  async function submitted(reference: string) {
    const v1 = order(reference, [poLine('L1', '2', '150.00', '300.00'), poLine('L2', '1', '100.00', '100.00')]);
    const created = await rig.dialect.upsertPurchaseOrder(v1, ctx);
    return { v1, id: created.documentId, version: created.version! };
  }

  it('changes quantities and removes a line of an order without receipts through Update Items: same name, no cancel', async () => {
    const { v1, id, version } = await submitted('rev-update-items');
    const from = rig.http.exchanges.length;
    const patched = await rig.dialect.patchPurchaseOrder(
      id,
      { lines: [poLine('L1', '3', '150.00', '450.00')] },
      version,
      ctx,
    );
    expect(patched).toMatchObject({ erpRef: { documentId: id }, status: 'open', total: eur('450.00') });
    expect(writesSince(from)).toEqual([`POST ${UPDATE_ITEMS}`]);
    const sent = rig.http.exchanges.find((e) => e.request.path === UPDATE_ITEMS)!.request.body as Record<
      string,
      string
    >;
    const row = (orders().get(id)!.items as Array<Record<string, unknown>>)[0];
    expect(sent).toMatchObject({ parent_doctype: 'Purchase Order', parent_doctype_name: id, child_docname: 'items' });
    expect(JSON.parse(sent.trans_items)).toEqual([
      expect.objectContaining({ docname: row.name, item_code: 'LS-1', qty: 3, rate: 150 }),
    ]);
    expect(ordersWith(v1.externalReference)).toEqual([[id, 1]]);
    expect(items(id)).toEqual([['Item L1', 3, 450]]);
  });

  it('takes a quantity above what was received through Update Items, on the same order', async () => {
    const { v1, id } = await submitted('rev-received-more');
    store().receivePurchaseOrder(id, { 1: 2 });
    const v2 = order(v1.externalReference, [poLine('L1', '5', '150.00', '750.00'), v1.lines[1]]);
    expect(await rig.dialect.upsertPurchaseOrder(v2, ctx)).toMatchObject({ action: 'updated', documentId: id });
    expect(items(id)).toEqual([
      ['Item L1', 5, 750],
      ['Item L2', 1, 100],
    ]);
    expect(orders().get(id)).toMatchObject({ docstatus: 1, per_received: 33.333333 });
  });

  it.each([
    [
      'a quantity below what was received',
      (v1: PurchaseOrder) => [poLine('L1', '1', '150.00', '150.00'), v1.lines[1]],
      /would order 1, but 2 .*were received/,
    ],
    [
      'removing a received line',
      (v1: PurchaseOrder) => [v1.lines[1]],
      /row 1 \(Item L1\) would be removed, but 2 of it were received/,
    ],
  ])('refuses %s before writing anything (ERP_CONFLICT, a refusal, not retried)', async (label, lines, message) => {
    const { v1, id } = await submitted(`rev-below-received-${label.replace(/\W/g, '')}`);
    store().receivePurchaseOrder(id, { 1: 2 });
    const v2 = order(v1.externalReference, lines(v1));
    const from = rig.http.exchanges.length;
    const request = {
      documentId: id,
      cached: { content: contentOf(v1), etag: String(orders().get(id)!.modified) },
      changes: diffPurchaseOrder(contentOf(v1), contentOf(v2)),
      wanted: contentOf(v2),
      ledgerKey: `coupa:PurchaseOrder:${v1.externalReference}:2:update-po`,
      correlationId: 'revisions-test',
    };
    const refused = await updatePurchaseOrder(rig.dialect, request).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ERP_CONFLICT',
      httpStatus: 409,
      retryable: false,
      details: { documentId: id, vendorCode: 'BELOW_RECEIVED_OR_BILLED' },
    });
    expect(isRefusal(refused)).toBe(true);
    expect((refused as Error).message).toMatch(message);
    expect(writesSince(from)).toEqual([]);
    expect(items(id)).toEqual([
      ['Item L1', 2, 300],
      ['Item L2', 1, 100],
    ]);
  });

  it.each([
    ['the supplier', (v1: PurchaseOrder) => ({ ...v1, supplierId: 'SUP-1002' }), /supplier SUP-1001 -> SUP-1002/],
    ['the currency', (v1: PurchaseOrder) => ({ ...v1, currency: 'USD' }), /currency EUR -> USD/],
    [
      "a line's cost center",
      (v1: PurchaseOrder) => ({ ...v1, lines: [poLine('L1', '2', '150.00', '300.00', 'CC-200'), v1.lines[1]] }),
      /1 line with a new item, description, account, cost center/,
    ],
  ])('refuses a change of %s once the order is billed, before writing anything', async (label, change, message) => {
    const { v1, id } = await submitted(`rev-billed-${label.replace(/\W/g, '')}`);
    store().billPurchaseOrder(id, { 2: 40 });
    const v2 = change(v1);
    if (v2.currency === 'USD')
      v2.lines = v2.lines.map((l) => ({
        ...l,
        unitPrice: { ...l.unitPrice, currency: 'USD' },
        amount: { ...l.amount, currency: 'USD' },
      }));
    const from = rig.http.exchanges.length;
    const refused = await rig.dialect.upsertPurchaseOrder(v2, ctx).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ERP_CONFLICT',
      httpStatus: 409,
      retryable: false,
      details: { documentId: id, vendorCode: 'ORDER_RECEIVED_OR_BILLED', perReceived: 0, perBilled: 10 },
    });
    expect(isRefusal(refused)).toBe(true);
    expect((refused as Error).message).toMatch(message);
    expect((refused as Error).message).toMatch(/LinkExistsError/);
    expect(writesSince(from)).toEqual([]);
    expect(ordersWith(v1.externalReference)).toEqual([[id, 1]]);
  });

  it('still amends (cancel + amended_from) a change Update Items cannot make while nothing is received or billed', async () => {
    const { v1, id } = await submitted('rev-amend-unreceived');
    const v2 = { ...v1, lines: [poLine('L1', '2', '150.00', '300.00', 'CC-200'), v1.lines[1]] };
    expect(await rig.dialect.upsertPurchaseOrder(v2, ctx)).toMatchObject({ action: 'updated', documentId: `${id}-1` });
    expect(ordersWith(v1.externalReference)).toEqual([
      [id, 2],
      [`${id}-1`, 1],
    ]);
  });

  it('refuses to cancel a received order, saying to close it in ERPNext; the simulator refuses the cancel too (LinkExistsError)', async () => {
    const { v1, id } = await submitted('rev-cancel-received');
    store().receivePurchaseOrder(id, { 2: 1 });
    const from = rig.http.exchanges.length;
    const refused = await rig.dialect
      .cancelPurchaseOrder({ externalReference: v1.externalReference, documentId: id }, ctx)
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ERP_CONFLICT',
      httpStatus: 409,
      retryable: false,
      details: { documentId: id, vendorCode: 'ORDER_RECEIVED_OR_BILLED', perReceived: 33.333333 },
    });
    expect(isRefusal(refused)).toBe(true);
    expect((refused as Error).message).toMatch(/close .* \(Status > Close\)/);
    expect(writesSince(from)).toEqual([]);
    expect(orders().get(id)).toMatchObject({ docstatus: 1, status: 'To Receive and Bill' });

    const direct = await rig.http
      .request({
        method: 'PUT',
        path: `/api/resource/Purchase%20Order/${encodeURIComponent(id)}`,
        body: { docstatus: 2, modified: orders().get(id)!.modified },
        correlationId: 'test',
      })
      .catch((e: unknown) => e);
    expect(direct).toMatchObject({ httpStatus: 417, details: { vendorCode: 'LinkExistsError' } });
    expect((direct as Error).message).toMatch(/is linked with Purchase Receipt MAT-PRE-/);
  });

  it('keeps the order and its name when the budget stops an Update Items change (nothing cancelled)', async () => {
    const reference = 'rev-budget-stop';
    const v1 = order(reference, [poLine('L1', '1', '100.00', '100.00', 'CC-300', '6000')]);
    const id = (await rig.dialect.upsertPurchaseOrder(v1, ctx)).documentId;
    const v2 = order(reference, [poLine('L1', '1000', '100.00', '100000.00', 'CC-300', '6000')]);
    const refused = await rig.dialect.upsertPurchaseOrder(v2, ctx).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ERP_REJECTED', httpStatus: 417, details: { vendorCode: 'BudgetError' } });
    expect(isRefusal(refused)).toBe(true);
    expect(ordersWith(reference)).toEqual([[id, 1]]);
    expect(items(id)).toEqual([['Item L1', 1, 100]]);
  });

  describe('simulator: update_child_qty_rate refuses as ERPNext does', () => {
    const call = (name: string, transItems: unknown[]) =>
      rig.http
        .request({
          method: 'POST',
          path: UPDATE_ITEMS,
          body: {
            parent_doctype: 'Purchase Order',
            parent_doctype_name: name,
            trans_items: JSON.stringify(transItems),
          },
          correlationId: 'test',
        })
        .catch((e: unknown) => e);
    const rowsOf = (name: string) => orders().get(name)!.items as Array<Record<string, unknown>>;
    const keep = (row: Record<string, unknown>, changes: Record<string, unknown> = {}) => ({
      docname: row.name,
      item_code: row.item_code,
      qty: row.qty,
      rate: row.rate,
      uom: row.uom,
      conversion_factor: row.conversion_factor,
      schedule_date: row.schedule_date,
      description: row.description,
      ...changes,
    });

    it.each([
      [
        'deleting a received item',
        (r: Array<Record<string, unknown>>) => [keep(r[1])],
        /Row #1: Cannot delete item LS-1 which has already been received/,
      ],
      [
        'deleting a billed item',
        (r: Array<Record<string, unknown>>) => [keep(r[0])],
        /Row #2: Cannot delete item LS-1 which has already been billed/,
      ],
      [
        'a quantity below the received one',
        (r: Array<Record<string, unknown>>) => [keep(r[0], { qty: 1 }), keep(r[1])],
        /Cannot set quantity less than received quantity/,
      ],
      [
        'an amount below the billed one',
        (r: Array<Record<string, unknown>>) => [keep(r[0]), keep(r[1], { rate: 10 })],
        /Cannot set Rate if the billed amount is greater than the amount/,
      ],
      [
        'a quantity of 0',
        (r: Array<Record<string, unknown>>) => [keep(r[0], { qty: 0 }), keep(r[1])],
        /cannot be zero/,
      ],
    ])('%s', async (_label, transItems, message) => {
      const { id } = await submitted(`sim-update-items-${String(message).length}`);
      store().receivePurchaseOrder(id, { 1: 2 });
      store().billPurchaseOrder(id, { 2: 40 });
      const before = JSON.stringify(orders().get(id));
      const refused = await call(id, transItems(rowsOf(id)));
      expect(refused).toMatchObject({ httpStatus: 417, details: { vendorCode: 'ValidationError' } });
      expect((refused as Error).message).toMatch(message);
      expect(JSON.stringify(orders().get(id))).toBe(before);
    });

    it('adds a row without docname with the Item defaults (no account, cost center or project), and recomputes the order', async () => {
      const { id } = await submitted('sim-update-items-add');
      const rows = rowsOf(id);
      const answer = await call(id, [
        keep(rows[0]),
        keep(rows[1], { qty: 2 }),
        { item_code: 'Services', qty: 1, rate: 5, uom: 'Nos' },
      ]);
      expect(answer).toMatchObject({ status: 200 });
      expect(rowsOf(id).map((r) => [r.idx, r.item_name, r.qty, r.amount, r.expense_account, r.cost_center])).toEqual([
        [1, 'Item L1', 2, 300, expect.stringMatching(/^6300/), 'CC-100 - FSD'],
        [2, 'Item L2', 2, 200, expect.stringMatching(/^6300/), 'CC-100 - FSD'],
        [3, 'Services', 1, 5, '', ''],
      ]);
      expect(orders().get(id)).toMatchObject({ total: 505, grand_total: 505, docstatus: 1 });
    });
  });
});
