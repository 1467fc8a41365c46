/**
 * The money side of a Concur report, kept apart from the field mapping in ./concur.ts: which amount of an
 * expense counts, who paid each expense, and the checks that the expenses add up to what Concur states about
 * the report. Field names from ../shared/specs/concur/: v4.reports.markdown (ReportDetails) for the report,
 * concur-v3.0-Entries.swagger.json (EntryGet) for the expenses.
 */
import { compare, sum } from '../../model/money';
import type { ApprovalState, Money } from '../../model/types';
import { moneyFromJsonNumber } from '../amounts';
import { describe, shapeReader, type JsonObject } from '../shape';

/** Who paid an expense: the employee (out of pocket, to be reimbursed) or the company (card, direct bill). */
export const PAYERS = ['employee', 'company'] as const;
export type Payer = (typeof PAYERS)[number];

/** What the profile does with a company-paid expense; see companyPaidExpenses in ConcurProfileOptions. */
export const COMPANY_PAID_POLICIES = ['refuse', 'exclude'] as const;
export type CompanyPaidPolicy = (typeof COMPANY_PAID_POLICIES)[number];

/**
 * Concur's standard payment type codes -> who paid. A company may add its own payment types (an id such as
 * "1022" for a Mastercard program); those are mapped with the option paymentTypePayer, never guessed.
 */
export const CONCUR_PAYMENT_TYPE_PAYER: Readonly<Record<string, Payer>> = {
  CASH: 'employee', // out of pocket; also every mileage expense
  IBIP: 'employee', // individually billed, individually paid card: the employee pays the card bill
  IBCP: 'company', // individually billed, company paid card: the company pays the card issuer
  CBCP: 'company', // company billed, company paid card
  COPD: 'company', // company paid, e.g. a direct bill
};

/**
 * States in which the approver's decision is final: the money owed is the approved amount, which an approver
 * may have cut below the claim. Before that the claim is all there is.
 */
const APPROVED_OR_LATER: ReadonlySet<ApprovalState> = new Set<ApprovalState>(['approved', 'posted', 'paid']);

export function isApprovedOrLater(state: ApprovalState): boolean {
  return APPROVED_OR_LATER.has(state);
}

/** Report totals that the expenses must add up to: claimed before approval, approved after. */
export type ReportTotalField = 'claimedAmount' | 'approvedAmount';

export function reportTotalField(state: ApprovalState): ReportTotalField {
  return isApprovedOrLater(state) ? 'approvedAmount' : 'claimedAmount';
}

/** Readers of the report and of its expenses, shared with ./concur.ts so both name them the same way. */
export const readReport = shapeReader(
  'Concur expense report',
  'Pass the JSON that GET /expensereports/v4/users/{userID}/context/TRAVELER/reports/{reportId} returns.',
);
export const readEntries = shapeReader(
  'Concur expenses',
  'Pass the Items of every page of GET /api/v3.0/expense/entries?reportID=<reportId> as context.lines.',
);
/** A disagreement between the report and its expenses: both were read, but not at the same moment or not all. */
const reconcile = shapeReader(
  'Concur expense report',
  'Read the report and all pages of its expenses (GET /api/v3.0/expense/entries?reportID=<reportId>) after the ' +
    'same status change and pass them together.',
);
/** The employee would be reimbursed another amount than Concur says they are owed. */
const reimburse = shapeReader(
  'Concur expense report',
  'Nothing was posted; compare the report totals in Concur with its expenses before passing it again.',
);

/** A report-level `{ value, currencyCode }` amount (the Amount schema), which must be in the report currency. */
export function reportAmount(report: JsonObject, field: string, currency: string): Money {
  const amount = readReport.object(report[field], `/${field}`);
  const value = moneyFromJsonNumber(amount.value, amount.currencyCode, {
    document: 'Concur expense report',
    path: `/${field}/value`,
    currencyPath: `/${field}/currencyCode`,
  });
  if (value.currency !== currency) {
    throw readReport.fail(
      `/${field}/currencyCode`,
      `is ${describe(value.currency)} but the report currency (/currencyCode) is "${currency}"; every report ` +
        'amount must be in the report currency',
    );
  }
  return value;
}

/** A report amount that Concur may leave out (absent or null): undefined then, else read as reportAmount. */
export function optionalReportAmount(report: JsonObject, field: string, currency: string): Money | undefined {
  if (report[field] === undefined || report[field] === null) return undefined;
  return reportAmount(report, field, currency);
}

/**
 * The amount of one expense in the report currency. After approval it is `ApprovedAmount` ("the approved
 * amount of the expense entry, in the report currency"), which is below `PostedAmount` when the approver cut
 * the expense; posting the posted amount would pay money nobody approved. Before approval, and when Concur
 * leaves ApprovedAmount out, it is `PostedAmount` (TransactionAmount is in the vendor's currency, not usable).
 * An itemization (ItemizationGet) has the same two fields with the same meaning; `document` names which was read.
 */
