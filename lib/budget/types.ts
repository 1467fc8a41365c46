/** The shapes of a document's budget check: what is asked per budget key, and what msg.budget says. */
import type { BudgetCheckResult, BudgetStatus, Money } from '../model/types';

/** The dimensions the ERP keeps budgets by: cost center (optionally with GL account), or project. */
export interface BudgetDimensions {
  costCenter?: string;
  glAccount?: string;
  project?: string;
}

/** What happens to an amount whose dimensions have no budget in the ERP. */
export type NoBudgetBehaviour = 'exceeded' | 'within';

/** Where the fiscal period of an amount comes from. */
export type PeriodSource = 'line' | 'document';

/** One amount of a document charged to one set of dimensions in one period (a line, or one split of it). */
export interface Charge {
  lineId: string;
  period: string;
  dimensions: BudgetDimensions;
  amount: Money;
}

/** The charges of a document that share a budget key and period, summed: one ERP funds check. */
export interface BudgetRequest {
  /** e.g. "costCenter=CC-300,glAccount=6010@2026-03" or "project=PRJ-2001@2026-03". */
  key: string;
  dimensions: BudgetDimensions;
  period: string;
  amount: Money;
  lineIds: string[];
}

/** The answer for one budget key (msg.budget.checks[]). */
export interface BudgetKeyCheck {
  key: string;
  dimensions: BudgetDimensions;
  period: string;
  requested: Money;
  available: Money;
  budget: Money;
  status: BudgetStatus;
  lineIds: string[];
}

/**
 * msg.budget: DESIGN section 5's result for the whole document plus the detail per key. `requested` is
 * what the document charges (each line once); `available`, `budget` and `period` are those of the deciding
 * check, the one with the worst status and, among equals, the least money left.
 */
export interface BudgetOutcome extends BudgetCheckResult {
  checks: BudgetKeyCheck[];
}
