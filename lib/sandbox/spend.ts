/**
 * Committed vs actual spend per cost center: open purchase orders (commitments) and posted postings
 * (actuals), from the same running totals the budget checks use, as money in the company currency.
 */
import { fromMinorUnits } from '../model/money';
import type { CompanyState } from './company-state';
import { SandboxProblem } from './problem';
import type { SandboxResponse } from './types';

const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

export function spendByCostCenter(company: CompanyState, query: URLSearchParams): SandboxResponse {
  const period = query.get('period') ?? undefined;
  if (period !== undefined && !PERIOD.test(period)) {
    throw new SandboxProblem(
      400,
      'INVALID_QUERY',
      'period must be a fiscal period "YYYY-MM" such as "2025-03", or left out for all periods.',
    );
  }
  const currency = company.company.currency;
  const items = [...company.ledger.byCostCenter(period).entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([costCenter, usage]) => ({
      costCenter,
      committed: fromMinorUnits(usage.commitments, currency),
      actual: fromMinorUnits(usage.actuals, currency),
    }));
  return { status: 200, body: { currency, period: period ?? null, items } };
}
