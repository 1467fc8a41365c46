/**
 * ERPNext postings against what ERPNext holds under their reference, beyond the total:
 * - a revised expense report whose lines were re-coded (another account, cost center or project, same total)
 *   is not the journal / invoice of its earlier version: ERP_CONFLICT naming what differs, nothing written;
 * - the journal's payable row carries the Employee as its party (ERPNext refuses a Payable row without one);
 * - a draft left by a refused submit (frozen period, no fiscal year) is submitted on replay with the posting
 *   date the replay asks for, not its old one.
 */
import type { PostingRequest } from '../../../lib/erp/dialect';
import { erpnextStoreOf } from '../../../lib/sandbox/erpnext/api';
import { erpnextConnection } from './erpnext-fixtures';
import { ctx, startDialectRig, today, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

type Kind = PostingRequest['kind'];
const DOCTYPE: Record<Kind, { doctype: string; key: string }> = {
  journal: { doctype: 'Journal Entry', key: 'cheque_no' },
  payable: { doctype: 'Purchase Invoice', key: 'bill_no' },
};

interface Coded {
  amount: string;
  glAccount: string;
  costCenter?: string;
  project?: string;
}

const posting = (
  kind: Kind,
  externalReference: string,
  lines: Coded[],
  overrides: Partial<PostingRequest> = {},
): PostingRequest => ({
  kind,
  externalReference,
  employeeId: 'E1010',
  postingDate: today(),
  currency: 'EUR',
  lines: lines.map(({ amount, ...dimensions }, i) => ({
    lineId: String(i + 1),
    amount: eur(amount),
    dimensions,
    description: `Expense ${i + 1}`,
  })),
  ...overrides,
});

/** Version 1: 100.00 on CC-100 / 6000 and 50.00 on CC-100 / 6010. */
const V1: Coded[] = [
  { amount: '100.00', glAccount: '6000', costCenter: 'CC-100' },
  { amount: '50.00', glAccount: '6010', costCenter: 'CC-100' },
];

describe.each<Kind>(['journal', 'payable'])('ERPNext %s posting of a re-coded revision', (kind) => {
  const { doctype, key } = DOCTYPE[kind];
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection());
  });
  afterAll(() => rig.close());

  const documents = (reference: string) =>
    [...erpnextStoreOf(rig.sandbox.state).table(doctype).values()].filter((doc) => doc[key] === reference);
  const writesSince = (from: number) =>
    rig.http.exchanges.slice(from).filter((exchange) => exchange.request.method !== 'GET');

  it.each<[string, Coded[], RegExp]>([
    [
      'another cost center and account',
      [
        { amount: '100.00', glAccount: '6000', costCenter: 'CC-100' },
        { amount: '50.00', glAccount: '6020', costCenter: 'CC-200' },
      ],
      /account 6010 - [^:]+, cost center CC-100 - FSD: 50\.00 in \S+, 0\.00 in this posting; account 6020 - [^:]+, cost center CC-200 - FSD: 0\.00 in \S+, 50\.00 in this posting/,
    ],
    [
      'a project',
      [
        { amount: '100.00', glAccount: '6000', costCenter: 'CC-100' },
        { amount: '50.00', glAccount: '6010', costCenter: 'CC-100', project: 'PRJ-2001' },
      ],
      /cost center CC-100 - FSD, project PRJ-2001: 0\.00 in \S+, 50\.00 in this posting/,
    ],
    [
      'amounts moved between lines',
      [
        { amount: '90.00', glAccount: '6000', costCenter: 'CC-100' },
        { amount: '60.00', glAccount: '6010', costCenter: 'CC-100' },
      ],
      /account 6000 - [^:]+, cost center CC-100 - FSD: 100\.00 in \S+, 90\.00 in this posting/,
    ],
  ])('refuses a version with %s and the same total instead of answering it "posted"', async (label, v2, what) => {
    const reference = `concur:RPT-${kind}-${label.replace(/\W+/g, '-')}`;
    const v1 = await rig.dialect.post(posting(kind, reference, V1), ctx);
    expect(v1.status).toBe('posted');
    const before = rig.http.exchanges.length;

    const revised = posting(kind, reference, v2);
    const refused = await rig.dialect.post(revised, ctx).catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
      details: { documentId: v1.documentId, doctype, docstatus: 1, vendorCode: 'ROWS_DIFFER' },
    });
    const message = (refused as Error).message;
    expect(message).toContain(`${doctype} ${v1.documentId}`);
    expect(message).toMatch(what);
    expect(message).toMatch(new RegExp(`cancel ${v1.documentId} in ERPNext and replay`));
    // The ledger's lookup says the same, rather than "found".
    await expect(rig.dialect.findPosting!(revised, ctx)).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
      details: { vendorCode: 'ROWS_DIFFER' },
    });
    expect(writesSince(before)).toEqual([]);
    expect(documents(reference)).toHaveLength(1);
    // Version 1 itself is still found.
    expect(await rig.dialect.findPosting!(posting(kind, reference, V1), ctx)).toMatchObject({
      documentId: v1.documentId,
    });
  });

  it('takes a version that splits the same bookings into other lines as the posted document', async () => {
    const reference = `concur:RPT-${kind}-split`;
    const v1 = await rig.dialect.post(posting(kind, reference, V1), ctx);
    const split = posting(kind, reference, [
      { amount: '60.00', glAccount: '6000', costCenter: 'CC-100' },
      { amount: '50.00', glAccount: '6010', costCenter: 'CC-100' },
      { amount: '40.00', glAccount: '6000', costCenter: 'CC-100' },
    ]);
    expect(await rig.dialect.post(split, ctx)).toMatchObject({ documentId: v1.documentId, status: 'posted' });
  });

  it("does not submit a re-coded version's earlier draft", async () => {
    const reference = `concur:RPT-${kind}-draft`;
    const store = erpnextStoreOf(rig.sandbox.state);
    store.accountsFrozenTill = today();
    await expect(rig.dialect.post(posting(kind, reference, V1), ctx)).rejects.toMatchObject({
      code: 'ERP_REJECTED',
    });
    store.accountsFrozenTill = undefined;
    const [draft] = documents(reference);
    expect(draft.docstatus).toBe(0);
    const before = rig.http.exchanges.length;
    const refused = await rig.dialect
      .post(
        posting(kind, reference, [
          { amount: '100.00', glAccount: '6000', costCenter: 'CC-200' },
          { amount: '50.00', glAccount: '6010', costCenter: 'CC-100' },
        ]),
        ctx,
      )
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ERP_CONFLICT',
      details: { documentId: draft.name, docstatus: 0, vendorCode: 'ROWS_DIFFER' },
    });
    expect((refused as Error).message).toMatch(/draft .* not submitted/);
    expect(writesSince(before)).toEqual([]);
    expect(documents(reference).map((doc) => doc.docstatus)).toEqual([0]);
  });
});

