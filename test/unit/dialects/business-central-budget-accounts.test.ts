/**
 * A Business Central budget check without a G/L account (a project's budget, or a cost center's over all its
 * accounts) counts only the accounts its budget entries are on. BC gives the balancing entry of a journal line
 * the line's dimension set, so counting every entry that carries the dimension would let an expense and its
 * credit on the payables account cancel out, and the budget would never shrink.
 */
import { bcStoreOf, type BcCompany } from '../../../lib/sandbox/business-central/store';
import { line } from '../purchasing/fixtures';
import { ctx, currentPeriod, startDialectRig, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
const minor = (amount: string) => BigInt(amount.replace('.', ''));

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

describe('Business Central budget check without a G/L account', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(() => CONFIG);
  });
  afterAll(() => rig.close());

  it('counts an expense on the project and the cost center although its balancing entry carries the same dimensions', async () => {
    const period = currentPeriod();
    const project = { project: 'PRJ-2001', period, amount: eur('100.00') };
    const costCenter = { costCenter: 'CC-100', period, amount: eur('100.00') };
    const before = await rig.dialect.checkBudget(project, ctx);
    const ccBefore = await rig.dialect.checkBudget(costCenter, ctx);
    expect(before.budget).toEqual(eur('20000.00')); // the project's budget, split over its accounts, adds up
    await rig.dialect.post(
      {
        kind: 'journal',
        externalReference: 'budget-accounts-1',
        employeeId: 'E1010',
        postingDate: `${period}-02`,
        currency: 'EUR',
        lines: [
          {
            lineId: '1',
            amount: eur('500.00'),
            dimensions: { project: 'PRJ-2001', costCenter: 'CC-100', glAccount: '6000' },
          },
        ],
      },
      ctx,
    );
    // As BC books it: the balancing entry (2910) has the line's dimensions too.
    const company = demoCompany(rig);
    const entries = company.generalLedgerEntries.filter((e) => e.documentNumber === 'BUDGET-ACCOUNTS-1');
    expect(entries.map((e) => e.accountNumber)).toEqual(['6000', '2910']);
    for (const entry of entries) {
      expect(company.generalLedgerEntryDimensions.get(entry.id)?.map((d) => [d.code, d.valueCode])).toEqual([
        ['DEPARTMENT', 'CC-100'],
        ['PROJECT', 'PRJ-2001'],
      ]);
    }

    const after = await rig.dialect.checkBudget(project, ctx);
    expect(minor(after.actuals.amount) - minor(before.actuals.amount)).toBe(50000n);
    expect(minor(before.available.amount) - minor(after.available.amount)).toBe(50000n);
    const ccAfter = await rig.dialect.checkBudget(costCenter, ctx);
    expect(minor(ccAfter.actuals.amount) - minor(ccBefore.actuals.amount)).toBe(50000n);
  });

  it('counts an open order line on the project once, on the accounts of its budget entries only', async () => {
    const period = currentPeriod();
    const request = { project: 'PRJ-2002', period, amount: eur('1.00') };
    const before = await rig.dialect.checkBudget(request, ctx);
    await rig.dialect.upsertPurchaseOrder(
      {
        docType: 'PurchaseOrder',
        sourceRef: { system: 'coupa', id: 'budget-accounts-po', version: 1 },
        externalReference: 'budget-accounts-po',
        supplierId: 'SUP-1001',
        orderDate: `${period}-03`,
        currency: 'EUR',
        total: eur('70.00'),
        lines: [
          line({
            lineId: 'P1',
            quantity: '1',
            unitPrice: eur('40.00'),
            amount: eur('40.00'),
            accountAssignments: [{ dimensions: { project: 'PRJ-2002', glAccount: '6100' } }],
          }),
          // An asset account has no budget entry of the project: not counted against its expense budget.
          line({
            lineId: 'P2',
            quantity: '1',
            unitPrice: eur('30.00'),
            amount: eur('30.00'),
            accountAssignments: [{ dimensions: { project: 'PRJ-2002', glAccount: '0650' } }],
          }),
        ],
      },
      ctx,
    );
    const after = await rig.dialect.checkBudget(request, ctx);
    expect(minor(after.commitments.amount) - minor(before.commitments.amount)).toBe(4000n);
  });
});
