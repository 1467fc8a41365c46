/**
 * What a document charges to which dimensions in which period. An expense line is one charge; an order
 * line is split over its account assignments (by percent with largest-remainder rounding, or by amount),
 * so the charges of a line always add up to the line exactly.
 */
import { FinanceError } from '../errors';
import { splitByPercent } from '../model/money';
import type { AccountAssignment, Dimensions, Money, RequisitionLine } from '../model/types';
import type { MappedDocument } from '../mapping/documents';
import { documentDate as reportDate } from '../posting/expense-posting';
import { periodOf } from './periods';
import type { Charge, PeriodSource } from './types';

export interface ChargeOptions {
  periodFrom: PeriodSource;
  /** The check date, "YYYY-MM-DD": the date of a document that has none of its own. */
  today: string;
  /**
   * The order date of the requisition's open purchase order, when it has one (commitment.ts, OpenCommitment):
   * the date a revision's charges fall on (see documentDate).
   */
  orderDate?: string | undefined;
}

/**
 * The document's own date: the report's posting date by the "document" rule (finance-post: the day it was
 * submitted, else its latest expense), when the order was placed. A requisition has no date; its purchase
 * order will commit the money when it is ordered, which is now, so the check date is used. Once its purchase
 * order exists, a revision changes that order, which keeps its order date (finance-purchase-order never moves
 * it) and so the ERP keeps the commitment in that period: the revision is charged there too, or after a month
 * end its change would be checked against the wrong month and never netted against the commitment it changes.
 */
function documentDate(document: MappedDocument, options: ChargeOptions): { date: string; where: string } {
  const { today, orderDate } = options;
  switch (document.docType) {
    case 'ExpenseReport':
      return document.submittedAt === undefined
        ? { date: reportDate(document), where: 'the latest expense date' }
        : { date: document.submittedAt, where: '/submittedAt' };
    case 'PurchaseOrder':
      return { date: document.orderDate, where: '/orderDate' };
    case 'Requisition':
      return orderDate === undefined
        ? { date: today, where: 'the check date' }
        : { date: orderDate, where: "the open purchase order's orderDate" };
  }
}

function budgetDimensions(dimensions: Dimensions): Charge['dimensions'] {
  const { costCenter, glAccount, project } = dimensions;
  return {
    ...(costCenter === undefined ? {} : { costCenter }),
    ...(glAccount === undefined ? {} : { glAccount }),
    ...(project === undefined ? {} : { project }),
  };
}

/** The amount of each split of an order line. */
export function splitAmounts(line: RequisitionLine, path: string): Money[] {
  const splits: readonly AccountAssignment[] = line.accountAssignments;
  if (splits.every((split) => split.percent !== undefined)) {
    return splitByPercent(
      line.amount,
      splits.map((split) => split.percent as string),
      `${path}/accountAssignments`,
    );
  }
  if (splits.every((split) => split.amount !== undefined)) return splits.map((split) => split.amount as Money);
  // A single assignment without percent or amount takes the whole line (as the sandbox ERP reads it).
  if (splits.length === 1 && splits[0].amount === undefined) return [line.amount];
  throw new FinanceError(
    'SCHEMA_INVALID',
    `${path}/accountAssignments mixes percentages and amounts (or leaves some out); give every split of a line ` +
      'a percent or every split an amount.',
    { details: { path: `${path}/accountAssignments` } },
  );
}

export function chargesOf(document: MappedDocument, options: ChargeOptions): Charge[] {
  const own = documentDate(document, options);
  const documentPeriod = periodOf(own.date, own.where);
  if (document.docType === 'ExpenseReport') {
    return document.lines.map((line, index) => ({
      lineId: line.lineId,
      period: options.periodFrom === 'line' ? periodOf(line.date, `/lines/${index}/date`) : documentPeriod,
      dimensions: budgetDimensions(line.dimensions),
      amount: line.amount,
    }));
  }
  return document.lines.flatMap((line: RequisitionLine, index) => {
    const path = `/lines/${index}`;
    // An order line's own date is when it is needed; without one the document's date applies.
    const period =
      options.periodFrom === 'line' && line.needBy !== undefined
        ? periodOf(line.needBy, `${path}/needBy`)
        : documentPeriod;
    const amounts = splitAmounts(line, path);
    return line.accountAssignments.map((split, splitIndex) => ({
      lineId: line.lineId,
      period,
      dimensions: budgetDimensions(split.dimensions),
      amount: amounts[splitIndex],
    }));
  });
}
