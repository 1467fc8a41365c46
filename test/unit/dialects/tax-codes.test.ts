/**
 * A line's tax code reaches the ERP, or the posting is refused: without it the ERP books the gross amount to
 * expense and the input tax is lost without anyone noticing. Per dialect against its simulator:
 * - Business Central: journal lines, purchase invoice lines (prices then include tax) and purchase order lines
 *   carry `taxCode` (VAT Prod. Posting Group, Code[20]); a changed code is a change, read back as it is held;
 * - SAP: A_PurchaseOrderItem and the supplier invoice's G/L items carry `TaxCode` (2 characters);
 * - ERPNext: Purchase Order and Purchase Invoice items carry `item_tax_template`; a Journal Entry has no place
 *   for it, so a tax-coded journal is refused before anything is written.
 */
import type { PostingRequest } from '../../../lib/erp/dialect';
import type { PurchaseOrder, PurchaseOrderLine } from '../../../lib/model/types';
import { bcStoreOf } from '../../../lib/sandbox/business-central/store';
import { erpnextStoreOf } from '../../../lib/sandbox/erpnext/api';
import { sapStoreOf } from '../../../lib/sandbox/sap/api';
import { line } from '../purchasing/fixtures';
import { erpnextConnection, erpnextPurchaseOrder } from './erpnext-fixtures';
import { ctx, startDialectRig, today, type DialectRig, type Exchange } from './harness';
import { sapConnection, sapPurchaseOrder } from './sap-fixtures';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

function posting(kind: PostingRequest['kind'], externalReference: string, taxCode?: string): PostingRequest {
  return {
    kind,
    externalReference,
    employeeId: 'E1010',
    ...(kind === 'payable' ? { supplierId: 'SUP-1001' } : {}),
    postingDate: today(),
    currency: 'EUR',
    lines: [
      {
        lineId: '1',
        amount: eur('119.00'),
        dimensions: { costCenter: 'CC-100', glAccount: '6000' },
        description: 'Hotel',
        ...(taxCode === undefined ? {} : { taxCode }),
      },
      { lineId: '2', amount: eur('20.00'), dimensions: { costCenter: 'CC-100', glAccount: '6010' } },
    ],
  };
}

/** The bodies of the writes sent to a path ending in `suffix`, from exchange `from` on. */
function sent(rig: DialectRig, suffix: string, from = 0): Array<Record<string, any>> {
  return rig.http.exchanges
    .slice(from)
    .filter((e: Exchange) => e.request.method === 'POST' && e.request.path.endsWith(suffix))
    .map((e) => e.request.body as Record<string, any>);
}

const writesSince = (rig: DialectRig, from: number) =>
  rig.http.exchanges.slice(from).filter((e) => e.request.method !== 'GET');

