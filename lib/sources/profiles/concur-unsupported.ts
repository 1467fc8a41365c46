/**
 * Concur expenses this pack cannot map right, refused by name instead of posted wrong. Each is a flag of the v3.0
 * EntryGet model (../shared/specs/concur/concur-v3.0-Entries.swagger.json) whose data lives in another Concur API.
 *
 * - HasAppliedCashAdvance: part of the expense was paid out in advance; Concur nets it in amountDueEmployee,
 *   while the expense's amount is the whole cost, so reimbursing it pays the advance a second time. Refused in
 *   every state: before approval there is no amountDueEmployee to check against, and after it the check would
 *   only catch the difference with a guess at its cause.
 * - HasItemizations: the expense is split into itemizations (GET /api/v3.0/expense/itemizations), each with its
 *   own expense type and possibly personal; mapping the parent books everything to the parent's type. Mapped
 *   (./concur-splits.ts) when the itemizations are passed (context.itemizations), refused when they are not.
 * - AllocationType P or F: the expense is split across cost centers or projects by percentage through the
 *   Allocations API (GET /api/v3.0/expense/allocations); mapping it whole charges the expense's own cost center.
 *   Mapped when the allocations are passed (context.allocations), refused when they are not.
 * - HasVAT: the expense carries VAT data, but not its tax amount; mapping it books reclaimable VAT as expense,
 *   unless the profile option vatExpenses is "gross" (the company does not reclaim VAT on expenses).
 */
import { describe, shapeReader, type JsonObject, type ShapeReader } from '../shape';
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

/** Whether the expense or itemization is allocated (AllocationType P or F); an unknown type is refused, not guessed. */
export function isAllocated(
  item: JsonObject,
  path: string,
  reader: ShapeReader,
  what: string,
  reportId: string,
): boolean {
  const allocation = reader.optionalString(item.AllocationType, `${path}/AllocationType`);
  const code = allocation?.toUpperCase();
  if (allocation === undefined || code === NOT_ALLOCATED) return false;
  if (code === 'P' || code === 'F') return true;
  throw unsupported.fail(
    `${path}/AllocationType`,
    `is ${describe(allocation)} on ${what} of report ${reportId}, not one of Concur's allocation types P (partial), ` +
      `F (full) or N (none), so it cannot tell how the amount is charged; ${byHand(reportId)}`,
  );
}

/**
 * Throws a mapping error naming the report, the expense and what to do, if the expense cannot be mapped right.
 * `mapped` is false for a company-paid expense left out under companyPaidExpenses "exclude": it is not posted,
 * so only the cash advance is refused (it is the employee's money); its VAT is the card feed's business. Also
 * applied to each business itemization of a mapped expense, which carries its own HasVAT.
 */
export function refuseUnsupported(
  entry: JsonObject,
  path: string,
  lineId: string,
  reportId: string,
  {
    vatExpenses = 'refuse',
    mapped = true,
    reader = readEntries,
    what = 'expense',
  }: { vatExpenses?: VatExpensePolicy; mapped?: boolean; reader?: ShapeReader; what?: string } = {},
): void {
  const flag = (field: string) => reader.optionalBoolean(entry[field], `${path}/${field}`) === true;
  const expense = `${what} ${lineId} of report ${reportId}`;

  if (flag('HasAppliedCashAdvance')) {
    throw unsupported.fail(
      `${path}/HasAppliedCashAdvance`,
      `is true: ${expense} has a cash advance applied, and cash advances are not supported. The employee already ` +
        "received the advance, which Concur nets in the report's amountDueEmployee while the expense amount is the " +
        `whole cost, so mapping it would reimburse the advance again; ${byHand(reportId)}`,
    );
  }
  if (!mapped) return;
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

/** Where the finance-map node reads a separate collection from, for a refusal that says which setting to fill. */
function propertyHint(setting: string, property: string | undefined): string {
  return property === undefined
    ? `the finance-map node's ${setting} property is empty: set it to the message property the flow puts them in`
    : `put them in ${property} (the finance-map node's ${setting} property)`;
}

/** Refuses an itemized expense whose itemizations were not passed. */
export function refuseItemized(path: string, lineId: string, reportId: string, property: string | undefined): never {
  throw unsupported.fail(
    `${path}/HasItemizations`,
    `is true: expense ${lineId} of report ${reportId} is itemized (e.g. a hotel bill split into room, taxes and ` +
      'personal items), each itemization with its own expense type or personal, and its itemizations were not ' +
      `passed. Fetch the Items of every page of GET /api/v3.0/expense/itemizations?reportID=${reportId} and ` +
      `${propertyHint('Itemizations', property)}; else ${byHand(reportId)}`,
  );
}

/** Refuses an allocated expense or itemization whose allocations were not passed. */
export function refuseAllocated(
  path: string,
  lineId: string,
  reportId: string,
  property: string | undefined,
  what = 'expense',
): never {
  throw unsupported.fail(
    `${path}/AllocationType`,
    `is P or F: ${what} ${lineId} of report ${reportId} is split across cost centers or projects by its ` +
      'allocations, which were not passed, so mapping it whole would charge all of it to one cost center. Fetch the ' +
      `Items of every page of GET /api/v3.0/expense/allocations?reportID=${reportId} and ` +
      `${propertyHint('Allocations', property)}; else ${byHand(reportId)}`,
  );
}

/**
 * Refuses when the expenses do not add up to the report and one of them is an excluded company-paid itemized
 * expense: its personal itemizations, which Concur leaves out of the report's totals, are the likely difference,
 * not a lost page.
 */
export function refuseExcludedItemized(path: string, lineId: string, reportId: string): never {
  throw unsupported.fail(
    `${path}/HasItemizations`,
    `is true: expense ${lineId} of report ${reportId} is itemized and paid by the company (left out under ` +
      'companyPaidExpenses "exclude"); Concur leaves its personal itemizations out of the report\'s totals, so the ' +
      `expenses do not add up to the report; ${byHand(reportId)}`,
  );
}
