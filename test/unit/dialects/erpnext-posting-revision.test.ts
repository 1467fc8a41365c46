/**
 * A journal or invoice ERPNext holds under a posting's reference is that posting only when it holds the
 * posting's total (ErpDialect.findPosting). A revised expense report (another total) whose earlier version
 * was posted, or left as a draft by an interrupted attempt, must not be answered "posted" with the earlier
 * amounts, and such a draft must not be submitted: ERP_CONFLICT for a person, nothing written.
 */
import type { ErpHttp, ErpRequest, ErpResponse } from '../../../lib/erp/client';
import { createDialect, type ErpDialect, type PostingRequest } from '../../../lib/erp/dialect';
import { FinanceError } from '../../../lib/errors';
import { erpnextStoreOf } from '../../../lib/sandbox/erpnext/api';
import { erpnextConnection } from './erpnext-fixtures';
import { ctx, startDialectRig, today, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

type Kind = PostingRequest['kind'];
const DOCTYPE: Record<Kind, { doctype: string; key: string; total: string }> = {
  journal: { doctype: 'Journal Entry', key: 'cheque_no', total: 'total_debit' },
  payable: { doctype: 'Purchase Invoice', key: 'bill_no', total: 'grand_total' },
};

/** Version of an expense report as a posting: one line per amount, all on CC-100 / 6000. */
const posting = (kind: Kind, externalReference: string, amounts: string[]): PostingRequest => ({
  kind,
  externalReference,
  employeeId: 'E1010',
  postingDate: today(),
  currency: 'EUR',
  lines: amounts.map((amount, i) => ({
    lineId: String(i + 1),
    amount: eur(amount),
    dimensions: { costCenter: 'CC-100', glAccount: '6000' },
    description: `Expense ${i + 1}`,
  })),
});

const isSubmit = (request: ErpRequest) =>
  request.method === 'PUT' && (request.body as { docstatus?: number } | undefined)?.docstatus === 1;

/** A dialect over the rig that runs `before` on each request first; an error it answers is thrown instead. */
function dialectWith(rig: DialectRig, before: (request: ErpRequest) => FinanceError | undefined): ErpDialect {
  const http: ErpHttp = {
    request: async <T>(request: ErpRequest): Promise<ErpResponse<T>> => {
      const error = before(request);
      if (error) throw error;
      return rig.http.request<T>(request);
    },
  };
  return createDialect('erpnext', http, { ...erpnextConnection()(), baseUrl: rig.sandbox.url });
}

describe.each<Kind>(['journal', 'payable'])('ERPNext %s posting of a revised expense report', (kind) => {
  const { doctype, key, total } = DOCTYPE[kind];
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection());
  });
  afterAll(() => rig.close());

  const documents = (reference: string) =>
    [...erpnextStoreOf(rig.sandbox.state).table(doctype).values()].filter((doc) => doc[key] === reference);
  const writesSince = (from: number) =>
    rig.http.exchanges.slice(from).filter((exchange) => exchange.request.method !== 'GET');

  it('refuses a version with another total than the one posted, instead of answering it "posted"', async () => {
    const reference = `concur:RPT-${kind}-posted`;
    const v1 = await rig.dialect.post(posting(kind, reference, ['100.00']), ctx);
    expect(v1.status).toBe('posted');
    const before = rig.http.exchanges.length;

    const v2 = posting(kind, reference, ['100.00', '80.00']);
    const refused = await rig.dialect.post(v2, ctx).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
      details: {
        documentId: v1.documentId,
        doctype,
        docstatus: 1,
        booked: eur('100.00'),
        expected: eur('180.00'),
      },
    });
    const message = (refused as Error).message;
    expect(message).toContain(`${doctype} ${v1.documentId}`);
    expect(message).toMatch(/totalling 100\.00 EUR, but this posting totals 180\.00 EUR/);
    expect(message).toMatch(new RegExp(`cancel ${v1.documentId} in ERPNext and replay`));
    // The ledger's lookup says the same, rather than "found".
    await expect(rig.dialect.findPosting!(v2, ctx)).rejects.toMatchObject({ code: 'ERP_CONFLICT' });
    expect(writesSince(before)).toEqual([]);
    expect(documents(reference).map((doc) => [doc.docstatus, doc[total]])).toEqual([[1, 100]]);

    // The version that was posted is still found, by the lookup and by a retried post.
    expect(await rig.dialect.findPosting!(posting(kind, reference, ['100.00']), ctx)).toMatchObject({
      documentId: v1.documentId,
      status: 'posted',
    });
    expect((await rig.dialect.post(posting(kind, reference, ['100.00']), ctx)).documentId).toBe(v1.documentId);
  });

  it("does not submit an earlier version's draft for a version with another total; the same version submits it", async () => {
    const reference = `concur:RPT-${kind}-draft`;
    let lose = true;
    const lossy = dialectWith(rig, (request) => {
      if (!lose || !isSubmit(request)) return undefined;
      lose = false;
      return new FinanceError('ERP_UNAVAILABLE', 'HTTP 503 from the proxy', { httpStatus: 503, retryable: true });
    });
    await expect(lossy.post(posting(kind, reference, ['100.00']), ctx)).rejects.toMatchObject({
      code: 'ERP_UNAVAILABLE',
    });
    const [draft] = documents(reference);
    expect(draft).toMatchObject({ docstatus: 0, [total]: 100 });

    const v2 = posting(kind, reference, ['100.00', '80.00']);
    // A draft is not posted: the lookup finds nothing (and writes nothing), so the write decides.
    expect(await rig.dialect.findPosting!(v2, ctx)).toBeNull();
    const before = rig.http.exchanges.length;
    const refused = await rig.dialect.post(v2, ctx).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
      details: { documentId: draft.name, docstatus: 0, booked: eur('100.00'), expected: eur('180.00') },
    });
    expect((refused as Error).message).toMatch(/not submitted/);
    expect((refused as Error).message).toMatch(/delete the draft in ERPNext and replay/);
    expect(writesSince(before)).toEqual([]);
    expect(documents(reference).map((doc) => doc.docstatus)).toEqual([0]);
    expect(
      [...erpnextStoreOf(rig.sandbox.state).table('GL Entry').values()].filter((gl) => gl.voucher_no === draft.name),
    ).toEqual([]);

    // Version 1 again (a retry of the interrupted attempt) submits its own draft.
    const posted = await rig.dialect.post(posting(kind, reference, ['100.00']), ctx);
    expect(posted).toMatchObject({ documentId: draft.name, status: 'posted' });
    expect(documents(reference).map((doc) => doc.docstatus)).toEqual([1]);
  });

  it('does not submit a draft that someone changed to another total just before the submit', async () => {
    const reference = `concur:RPT-${kind}-touched`;
    const store = erpnextStoreOf(rig.sandbox.state);
    let touched = false;
    // A save in ERPNext between the insert and the submit: another total, and a newer `modified`.
    const touching = dialectWith(rig, (request) => {
      if (touched || !isSubmit(request)) return undefined;
      touched = true;
      const doc = store.table(doctype).get(decodeURIComponent(request.path.split('/').pop()!))!;
      Object.assign(doc, { [total]: 90, modified: '2099-01-01 00:00:00.000000' });
      return undefined;
    });
    const refused = await touching.post(posting(kind, reference, ['100.00']), ctx).catch((e: unknown) => e);
    expect(touched).toBe(true);
    expect(refused).toMatchObject({
      code: 'ERP_CONFLICT',
      details: { docstatus: 0, booked: eur('90.00'), expected: eur('100.00') },
    });
    expect(documents(reference).map((doc) => doc.docstatus)).toEqual([0]);
  });
});