export function entryAmount(
  entry: JsonObject,
  path: string,
  currency: string,
  approved: boolean,
  document = 'Concur expenses',
): Money {
  const hasApproved = entry.ApprovedAmount !== undefined && entry.ApprovedAmount !== null;
  const field = approved && hasApproved ? 'ApprovedAmount' : 'PostedAmount';
  return moneyFromJsonNumber(entry[field], currency, {
    document,
    path: `${path}/${field}`,
    currencyPath: "the report's /currencyCode",
  });
}

/**
 * Who paid the expense, from its `PaymentTypeID`. No payment type means Cash: Concur's default, and the only
 * one mileage expenses have. An unknown payment type is refused rather than guessed, because guessing
 * "employee" for a company card reimburses the employee for money they never spent.
 */
export function payerOf(entry: JsonObject, path: string, configured: Readonly<Record<string, Payer>> = {}): Payer {
  const id = readEntries.optionalString(entry.PaymentTypeID, `${path}/PaymentTypeID`);
  if (id === undefined) return 'employee';
  // Own keys only: a PaymentTypeID such as "constructor" must not find Object.prototype's function.
  const payer = Object.hasOwn(configured, id)
    ? configured[id]
    : Object.hasOwn(CONCUR_PAYMENT_TYPE_PAYER, id)
      ? CONCUR_PAYMENT_TYPE_PAYER[id]
      : undefined;
  if (payer !== undefined) return payer;
  const name = readEntries.optionalString(entry.PaymentTypeName, `${path}/PaymentTypeName`);
  throw readEntries.fail(
    `${path}/PaymentTypeID`,
    `is "${id}"${name === undefined ? '' : ` ("${name}")`}, a payment type this profile does not know, so it cannot ` +
      `tell whether the employee or the company paid; say so with the profile option paymentTypePayer, e.g. ` +
      `{ "${id}": "company" } for a company-paid card or { "${id}": "employee" } for the employee's own money`,
  );
}

/**
 * Refuses a company-paid expense under the "refuse" policy. The canonical ExpenseReport has no field saying who
 * is paid, and every posting of one (journal or payable) credits the employee: a company-paid expense in it
 * would be reimbursed to an employee who never spent the money.
 */
export function refuseCompanyPaid(entry: JsonObject, path: string, reportId: string): never {
  const id = readEntries.string(entry.PaymentTypeID, `${path}/PaymentTypeID`);
  throw readEntries.fail(
    `${path}/PaymentTypeID`,
    `is "${id}", an expense of report ${reportId} that the company paid (company card or direct bill); posting it ` +
      'with the report would reimburse the employee for money they did not spend. Post company-paid expenses ' +
      'through the card feed, or, if the card feed already books them, set the profile option ' +
      'companyPaidExpenses to "exclude" so that only the money owed to the employee is posted',
  );
}

/** The expenses must add up to the report's claimed or approved amount, else some are missing or stale. */
export function checkReportTotal(amounts: readonly Money[], stated: Money, field: ReportTotalField, reportId: string) {
  const added = sum(amounts, stated.currency);
  if (compare(added, stated) === 0) return;
  const which = field === 'approvedAmount' ? 'approved amounts of the non-personal expenses' : 'non-personal expenses';
  throw reconcile.fail(
    `/${field}`,
    `the ${which} add up to ${added.amount} ${added.currency} but the report's ${field} is ` +
      `${stated.amount} ${stated.currency}; pass every expense of report ${reportId} (all pages)`,
  );
}

/**
 * After approval, what the employee is reimbursed (the mapped lines) must be what Concur says the company owes
 * them (`amountDueEmployee`), whatever happens to company-paid expenses. A difference means Concur nets something
 * this pack does not post (a cash advance, personal charges on a company card), or an expense the company paid
 * carries a payment type mapped to the employee; posting the lines would then pay the employee the wrong amount.
 */
export function checkDueEmployee(amounts: readonly Money[], due: Money, reportId: string, excluded: boolean): void {
  const owed = sum(amounts, due.currency);
  if (compare(owed, due) === 0) return;
  throw reimburse.fail(
    '/amountDueEmployee',
    `is ${due.amount} ${due.currency} but the expenses ${excluded ? 'the employee paid' : 'mapped for reimbursement'} ` +
      `add up to ${owed.amount} ${owed.currency}, so report ${reportId} would reimburse the employee the wrong ` +
      'amount. Likely causes: a cash advance applied to the report, or personal charges on a company card, which ' +
      'Concur nets and this pack does not post (post this report by hand); or a company-paid payment type taken ' +
      'for the employee\'s (say so with the profile option paymentTypePayer, e.g. { "<PaymentTypeID>": "company" })',
  );
}

/** A report whose every expense the company paid owes the employee nothing: there is no reimbursement to post. */
export function nothingOwed(reportId: string): never {
  throw readEntries.fail(
    '',
    `of report ${reportId} were all paid by the company, so nothing is owed to the employee and there is nothing ` +
      'to post with the report; the card feed books company-paid expenses',
  );
}
