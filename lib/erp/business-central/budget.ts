/**
 * Budget check on Business Central: the G/L budget entries of the Analytics API minus actuals from
 * generalLedgerEntries minus the uninvoiced part of open purchase order lines, on the G/L accounts of the
 * matching budget entries (dialect.ts describes the rules).
 */
import { FinanceError } from '../../errors';
import { allocate, fromMinorUnits, minorOf } from '../../model/money';
import type { BudgetCheckRequest, Money } from '../../model/types';
import type { BudgetAvailability, CallContext } from '../dialect';
import type { Entity } from './odata';
import { asEntities, decimalText, dimensionsOf, matches, quote } from './odata';
import type { BcContext } from './context';

/** erpMessages code: the budget is kept by year, so the check compared year to date. */
export const BUDGET_YEAR_TO_DATE = 'BUDGET_YEAR_TO_DATE';

export async function checkBudget(
  bc: BcContext,
  request: BudgetCheckRequest,
  ctx: CallContext,
): Promise<BudgetAvailability> {
  const { from, to } = periodRange(request.period);
  const yearStart = `${request.period.slice(0, 4)}-01-01`;
  // Budget entries and G/L entries are in the company's local currency; a request in another one would be
  // compared with figures that only look like its currency.
  const currency = await bc.requireLocalCurrency(request.amount.currency, 'budget', ctx);
  const wanted = wantedDimensions(bc, request);
  const glFilter = request.glAccount ? ` and glAccountNo eq ${quote(request.glAccount)}` : '';
  const nameFilter = bc.budgetName ? ` and budgetName eq ${quote(bc.budgetName)}` : '';
  const analytics = await bc.analyticsPath();
  // The whole year's entries: whether the budget is kept by month or by year shows only there.
  const [yearEntries, setEntries] = await Promise.all([
    bc.all(
      `${analytics}/generalLedgerBudgetEntries`,
      {
        $filter: `budgetDate ge ${yearStart} and budgetDate le ${request.period.slice(0, 4)}-12-31${glFilter}${nameFilter}`,
      },
      ctx,
    ),
    bc.all(`${analytics}/dimensionSetEntries`, {}, ctx),
  ]);
  const sets = new Map<number, Record<string, string>>();
  for (const entry of setEntries) {
    const id = Number(entry.dimensionSetID);
    const set = sets.get(id) ?? {};
    set[String(entry.dimensionCode)] = String(entry.dimensionValueCode);
    sets.set(id, set);
  }
  const yearLines = budgetEntriesOf(bc, yearEntries, sets, wanted);
  requireOneBudgetName(bc, yearLines, request);
  // BC's G/L Budget page viewed by Year puts a year's amount on 1 January. Such a budget is compared year to
  // date (the year's budget with what is spent and ordered since 1 January); any other layout month by month.
  const byYear = yearLines.length > 0 && yearLines.every((entry) => String(entry.budgetDate).slice(5, 10) === '01-01');
  const since = byYear ? yearStart : from;
  const budgetLines = byYear ? yearLines : yearLines.filter((entry) => inRange(entry.budgetDate, from, to));
  if (budgetLines.length === 0) {
    throw new FinanceError(
      'ERP_NOT_FOUND',
      `ERP "${bc.system}" (Business Central) has no G/L budget entries${bc.budgetName ? ` in budget ${bc.budgetName}` : ''} for ${describe(request)} in ${request.period}.`,
      { details: { vendorCode: 'NO_BUDGET' } },
    );
  }
  const [ledgerEntries, orders] = await Promise.all([
    bc.all(
      `${await bc.standardPath()}/generalLedgerEntries`,
      {
        $filter: `postingDate ge ${since} and postingDate le ${to}${request.glAccount ? ` and accountNumber eq ${quote(request.glAccount)}` : ''}`,
        $expand: 'dimensionSetLines',
      },
      ctx,
    ),
    bc.all(
      `${await bc.purchaseOrderPath()}`,
      {
        $filter: `orderDate ge ${since} and orderDate le ${to}`,
        $expand: 'purchaseOrderLines($expand=dimensionSetLines)',
      },
      ctx,
    ),
  ]);
  // Without a G/L account the dimension alone would take in every entry that carries it: BC gives the
  // balancing entry of a journal line (and VAT and payables entries) the line's dimension set, so an expense
  // and its credit would cancel out. Only the accounts the matching budget entries are on count.
  const accounts = new Set(budgetLines.map((entry) => String(entry.glAccountNo)));
  const minor = (value: unknown, what: string) => bc.minor(value, currency, what);
  const budget = budgetLines.reduce((sum, entry) => sum + minor(entry.budgetAmount, 'budgetAmount'), 0n);
  const actuals = ledgerEntries
    .filter((entry) => accounts.has(String(entry.accountNumber)))
    .filter((entry) => matches(dimensionsOf(entry.dimensionSetLines), wanted))
    .reduce(
      (sum, entry) => sum + minor(entry.debitAmount, 'debitAmount') - minor(entry.creditAmount, 'creditAmount'),
      0n,
    );
  let commitments = 0n;
  for (const order of orders) {
    for (const line of asEntities(order.purchaseOrderLines)) {
      if (!accounts.has(String(line.lineObjectNumber))) continue;
      if (!matches(dimensionsOf(line.dimensionSetLines), wanted)) continue;
      requireLocalOrder(bc, order, currency);
      commitments += uninvoiced(bc.money(line.amountExcludingTax, currency, 'amountExcludingTax'), line);
    }
  }
  const available = budget - actuals - commitments;
  const requested = minorOf(request.amount);
  return {
    budget: fromMinorUnits(budget, currency),
    actuals: fromMinorUnits(actuals, currency),
    commitments: fromMinorUnits(commitments, currency),
    available: fromMinorUnits(available, currency),
    requested: request.amount,
    period: request.period,
    status: requested > available ? 'exceeded' : 'within',
    erpMessages: byYear
      ? [
          {
            code: BUDGET_YEAR_TO_DATE,
            severity: 'info',
            text:
              `Business Central keeps this budget by year (entries dated ${yearStart}): the year's budget was ` +
              `compared with the actuals and open purchase orders from ${since} to ${to}.`,
          },
        ]
      : [],
  };
}