describe('ERPNext journal: the payable row names the Employee, and a refused draft is submitted on its new date', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection());
  });
  afterAll(() => rig.close());
  afterEach(() => {
    const store = erpnextStoreOf(rig.sandbox.state);
    store.accountsFrozenTill = undefined;
    store.fiscalYearCheck = false;
  });

  const store = () => erpnextStoreOf(rig.sandbox.state);
  const journals = (reference: string) =>
    [...store().table('Journal Entry').values()].filter((doc) => doc.cheque_no === reference);
  const gl = (voucher: string) => [...store().table('GL Entry').values()].filter((e) => e.voucher_no === voucher);

  it('credits the payable account against the Employee as party, as ERPNext requires on a Payable account', async () => {
    const posted = await rig.dialect.post(posting('journal', 'concur:RPT-party', V1), ctx);
    const [journal] = journals('concur:RPT-party');
    expect((journal.accounts as Array<Record<string, unknown>>).at(-1)).toMatchObject({
      account: '2910 - Employee Expense Payable - FSD',
      credit_in_account_currency: 150,
      party_type: 'Employee',
      party: 'E1010',
    });
    expect(gl(posted.documentId).at(-1)).toMatchObject({ party_type: 'Employee', party: 'E1010', credit: 150 });
  });

  it("finds the Employee by its Employee Number when the source's id is not ERPNext's Employee ID", async () => {
    const employee = store().table('Employee').get('E1011')!;
    employee.employee_number = 'concur-4711';
    try {
      await rig.dialect.post(posting('journal', 'concur:RPT-number', V1, { employeeId: 'concur-4711' }), ctx);
      const [journal] = journals('concur:RPT-number');
      expect((journal.accounts as Array<Record<string, unknown>>).at(-1)).toMatchObject({
        party_type: 'Employee',
        party: 'E1011',
      });
    } finally {
      delete employee.employee_number;
    }
  });

  it('refuses, before writing, a journal for an employee ERPNext does not know', async () => {
    const before = rig.http.exchanges.length;
    const refused = await rig.dialect
      .post(posting('journal', 'concur:RPT-stranger', V1, { employeeId: 'X-404' }), ctx)
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ERP_REJECTED',
      retryable: false,
      details: { vendorCode: 'NO_EMPLOYEE', employeeId: 'X-404' },
    });
    expect((refused as Error).message).toMatch(/Employee Number of the employee in ERPNext to X-404/);
    expect(rig.http.exchanges.slice(before).filter((e) => e.request.method !== 'GET')).toEqual([]);
    expect(journals('concur:RPT-stranger')).toEqual([]);
  });

  it.each<['journal' | 'payable']>([['journal'], ['payable']])(
    'a %s draft refused for a frozen period is moved to the date the replay asks for, then submitted',
    async (kind) => {
      const reference = `concur:RPT-frozen-${kind}`;
      const doctype = DOCTYPE[kind].doctype;
      const drafts = () => [...store().table(doctype).values()].filter((doc) => doc[DOCTYPE[kind].key] === reference);
      store().accountsFrozenTill = '2026-03-31';
      const refused = await rig.dialect
        .post(posting(kind, reference, V1, { postingDate: '2026-03-10' }), ctx)
        .catch((e: unknown) => e);
      expect(refused).toMatchObject({
        code: 'ERP_REJECTED',
        details: { vendorCode: 'ValidationError', draftLeft: true, doctype },
      });
      const [draft] = drafts();
      expect((refused as Error).message).toMatch(/You are not authorized to add or update entries before 31-03-2026/);
      expect((refused as Error).message).toContain(
        `${doctype} ${String(draft.name)}, posting date 2026-03-10, stays a draft`,
      );
      expect(draft).toMatchObject({ docstatus: 0, posting_date: '2026-03-10' });

      // The replay asks for a date after the frozen one ("today" rule, or a person's choice).
      const posted = await rig.dialect.post(posting(kind, reference, V1, { postingDate: '2026-04-02' }), ctx);
      expect(posted).toMatchObject({ documentId: draft.name, status: 'posted' });
      expect(drafts()).toHaveLength(1);
      expect(drafts()[0]).toMatchObject({ docstatus: 1, posting_date: '2026-04-02' });
      expect(new Set(gl(posted.documentId).map((entry) => entry.posting_date))).toEqual(new Set(['2026-04-02']));
    },
  );

  it("passes on ERPNext's FiscalYearError for a date in no fiscal year, saying the draft is left", async () => {
    store().fiscalYearCheck = true;
    const refused = await rig.dialect
      .post(posting('journal', 'concur:RPT-no-year', V1, { postingDate: '2019-01-15' }), ctx)
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ERP_REJECTED',
      details: { vendorCode: 'FiscalYearError', draftLeft: true },
    });
    expect((refused as Error).message).toMatch(/Date 15-01-2019 is not in any active Fiscal Year for .*FS-DEMO/);
  });
});
