import { decidingCheck, keyStatus, worstStatus, type BudgetKeyCheck } from '../../../lib/budget';
import type { BudgetStatus } from '../../../lib/model/types';
import { eur } from './documents';

/** CC-300 / 6010 in the sandbox: 300.00 a month. */
const figures = (requested: string, available = '300.00', budget = '300.00') => ({
  budget: eur(budget),
  available: eur(available),
  requested: eur(requested),
});

describe('status of one budget key', () => {
  it.each([
    ['269.99', 'within'], // 89.997 %: one cent under the band
    ['270.00', 'warning'], // exactly 90 %
    ['299.99', 'warning'],
    ['300.00', 'warning'], // exactly 100 %: still fits
    ['300.01', 'exceeded'], // one cent over
  ])('with nothing consumed yet, %s of 300.00 is %s', (requested, status) => {
    expect(keyStatus(figures(requested), 90)).toBe(status);
  });

  it('counts what was consumed before this document', () => {
    // 100.00 already spent or committed: 170.00 more reaches exactly 90 %, 200.01 is a cent too many.
    expect(keyStatus(figures('169.99', '200.00'), 90)).toBe('within');
    expect(keyStatus(figures('170.00', '200.00'), 90)).toBe('warning');
    expect(keyStatus(figures('200.00', '200.00'), 90)).toBe('warning');
    expect(keyStatus(figures('200.01', '200.00'), 90)).toBe('exceeded');
  });

  it('takes the threshold as given', () => {
    expect(keyStatus(figures('150.00'), 50)).toBe('warning');
    expect(keyStatus(figures('149.99'), 50)).toBe('within');
    expect(keyStatus(figures('299.99'), 100)).toBe('within');
    expect(keyStatus(figures('300.00'), 100)).toBe('warning');
  });

  it('is exact in currencies without decimals', () => {
    const yen = (amount: string) => ({ amount, currency: 'JPY' });
    const check = (requested: string) =>
      keyStatus({ budget: yen('300000'), available: yen('300000'), requested: yen(requested) }, 90);
    expect(check('269999')).toBe('within');
    expect(check('270000')).toBe('warning');
    expect(check('300001')).toBe('exceeded');
  });

  it('follows the ERP when it says exceeded: it is the authority', () => {
    expect(keyStatus({ ...figures('10.00'), erpStatus: 'exceeded' }, 90)).toBe('exceeded');
    expect(keyStatus({ ...figures('10.00'), erpStatus: 'within' }, 90)).toBe('within');
  });

  it('treats an overspent budget as exceeded and an empty budget without demand as within', () => {
    expect(keyStatus(figures('0.01', '-5.00'), 90)).toBe('exceeded');
    expect(keyStatus(figures('0.00', '0.00', '0.00'), 90)).toBe('within');
  });

  it('lets a request for nothing through an overspent budget, whatever the ERP answers', () => {
    // A PO revision lowered from 1000.00 to 900.00 nets to 0.00 (check.ts); the budget is 100.00 overspent.
    expect(keyStatus(figures('0.00', '-100.00', '1000.00'), 90)).toBe('within');
    expect(keyStatus({ ...figures('0.00', '-100.00', '1000.00'), erpStatus: 'exceeded' }, 90)).toBe('within');
  });
});

describe('status of the document', () => {
  it('is the worst of its keys', () => {
    expect(worstStatus(['within', 'within'])).toBe('within');
    expect(worstStatus(['within', 'warning', 'within'])).toBe('warning');
    expect(worstStatus(['warning', 'exceeded', 'within'])).toBe('exceeded');
    expect(worstStatus(['exceeded', 'warning'])).toBe('exceeded');
  });

  it('is decided by the worst key, then by the least money left', () => {
    const check = (key: string, status: BudgetStatus, requested: string, available: string): BudgetKeyCheck => ({
      key,
      dimensions: {},
      period: '2026-03',
      requested: eur(requested),
      available: eur(available),
      budget: eur('1000.00'),
      status,
      lineIds: [],
    });
    const wide = check('a', 'exceeded', '500.00', '100.00');
    const narrow = check('b', 'exceeded', '500.00', '0.00');
    expect(decidingCheck([check('w', 'warning', '1.00', '1.00'), wide, narrow]).key).toBe('b');
    expect(decidingCheck([check('x', 'within', '1.00', '900.00'), check('y', 'within', '1.00', '899.99')]).key).toBe(
      'y',
    );
    expect(decidingCheck([check('x', 'within', '1.00', '5.00'), check('y', 'warning', '1.00', '500.00')]).key).toBe(
      'y',
    );
  });

  it('is decided by a key with a budget before one without, unless the one without is worse', () => {
    const check = (key: string, status: BudgetStatus, available: string, noBudget?: true): BudgetKeyCheck => ({
      key,
      dimensions: {},
      period: '2026-11',
      requested: eur('500.00'),
      available: eur(available),
      budget: eur(noBudget ? '0.00' : '8000.00'),
      status,
      lineIds: [],
      ...(noBudget ? { noBudget } : {}),
    });
    // "No budget = within": its 0.00 stand-ins would always leave the least money; CC-100's budget decides.
    const unbudgeted = check('project=PRJ-X@2026-11', 'within', '0.00', true);
    const budgeted = check('costCenter=CC-100,glAccount=6300@2026-11', 'within', '8000.00');
    expect(decidingCheck([unbudgeted, budgeted]).key).toBe(budgeted.key);
    expect(decidingCheck([budgeted, unbudgeted]).key).toBe(budgeted.key);
    // "No budget = exceeded": the unbudgeted key is what makes the document exceeded, so it decides.
    const refused = check('project=PRJ-X@2026-11', 'exceeded', '0.00', true);
    expect(decidingCheck([budgeted, refused]).key).toBe(refused.key);
    // A budgeted key that is exceeded too decides over it: its figures are real.
    const overspent = check('costCenter=CC-200@2026-11', 'exceeded', '400.00');
    expect(decidingCheck([refused, overspent]).key).toBe(overspent.key);
    // Only unbudgeted keys: one of them.
    expect(decidingCheck([unbudgeted]).key).toBe(unbudgeted.key);
  });
});
