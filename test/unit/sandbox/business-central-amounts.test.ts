/**
 * The Business Central simulator and what it cannot book: a purchase invoice in another currency than the
 * company's (it keeps no exchange rates, so posting would book it 1:1) and an amount with more decimals than
 * its currency has. Both are refused with a 4xx in BC's error shape naming the problem, never a 500 (which the
 * pack would retry) and never booked wrong.
 */
import type { PostingRequest } from '../../../lib/erp/dialect';
import { isFinanceError } from '../../../lib/errors';
import { bcStoreOf, type BcCompany } from '../../../lib/sandbox/business-central/store';
import { ctx, startDialectRig, today, type DialectRig } from '../dialects/harness';

const CONFIG = {
  name: 'bc',
  dialect: 'business-central',
  company: 'FS-DEMO',
  auth: { type: 'none' as const },
  options: { tenant: 'contoso.onmicrosoft.com', environment: 'Production' },
};

function demoCompany(rig: DialectRig): BcCompany {
  return [...bcStoreOf(rig.sandbox.state).companies.values()].find((c) => c.name === 'FS-DEMO')!;
}

/** The error a request failed with: its HTTP status and BC's error body. */
async function failure(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  if (!isFinanceError(error)) throw new Error(`expected a FinanceError, got ${String(error)}`);
  return { status: error.httpStatus, retryable: error.retryable, body: error.details?.erpBody, message: error.message };
}

describe('Business Central simulator: refuses what it cannot book', () => {
  let rig: DialectRig;
  let path: string;
  beforeAll(async () => {
    rig = await startDialectRig(() => CONFIG);
    path = `/v2.0/contoso.onmicrosoft.com/Production/api/v2.0/companies(${demoCompany(rig).id})`;
  });
  afterAll(() => rig.close());

  const payable = (reference: string, amount: string, currency: string): PostingRequest => ({
    kind: 'payable',
    externalReference: reference,
    supplierId: 'SUP-1001',
    postingDate: today(),
    currency,
    lines: [{ lineId: '1', amount: { amount, currency }, dimensions: { glAccount: '6300' } }],
  });

  it('a purchase invoice in another currency than the company one: 400, nothing created or booked', async () => {
    const company = demoCompany(rig);
    const entries = company.generalLedgerEntries.length;
    const invoices = company.purchaseInvoices.size;
    for (const [reference, amount, currency] of [
      ['fx-kwd-1', '100.000', 'KWD'],
      ['fx-kwd-2', '0.101', 'KWD'],
      ['fx-usd-1', '100.00', 'USD'],
    ]) {
      const refused = await failure(rig.dialect.post(payable(reference, amount, currency), ctx));
      expect(refused).toMatchObject({ status: 400, retryable: false });
      expect(refused.body).toMatchObject({ error: { code: 'Application_RecordNotFound' } });
      expect(JSON.stringify(refused.body)).toContain(`Currency Code='${currency}'`);
    }
    expect(company.generalLedgerEntries.length).toBe(entries);
    expect(company.purchaseInvoices.size).toBe(invoices);
  });

  it('amounts with more decimals than the currency has: 400 naming the field, never a 500', async () => {
    const invoice = await failure(
      rig.http.request({
        method: 'POST',
        path: `${path}/purchaseInvoices`,
        body: {
          vendorNumber: 'SUP-1001',
          vendorInvoiceNumber: 'dec-1',
          purchaseInvoiceLines: [{ lineType: 'Account', lineObjectNumber: '6300', quantity: 1, unitCost: 0.101 }],
        },
      }),
    );
    expect(invoice).toMatchObject({ status: 400, body: { error: { code: 'Application_DialogException' } } });
    expect(JSON.stringify(invoice.body)).toContain('Unit Cost 0.101');

    const order = await failure(
      rig.http.request({
        method: 'POST',
        path: `${path}/purchaseOrders`,
        body: {
          vendorNumber: 'SUP-1001',
          purchaseOrderLines: [{ lineType: 'Account', lineObjectNumber: '6300', quantity: 1, directUnitCost: 12.345 }],
        },
      }),
    );
    expect(order).toMatchObject({ status: 400, body: { error: { code: 'Application_DialogException' } } });
    expect(JSON.stringify(order.body)).toContain('Direct Unit Cost 12.345');

    const negativeQuantity = await failure(
      rig.http.request({
        method: 'POST',
        path: `${path}/purchaseOrders`,
        body: {
          vendorNumber: 'SUP-1001',
          purchaseOrderLines: [{ lineType: 'Account', lineObjectNumber: '6300', quantity: -1, directUnitCost: 10 }],
        },
      }),
    );
    expect(negativeQuantity.status).toBe(400);
    expect(negativeQuantity.body).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
  });

  it('still posts a purchase invoice in the company currency', async () => {
    const posted = await rig.dialect.post(payable('eur-1', '100.00', 'EUR'), ctx);
    expect(posted).toMatchObject({ status: 'posted', total: { amount: '100.00', currency: 'EUR' } });
  });
});
