/**
 * The ERPNext simulator answers bad amounts as ERPNext does, a 417 ValidationError naming the problem, never a
 * 500 "The simulator failed" (which the pack retries as an outage although the request can never succeed):
 * - a Purchase Invoice item with a negative rate: ERPNext's "rate must be a positive number" (no returns);
 * - a Journal Entry Account row with a negative debit or credit: the sign, not "more decimals";
 * - a row whose debit and credit are both zero: "Both Debit and Credit values cannot be zero"
 *   [S journal_entry.py validate_debit_credit_amount], both set: "cannot credit and debit same account";
 * - a rate or quantity the simulator cannot read.
 */
import { erpnextStoreOf } from '../../../lib/sandbox/erpnext/api';
import { erpnextConnection } from '../dialects/erpnext-fixtures';
import { startDialectRig, today, type DialectRig } from '../dialects/harness';

const EXPENSE = '6300 - Consulting and legal fees - FSD';
const PAYABLE = '2910 - Employee Expense Payable - FSD';

describe('ERPNext simulator: bad amounts are 417 validation errors', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection());
  });
  afterAll(() => rig.close());

  const insert = (doctype: string, body: Record<string, unknown>) =>
    rig.http
      .request({ method: 'POST', path: `/api/resource/${encodeURIComponent(doctype)}`, body, correlationId: 'test' })
      .catch((e: unknown) => e);
  const count = (doctype: string) => erpnextStoreOf(rig.sandbox.state).table(doctype).size;

  const invoice = (item: Record<string, unknown>) => ({
    supplier: 'SUP-1001',
    company: 'FS-DEMO',
    posting_date: today(),
    set_posting_time: 1,
    currency: 'EUR',
    items: [
      { item_name: 'Taxi', qty: 1, uom: 'Nos', rate: 10, expense_account: EXPENSE },
      { item_code: 'EXPENSE', item_name: 'Refund', qty: 1, uom: 'Nos', rate: 1, expense_account: EXPENSE, ...item },
    ],
  });
  const journal = (rows: Array<Record<string, unknown>>) => ({
    company: 'FS-DEMO',
    posting_date: today(),
    accounts: rows.map((row) => ({ account: EXPENSE, ...row })),
  });

  it('refuses a Purchase Invoice item with a negative rate as ERPNext does, not as a simulator failure', async () => {
    const before = count('Purchase Invoice');
    const refused = await insert('Purchase Invoice', invoice({ rate: -0.05 }));
    expect(refused).toMatchObject({ httpStatus: 417, retryable: false, details: { vendorCode: 'ValidationError' } });
    expect((refused as Error).message).toMatch(/For item EXPENSE, rate must be a positive number/);
    expect((refused as Error).message).not.toMatch(/simulator failed/);
    expect(count('Purchase Invoice')).toBe(before);
  });

  it('takes a Purchase Invoice item of rate 0', async () => {
    const created = (await insert('Purchase Invoice', invoice({ rate: 0 }))) as {
      data: { data: { grand_total: number } };
    };
    expect(created.data.data.grand_total).toBe(10);
  });

  it.each([
    ['a rate that is not a number', { rate: 'ten' }, /Row #2: Rate must be a number/],
    ['a rate with more decimals than the currency', { rate: 0.125 }, /Row #2: Rate 0\.125 has more decimals than EUR/],
    ['a quantity it cannot multiply', { qty: 1e-7 }, /Row #2: Quantity 1e-7/],
  ])('refuses an item with %s as a 417', async (_label, item, message) => {
    const refused = await insert('Purchase Invoice', invoice(item));
    expect(refused).toMatchObject({ httpStatus: 417, retryable: false });
    expect((refused as Error).message).toMatch(message);
  });

  it('refuses a Purchase Order item with a negative rate as a 417', async () => {
    const refused = await insert('Purchase Order', {
      supplier: 'SUP-1001',
      company: 'FS-DEMO',
      transaction_date: today(),
      currency: 'EUR',
      items: [{ item_code: 'X', item_name: 'X', qty: 1, uom: 'Nos', rate: -1, expense_account: EXPENSE }],
    });
    expect(refused).toMatchObject({ httpStatus: 417, retryable: false });
    expect((refused as Error).message).toMatch(/Row #1: Rate -1 cannot be negative/);
  });

  it.each([
    [
      'a negative debit',
      [
        { debit_in_account_currency: 10 },
        { debit_in_account_currency: -2 },
        { account: PAYABLE, credit_in_account_currency: 8 },
      ],
      /Row 2: Debit -2 is negative.*send it as a Credit of 2\.00/,
    ],
    [
      'a negative credit',
      [{ debit_in_account_currency: 10 }, { account: PAYABLE, credit_in_account_currency: -10 }],
      /Row 2: Credit -10 is negative.*send it as a Debit of 10\.00/,
    ],
    [
      'a row of zero debit and credit',
      [
        { debit_in_account_currency: 10 },
        { debit_in_account_currency: 0 },
        { account: PAYABLE, credit_in_account_currency: 10 },
      ],
      /Row 2: Both Debit and Credit values cannot be zero/,
    ],
    [
      'a row with neither debit nor credit',
      [{ debit_in_account_currency: 10 }, { account: PAYABLE, credit_in_account_currency: 10 }, {}],
      /Row 3: Both Debit and Credit values cannot be zero/,
    ],
    [
      'a row with both debit and credit',
      [
        { debit_in_account_currency: 10, credit_in_account_currency: 1 },
        { account: PAYABLE, credit_in_account_currency: 9 },
      ],
      /You cannot credit and debit same account at the same time/,
    ],
    [
      'a debit with more decimals than the currency',
      [{ debit_in_account_currency: 2.555 }, { account: PAYABLE, credit_in_account_currency: 2.555 }],
      /Row 1: Debit 2\.555 has more decimals than EUR/,
    ],
  ])('refuses a Journal Entry with %s, naming it', async (_label, rows, message) => {
    const before = count('Journal Entry');
    const refused = await insert('Journal Entry', journal(rows));
    expect(refused).toMatchObject({ httpStatus: 417, retryable: false, details: { vendorCode: 'ValidationError' } });
    expect((refused as Error).message).toMatch(message);
    expect(count('Journal Entry')).toBe(before);
  });

  it.each<[string, Array<Record<string, unknown>>, RegExp]>([
    [
      'a Payable account row without a party',
      [{ debit_in_account_currency: 10 }, { account: PAYABLE, credit_in_account_currency: 10 }],
      /Row 2: Party Type and Party is required for Receivable \/ Payable account 2910 - Employee Expense Payable - FSD/,
    ],
    [
      'a party on an expense account',
      [
        { debit_in_account_currency: 10, party_type: 'Employee', party: 'E1010' },
        { account: PAYABLE, credit_in_account_currency: 10, party_type: 'Employee', party: 'E1010' },
      ],
      /Row 1: Party Type and Party is only applicable against Receivable \/ Payable account/,
    ],
    [
      'an Employee that does not exist',
      [
        { debit_in_account_currency: 10 },
        { account: PAYABLE, credit_in_account_currency: 10, party_type: 'Employee', party: 'E0000' },
      ],
      /Could not find Employee: E0000/,
    ],
  ])('refuses a Journal Entry with %s, as ERPNext validate_party does', async (_label, rows, message) => {
    const before = count('Journal Entry');
    const refused = await insert('Journal Entry', journal(rows));
    expect(refused).toMatchObject({ httpStatus: 417, retryable: false });
    expect((refused as Error).message).toMatch(message);
    expect(count('Journal Entry')).toBe(before);
  });

  it('takes a refund as a credit row and books it as a credit on the expense account', async () => {
    const created = (await insert(
      'Journal Entry',
      journal([
        { debit_in_account_currency: 10 },
        { credit_in_account_currency: 2.5 },
        { account: PAYABLE, credit_in_account_currency: 7.5, party_type: 'Employee', party: 'E1010' },
      ]),
    )) as { data: { data: { name: string; total_debit: number; total_credit: number } } };
    expect(created.data.data).toMatchObject({ total_debit: 10, total_credit: 10 });
  });
});