/**
 * The budget entries of the request's cost center and project. An entry is a department's budget, a
 * project's, or one of a project within a department; so an entry counts only when it carries the requested
 * cost center and project and not the other of the two dimensions: a department's check does not take in
 * the budgets of projects inside it. A budget kept only by department and project together (each entry
 * carries both) has no such entries: then the entries that carry the requested ones are added up over the
 * other dimension, as BC's budget matrix filtered on one of them shows them.
 */
function budgetEntriesOf(
  bc: BcContext,
  entries: Entity[],
  sets: Map<number, Record<string, string>>,
  wanted: Record<string, string>,
): Entity[] {
  const setOf = (entry: Entity) => sets.get(Number(entry.dimensionSetID)) ?? {};
  const candidates = entries.filter((entry) => matches(setOf(entry), wanted));
  const others = [bc.costCenterDimension, bc.projectDimension].filter((code) => !(code in wanted));
  const exact = candidates.filter((entry) => others.every((code) => setOf(entry)[code] === undefined));
  return exact.length > 0 ? exact : candidates;
}

/**
 * A BC company keeps several G/L budget names (an approved budget, a forecast, last year's copy); adding them
 * up would multiply the budget. Without a configured budget name the entries must all be under one name.
 */
function requireOneBudgetName(bc: BcContext, entries: Entity[], request: BudgetCheckRequest): void {
  if (bc.budgetName) return;
  const names = [...new Set(entries.map((entry) => String(entry.budgetName)))].sort();
  if (names.length <= 1) return;
  throw new FinanceError(
    'CONFIG_INVALID',
    `ERP connection "${bc.system}" (Business Central): the G/L budget entries for ${describe(request)} in ${request.period.slice(0, 4)} are under ${names.length} budget names (${names.join(', ')}), and adding them up would count the budget more than once. Enter the one to check against in the connection's Budget name.`,
    { retryable: false, details: { budgetNames: names } },
  );
}

/**
 * Order line amounts are in the order's currency and API v2.0 gives no local-currency amount for them: adding
 * a foreign-currency order to local-currency budget figures would be money wrong, so the check stops instead.
 */
function requireLocalOrder(bc: BcContext, order: Entity, local: string): void {
  const code = bc.currency(order, local);
  if (code === local) return;
  throw new FinanceError(
    'CURRENCY_MISMATCH',
    `Business Central company "${bc.company}" has open purchase order ${String(order.number)} in ${code} on this budget, but budgets are in its local currency ${local} and API v2.0 gives no ${local} amount for order lines. Check this budget in Business Central, or receive and invoice that order so its cost is in the G/L.`,
    { retryable: false, details: { currency: code, localCurrency: local, order: order.number } },
  );
}

function wantedDimensions(bc: BcContext, request: { costCenter?: string; project?: string }): Record<string, string> {
  const wanted: Record<string, string> = {};
  if (request.costCenter) wanted[bc.costCenterDimension] = request.costCenter;
  if (request.project) wanted[bc.projectDimension] = request.project;
  return wanted;
}

/**
 * What an order line still commits: its amount for the quantity not invoiced yet. The invoiced part is in the
 * G/L entries (the actuals) through its posted invoice, and BC deletes an order once it is invoiced in full. The
 * amount is split between the two parts in proportion to the quantities, so the parts add up to the line.
 */
function uninvoiced(amount: Money, line: Entity): bigint {
  const quantity = quantityWeight(line.quantity);
  const invoiced = quantityWeight(line.invoicedQuantity);
  if (invoiced <= 0n) return minorOf(amount);
  if (invoiced >= quantity) return 0n;
  return minorOf(allocate(amount, [quantity - invoiced, invoiced])[0]);
}

/** A quantity (BC keeps five decimals) as a whole number of hundred-thousandths; not a number counts as 0. */
function quantityWeight(value: unknown): bigint {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return 0n;
  const [whole, fraction = ''] = decimalText(value).split('.');
  return BigInt(whole + fraction.padEnd(5, '0').slice(0, 5));
}

function periodRange(period: string): { from: string; to: string } {
  const match = /^(\d{4})-(\d{2})$/.exec(period);
  if (!match) throw new FinanceError('SCHEMA_INVALID', `period must be "YYYY-MM", not "${period}".`);
  const lastDay = new Date(Date.UTC(Number(match[1]), Number(match[2]), 0)).getUTCDate();
  return { from: `${period}-01`, to: `${period}-${String(lastDay).padStart(2, '0')}` };
}

/** A date field (YYYY-MM-DD, or a date-time) between two dates, both included. */
function inRange(value: unknown, from: string, to: string): boolean {
  const day = String(value).slice(0, 10);
  return day >= from && day <= to;
}

function describe(request: BudgetCheckRequest): string {
  return [
    request.costCenter ? `cost center ${request.costCenter}` : '',
    request.project ? `project ${request.project}` : '',
    request.glAccount ? `G/L account ${request.glAccount}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}
