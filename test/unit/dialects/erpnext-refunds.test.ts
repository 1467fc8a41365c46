/**
 * Refund (negative) and 0.00 lines of an expense posting to ERPNext:
 * - a journal credits a refund line on its account with the absolute value (never a negative debit), leaves a
 *   0.00 line out (ERPNext refuses a Journal Entry Account row whose debit and credit are both zero,
 *   journal_entry.py validate_debit_credit_amount) and credits the payable with the net total, debits equal to
 *   credits exactly; a journal whose lines add up to zero or less is refused before anything is written;
 * - a payable (Purchase Invoice) with a refund line is refused before anything is written (ERPNext takes no
 *   negative item rate outside a return), a 0.00 line travels as an item of rate 0;
 * - the revision check of a journal with a refund compares what it owes the payee, not only its debits.
 */
import type { PostingRequest } from '../../../lib/erp/dialect';
import { erpnextStoreOf } from '../../../lib/sandbox/erpnext/api';
import { erpnextConnection } from './erpnext-fixtures';
import { ctx, startDialectRig, today, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
const EXPENSE = '6300 - Consulting and legal fees - FSD';
const PAYABLE = '2910 - Employee Expense Payable - FSD';

const posting = (kind: PostingRequest['kind'], externalReference: string, amounts: string[]): PostingRequest => ({
  kind,
  externalReference,
  employeeId: 'E1011',
  postingDate: today(),
  currency: 'EUR',
  lines: amounts.map((amount, i) => ({
    lineId: String(i + 1),
    amount: eur(amount),
    dimensions: { costCenter: 'CC-100', glAccount: '6300' },
  })),
});

type Row = { account: string; debit_in_account_currency?: number; credit_in_account_currency?: number };

describe('ERPNext dialect: refund and zero lines of an expense posting', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection());
  });
  afterAll(() => rig.close());

  const writesSince = (from: number) => rig.http.exchanges.slice(from).filter((e) => e.request.method !== 'GET');
  const inserted = (from: number, doctype: string) =>
    writesSince(from).find((e) => e.request.method === 'POST' && e.request.path === `/api/resource/${doctype}`)?.request
      .body as Record<string, unknown> | undefined;

  it('credits a refund line with its absolute value and the payable with the net total, debits equal to credits', async () => {
    const before = rig.http.exchanges.length;
    const posted = await rig.dialect.post(posting('journal', 'concur:R-refund', ['10.00', '-2.50']), ctx);
    expect(posted.status).toBe('posted');
    const accounts = inserted(before, 'Journal%20Entry')!.accounts as Row[];
    expect(accounts.map((row) => [row.account, row.debit_in_account_currency, row.credit_in_account_currency])).toEqual(
      [
        [EXPENSE, 10, undefined],
        [EXPENSE, undefined, 2.5],
        [PAYABLE, undefined, 7.5],
      ],
    );
    const jv = erpnextStoreOf(rig.sandbox.state).table('Journal Entry').get(posted.documentId)!;
    expect(jv).toMatchObject({ docstatus: 1, total_debit: 10, total_credit: 10 });
    const gl = [...erpnextStoreOf(rig.sandbox.state).table('GL Entry').values()]
      .filter((entry) => entry.voucher_no === posted.documentId)
      .map((entry) => [entry.account, entry.debit, entry.credit]);
    expect(gl).toEqual([
      [EXPENSE, 10, 0],
      [EXPENSE, 0, 2.5],
      [PAYABLE, 0, 7.5],
    ]);

    // The same posting again is the journal already there (its debits and what it owes the payee match).
    const again = rig.http.exchanges.length;
    expect((await rig.dialect.post(posting('journal', 'concur:R-refund', ['10.00', '-2.50']), ctx)).documentId).toBe(
      posted.documentId,
    );
    expect(writesSince(again)).toEqual([]);
    expect(
      await rig.dialect.findPosting!(posting('journal', 'concur:R-refund', ['10.00', '-2.50']), ctx),
    ).toMatchObject({ documentId: posted.documentId });
    // A version without the refund has the same debits (10.00) but owes 10.00, not 7.50: not this journal.
    await expect(rig.dialect.findPosting!(posting('journal', 'concur:R-refund', ['10.00']), ctx)).rejects.toMatchObject(
      { code: 'ERP_CONFLICT', details: { booked: eur('7.50'), expected: eur('10.00') } },
    );
    // Another version owing the same 7.50 with other lines: its debits (9.00) are not the journal's (10.00).
    await expect(
      rig.dialect.findPosting!(posting('journal', 'concur:R-refund', ['9.00', '-1.50']), ctx),
    ).rejects.toMatchObject({ code: 'ERP_CONFLICT', details: { booked: eur('10.00'), expected: eur('9.00') } });
  });

  it('keeps debits equal to credits in minor units for refunds of odd cents', async () => {
    const before = rig.http.exchanges.length;
    await rig.dialect.post(posting('journal', 'concur:R-cents', ['0.10', '0.20', '-0.05', '-0.01']), ctx);
    const accounts = inserted(before, 'Journal%20Entry')!.accounts as Row[];
    const cents = (field: keyof Row) =>
      accounts.reduce((total, row) => total + Math.round(Number(row[field] ?? 0) * 100), 0);
    expect(cents('debit_in_account_currency')).toBe(30);
    expect(cents('credit_in_account_currency')).toBe(30);
    expect(accounts.at(-1)).toEqual({
      account: PAYABLE,
      credit_in_account_currency: 0.24,
      party_type: 'Employee',
      party: 'E1011',
    });
  });

  it('leaves a 0.00 line out of the journal', async () => {
    const before = rig.http.exchanges.length;
    const posted = await rig.dialect.post(posting('journal', 'concur:R-zero', ['10.00', '0.00']), ctx);
    expect(posted.status).toBe('posted');
    const accounts = inserted(before, 'Journal%20Entry')!.accounts as Row[];
    expect(accounts.map((row) => [row.account, row.debit_in_account_currency, row.credit_in_account_currency])).toEqual(
      [
        [EXPENSE, 10, undefined],
        [PAYABLE, undefined, 10],
      ],
    );
  });

  it.each([
    ['zero', ['10.00', '-10.00'], '0.00'],
    ['less than zero', ['5.00', '-10.00'], '-5.00'],
    ['zero, of 0.00 lines only', ['0.00'], '0.00'],
  ])('refuses a journal whose lines add up to %s, writing nothing', async (_label, amounts, total) => {
    const before = rig.http.exchanges.length;
    const error = await rig.dialect
      .post(posting('journal', `concur:R-net-${amounts.join('_')}`, amounts), ctx)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'SCHEMA_INVALID', retryable: false });
    expect((error as Error).message).toContain(`add up to ${total} EUR`);
    expect((error as Error).message).toMatch(/Nothing was written/);
    expect(writesSince(before)).toEqual([]);
  });

  it('refuses a payable with a refund line before writing anything, naming the line', async () => {
    const before = rig.http.exchanges.length;
    const error = await rig.dialect
      .post(posting('payable', 'concur:R-payable-refund', ['10.00', '-0.05']), ctx)
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'SCHEMA_INVALID',
      retryable: false,
      details: { lines: [{ lineId: '2', amount: eur('-0.05') }] },
    });
    expect((error as Error).message).toMatch(/line 2 \(-0\.05 EUR\) is negative/);
    expect(writesSince(before)).toEqual([]);
  });

  it('sends a 0.00 payable line as an item of rate 0', async () => {
    const before = rig.http.exchanges.length;
    const posted = await rig.dialect.post(posting('payable', 'concur:R-payable-zero', ['10.00', '0.00']), ctx);
    expect(posted).toMatchObject({ status: 'posted', total: eur('10.00') });
    const items = inserted(before, 'Purchase%20Invoice')!.items as Array<{ rate: number }>;
    expect(items.map((item) => item.rate)).toEqual([10, 0]);
  });
});

