/**
 * Budget availability: budget - actuals (postings) - open commitments (purchase orders), summed over the
 * budget lines that match every dimension the caller names. Budgets are kept per cost center and GL account,
 * and per project, so a check names a cost center (optionally with a GL account) or a project.
 */
import { fromMinorUnits, minorOf } from '../model/money';
import type { Money } from '../model/types';
import { matchesDimensions } from './budget-ledger';
import type { CompanyState } from './company-state';
import { SandboxProblem } from './problem';
import { checkDimensions, checkDocumentCurrency } from './references';
import type { BudgetDimensions, BudgetLine, SandboxResponse } from './types';
import { FieldErrors, bodyObject, readMoney, readString } from './validate';

const PERIOD = /^\d{4}-(0[1-9]|1[0-2])$/;

export interface BudgetFigures {
  budget: Money;
  actuals: Money;
  commitments: Money;
  available: Money;
}

/** The figures of the budget lines of `period` that match `wanted`, or undefined when no line matches. */
export function budgetFigures(
  company: CompanyState,
  period: string,
  wanted: BudgetDimensions,
): BudgetFigures | undefined {
  const lines = (company.budgetsByPeriod.get(period) ?? []).filter((line) => matchesDimensions(line, wanted));
  if (lines.length === 0) return undefined;
  const currency = company.company.currency;
  const budget = lines.reduce((total, line) => total + minorOf(line.amount), 0n);
  const { actuals, commitments } = company.ledger.usage(period, wanted);
  return {
    budget: fromMinorUnits(budget, currency),
    actuals: fromMinorUnits(actuals, currency),
    commitments: fromMinorUnits(commitments, currency),
    available: fromMinorUnits(budget - actuals - commitments, currency),
  };
}

export function listBudgets(company: CompanyState): SandboxResponse {
  return { status: 200, body: { items: company.budgets } };
}

export function checkAvailability(company: CompanyState, rawBody: unknown): SandboxResponse {
  const body = bodyObject(rawBody);
  const errors = new FieldErrors();
  const wanted: BudgetDimensions = {};
  for (const key of ['costCenter', 'project', 'glAccount'] as const) {
    const value = readString(body, key, '', errors, { maxLength: 50 });
    if (value !== undefined) wanted[key] = value;
  }
  const period = body.period;
  if (typeof period !== 'string' || !PERIOD.test(period)) {
    errors.add('/period', 'must be a fiscal period "YYYY-MM" such as "2025-03"');
  }
  const requested = readMoney(body.amount, '/amount', errors, { required: true });
  if (Object.keys(wanted).length === 0 && errors.list.length === 0) {
    errors.add('', 'name a costCenter (optionally with a glAccount) or a project to check');
  }
  errors.throwIfAny(400);

  checkDimensions(company, wanted, '', errors);
  checkDocumentCurrency(company, (requested as Money).currency, '/amount/currency', errors);
  errors.throwIfAny(422);

  const figures = budgetFigures(company, period as string, wanted);
  if (!figures) {
    throw new SandboxProblem(
      404,
      'NO_BUDGET',
      `No budget in ${company.company.id} for ${describe(wanted)} in ${String(period)}. Budgets are kept per cost ` +
        'center and GL account, and per project: check with those dimensions, or treat the amount as unbudgeted.',
    );
  }
  const exceeded = minorOf(requested as Money) > minorOf(figures.available);
  return {
    status: 200,
    body: { ...figures, requested, period, status: exceeded ? 'exceeded' : 'within' },
  };
}

function describe(wanted: BudgetDimensions): string {
  return Object.entries(wanted)
    .map(([key, value]) => `${key} ${value}`)
    .join(', ');
}

/** Each budget line with its own consumption, for GET /_sandbox/state. */
export function budgetUsage(company: CompanyState): Array<BudgetLine & BudgetFigures & { company: string }> {
  return company.budgets.map((line) => {
    const { costCenter, project, glAccount } = line;
    const wanted: BudgetDimensions = {
      ...(costCenter ? { costCenter } : {}),
      ...(project ? { project } : {}),
      ...(glAccount ? { glAccount } : {}),
    };
    const { actuals, commitments } = company.ledger.usage(line.period, wanted);
    const budget = minorOf(line.amount);
    const currency = line.amount.currency;
    return {
      company: company.company.id,
      ...line,
      budget: line.amount,
      actuals: fromMinorUnits(actuals, currency),
      commitments: fromMinorUnits(commitments, currency),
      available: fromMinorUnits(budget - actuals - commitments, currency),
    };
  });
}