describe('Business Central: tax codes on journal, invoice and purchase order lines', () => {
  let rig: DialectRig;
  const company = () => [...bcStoreOf(rig.sandbox.state).companies.values()].find((c) => c.name === 'FS-DEMO')!;

  beforeAll(async () => {
    rig = await startDialectRig(() => ({
      name: 'bc',
      dialect: 'business-central',
      company: 'FS-DEMO',
      auth: { type: 'none' as const },
      options: { tenant: 'contoso.onmicrosoft.com', environment: 'Production' },
    }));
  });
  afterAll(() => rig.close());

  it('sends the tax code on the journal line, upper-cased as BC keeps a code, and none where the line has none', async () => {
    const before = rig.http.exchanges.length;
    await expect(rig.dialect.post(posting('journal', 'bc-tax-journal', 'de-19'), ctx)).resolves.toMatchObject({
      status: 'posted',
    });
    const lines = sent(rig, '/journalLines', before);
    expect(lines.map((l) => l.taxCode)).toEqual(['DE-19', undefined]);
    const answered = rig.http.exchanges
      .slice(before)
      .filter((e) => e.request.method === 'POST' && e.request.path.endsWith('/journalLines'))
      .map((e) => (e.response?.data as Record<string, unknown>).taxCode);
    expect(answered).toEqual(['DE-19', '']);
  });

  it('sends it on the purchase invoice line of a payable, always with prices including tax (the amount is gross)', async () => {
    const before = rig.http.exchanges.length;
    await rig.dialect.post(posting('payable', 'bc-tax-payable', 'DE-19'), ctx);
    const [invoice] = sent(rig, '/purchaseInvoices', before);
    expect(invoice.pricesIncludeTax).toBe(true);
    expect(invoice.purchaseInvoiceLines.map((l: Record<string, unknown>) => l.taxCode)).toEqual(['DE-19', undefined]);
    const held = [...company().purchaseInvoices.values()].find(
      (i) => i.header.vendorInvoiceNumber === 'BC-TAX-PAYABLE',
    )!;
    expect(held.lines.map((l) => l.taxCode)).toEqual(['DE-19', '']);

    // Without tax codes too: the G/L account's own VAT group would otherwise be added on top of a gross amount.
    const untaxed = rig.http.exchanges.length;
    await rig.dialect.post(posting('payable', 'bc-untaxed-payable'), ctx);
    expect(sent(rig, '/purchaseInvoices', untaxed)[0].pricesIncludeTax).toBe(true);
    const heldUntaxed = [...company().purchaseInvoices.values()].find(
      (i) => i.header.vendorInvoiceNumber === 'BC-UNTAXED-PAYABLE',
    )!;
    expect(heldUntaxed.header.pricesIncludeTax).toBe(true);
  });

  it('refuses a tax code longer than the 20 characters BC keeps, before anything is written', async () => {
    const before = rig.http.exchanges.length;
    const refused = rig.dialect.post(posting('journal', 'bc-long-tax', 'X'.repeat(21)), ctx);
    await expect(refused).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    await expect(refused).rejects.toThrow(/lines\[0\]\.taxCode .*keeps 20/);
    expect(writesSince(rig, before)).toEqual([]);
  });

  it('writes the tax code on order lines, sees a changed one as a change and reads it back', async () => {
    const order = (taxCode: string): PurchaseOrder => ({
      docType: 'PurchaseOrder',
      sourceRef: { system: 'coupa', id: 'PO-TAX', version: 1 },
      externalReference: 'coupa:PO-TAX',
      supplierId: 'SUP-1001',
      orderDate: today(),
      currency: 'EUR',
      total: eur('300.00'),
      lines: [
        line({
          lineId: 'L1',
          taxCode,
          accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }],
        }),
      ],
    });
    const created = await rig.dialect.upsertPurchaseOrder(order('DE-19'), ctx);
    const erpRef = { ...created };
    expect((await rig.dialect.getPurchaseOrder(created.documentId, ctx)).lines[0].taxCode).toBe('DE-19');
    expect(await rig.dialect.upsertPurchaseOrder({ ...order('DE-19'), erpRef }, ctx)).toMatchObject({
      action: 'unchanged',
    });
    const changed = await rig.dialect.upsertPurchaseOrder({ ...order('DE-7'), erpRef }, ctx);
    expect(changed.action).toBe('updated');
    expect((await rig.dialect.getPurchaseOrder(created.documentId, ctx)).lines[0].taxCode).toBe('DE-7');
  });
});