describe('ERPNext simulator: a journal refund lessens the budget charge of its head', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection());
  });
  afterAll(() => rig.close());

  it('checks the budget on the debits less the credits of one account and cost center', async () => {
    const check = { costCenter: 'CC-100', glAccount: '6300', period: today().slice(0, 7), amount: eur('1.00') };
    // Only the accumulated monthly comparison (Warn): what this test posts against.
    const store = erpnextStoreOf(rig.sandbox.state);
    const budget = [...store.table('Budget').values()].find(
      (b) =>
        b.cost_center === 'CC-100 - FSD' &&
        String(b.account).startsWith('6300 ') &&
        String(b.from_fiscal_year) === today().slice(0, 4),
    )!;
    budget.action_if_annual_budget_exceeded = 'Ignore';
    budget.action_if_annual_budget_exceeded_on_po = 'Ignore';
    const { available } = await rig.dialect.checkBudget(check, ctx);
    const over = (Number(available.amount) + 5).toFixed(2);
    const before = rig.http.exchanges.length;
    // Debits 5.00 over the budget left, a refund of 10.00 on the same head: 5.00 under it, so no warning.
    await rig.dialect.post(posting('journal', 'concur:R-budget', [over, '-10.00']), ctx);
    const submit = rig.http.exchanges
      .slice(before)
      .find((e) => e.request.method === 'PUT' && (e.request.body as { docstatus?: number }).docstatus === 1)!;
    expect((submit.response!.data as { _server_messages?: string })._server_messages).toBeUndefined();
    expect((await rig.dialect.checkBudget(check, ctx)).available).toEqual(eur('5.00'));
  });
});
