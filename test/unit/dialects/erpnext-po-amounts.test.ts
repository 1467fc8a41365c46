/**
 * ERPNext computes a Purchase Order item's amount itself (qty x rate, rounded by System Settings "Rounding
 * Method"), where the pack's canonical amount is rounded half away from zero. "Banker's Rounding" rounds a half
 * to even (2.5 x 0.05 EUR is 0.12 there, 0.13 here); the default "Banker's Rounding (legacy)" does so only for a
 * currency without decimals (2.5 x 1 JPY is 2 there, 3 here). An order whose amounts differ is not submitted
 * (as the Purchase Invoice path), and the error names the setting.
 */
import { sum } from '../../../lib/model/money';
import type { PurchaseOrderLine } from '../../../lib/model/types';
import { isRefusal } from '../../../lib/posting/idempotent-write';
import { erpnextStoreOf } from '../../../lib/sandbox/erpnext/api';
import { line } from '../purchasing/fixtures';
import { erpnextConnection, erpnextPurchaseOrder } from './erpnext-fixtures';
import { ctx, startDialectRig, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

const screws = (lineId: string, quantity: string, amount: string, currency = 'EUR'): PurchaseOrderLine =>
  line({
    lineId,
    description: `Screws ${lineId}`,
    quantity,
    unitPrice: { amount: currency === 'JPY' ? '1' : '0.05', currency },
    amount: { amount, currency },
    accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }],
  });

const order = (reference: string, lines: PurchaseOrderLine[]) =>
  erpnextPurchaseOrder(reference, {
    lines,
    currency: lines[0].amount.currency,
    total: sum(
      lines.map((l) => l.amount),
      lines[0].amount.currency,
    ),
  });

describe('ERPNext purchase-order amounts against the canonical ones', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection());
  });
  afterAll(() => rig.close());
  afterEach(() => {
    erpnextStoreOf(rig.sandbox.state).roundingMethod = "Banker's Rounding (legacy)";
  });
  const bankersRounding = () => {
    erpnextStoreOf(rig.sandbox.state).roundingMethod = "Banker's Rounding";
  };

  const orders = () => erpnextStoreOf(rig.sandbox.state).table('Purchase Order');
  const ordersWith = (reference: string) =>
    [...orders().values()]
      .filter((doc) => doc.custom_external_ref === reference)
      .map((doc) => [doc.name, doc.docstatus]);

  it('leaves a new order whose amounts ERPNext rounded otherwise as a draft, naming the rounding setting; a replay does not submit it', async () => {
    const reference = 'amounts-create';
    bankersRounding();
    const po = order(reference, [screws('1', '2.5', '0.13'), screws('2', '1.5', '0.08'), screws('3', '3.5', '0.18')]);
    const error = await rig.dialect.upsertPurchaseOrder(po, ctx).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
      details: { vendorCode: 'AMOUNTS_DIFFER', held: eur('0.38'), expected: eur('0.39') },
    });
    // Not a refusal: a draft was written, and a person has to change a setting (dead letter).
    expect(isRefusal(error)).toBe(false);
    expect((error as Error).message).toMatch(/row 1: 0\.12 EUR \(the purchase order: 0\.13\)/);
    expect((error as Error).message).not.toMatch(/row 2|row 3/);
    expect((error as Error).message).toMatch(/Rounding Method/);
    const [[name, docstatus]] = ordersWith(reference);
    expect(docstatus).toBe(0);
    expect((error as Error).message).toMatch(new RegExp(`draft ${name} is left`));
    // Banker's Rounding: a half to even, 0.125 -> 0.12, 0.075 -> 0.08, 0.175 -> 0.18.
    expect((orders().get(name as string)!.items as Array<Record<string, unknown>>).map((i) => i.amount)).toEqual([
      0.12, 0.08, 0.18,
    ]);

    await expect(rig.dialect.upsertPurchaseOrder(po, ctx)).rejects.toMatchObject({
      details: { vendorCode: 'AMOUNTS_DIFFER', documentId: name },
    });
    expect(ordersWith(reference)).toEqual([[name, 0]]);
  });

  it('submits the previous version again when an amendment is rounded otherwise', async () => {
    const reference = 'amounts-amend';
    bankersRounding();
    const id = (await rig.dialect.upsertPurchaseOrder(order(reference, [screws('1', '2', '0.10')]), ctx)).documentId;
    // A renamed line: cancel + amend.
    const error = await rig.dialect
      .upsertPurchaseOrder(order(reference, [screws('1b', '2.5', '0.13')]), ctx)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
      details: { vendorCode: 'AMOUNTS_DIFFER', cancelled: id, restoredAs: `${id}-1` },
    });
    expect(ordersWith(reference)).toEqual([
      [id, 2],
      [`${id}-1`, 1],
    ]);
    expect(orders().get(`${id}-1`)).toMatchObject({ total: 0.1 });
    expect((error as Error).message).toMatch(new RegExp(`previous version was submitted again as ${id}-1`));
  });

  it('says that an Update Items change was applied with the amounts ERPNext rounded', async () => {
    const reference = 'amounts-update-items';
    bankersRounding();
    const id = (await rig.dialect.upsertPurchaseOrder(order(reference, [screws('1', '2', '0.10')]), ctx)).documentId;
    const error = await rig.dialect
      .upsertPurchaseOrder(order(reference, [screws('1', '2.5', '0.13')]), ctx)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERP_CONFLICT', retryable: false, details: { vendorCode: 'AMOUNTS_DIFFER' } });
    expect(isRefusal(error)).toBe(false);
    expect((error as Error).message).toMatch(new RegExp(`The change is applied to ${id}`));
    expect(ordersWith(reference)).toEqual([[id, 1]]);
  });

  it('submits an order whose amounts need no rounding', async () => {
    bankersRounding();
    const created = await rig.dialect.upsertPurchaseOrder(order('amounts-exact', [screws('1', '2', '0.10')]), ctx);
    expect(created).toMatchObject({ action: 'created', status: 'open' });
  });

  it('with the default "Banker\'s Rounding (legacy)": submits a half cent rounded up, stops a half yen rounded to even', async () => {
    const cents = await rig.dialect.upsertPurchaseOrder(order('amounts-legacy-eur', [screws('1', '2.5', '0.13')]), ctx);
    expect(cents).toMatchObject({ action: 'created', status: 'open' });
    expect(orders().get(cents.documentId)).toMatchObject({ total: 0.13 });

    const error = await rig.dialect
      .upsertPurchaseOrder(order('amounts-legacy-jpy', [screws('1', '2.5', '3', 'JPY')]), ctx)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERP_CONFLICT',
      details: {
        vendorCode: 'AMOUNTS_DIFFER',
        held: { amount: '2', currency: 'JPY' },
        expected: { amount: '3', currency: 'JPY' },
      },
    });
    expect(ordersWith('amounts-legacy-jpy')).toEqual([[expect.any(String), 0]]);
  });
});
