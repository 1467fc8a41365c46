/** Budget checks of canonical documents against the ERP: aggregation per budget key, status, msg.budget. */
export { aggregateCharges, budgetKey, budgetKeysOf, type BudgetKeyModel } from './aggregate';
export { mapBounded } from './bounded';
export { chargesOf, splitAmounts, type ChargeOptions } from './charges';
export {
  budgetRequestsOf,
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
  BudgetReservations,
  checkAndReserve,
  FUNDS_RESERVED,
  releaseReservations,
  reservationDocumentOf,
  RESERVATIONS_BY_DOCUMENT,
  RESERVATIONS_NAMESPACE,
  type Reservation,
  type ReservationOptions,
  type ReservationScope,
  type ReservationStore,
} from './reservations';
export {
  budgetSettings,
  DEFAULT_RESERVE_HOLD_HOURS,
  DEFAULT_WARNING_PERCENT,
  MAX_RESERVE_HOLD_HOURS,
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
