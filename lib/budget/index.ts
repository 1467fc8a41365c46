/** Budget checks of canonical documents against the ERP: aggregation per budget key, status, msg.budget. */
export { aggregateCharges, budgetKey, budgetKeysOf, type BudgetKeyModel } from './aggregate';
export { mapBounded } from './bounded';
export { chargesOf, splitAmounts, type ChargeOptions } from './charges';
export {
  CHECKED_AT_CREATION,
  checkDocumentBudget,
  checkedAtCreation,
  DEFAULT_MAX_PARALLEL_CHECKS,
  isNoBudget,
  type BudgetCheckDialect,
  type BudgetCheckOptions,
} from './check';
export {
  COMMITMENT_NETTED,
  COMMITMENT_NOT_NETTED,
  openCommitmentOf,
  type AppliedPurchaseOrders,
  type CommitmentLookup,
  type OpenCommitment,
} from './commitment';
export { budgetDocumentOf, documentCurrency } from './document';
export { dateOf, periodOf } from './periods';
export {
  budgetSettings,
  DEFAULT_WARNING_PERCENT,
  NO_BUDGET_BEHAVIOURS,
  PERIOD_SOURCES,
  type BudgetDialogSettings,
  type BudgetSettings,
} from './settings';
export { decidingCheck, keyStatus, worstStatus, type BudgetFigures } from './status';
export type {
  BudgetDimensions,
  BudgetKeyCheck,
  BudgetOutcome,
  BudgetRequest,
  Charge,
  NoBudgetBehaviour,
  PeriodSource,
} from './types';
