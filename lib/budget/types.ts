/** The shapes of a document's budget check: what is asked per budget key, and what msg.budget says. */
import type { BudgetCheckResult, BudgetStatus, Money } from '../model/types';

/**
 * The dimensions the ERP keeps budgets by: cost center (optionally with GL account), or project (with the GL
 * account where the ERP keeps project budgets per account, see aggregate.ts).
 */
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
  /** What the document asks of this budget: after netting its own open purchase order, only the change. */
  requested: Money;
  available: Money;
  budget: Money;
  status: BudgetStatus;
  lineIds: string[];
  /**
   * The ERP keeps no budget for this key: `available` and `budget` are 0.00 stand-ins and `status` is the
   * node's "Without a budget" setting. Such a check decides the document only when nothing else does.
   */
  noBudget?: true;
  /**
   * With reservations on (reservations.ts): what other documents that passed their check hold on this budget
   * until their ERP write. `available` is the ERP's figure less this amount: what the decision used.
   */
  reservedByOthers?: Money;
}

/**
 * msg.budget: DESIGN section 5's result for the whole document plus the detail per key. The top-level figures
 * are all those of one budget, the deciding check (status.ts decidingCheck), named by `key`: `requested` is
 * what the document asks of that budget (after netting its own open purchase order, only the change, as in
 * its checks[] entry), `available`, `budget` and `period` that budget's. A deciding check without a budget
 * in the ERP leaves `available` and `budget` out (the ERP gave none; erpMessages say NO_BUDGET). The
 * document's whole amount is its own total (msg.payload); `deferred` (no check made) has no key and
 * `requested` is the whole amount.
 */
export interface BudgetOutcome extends BudgetCheckResult {
  /** The deciding check's key, e.g. "costCenter=CC-100,glAccount=6300@2026-11"; absent when deferred. */
  key?: string;
  /** The deciding check's reservedByOthers (present when the node reserves and the deciding key has a budget). */
  reservedByOthers?: Money;
  checks: BudgetKeyCheck[];
}