describe('SAP: TaxCode on purchase order items; supplier invoices refuse tax-coded lines', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(sapConnection());
  });
  afterAll(() => rig.close());

  const single = (taxCode: string | undefined): PurchaseOrderLine =>
    line({
      lineId: 'L1',
      taxCode,
      accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }],
    });

  it('writes TaxCode on the item, sees a changed one as a change and reads it back', async () => {
    const reference = 'coupa:PO-SAPTAX';
    const before = rig.http.exchanges.length;
    const created = await rig.dialect.upsertPurchaseOrder(sapPurchaseOrder(reference, { lines: [single('v1')] }), ctx);
    const [body] = sent(rig, '/A_PurchaseOrder', before);
    expect(body.to_PurchaseOrderItem.results[0].TaxCode).toBe('V1');
    const order = sapStoreOf(rig.sandbox.state).orders.get(created.documentId)!;
    expect(order.items[0].TaxCode).toBe('V1');
    expect((await rig.dialect.getPurchaseOrder(created.documentId, ctx)).lines[0].taxCode).toBe('V1');

    const erpRef = { ...created };
    const same = sapPurchaseOrder(reference, { lines: [single('V1')], erpRef });
    expect(await rig.dialect.upsertPurchaseOrder(same, ctx)).toMatchObject({ action: 'unchanged' });
    const changed = sapPurchaseOrder(reference, { lines: [single('V0')], erpRef });
    expect(await rig.dialect.upsertPurchaseOrder(changed, ctx)).toMatchObject({ action: 'updated' });
    expect((await rig.dialect.getPurchaseOrder(created.documentId, ctx)).lines[0].taxCode).toBe('V0');
  });

  it('refuses a tax code longer than SAP holds, naming the line, before anything is written', async () => {
    const before = rig.http.exchanges.length;
    const refused = rig.dialect.upsertPurchaseOrder(
      sapPurchaseOrder('coupa:PO-LONG', { lines: [single('DE-19')] }),
      ctx,
    );
    await expect(refused).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    await expect(refused).rejects.toThrow(/lines\[0\]\.taxCode "DE-19" has 5 characters; SAP tax codes have 2/);
    expect(writesSince(rig, before)).toEqual([]);
  });

  it('refuses a supplier invoice with a tax-coded line before anything is written: its G/L amounts would be net', async () => {
    const before = rig.http.exchanges.length;
    const refused = rig.dialect.post({ ...posting('journal', 'SAP-TAX-1', 'V1'), employeeId: 'E1017' }, ctx);
    await expect(refused).rejects.toMatchObject({ code: 'SCHEMA_INVALID', retryable: false });
    await expect(refused).rejects.toThrow(/line 1 \(V1\) has a tax code.*Nothing was written\. Remove the tax code/);
    expect(writesSince(rig, before)).toEqual([]);

    const untaxed = rig.http.exchanges.length;
    await rig.dialect.post({ ...posting('journal', 'SAP-TAX-2'), employeeId: 'E1017' }, ctx);
    expect(sent(rig, '/A_SupplierInvoice', untaxed)[0].TaxIsCalculatedAutomatically).toBe(false);
  });
});

describe('ERPNext: Item Tax Template on order items; journals and invoices refuse tax-coded lines', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection());
  });
  afterAll(() => rig.close());

  const single = (taxCode: string): PurchaseOrderLine =>
    line({
      lineId: 'L1',
      taxCode,
      accountAssignments: [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }],
    });

  it('writes item_tax_template, sees a changed one as a change and reads it back', async () => {
    const reference = 'coupa:PO-ERPTAX';
    const created = await rig.dialect.upsertPurchaseOrder(
      erpnextPurchaseOrder(reference, { lines: [single('DE-19')] }),
      ctx,
    );
    const table = erpnextStoreOf(rig.sandbox.state).table('Purchase Order');
    expect((table.get(created.documentId)!.items as Array<Record<string, unknown>>)[0].item_tax_template).toBe('DE-19');
    expect((await rig.dialect.getPurchaseOrder(created.documentId, ctx)).lines[0].taxCode).toBe('DE-19');

    const same = erpnextPurchaseOrder(reference, { lines: [single('DE-19')] });
    expect(await rig.dialect.upsertPurchaseOrder(same, ctx)).toMatchObject({ action: 'unchanged' });
    const changed = await rig.dialect.upsertPurchaseOrder(
      erpnextPurchaseOrder(reference, { lines: [single('DE-7')] }),
      ctx,
    );
    expect(changed.action).toBe('updated');
    expect((await rig.dialect.getPurchaseOrder(changed.documentId, ctx)).lines[0].taxCode).toBe('DE-7');
  });

  it('refuses a payable with a tax-coded line before anything is written: a Purchase Invoice rate is net', async () => {
    const before = rig.http.exchanges.length;
    const refused = rig.dialect.post(posting('payable', 'erp-tax-payable', 'DE-19'), ctx);
    await expect(refused).rejects.toMatchObject({ code: 'SCHEMA_INVALID', retryable: false });
    expect(writesSince(rig, before)).toEqual([]);
  });

  it('refuses a journal with a tax-coded line before anything is written, saying what to do', async () => {
    const before = rig.http.exchanges.length;
    const refused = rig.dialect.post(posting('journal', 'erp-tax-journal', 'DE-19'), ctx);
    await expect(refused).rejects.toMatchObject({
      code: 'SCHEMA_INVALID',
      retryable: false,
      details: { lines: [{ lineId: '1', taxCode: 'DE-19' }] },
    });
    await expect(refused).rejects.toThrow(
      /line 1 \(DE-19\) has a tax code.*Nothing was written\. Remove the tax code in the mapping/,
    );
    expect(writesSince(rig, before)).toEqual([]);
  });
});
