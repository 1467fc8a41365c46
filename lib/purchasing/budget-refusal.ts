/**
 * An ERP whose budget control runs when the purchase order is written (SAP availability control: BP/604,
 * FCO_AVC_*) refuses the write instead of answering a funds check before. The dialect marks such a refusal
 * with details.budget = { status: 'exceeded', erpMessages }. It is a business outcome, the same as an
 * over-budget funds check: msg.budget with status `exceeded`, written back as budget_exceeded; never a
 * retry or a dead letter. Its tolerance warnings on a saved order (budgetWarnings of the write) become
 * msg.budget with status `warning`.
 */
import type { FinanceError } from '../errors';
import { isRecord } from '../erp/records';
import { fromMinorUnits, minorOf } from '../model/money';
import type { BudgetCheckResult, ErpMessage, PurchaseOrder } from '../model/types';

/** True when the ERP refused the write because of its budget control. */
export function isBudgetRefusal(error: FinanceError): boolean {
  const budget = error.details?.budget;
  return isRecord(budget) && budget.status === 'exceeded';
}

/**
 * msg.budget for a purchase order the ERP refused for budget: what it asks for, the ERP's messages (the
 * budget ones first); no available amount, because the ERP gave none.
 */
export function budgetRefusalResult(error: FinanceError, po: PurchaseOrder, now: Date): BudgetCheckResult {
  const budget = error.details?.budget;
  const budgetMessages =
    isRecord(budget) && Array.isArray(budget.erpMessages) ? (budget.erpMessages as ErpMessage[]) : [];
  const all = Array.isArray(error.details?.erpMessages) ? (error.details.erpMessages as ErpMessage[]) : [];
  const others = all.filter(
    (message) => !budgetMessages.some((b) => b.code === message.code && b.text === message.text),
  );
  const total = po.lines.reduce((sum, line) => sum + minorOf(line.amount), 0n);
  return {
    status: 'exceeded',
    requested: fromMinorUnits(total, po.currency),
    currency: po.currency,
    period: po.orderDate.slice(0, 7),
    checkedAt: now.toISOString(),
    erpMessages:
      budgetMessages.length + others.length > 0
        ? [...budgetMessages, ...others]
        : [{ code: error.code, severity: 'error', text: error.message }],
  };
}

/** msg.budget for a purchase order the ERP saved with budget warnings: status warning, the ERP's messages. */
export function budgetWarningResult(warnings: readonly ErpMessage[], po: PurchaseOrder, now: Date): BudgetCheckResult {
  const total = po.lines.reduce((sum, line) => sum + minorOf(line.amount), 0n);
  return {
    status: 'warning',
    requested: fromMinorUnits(total, po.currency),
    currency: po.currency,
    period: po.orderDate.slice(0, 7),
    checkedAt: now.toISOString(),
    erpMessages: [...warnings],
  };
}
