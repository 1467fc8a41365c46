/**
 * Concur expenses this pack cannot map right, refused by name instead of posted wrong. Each is a flag of the v3.0
 * EntryGet model (../shared/specs/concur/concur-v3.0-Entries.swagger.json) whose data lives in another Concur API
 * that the mapping is not given: the expenses (context.lines) are the Items of the Entries API, nothing more.
 *
 * - HasAppliedCashAdvance: part of the expense was paid out in advance; Concur nets it in amountDueEmployee,
 *   while the expense's amount is the whole cost, so reimbursing it pays the advance a second time. Refused in
 *   every state: before approval there is no amountDueEmployee to check against, and after it the check would
 *   only catch the difference with a guess at its cause.
 * - HasItemizations: the expense is split into itemizations (GET /api/v3.0/expense/itemizations), each with its
 *   own expense type and possibly personal; mapping the parent books everything to the parent's type.
 * - AllocationType P or F: the expense is split across cost centers or projects by percentage through the
 *   Allocations API (GET /api/v3.0/expense/allocations); mapping it whole charges the expense's own cost center.
 * - HasVAT: the expense carries VAT data, but not its tax amount; mapping it books reclaimable VAT as expense,
 *   unless the profile option vatExpenses is "gross" (the company does not reclaim VAT on expenses).
 */
import { describe, shapeReader, type JsonObject } from '../shape';
import { readEntries } from './concur-amounts';

/** What the profile does with an expense that carries VAT data; see vatExpenses in ConcurProfileOptions. */
export const VAT_EXPENSE_POLICIES = ['refuse', 'gross'] as const;
export type VatExpensePolicy = (typeof VAT_EXPENSE_POLICIES)[number];

/** AllocationType values of EntryGet: P partial, F full, N no allocation. */
const NOT_ALLOCATED = 'N';

const unsupported = shapeReader(
  'Concur expenses',
  'Nothing was posted; the mapping refuses this report rather than post a wrong amount.',
);

const byHand = (reportId: string) => `post report ${reportId} by hand in the ERP`;

/** Whether the expense is itemized (`HasItemizations`). */
export function isItemized(entry: JsonObject, path: string): boolean {
  return readEntries.optionalBoolean(entry.HasItemizations, `${path}/HasItemizations`) === true;
}

/**
 * Throws a mapping error naming the report, the expense and what to do, if the expense cannot be mapped right.
 * `mapped` is false for a company-paid expense left out under companyPaidExpenses "exclude": it is not posted,
 * so only the cash advance is refused (it is the employee's money); its itemizations, allocations and VAT are
 * the card feed's business.
 */
export function refuseUnsupported(
  entry: JsonObject,
  path: string,
  lineId: string,
  reportId: string,
  { vatExpenses = 'refuse', mapped = true }: { vatExpenses?: VatExpensePolicy; mapped?: boolean } = {},
): void {
  const flag = (field: string) => readEntries.optionalBoolean(entry[field], `${path}/${field}`) === true;
  const expense = `expense ${lineId} of report ${reportId}`;

  if (flag('HasAppliedCashAdvance')) {
    throw unsupported.fail(
      `${path}/HasAppliedCashAdvance`,
      `is true: ${expense} has a cash advance applied, and cash advances are not supported. The employee already ` +
        "received the advance, which Concur nets in the report's amountDueEmployee while the expense amount is the " +
        `whole cost, so mapping it would reimburse the advance again; ${byHand(reportId)}`,
    );
  }
  if (!mapped) return;
  if (isItemized(entry, path)) refuseItemized(path, lineId, reportId);
  const allocation = readEntries.optionalString(entry.AllocationType, `${path}/AllocationType`);
  const code = allocation?.toUpperCase();
  if (allocation !== undefined && code !== NOT_ALLOCATED) {
    const kind = code === 'P' ? ' (partial allocation)' : code === 'F' ? ' (full allocation)' : '';
    throw unsupported.fail(
      `${path}/AllocationType`,
      `is ${describe(allocation)}${kind}: ${expense} is split across cost centers or projects through Concur's ` +
        `Allocations API (GET /api/v3.0/expense/allocations?entryID=${lineId}), which the mapping is not given, so ` +
        "mapping it whole would charge all of it to the expense's own cost center. Only expenses without " +
        `allocations (AllocationType "N" or none) are mapped; ${byHand(reportId)}`,
    );
  }
  if (vatExpenses === 'refuse' && flag('HasVAT')) {
    throw unsupported.fail(
      `${path}/HasVAT`,
      `is true: ${expense} carries VAT data, but the expense does not say how much of its amount is VAT, so ` +
        'mapping it would book reclaimable VAT as expense. If your company does not reclaim VAT on expenses, set ' +
        'the profile option vatExpenses to "gross" (the gross amount is booked as expense, without a tax code); ' +
        `otherwise ${byHand(reportId)} with its VAT split`,
    );
  }
}

/**
 * Refuses an itemized expense. Also used when the expenses do not add up to the report and one of them is an
 * excluded company-paid itemized expense: its personal itemizations are the likely difference, not a lost page.
 */
export function refuseItemized(path: string, lineId: string, reportId: string): never {
  throw unsupported.fail(
    `${path}/HasItemizations`,
    `is true: expense ${lineId} of report ${reportId} is itemized (e.g. a hotel bill split into room, taxes and ` +
      'personal items), and itemizations are not mapped: Concur serves them through its Itemizations API ' +
      `(GET /api/v3.0/expense/itemizations?entryID=${lineId}), not in the expenses passed here, and each may have ` +
      'its own expense type or be personal, so the parent alone would book the wrong amounts to the wrong ' +
      `account; ${byHand(reportId)}`,
  );
}
