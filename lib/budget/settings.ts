/** The finance-budget-check dialog, checked once at deploy (CONFIG_INVALID names the field). */
import { FinanceError } from '../errors';
import { integerSetting } from '../config/settings';
import type { NoBudgetBehaviour, PeriodSource } from './types';

export const DEFAULT_WARNING_PERCENT = 90;
export const NO_BUDGET_BEHAVIOURS: readonly NoBudgetBehaviour[] = ['exceeded', 'within'];
export const PERIOD_SOURCES: readonly PeriodSource[] = ['line', 'document'];
/** How long a reservation holds unless the writing node releases it: long enough for an approval in between. */
export const DEFAULT_RESERVE_HOLD_HOURS = 72;
export const MAX_RESERVE_HOLD_HOURS = 2160;

export interface BudgetDialogSettings {
  warningPercent?: string | number;
  noBudget?: string;
  periodFrom?: string;
  /**
   * Saved by the dialog as a boolean, default true. It replaced `netOfCommitment` (default false), so an old
   * node is recognised by the missing field and upgraded to netting (lib/config/migrations.ts).
   */
  netOwnCommitment?: unknown;
  /**
   * Saved by the dialog as a boolean: ticked for a node added now, and missing from a node saved before the
   * option existed, which keeps checking without reserving (so a running flow does not change on upgrade).
   */
  reserveFunds?: unknown;
  reserveHoldHours?: string | number;
}

export interface BudgetSettings {
  warningPercent: number;
  noBudget: NoBudgetBehaviour;
  periodFrom: PeriodSource;
  /**
   * For a requisition or purchase order whose purchase order exists, check only the change (commitment.ts):
   * on unless switched off, because checking a revision in full counts its earlier version twice.
   */
  netOwnCommitment: boolean;
  /** Reserve what passes until the ERP write counts it (reservations.ts); needs a store. */
  reserveFunds: boolean;
  /** How long a reservation lasts unless the writing node releases it earlier. */
  reserveHoldMs: number;
}

function choice<V extends string>(value: unknown, field: string, choices: readonly V[]): V {
  if (value === undefined || value === '') return choices[0];
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value)) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `${field} is "${String(value)}"; choose one of ${choices.join(', ')} in the node's dialog.`,
      { details: { field } },
    );
  }
  return value as V;
}

export function budgetSettings(settings: BudgetDialogSettings): BudgetSettings {
  const reserveFunds = settings.reserveFunds === true || settings.reserveFunds === 'true';
  return {
    warningPercent: integerSetting(settings.warningPercent, 'Warning threshold (%)', {
      min: 1,
      max: 100,
      fallback: DEFAULT_WARNING_PERCENT,
    }),
    noBudget: choice(settings.noBudget, 'Without a budget', NO_BUDGET_BEHAVIOURS),
    periodFrom: choice(settings.periodFrom, 'Budget period from', PERIOD_SOURCES),
    netOwnCommitment: settings.netOwnCommitment !== false && settings.netOwnCommitment !== 'false',
    reserveFunds,
    // The hold is read only when reserving: its row is hidden otherwise, and a value nobody sees must not fail deploy.
    reserveHoldMs:
      (reserveFunds
        ? integerSetting(settings.reserveHoldHours, 'Hold reservations for (hours)', {
            min: 1,
            max: MAX_RESERVE_HOLD_HOURS,
            fallback: DEFAULT_RESERVE_HOLD_HOURS,
          })
        : DEFAULT_RESERVE_HOLD_HOURS) * 3_600_000,
  };
}
