/** Canonical documents of the sandbox demo company (FS-DEMO, EUR) for the budget tests. */
import type { ExpenseLine, ExpenseReport, PurchaseOrder, Requisition, RequisitionLine } from '../../../lib/model/types';

export const eur = (amount: string) => ({ amount, currency: 'EUR' });

export function expenseLine(
  lineId: string,
  amount: string,
  dimensions: ExpenseLine['dimensions'],
  date = '2026-03-10',
): ExpenseLine {
  return { lineId, date, amount: eur(amount), dimensions };
}

/** An expense report whose total is the sum of its lines (written out, so tests state the numbers). */
export function expenseReport(lines: ExpenseLine[], total: string, submittedAt?: string): ExpenseReport {
  return {
    docType: 'ExpenseReport',
    sourceRef: { system: 'acme', id: 'ER-2001' },
    reportId: 'ER-2001',
    employeeId: 'E1015',
    company: 'FS-DEMO',
    ...(submittedAt === undefined ? {} : { submittedAt }),
    state: 'submitted',
    total: eur(total),
    lines,
  };
}

export function orderLine(
  lineId: string,
  quantity: string,
  unitPrice: string,
  amount: string,
  accountAssignments: RequisitionLine['accountAssignments'],
  needBy?: string,
): RequisitionLine {
  return {
    lineId,
    description: `Item ${lineId}`,
    quantity,
    unitPrice: eur(unitPrice),
    amount: eur(amount),
    ...(needBy === undefined ? {} : { needBy }),
    accountAssignments,
  };
}

export function purchaseOrder(lines: RequisitionLine[], total: string, orderDate = '2026-03-05'): PurchaseOrder {
  return {
    docType: 'PurchaseOrder',
    sourceRef: { system: 'coupa', id: 'PO-77' },
    externalReference: 'coupa:PO-77',
    supplierId: 'SUP-1001',
    company: 'FS-DEMO',
    orderDate,
    currency: 'EUR',
    total: eur(total),
    lines,
  };
}

export function requisition(lines: RequisitionLine[], total: string): Requisition {
  return {
    docType: 'Requisition',
    sourceRef: { system: 'coupa', id: 'REQ-9' },
    requisitionId: 'REQ-9',
    requesterId: 'E1018',
    supplierId: 'SUP-1001',
    company: 'FS-DEMO',
    state: 'approved',
    currency: 'EUR',
    total: eur(total),
    lines,
  };
}