describe('ERPNext payable: charges ERPNext adds to a new invoice', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection());
  });
  afterAll(() => rig.close());

  it('a new draft whose grand total ERPNext raised (a default tax template) is not submitted: ERP_CONFLICT', async () => {
    const sent: ErpRequest[] = [];
    // As ERPNext answers an insert when a default Purchase Taxes and Charges Template added 19 % on top.
    const http: ErpHttp = {
      request: async <T>(request: ErpRequest): Promise<ErpResponse<T>> => {
        sent.push(request);
        const response = await rig.http.request<T>(request);
        if (request.method !== 'POST' || !request.path.includes('Purchase')) return response;
        const doc = (response.data as { data: Record<string, unknown> }).data;
        return { ...response, data: { data: { ...doc, grand_total: Number(doc.grand_total) * 1.19 } } as T };
      },
    };
    const dialect = createDialect('erpnext', http, { ...erpnextConnection()(), baseUrl: rig.sandbox.url });
    const error = await dialect.post(posting('payable', 'concur:RPT-TAX-1', ['100.00']), ctx).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
      details: { held: eur('119.00'), expected: eur('100.00') },
    });
    expect((error as Error).message).toMatch(/added charges of its own.*not submitted/);
    expect(sent.filter(isSubmit)).toEqual([]);
  });
});
