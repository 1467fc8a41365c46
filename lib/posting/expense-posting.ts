/**
 * An approved canonical ExpenseReport as the PostingRequest a dialect posts (lib/erp/dialect.ts): one
 * posting line per expense line, charged to the line's dimensions, in the report currency.
 */
import type { PostingLine, PostingRequest } from '../erp/dialect';
import { FinanceError } from '../errors';
import { calendarDayOf, localDate } from '../model/calendar';
import type { ExpenseLine, ExpenseReport } from '../model/types';
import { externalReferenceFor } from './external-reference';

export const POSTING_KINDS = ['journal', 'payable'] as const;
export type PostingKind = (typeof POSTING_KINDS)[number];

/** `document`: the report's own date; `today`: the day the posting is made. */
export const POSTING_DATE_RULES = ['document', 'today'] as const;
export type PostingDateRule = (typeof POSTING_DATE_RULES)[number];

export interface ExpensePostingOptions {
  kind: PostingKind;
  postingDate: PostingDateRule;
  /** Now, for the `today` rule. */
  now: Date;
  /** Longest external reference the ERP accepts (default: the sandbox's 100). */
  externalReferenceMaxLength?: number;
}

export function expensePostingRequest(report: ExpenseReport, options: ExpensePostingOptions): PostingRequest {
  // The report's own date goes along whatever the posting date rule (an ERP keeps both: SAP's DocumentDate);
  // a report without any date can still be posted "today".
  const reportDate = report.submittedAt !== undefined || report.lines.length > 0 ? documentDate(report) : undefined;
  return {
    kind: options.kind,
    externalReference: externalReferenceFor(report.sourceRef, options.externalReferenceMaxLength),
    // A journal names the employee for the ERP's audit trail; a payable reimburses them.
    employeeId: report.employeeId,
    postingDate: options.postingDate === 'today' ? localDate(options.now) : documentDate(report),
    ...(reportDate === undefined ? {} : { documentDate: reportDate }),
    currency: report.total.currency,
    lines: report.lines.map(postingLine),
  };
}

/**
 * The report's date: the day it was submitted, on this host's calendar (lib/model/calendar.ts), else the
 * latest expense date, for sources that do not say when a report was submitted.
 */
export function documentDate(report: Pick<ExpenseReport, 'submittedAt' | 'lines' | 'reportId'>, zone?: string): string {
  if (report.submittedAt !== undefined) return calendarDayOf(report.submittedAt, zone);
  const dates = report.lines.map((line) => line.date).sort();
  const latest = dates[dates.length - 1];
  if (latest === undefined) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `Expense report ${report.reportId} has neither submittedAt nor expense lines, so it has no date to post on; choose the posting date "today" or fix the mapping.`,
    );
  }
  return latest;
}

function postingLine(line: ExpenseLine): PostingLine {
  const description = line.description ?? line.merchant ?? line.expenseType;
  return {
    lineId: line.lineId,
    amount: line.amount,
    dimensions: line.dimensions,
    ...(description === undefined ? {} : { description }),
    // Carried so the ERP can split the input tax out of the gross amount; dropping it would book it as expense.
    ...(line.taxCode === undefined ? {} : { taxCode: line.taxCode }),
  };
}
