/**
 * The ERPNext (Frappe) simulator: the REST API `/api/resource/{DocType}[/{name}]` of a Frappe site (see API.md
 * next to this file; facts tagged there). Frappe's generic behaviour is what the dialect depends on:
 * - `Authorization: token <api_key>:<api_secret>`; lists `{data: [...]}` with `fields`, `filters` (JSON, also
 *   child-table filters `[child doctype, field, op, value]`), `limit_start`, `limit_page_length` (default 20),
 *   `order_by`; documents `{data: {...}}`;
 * - `docstatus` 0 draft, 1 submitted, 2 cancelled: PUT `{docstatus: 1}` submits, `{docstatus: 2}` cancels; a
 *   submitted document refuses other changes (UpdateAfterSubmitError); a PUT carrying `modified` older than the
 *   document's fails with TimestampMismatchError; a cancelled document takes no PUT ("Cannot edit cancelled
 *   document") and is amended by a new one with `amended_from`, named `<name>-1`;
 * - errors: HTTP 417 (ValidationError family), 404 DoesNotExistError, 401/403, 409 DuplicateEntryError, with
 *   `exc_type`, `exception` and `_server_messages` (a JSON string of JSON strings);
 * - Fiscal Year doctype: calendar years named "2026" by default, from the year before the budgets and today to
 *   the year after; `setFiscalYearStart(4)` makes them April to March, named "2026-2027" as ERPNext names them,
 *   for all companies or (with the `companies` child table, Fiscal Year Company) for some;
 * - Cost Center tree under the company's root group (parent_cost_center, lft / rgt: cost-centers.ts);
 * - Budget doctype (Stop / Warn / Ignore) applied on submit as budget.py applies it (checkBudgets), from the
 *   sandbox's budgets (one Budget per cost center and account, or per project, for each fiscal year,
 *   distributed by month); a Budget applies to the dates from its from_fiscal_year's start to its
 *   to_fiscal_year's end; GL Entries (with the party of a Payable row) written on submit;
 * - test hooks for what refuses a posting date: accountsFrozenTill, fiscalYearCheck (off by default);
 * - item amounts rounded by System Settings "Rounding Method" (`roundingMethod`, default "Banker's Rounding
 *   (legacy)": a half to even for a currency without decimals, up otherwise); Update Items
 *   (`/api/method/erpnext.controllers.accounts_controller.update_child_qty_rate`) with its refusals; receipts
 *   and bills through test hooks (receivePurchaseOrder, billPurchaseOrder), which block an order's cancel
 *   (LinkExistsError).
 * The Company is the sandbox company id (FS-DEMO, abbreviation FSD; FS-JP, FSJ).
 */
import { exponentOf, fromMinorUnits, minorOf, money } from '../../model/money';
import type { AuthGate } from '../auth';
import type { CompanyState } from '../company-state';
import type { SandboxState } from '../state';
import type { SandboxResponse } from '../types';
import { isAncestorOrSelf, renumberCostCenters } from './cost-centers';

type Doc = Record<string, unknown> & { name: string; doctype: string };

const ABBR: Readonly<Record<string, string>> = { 'FS-DEMO': 'FSD', 'FS-JP': 'FSJ' };
export const ERPNEXT_PAYABLE_ACCOUNT = '2910';

class FrappeError extends Error {
  constructor(
    readonly status: number,
    readonly excType: string,
    message: string,
    readonly title = 'Message',
  ) {
    super(message);
  }
}

function errorResponse(error: FrappeError): SandboxResponse {
  const serverMessage = JSON.stringify({
    message: error.message,
    title: error.title,
    indicator: 'red',
    raise_exception: 1,
  });
  return {
    status: error.status,
    headers: { 'Content-Type': 'application/json' },
    body: {
      exc_type: error.excType,
      exception: `frappe.exceptions.${error.excType}: ${error.message}`,
      exc: JSON.stringify([
        `Traceback (most recent call last):\n  ...\nfrappe.exceptions.${error.excType}: ${error.message}\n`,
      ]),
      _server_messages: JSON.stringify([serverMessage]),
    },
  };
}

function validation(message: string, excType = 'ValidationError'): FrappeError {
  return new FrappeError(417, excType, message);
}

/** Frappe's `modified`: "YYYY-MM-DD HH:MM:SS.ffffff", strictly increasing here. */
function timestamp(store: ErpnextStore): string {
  store.clock = Math.max(Date.now(), store.clock + 1);
  const iso = new Date(store.clock).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}000`;
}

export type RoundingMethod = "Banker's Rounding (legacy)" | "Banker's Rounding" | 'Commercial Rounding';
const DEFAULT_ROUNDING: RoundingMethod = "Banker's Rounding (legacy)";

export class ErpnextStore {
  readonly docs = new Map<string, Map<string, Doc>>();
  readonly series = new Map<string, number>();
  /** The month (1-12) each company's fiscal year starts in; a company not listed starts in January. */
  readonly fiscalYearStart = new Map<string, number>();
  clock = 0;
  counters = { requests: 0 };
  /** System Settings "Rounding Method" [S frappe system_settings.json]; reset() returns to the default. */
  roundingMethod: RoundingMethod = DEFAULT_ROUNDING;
  /**
   * Test hook: Accounts Settings "Accounts Frozen Till Date" (acc_frozen_upto; Company accounts_frozen_till_date
   * in later versions): a submit posting on or before it is refused, as general_ledger.py check_freezing_date
   * refuses it for a user without the frozen-entries role [S]. Off (undefined) by default; reset() clears it.
   */
  accountsFrozenTill: string | undefined = undefined;
  /**
   * Test hook: a submit whose posting date lies in no active Fiscal Year of the company is refused with
   * ERPNext's FiscalYearError [S erpnext accounts/utils.py get_fiscal_years]. Off by default (the sandbox's
   * years cover only its budgets and today, and flows post any date); reset() turns it off.
   */
  fiscalYearCheck = false;

  constructor(private readonly state: SandboxState) {
    this.reset();
  }

  table(doctype: string): Map<string, Doc> {
    let table = this.docs.get(doctype);
    if (!table) {
      table = new Map();
      this.docs.set(doctype, table);
    }
    return table;
  }

  put(doc: Doc): Doc {
    this.table(doc.doctype).set(doc.name, doc);
    return doc;
  }

  nextName(prefix: string, digits: number): string {
    const next = (this.series.get(prefix) ?? 0) + 1;
    this.series.set(prefix, next);
    return `${prefix}${String(next).padStart(digits, '0')}`;
  }

  reset(): void {
    this.docs.clear();
    this.series.clear();
    this.fiscalYearStart.clear();
    this.counters = { requests: 0 };
    this.roundingMethod = DEFAULT_ROUNDING;
    this.accountsFrozenTill = undefined;
    this.fiscalYearCheck = false;
    for (const company of this.state.companies.values()) seedCompany(this, company, SEED_MODIFIED);
    this.seedBudgets();
  }

  /**
   * Fiscal years that start in `month` (4: April to March, named "2026-2027") for `companies` (default: all),
   * and the Fiscal Year and Budget documents seeded again by them; other documents stay. reset() returns to
   * calendar years.
   */
  setFiscalYearStart(month: number, companies: readonly string[] = [...this.state.companies.keys()]): void {
    if (!Number.isInteger(month) || month < 1 || month > 12) throw new RangeError(`month ${month} is not 1 to 12`);
    for (const company of companies) this.fiscalYearStart.set(company, month);
    this.seedBudgets();
  }

  /** Fiscal Years, then one Budget per dimension and fiscal year (BUDGET-00000001...). */
  seedBudgets(): void {
    this.table('Fiscal Year').clear();
    this.table('Budget').clear();
    this.series.delete('BUDGET-');
    seedFiscalYears(this, this.state);
    for (const company of this.state.companies.values()) seedBudgets(this, company, SEED_MODIFIED);
  }

  /**
   * Test hook for what the simulator does not serve: a submitted Purchase Receipt against order `name`,
   * receiving `quantities` (by item idx). The items' received_qty, the order's per_received and status move
   * as ERPNext's status updater moves them, and the receipt is a link that blocks the order's cancel.
   */
  receivePurchaseOrder(name: string, quantities: Readonly<Record<number, number>>): Doc {
    return linkTransaction(this, name, 'Purchase Receipt', quantities);
  }

  /**
   * Test hook: a submitted Purchase Invoice made from order `name`, billing `amounts` (by item idx, in the
   * order's currency): billed_amt, per_billed and status move, its GL entries are written, and it is a link
   * that blocks the order's cancel.
   */
  billPurchaseOrder(name: string, amounts: Readonly<Record<number, number>>): Doc {
    return linkTransaction(this, name, 'Purchase Invoice', amounts);
  }

  /**
   * Test hook: a group cost center numbered `number` in `company`, below `parent` (a cost center number; default
   * the company's root), holding the cost centers numbered `children`; lft / rgt are numbered again, as ERPNext's
   * nested set does on save. Answers the group's document.
   */
  addCostCenterGroup(company: string, number: string, children: readonly string[], parent?: string): Doc {
    const abbr = ABBR[company] ?? company.slice(0, 3).toUpperCase();
    const table = this.table('Cost Center');
    const nameOf = (id: string) => {
      const found = [...table.values()].find((c) => c.company === company && c.cost_center_number === id);
      if (!found) throw new RangeError(`company ${company} has no cost center ${id}`);
      return found.name;
    };
    const root = [...table.values()].find((c) => c.company === company && !c.parent_cost_center);
    const group = this.put({
      doctype: 'Cost Center',
      name: `${number} - ${abbr}`,
      company,
      cost_center_name: number,
      cost_center_number: number,
      is_group: 1,
      parent_cost_center: parent ? nameOf(parent) : (root?.name ?? ''),
      disabled: 0,
      docstatus: 0,
      modified: timestamp(this),
    });
    for (const child of children) (table.get(nameOf(child)) as Doc).parent_cost_center = group.name;
    renumberCostCenters(this, company);
    return group;
  }

  /**
   * Test hook: Budget `name` distributed equally over its months, as ERPNext's "Distribute Equally" does on save
   * (_regenerate_distribution): each row's percent flt(100 / months, 3) and amount flt(budget_amount x (100 /
   * months) / 100, 3), half up, so 1000.00 over 12 months is 83.333 a month [S budget.py add_allocated_amount].
   */
  distributeEqually(name: string): Doc {
    const budget = this.table('Budget').get(name);
    if (!budget) throw new RangeError(`no Budget ${name}`);
    const rows = budget.budget_distribution as Array<Record<string, unknown>>;
    const count = BigInt(rows.length);
    // Thousandths of `numerator` / months, half up; as the JSON number Frappe answers.
    const share = (numerator: bigint) => {
      const thousandths = (2n * numerator + count) / (2n * count);
      return Number(`${thousandths / 1000n}.${String(thousandths % 1000n).padStart(3, '0')}`);
    };
    const total = storedUnits(budget.budget_amount, 'Budget Amount') / 10n ** 6n;
    for (const row of rows) {
      row.amount = share(total);
      row.percent = share(100_000n);
    }
    budget.distribute_equally = 1;
    return budget;
  }

  snapshot(): Record<string, unknown> {
    const list = (doctype: string) => [...this.table(doctype).values()];
    return {
      purchaseOrders: list('Purchase Order'),
      journalEntries: list('Journal Entry'),
      purchaseInvoices: list('Purchase Invoice'),
      glEntries: list('GL Entry'),
      counters: this.counters,
    };
  }
}

const SEED_MODIFIED = '2026-01-01 00:00:00.000000';

function seedCompany(store: ErpnextStore, state: CompanyState, modified: string): void {
  const company = state.company.id;
  const abbr = ABBR[company] ?? company.slice(0, 3).toUpperCase();
  const base = { company, modified, creation: modified, docstatus: 0, owner: 'Administrator' };
  store.put({
    doctype: 'Company',
    name: company,
    company_name: state.company.name,
    abbr,
    default_currency: state.company.currency,
    // The company's Default Payable Account, a Purchase Invoice's credit_to when its supplier names none.
    default_payable_account: `2110 - Creditors - ${abbr}`,
    modified,
    docstatus: 0,
  });
  for (const s of state.records('suppliers').values() as Iterable<Record<string, unknown>>) {
    store.put({
      doctype: 'Supplier',
      name: String(s.id),
      supplier_name: s.name,
      country: s.country,
      default_currency: s.currency ?? '',
      on_hold: s.status === 'blocked' ? 1 : 0,
      hold_type: s.status === 'blocked' ? 'All' : '',
      disabled: 0,
      modified: s.modifiedAt,
      docstatus: 0,
    });
  }
  for (const e of state.records('employees').values() as Iterable<Record<string, unknown>>) {
    // Reimbursements as payables: one Supplier per employee, linked by the README's Custom Field.
    store.put({
      doctype: 'Supplier',
      name: `${String(e.name)} (${String(e.id)})`,
      supplier_name: e.name,
      supplier_group: 'Employees',
      custom_employee: e.id,
      country: '',
      default_currency: '',
      on_hold: 0,
      hold_type: '',
      disabled: e.active ? 0 : 1,
      modified: e.modifiedAt,
      docstatus: 0,
    });
    store.put({
      ...base,
      doctype: 'Employee',
      name: String(e.id),
      employee_name: e.name,
      company_email: e.email ?? '',
      reports_to: e.managerId ?? '',
      status: e.active ? 'Active' : 'Left',
      modified: e.modifiedAt,
    });
  }
  // The company's root cost center (a group named after the company), the sandbox's cost centers below it.
  const root = `${state.company.name} - ${abbr}`;
  store.put({
    ...base,
    doctype: 'Cost Center',
    name: root,
    cost_center_name: state.company.name,
    cost_center_number: '',
    is_group: 1,
    parent_cost_center: '',
    disabled: 0,
  });
  for (const c of state.records('costCenters').values() as Iterable<Record<string, unknown>>) {
    store.put({
      ...base,
      doctype: 'Cost Center',
      name: `${String(c.id)} - ${abbr}`,
      cost_center_name: c.name,
      cost_center_number: c.id,
      is_group: 0,
      parent_cost_center: root,
      disabled: c.open ? 0 : 1,
      modified: c.modifiedAt,
    });
  }
  renumberCostCenters(store, company);
  // The company's tax codes as Item Tax Templates, named by the code (taxes are not computed, see API.md).
  for (const t of state.records('taxCodes').values() as Iterable<Record<string, unknown>>) {
    store.put({ ...base, doctype: 'Item Tax Template', name: String(t.id), title: t.name, modified: t.modifiedAt });
  }
  for (const p of state.records('projects').values() as Iterable<Record<string, unknown>>) {
    const status = p.status === 'open' ? 'Open' : p.status === 'closed' ? 'Completed' : 'Cancelled';
    store.put({
      ...base,
      doctype: 'Project',
      name: String(p.id),
      project_name: p.name,
      status,
      modified: p.modifiedAt,
    });
  }
  const accounts = [...(state.records('glAccounts').values() as Iterable<Record<string, unknown>>)].map((a) => ({
    id: String(a.id),
    name: String(a.name),
    type: String(a.type),
    open: Boolean(a.open),
    modified: a.modifiedAt,
  }));
  accounts.push({
    id: ERPNEXT_PAYABLE_ACCOUNT,
    name: 'Employee Expense Payable',
    type: 'liability',
    open: true,
    modified,
  });
  accounts.push({ id: '2110', name: 'Creditors', type: 'liability', open: true, modified });
  for (const a of accounts) {
    const rootType =
      a.type === 'expense'
        ? 'Expense'
        : a.type === 'asset'
          ? 'Asset'
          : a.type === 'liability'
            ? 'Liability'
            : a.type === 'revenue'
              ? 'Income'
              : 'Equity';
    store.put({
      ...base,
      doctype: 'Account',
      name: `${a.id} - ${a.name} - ${abbr}`,
      account_name: a.name,
      account_number: a.id,
      root_type: rootType,
      report_type: rootType === 'Expense' || rootType === 'Income' ? 'Profit and Loss' : 'Balance Sheet',
      // Both liabilities the pack credits are Payable accounts, so ERPNext asks for a party on them.
      account_type: a.id === '2110' || a.id === ERPNEXT_PAYABLE_ACCOUNT ? 'Payable' : '',
      is_group: 0,
      disabled: a.open ? 0 : 1,
      modified: a.modified,
    });
  }
}

/**
 * Fiscal Year documents [S erpnext fiscal_year.json: year, disabled, is_short_year, year_start_date,
 * year_end_date, companies (Fiscal Year Company)]: for each start month in use, the years that cover the
 * calendar year before the earliest budget (or today) to the one after the latest. Calendar years are named
 * "2026", others "2026-2027". When the companies do not all share one start month, each year lists its
 * companies (a year listing none is every company's, as in ERPNext), and a name another month also gives is
 * suffixed with them.
 */
function seedFiscalYears(store: ErpnextStore, state: SandboxState): void {
  const companies = [...state.companies.values()];
  const years = [state.now().getUTCFullYear()];
  for (const company of companies) for (const line of company.budgets) years.push(Number(line.period.slice(0, 4)));
  const first = Math.min(...years) - 1;
  const last = Math.max(...years) + 1;
  const groups = new Map<number, string[]>();
  for (const company of companies) {
    const month = store.fiscalYearStart.get(company.company.id) ?? 1;
    groups.set(month, [...(groups.get(month) ?? []), company.company.id]);
  }
  const baseName = (year: number, month: number) => (month === 1 ? String(year) : `${year}-${year + 1}`);
  for (const [month, members] of groups) {
    const shared = groups.size === 1;
    // A year that starts after January begins one earlier, so the whole calendar year before is covered too.
    for (let year = month === 1 ? first : first - 1; year <= last; year += 1) {
      const base = baseName(year, month);
      const clash = [...groups.keys()].some((other) => other !== month && baseName(year, other) === base);
      const name = clash ? `${base} (${members.join(', ')})` : base;
      const endMonth = `${month === 1 ? year : year + 1}-${String(month === 1 ? 12 : month - 1).padStart(2, '0')}`;
      store.put({
        doctype: 'Fiscal Year',
        name,
        year: name,
        disabled: 0,
        is_short_year: 0,
        year_start_date: `${year}-${String(month).padStart(2, '0')}-01`,
        year_end_date: lastDay(endMonth),
        auto_created: 0,
        companies: shared
          ? []
          : members.map((company, index) => ({
              name: `${name}-${index + 1}`,
              doctype: 'Fiscal Year Company',
              parent: name,
              parenttype: 'Fiscal Year',
              parentfield: 'companies',
              idx: index + 1,
              company,
            })),
        docstatus: 0,
        owner: 'Administrator',
        creation: SEED_MODIFIED,
        modified: SEED_MODIFIED,
      });
    }
  }
}

/**
 * The fiscal year of `company` that holds `date`, as ERPNext's get_fiscal_year finds it [S erpnext
 * accounts/utils.py get_fiscal_years]: not disabled, listing no company or this one, the latest start first.
 */
export function fiscalYearOf(store: ErpnextStore, company: string, date: string): Doc | undefined {
  return [...store.table('Fiscal Year').values()]
    .filter((fy) => !fy.disabled && appliesTo(fy, company))
    .sort((a, b) => (String(a.year_start_date) < String(b.year_start_date) ? 1 : -1))
    .find((fy) => String(fy.year_start_date) <= date && date <= String(fy.year_end_date));
}

function appliesTo(fy: Doc, company: string): boolean {
  const rows = Array.isArray(fy.companies) ? (fy.companies as Array<Record<string, unknown>>) : [];
  return rows.length === 0 || rows.some((row) => row.company === company);
}

/** From the start of a Budget's from_fiscal_year to the end of its to_fiscal_year (ERPNext's budget_start/end_date). */
function budgetRange(store: ErpnextStore, budget: Doc): { start: string; end: string } | undefined {
  const from = store.table('Fiscal Year').get(String(budget.from_fiscal_year));
  const to = store.table('Fiscal Year').get(String(budget.to_fiscal_year));
  return from && to ? { start: String(from.year_start_date), end: String(to.year_end_date) } : undefined;
}

/** One Budget per cost center and account (or per project) and fiscal year, distributed by month. */
function seedBudgets(store: ErpnextStore, state: CompanyState, modified: string): void {
  const company = state.company.id;
  const abbr = ABBR[company] ?? company.slice(0, 3).toUpperCase();
  const base = { company, modified, creation: modified, docstatus: 0, owner: 'Administrator' };
  const byKey = new Map<
    string,
    { costCenter?: string; project?: string; glAccount?: string; year: string; months: Map<string, bigint> }
  >();
  for (const line of state.budgets) {
    const fiscalYear = fiscalYearOf(store, company, `${line.period}-01`);
    if (!fiscalYear) continue;
    const year = fiscalYear.name;
    const key = `${line.costCenter ?? ''}|${line.project ?? ''}|${line.glAccount ?? ''}|${year}`;
    const entry = byKey.get(key) ?? {
      costCenter: line.costCenter,
      project: line.project,
      glAccount: line.glAccount,
      year,
      months: new Map(),
    };
    entry.months.set(line.period, (entry.months.get(line.period) ?? 0n) + minorOf(line.amount));
    byKey.set(key, entry);
  }
  const currency = state.company.currency;
  for (const entry of byKey.values()) {
    const account = entry.glAccount
      ? accountName(store, company, entry.glAccount)
      : accountName(store, company, projectAccount(state));
    const total = [...entry.months.values()].reduce((sum, value) => sum + value, 0n);
    const name = store.nextName('BUDGET-', 8);
    store.put({
      ...base,
      doctype: 'Budget',
      name,
      docstatus: 1,
      budget_against: entry.costCenter ? 'Cost Center' : 'Project',
      cost_center: entry.costCenter ? `${entry.costCenter} - ${abbr}` : '',
      project: entry.project ?? '',
      account,
      from_fiscal_year: entry.year,
      to_fiscal_year: entry.year,
      distribution_frequency: 'Monthly',
      distribute_equally: 0,
      budget_amount: Number(fromMinorUnits(total, currency).amount),
      applicable_on_purchase_order: 1,
      action_if_annual_budget_exceeded_on_po: 'Stop',
      // CC-300 stops orders over its monthly budget; everything else warns. Actual expenses only warn, annual
      // and monthly, so an expense report the finance controller approved over budget still posts (ERPNext's
      // default for actuals is Stop, which would refuse it at the write).
      action_if_accumulated_monthly_budget_exceeded_on_po: entry.costCenter === 'CC-300' ? 'Stop' : 'Warn',
      applicable_on_booking_actual_expenses: 1,
      action_if_annual_budget_exceeded: 'Warn',
      action_if_accumulated_monthly_budget_exceeded: 'Warn',
      budget_distribution: [...entry.months].sort().map(([period, amount], index) => ({
        name: `${name}-${index + 1}`,
        parent: name,
        parenttype: 'Budget',
        parentfield: 'budget_distribution',
        idx: index + 1,
        start_date: `${period}-01`,
        end_date: lastDay(period),
        amount: Number(fromMinorUnits(amount, currency).amount),
      })),
    });
  }
}

/** Project budgets in the sandbox cover all accounts; in ERPNext a Budget names one account: the first expense account. */
function projectAccount(state: CompanyState): string {
  const first = [...(state.records('glAccounts').values() as Iterable<Record<string, unknown>>)].find(
    (a) => a.type === 'expense',
  );
  return String(first?.id ?? '6000');
}

function accountName(store: ErpnextStore, company: string, number: string): string {
  const found = [...store.table('Account').values()].find((a) => a.company === company && a.account_number === number);
  return found?.name ?? number;
}

function lastDay(period: string): string {
  const [year, month] = period.split('-').map(Number);
  return `${period}-${String(new Date(Date.UTC(year, month, 0)).getUTCDate()).padStart(2, '0')}`;
}

const stores = new WeakMap<SandboxState, ErpnextStore>();

export function erpnextStoreOf(state: SandboxState): ErpnextStore {
  let store = stores.get(state);
  if (!store) {
    store = new ErpnextStore(state);
    stores.set(state, store);
  }
  return store;
}

/** Where Frappe serves whitelisted methods: `/api/method/<dotted.path>` [D Frappe REST API]. */
export const FRAPPE_METHOD_PREFIX = '/api/method/';

export interface FrappeRequest {
  state: SandboxState;
  auth: AuthGate;
  method: string;
  /** `resource` (default): segments after /api/resource/; `method`: the dotted method path after /api/method/. */
  kind?: 'resource' | 'method';
  /** Path segments after /api/resource/ (for `method`: the method path as one segment). */
  segments: string[];
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export function handleFrappe(request: FrappeRequest): SandboxResponse {
  const store = erpnextStoreOf(request.state);
  try {
    store.counters.requests += 1;
    const fault = request.state.faults.decide();
    if (fault.kind === 'rateLimited' || (fault.kind === 'error' && fault.status === 429)) {
      const seconds = fault.kind === 'rateLimited' ? fault.retryAfterSeconds : (fault.retryAfterSeconds ?? 1);
      const response = errorResponse(
        new FrappeError(
          429,
          'RateLimitExceededError',
          'You hit the rate limit because of too many requests. Please try after sometime.',
        ),
      );
      return { ...response, headers: { ...response.headers, 'Retry-After': String(seconds) } };
    }
    if (fault.kind === 'error')
      throw new FrappeError(fault.status, 'Exception', `Injected fault: HTTP ${fault.status}.`);
    checkToken(request);
    if (request.kind === 'method') return callMethod(store, request);
    const [doctype, name] = request.segments;
    if (!doctype) throw new FrappeError(404, 'DoesNotExistError', 'DocType not given');
    if (!KNOWN_DOCTYPES.includes(doctype))
      throw new FrappeError(404, 'DoesNotExistError', `DocType ${doctype} not found`);
    if (name === undefined) {
      if (request.method === 'GET') return list(store, doctype, request.query);
      if (request.method === 'POST')
        return { status: 200, body: { data: insert(store, request.state, doctype, objectBody(request.body)) } };
    } else {
      const doc = store.table(doctype).get(name);
      if (!doc) throw new FrappeError(404, 'DoesNotExistError', `${doctype} ${name} not found`);
      if (request.method === 'GET') return { status: 200, body: { data: doc } };
      if (request.method === 'PUT') return update(store, request.state, doc, objectBody(request.body));
      if (request.method === 'DELETE') {
        if (doc.docstatus !== 0)
          throw validation(
            `Submitted or cancelled ${doctype} ${name} cannot be deleted; cancel it instead`,
            'LinkExistsError',
          );
        store.table(doctype).delete(name);
        return { status: 202, body: { message: 'ok' } };
      }
    }
    throw new FrappeError(405, 'MethodNotAllowed', `${request.method} not allowed`);
  } catch (error) {
    if (error instanceof FrappeError) return errorResponse(error);
    const message = error instanceof Error ? error.message : String(error);
    return errorResponse(new FrappeError(500, 'Exception', `The simulator failed: ${message}`));
  }
}

const KNOWN_DOCTYPES = [
  'Company',
  'Supplier',
  'Employee',
  'Cost Center',
  'Project',
  'Account',
  'Budget',
  'Fiscal Year',
  'Purchase Order',
  'Journal Entry',
  'Purchase Invoice',
  'Purchase Receipt',
  'GL Entry',
];

/** `token key:secret`; with the sandbox in OAuth2 mode the key and secret must be its client id and secret. */
function checkToken(request: FrappeRequest): void {
  const value = request.headers.authorization;
  const header = Array.isArray(value) ? value[0] : value;
  const match = header ? /^token ([^:\s]+):(\S+)$/.exec(header) : null;
  if (!match || !request.auth.acceptsClient(match[1], match[2])) {
    throw new FrappeError(
      401,
      'AuthenticationError',
      'Invalid API key or secret; send Authorization: token <api_key>:<api_secret>',
    );
  }
}

function objectBody(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw validation('The request body must be a JSON object');
  return body as Record<string, unknown>;
}

// ---- lists -----------------------------------------------------------------------------------------

type Filter = [string, string, unknown] | [string, string, string, unknown];

function parseJson<T>(text: string | null, fallback: T, what: string): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw validation(`${what} is not valid JSON`);
  }
}

function compare(value: unknown, operator: string, wanted: unknown): boolean {
  const left = value === undefined || value === null ? '' : value;
  switch (operator) {
    case '=':
      return left === wanted || String(left) === String(wanted);
    case '!=':
      return String(left) !== String(wanted);
    case '>=':
      return String(left) >= String(wanted);
    case '<=':
      return String(left) <= String(wanted);
    case '>':
      return String(left) > String(wanted);
    case '<':
      return String(left) < String(wanted);
    case 'in':
      return Array.isArray(wanted) && wanted.map(String).includes(String(left));
    default:
      throw validation(`Filter operator ${operator} is not supported by the simulator`);
  }
}

function list(store: ErpnextStore, doctype: string, query: URLSearchParams): SandboxResponse {
  const fields = parseJson<string[]>(query.get('fields'), ['name'], 'fields');
  const filters = parseJson<Filter[] | Record<string, unknown>>(query.get('filters'), [], 'filters');
  const normalized: Filter[] = Array.isArray(filters)
    ? filters
    : Object.entries(filters).map(([field, value]) => [field, '=', value] as Filter);
  const start = Number(query.get('limit_start') ?? '0');
  const length = Number(query.get('limit_page_length') ?? '20');
  const childField = fields.find((field) => field.startsWith('`tab'));
  const rows: Record<string, unknown>[] = [];
  for (const doc of store.table(doctype).values()) {
    const childrenRows = childRowsOf(doc, normalized, childField);
    for (const child of childrenRows) {
      const parentFilters = normalized.filter((filter) => filter.length === 3) as Array<[string, string, unknown]>;
      if (!parentFilters.every(([field, operator, value]) => compare(doc[field], operator, value))) continue;
      rows.push(
        Object.fromEntries(
          fields.map((field) => {
            const childMatch = /^`tab[^`]+`\.`?(\w+)`?(?: as (\w+))?$/.exec(field);
            // A parent without children comes once with null child fields (Frappe's left join).
            if (childMatch) return [childMatch[2] ?? childMatch[1], child ? child[childMatch[1]] : null];
            return [field, doc[field]];
          }),
        ),
      );
    }
  }
  const orderBy = query.get('order_by') ?? 'modified desc';
  const [orderField, direction] = orderBy.replace(/`/g, '').split(/\s+/);
  rows.sort((a, b) => {
    const x = String(a[orderField] ?? '');
    const y = String(b[orderField] ?? '');
    const order = x < y ? -1 : x > y ? 1 : 0;
    return direction === 'asc' ? order : -order;
  });
  return { status: 200, body: { data: length === 0 ? rows.slice(start) : rows.slice(start, start + length) } };
}

/**
 * With a child-table field or filter, one row per matching child; otherwise the document once. Frappe joins
 * the child table with a left join [S frappe/model/db_query.py]: with a child field and no child filter, a
 * document without children is still listed once.
 */
function childRowsOf(
  doc: Doc,
  filters: Filter[],
  childField: string | undefined,
): Array<Record<string, unknown> | undefined> {
  const childFilters = filters.filter((filter) => filter.length === 4) as Array<[string, string, string, unknown]>;
  if (childFilters.length === 0 && childField === undefined) return [undefined];
  const table = doc.doctype === 'Journal Entry' ? 'accounts' : doc.doctype === 'Fiscal Year' ? 'companies' : 'items';
  const children = Array.isArray(doc[table]) ? (doc[table] as Record<string, unknown>[]) : [];
  if (children.length === 0 && childFilters.length === 0) return [undefined];
  return children.filter((child) =>
    childFilters.every(([, field, operator, value]) => compare(child[field], operator, value)),
  );
}

// ---- documents ---------------------------------------------------------------------------------------

function linkExists(store: ErpnextStore, doctype: string, name: unknown, where: string): Doc {
  const doc = typeof name === 'string' ? store.table(doctype).get(name) : undefined;
  if (!doc) throw validation(`Could not find ${where}: ${String(name)}`, 'LinkValidationError');
  return doc;
}

function required(body: Record<string, unknown>, field: string, label: string): unknown {
  if (body[field] === undefined || body[field] === null || body[field] === '') {
    throw validation(`Error: Value missing for ${label}`, 'MandatoryError');
  }
  return body[field];
}

function companyOf(state: SandboxState, name: unknown): CompanyState {
  const company = typeof name === 'string' ? state.companies.get(name) : undefined;
  if (!company) throw validation(`Could not find Company: ${String(name)}`, 'LinkValidationError');
  return company;
}

/**
 * A Currency value in minor units, signed; a value that is not a number, or has more decimals than the
 * currency, is a 417 ValidationError naming `what` (never an internal failure: bad input is the client's).
 */
function signedAmount(value: unknown, currency: string, what: string): bigint {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw validation(`${what} must be a number`);
  try {
    return minorOf(money(String(value), currency, { allowNegative: true }));
  } catch {
    throw validation(`${what} ${value} has more decimals than ${currency}`);
  }
}

/**
 * A Currency value as ERPNext stores it (decimal(21,9), not rounded to the currency: a Budget distribution row
 * holds three decimals), in units of 10^-9.
 */
function storedUnits(value: unknown, what: string): bigint {
  const match =
    typeof value === 'number' && Number.isFinite(value) ? /^(-?)(\d+)(?:\.(\d{1,9}))?$/.exec(String(value)) : null;
  if (!match) throw validation(`${what} ${String(value)} is not a number of at most 9 decimals`);
  const units = BigInt(match[2]) * 10n ** 9n + BigInt((match[3] ?? '').padEnd(9, '0'));
  return match[1] === '-' ? -units : units;
}

/** Minor units of `currency` in units of 10^-9 (storedUnits). */
function unitsOfMinor(minor: bigint, currency: string): bigint {
  return minor * 10n ** BigInt(9 - exponentOf(currency));
}

/** Units of 10^-9 as text with the currency's decimals, more only where the value has them. */
function unitsText(units: bigint, currency: string): string {
  const exponent = exponentOf(currency);
  const negative = units < 0n;
  const magnitude = negative ? -units : units;
  let fraction = String(magnitude % 10n ** 9n).padStart(9, '0');
  while (fraction.length > exponent && fraction.endsWith('0')) fraction = fraction.slice(0, -1);
  return `${negative ? '-' : ''}${magnitude / 10n ** 9n}${fraction ? `.${fraction}` : ''}`;
}

/** A Currency value that cannot be negative (see signedAmount); a negative one is a 417 naming the sign. */
function amount(value: unknown, currency: string, what: string): bigint {
  const minor = signedAmount(value, currency, what);
  if (minor < 0n) throw validation(`${what} ${String(value)} cannot be negative`);
  return minor;
}

const PO_FIELDS = [
  'doctype',
  'supplier',
  'company',
  'transaction_date',
  'schedule_date',
  'currency',
  'conversion_rate',
  'cost_center',
  'project',
  'items',
  'custom_external_ref',
  'amended_from',
  'naming_series',
  'title',
  'docstatus',
];
const PO_ITEM_FIELDS = [
  'item_code',
  'item_name',
  'description',
  'qty',
  'uom',
  'conversion_factor',
  'rate',
  'schedule_date',
  'expense_account',
  'cost_center',
  'project',
  'item_tax_template',
];
const PI_FIELDS = [
  'doctype',
  'supplier',
  'company',
  'posting_date',
  'set_posting_time',
  'due_date',
  'currency',
  'conversion_rate',
  'bill_no',
  'bill_date',
  'credit_to',
  'cost_center',
  'remarks',
  'items',
  'amended_from',
  'naming_series',
  'title',
  'docstatus',
];
const PI_ITEM_FIELDS = [
  'item_code',
  'item_name',
  'description',
  'qty',
  'uom',
  'rate',
  'expense_account',
  'cost_center',
  'project',
  'item_tax_template',
];
const JE_FIELDS = [
  'doctype',
  'voucher_type',
  'company',
  'posting_date',
  'cheque_no',
  'cheque_date',
  'user_remark',
  'accounts',
  'docstatus',
  'title',
];
const JE_ACCOUNT_FIELDS = [
  'account',
  'party_type',
  'party',
  'debit_in_account_currency',
  'credit_in_account_currency',
  'cost_center',
  'project',
  'user_remark',
];

function checkFields(body: Record<string, unknown>, allowed: readonly string[], doctype: string): void {
  for (const field of Object.keys(body)) {
    // Frappe ignores unknown keys silently; the simulator refuses them so a dialect cannot rely on a field ERPNext lacks.
    if (!allowed.includes(field))
      throw validation(`${doctype} has no field ${field} (see lib/sandbox/erpnext/API.md)`, 'FieldNotFound');
  }
}

/** `saving`: the name of the document a save validates again (it does not clash with itself). */
function insert(
  store: ErpnextStore,
  state: SandboxState,
  doctype: string,
  body: Record<string, unknown>,
  saving?: string,
): Doc {
  if (doctype === 'Purchase Order') return insertPurchaseOrder(store, state, body);
  if (doctype === 'Journal Entry') return insertJournalEntry(store, state, body);
  if (doctype === 'Purchase Invoice') return insertPurchaseInvoice(store, state, body, saving);
  throw new FrappeError(403, 'PermissionError', `No permission to create ${doctype} through the simulator`);
}

/** An order or invoice item's account (of the company), dimensions, quantity and amount, checked as ERPNext does. */
function itemCharge(
  store: ErpnextStore,
  company: CompanyState,
  item: Record<string, unknown>,
  index: number,
  currency: string,
  accountLabel: string,
): { account: Doc; qty: number; rate: ReturnType<typeof money>; lineAmount: bigint } {
  const account = linkExists(
    store,
    'Account',
    required(item, 'expense_account', `Row #${index + 1}: ${accountLabel}`),
    'Account',
  );
  if (account.company !== company.company.id)
    throw validation(`Row #${index + 1}: Account ${account.name} does not belong to company ${company.company.id}`);
  if (item.cost_center) linkExists(store, 'Cost Center', item.cost_center, 'Cost Center');
  if (item.project) linkExists(store, 'Project', item.project, 'Project');
  if (item.item_tax_template) linkExists(store, 'Item Tax Template', item.item_tax_template, 'Item Tax Template');
  const qty = item.qty;
  if (typeof qty !== 'number' || qty <= 0) throw validation(`Row #${index + 1}: Quantity must be greater than 0`);
  const rateMinor = signedAmount(item.rate ?? 0, currency, `Row #${index + 1}: Rate`);
  if (rateMinor < 0n) {
    // ERPNext: an invoice item's rate must be positive outside a return, unless Buying Settings allows
    // negative rates (off here) [S erpnext controllers/status_updater.py, frappe/erpnext#54254]; an order's [U].
    throw validation(
      accountLabel === 'Expense Head'
        ? `For item ${String(item.item_code ?? item.item_name)}, rate must be a positive number. To Allow negative rates, enable \`Allow Negative rates for Items\` in Buying Settings`
        : `Row #${index + 1}: Rate ${String(item.rate)} cannot be negative`,
    );
  }
  const rate = fromMinorUnits(rateMinor, currency);
  return { account, qty, rate, lineAmount: frappeAmount(store, rateMinor, qty, currency, `Row #${index + 1}`) };
}

/**
 * An item's amount as ERPNext computes it, `flt(rate * qty, precision)`, in minor units, by System Settings
 * "Rounding Method" [S frappe/utils/data.py flt, rounded]: "Banker's Rounding (legacy)" (the default) rounds a
 * half to even only at precision 0 (a currency without decimals, JPY) and up otherwise
 * (_bankers_rounding_legacy); "Banker's Rounding" rounds a half to even; "Commercial Rounding" away from zero.
 * The product is taken exactly, so a half is a half (Frappe's rounding to 8 places or its epsilon do the same).
 */
function frappeAmount(store: ErpnextStore, rateMinor: bigint, qty: number, currency: string, where: string): bigint {
  const match = /^(\d{1,12})(?:\.(\d{1,9}))?$/.exec(String(qty));
  if (!match) throw validation(`${where}: Quantity ${qty} is not a quantity the simulator can multiply`);
  const divisor = 10n ** BigInt((match[2] ?? '').length);
  const product = rateMinor * BigInt(match[1] + (match[2] ?? ''));
  const magnitude = product < 0n ? -product : product;
  let rounded = magnitude / divisor;
  const twiceRest = (magnitude % divisor) * 2n;
  const method = store.roundingMethod;
  const toEven =
    method === "Banker's Rounding" || (method === "Banker's Rounding (legacy)" && exponentOf(currency) === 0);
  if (twiceRest > divisor || (twiceRest === divisor && (!toEven || rounded % 2n === 1n))) rounded += 1n;
  return product < 0n ? -rounded : rounded;
}

function insertPurchaseOrder(store: ErpnextStore, state: SandboxState, body: Record<string, unknown>): Doc {
  checkFields(body, PO_FIELDS, 'Purchase Order');
  const company = companyOf(state, required(body, 'company', 'Company'));
  const supplier = linkExists(store, 'Supplier', required(body, 'supplier', 'Supplier'), 'Supplier');
  if (supplier.on_hold)
    throw validation(
      `Purchase Orders are not allowed for ${supplier.name} as it is on hold (${String(supplier.hold_type)})`,
    );
  const transactionDate = String(required(body, 'transaction_date', 'Date'));
  const currency = String(required(body, 'currency', 'Currency'));
  const items = body.items;
  if (!Array.isArray(items) || items.length === 0)
    throw validation('Error: Value missing for Purchase Order: Items', 'MandatoryError');
  let total = 0n;
  const conversionRate = typeof body.conversion_rate === 'number' ? body.conversion_rate : 1;
  const baseAmount = (lineAmount: bigint) =>
    baseAmountOf(lineAmount, currency, conversionRate, company.company.currency);
  const rows = items.map((raw, index) => {
    const item = objectBody(raw);
    checkFields(item, PO_ITEM_FIELDS, 'Purchase Order Item');
    required(item, 'item_code', `Row #${index + 1}: Item Code`);
    required(item, 'item_name', `Row #${index + 1}: Item Name`);
    required(item, 'uom', `Row #${index + 1}: UOM`);
    const { account, qty, rate, lineAmount } = itemCharge(store, company, item, index, currency, 'Expense Account');
    total += lineAmount;
    return {
      name: `${store.nextName('poi-', 10)}`,
      doctype: 'Purchase Order Item',
      parentfield: 'items',
      parenttype: 'Purchase Order',
      idx: index + 1,
      item_code: item.item_code,
      item_name: item.item_name,
      description: item.description ?? item.item_name,
      qty,
      uom: item.uom,
      stock_uom: item.uom,
      conversion_factor: item.conversion_factor ?? 1,
      rate: Number(rate.amount),
      amount: Number(fromMinorUnits(lineAmount, currency).amount),
      base_amount: baseAmount(lineAmount),
      schedule_date: item.schedule_date ?? body.schedule_date ?? transactionDate,
      expense_account: account.name,
      cost_center: item.cost_center ?? '',
      project: item.project ?? '',
      item_tax_template: item.item_tax_template ?? '',
      received_qty: 0,
      billed_amt: 0,
    };
  });
  let name: string;
  if (typeof body.amended_from === 'string' && body.amended_from !== '') {
    const original = linkExists(store, 'Purchase Order', body.amended_from, 'Purchase Order');
    // Frappe refuses to amend a document that is not cancelled [S frappe/model/document.py validate_amended_from,
    // frappe/frappe#28617]: an order cannot be amended (and so checked) while it is still submitted.
    if (original.docstatus !== 2)
      throw validation(
        `Purchase Order ${original.name} cannot be amended because it is not cancelled. Please cancel the document before creating an amendment.`,
      );
    // PUR-ORD-2026-00001 is amended as PUR-ORD-2026-00001-1, that one as PUR-ORD-2026-00001-2 [D Frappe amendments].
    const root = original.amended_from ? String(original.name).replace(/-\d+$/, '') : String(original.name);
    let counter = 1;
    do {
      name = `${root}-${counter}`;
      counter += 1;
    } while (store.table('Purchase Order').has(name));
  } else {
    name = store.nextName(`PUR-ORD-${transactionDate.slice(0, 4)}-`, 5);
  }
  const modified = timestamp(store);
  const totalNumber = Number(fromMinorUnits(total, currency).amount);
  return store.put({
    doctype: 'Purchase Order',
    name,
    owner: 'api-user@example.com',
    creation: modified,
    modified,
    docstatus: 0,
    naming_series: 'PUR-ORD-.YYYY.-',
    title: supplier.supplier_name,
    supplier: supplier.name,
    supplier_name: supplier.supplier_name,
    company: company.company.id,
    transaction_date: transactionDate,
    schedule_date: body.schedule_date ?? transactionDate,
    currency,
    conversion_rate: body.conversion_rate ?? 1,
    cost_center: body.cost_center ?? '',
    project: body.project ?? '',
    custom_external_ref: body.custom_external_ref ?? '',
    amended_from: body.amended_from ?? '',
    items: rows,
    total: totalNumber,
    net_total: totalNumber,
    grand_total: totalNumber,
    base_grand_total: totalNumber,
    status: 'Draft',
    per_received: 0,
    per_billed: 0,
  });
}

function insertJournalEntry(store: ErpnextStore, state: SandboxState, body: Record<string, unknown>): Doc {
  checkFields(body, JE_FIELDS, 'Journal Entry');
  const company = companyOf(state, required(body, 'company', 'Company'));
  const postingDate = String(required(body, 'posting_date', 'Posting Date'));
  if (body.cheque_no && !body.cheque_date) throw validation('Reference Date is mandatory if you entered Reference No');
  const currency = company.company.currency;
  const accounts = body.accounts;
  if (!Array.isArray(accounts) || accounts.length < 2)
    throw validation('Journal Entry needs at least two accounting entries', 'MandatoryError');
  let debit = 0n;
  let credit = 0n;
  const rows = accounts.map((raw, index) => {
    const row = objectBody(raw);
    checkFields(row, JE_ACCOUNT_FIELDS, 'Journal Entry Account');
    const account = linkExists(store, 'Account', required(row, 'account', `Row ${index + 1}: Account`), 'Account');
    if (account.disabled) throw validation(`Row ${index + 1}: Account ${account.name} is disabled`);
    if (row.cost_center) linkExists(store, 'Cost Center', row.cost_center, 'Cost Center');
    if (row.project) linkExists(store, 'Project', row.project, 'Project');
    // Frappe takes a missing Currency as 0 [U]. ERPNext itself takes a negative Debit or Credit and books it
    // on the other side when it writes the GL [S general_ledger.py toggle_debit_credit_if_negative]; the
    // simulator refuses it, naming the sign, so a dialect sends each amount on its own side.
    const side = (value: unknown, label: string): bigint => {
      if (value === undefined || value === null) return 0n;
      const minor = signedAmount(value, currency, `Row ${index + 1}: ${label}`);
      if (minor < 0n)
        throw validation(
          `Row ${index + 1}: ${label} ${String(value)} is negative; the simulator takes no negative ${label} in a Journal Entry Account row: send it as a ${label === 'Debit' ? 'Credit' : 'Debit'} of ${fromMinorUnits(-minor, currency).amount}`,
        );
      return minor;
    };
    const d = side(row.debit_in_account_currency, 'Debit');
    const c = side(row.credit_in_account_currency, 'Credit');
    // [S journal_entry.py validate_debit_credit_amount, set_total_debit_credit]
    if (d === 0n && c === 0n) throw validation(`Row ${index + 1}: Both Debit and Credit values cannot be zero`);
    if (d !== 0n && c !== 0n) throw validation('You cannot credit and debit same account at the same time');
    debit += d;
    credit += c;
    return {
      name: store.nextName('jea-', 10),
      doctype: 'Journal Entry Account',
      parentfield: 'accounts',
      parenttype: 'Journal Entry',
      idx: index + 1,
      account: account.name,
      account_type: account.account_type ?? '',
      party_type: row.party_type ?? '',
      party: row.party ?? '',
      cost_center: row.cost_center ?? '',
      project: row.project ?? '',
      debit_in_account_currency: Number(fromMinorUnits(d, currency).amount),
      credit_in_account_currency: Number(fromMinorUnits(c, currency).amount),
      debit: Number(fromMinorUnits(d, currency).amount),
      credit: Number(fromMinorUnits(c, currency).amount),
      user_remark: row.user_remark ?? '',
    };
  });
  if (debit !== credit) {
    throw validation(
      `Total Debit must be equal to Total Credit. The difference is ${fromMinorUnits(debit - credit, currency).amount}`,
    );
  }
  validateParties(store, rows);
  const modified = timestamp(store);
  return store.put({
    doctype: 'Journal Entry',
    name: store.nextName(`ACC-JV-${postingDate.slice(0, 4)}-`, 5),
    owner: 'api-user@example.com',
    creation: modified,
    modified,
    docstatus: 0,
    voucher_type: body.voucher_type ?? 'Journal Entry',
    company: company.company.id,
    posting_date: postingDate,
    cheque_no: body.cheque_no ?? '',
    cheque_date: body.cheque_date ?? '',
    user_remark: body.user_remark ?? '',
    accounts: rows,
    total_debit: Number(fromMinorUnits(debit, currency).amount),
    total_credit: Number(fromMinorUnits(credit, currency).amount),
  });
}

const PARTY_TYPES = ['Employee', 'Supplier', 'Customer', 'Shareholder'];

/**
 * ERPNext's journal_entry.py validate_party [S]: a row on a Receivable or Payable account needs Party Type and
 * Party ("Row {0}: Party Type and Party is required for Receivable / Payable account {1}"); later versions
 * refuse a party on any other account. The party must exist (a Dynamic Link). Checked after the amounts here.
 */
function validateParties(store: ErpnextStore, rows: Array<Record<string, unknown>>): void {
  for (const row of rows) {
    const partyType = String(row.party_type ?? '');
    const party = String(row.party ?? '');
    if (row.account_type === 'Receivable' || row.account_type === 'Payable') {
      if (!partyType || !party)
        throw validation(
          `Row ${String(row.idx)}: Party Type and Party is required for Receivable / Payable account ${String(row.account)}`,
        );
    } else if (partyType && party) {
      throw validation(
        `Row ${String(row.idx)}: Party Type and Party is only applicable against Receivable / Payable account`,
      );
    }
    if (!partyType && !party) continue;
    if (!PARTY_TYPES.includes(partyType))
      throw validation(`Could not find Party Type: ${partyType}`, 'LinkValidationError');
    linkExists(store, partyType, party, partyType);
  }
}

/**
 * A Purchase Invoice as ERPNext validates it [S purchase_invoice.json; D/U validations]: supplier not on hold
 * or disabled, posting date reset to today unless `set_posting_time`, Supplier Invoice Date not after the
 * posting date, Supplier Invoice No unique per supplier (Accounts Settings "Check Supplier Invoice Number
 * Uniqueness", on here), `credit_to` a Payable account (default: the company's Creditors), the company
 * currency unless an exchange rate is given.
 */
function insertPurchaseInvoice(
  store: ErpnextStore,
  state: SandboxState,
  body: Record<string, unknown>,
  saving?: string,
): Doc {
  checkFields(body, PI_FIELDS, 'Purchase Invoice');
  const company = companyOf(state, required(body, 'company', 'Company'));
  const supplier = linkExists(store, 'Supplier', required(body, 'supplier', 'Supplier'), 'Supplier');
  if (supplier.disabled) throw validation(`Supplier ${supplier.name} is disabled`);
  if (supplier.on_hold && (supplier.hold_type === 'All' || supplier.hold_type === 'Invoices'))
    throw validation(`Purchase Invoices are not allowed for ${supplier.name} as it is on hold`);
  const today = new Date().toISOString().slice(0, 10);
  const postingDate = body.set_posting_time ? String(required(body, 'posting_date', 'Date')) : today;
  const billDate = typeof body.bill_date === 'string' && body.bill_date !== '' ? body.bill_date : '';
  if (billDate && billDate > postingDate) throw validation('Supplier Invoice Date cannot be greater than Posting Date');
  const dueDate = typeof body.due_date === 'string' && body.due_date !== '' ? body.due_date : postingDate;
  if (dueDate < postingDate) throw validation('Due Date cannot be before Posting Date');
  if (typeof body.bill_no === 'string' && body.bill_no !== '') {
    if (body.bill_no.length > 140) throw validation('Value too long for Supplier Invoice No (140 characters at most)');
    const clash = [...store.table('Purchase Invoice').values()].find(
      (pi) => pi.docstatus !== 2 && pi.name !== saving && pi.supplier === supplier.name && pi.bill_no === body.bill_no,
    );
    if (clash) throw validation(`Supplier Invoice No exists in Purchase Invoice ${clash.name}`);
  }
  const currency = String(body.currency ?? company.company.currency);
  if (currency !== company.company.currency && body.conversion_rate === undefined)
    throw validation(`Exchange rate for ${currency} to ${company.company.currency} not found`);
  const creditTo =
    body.credit_to === undefined
      ? store.table('Account').get(String(store.table('Company').get(company.company.id)?.default_payable_account))
      : linkExists(store, 'Account', body.credit_to, 'Account');
  if (!creditTo || creditTo.account_type !== 'Payable')
    throw validation(`Credit To account ${String(creditTo?.name ?? body.credit_to)} must be a Payable account`);
  const items = body.items;
  if (!Array.isArray(items) || items.length === 0)
    throw validation('Error: Value missing for Purchase Invoice: Items', 'MandatoryError');
  let total = 0n;
  const rows = items.map((raw, index) => {
    const item = objectBody(raw);
    checkFields(item, PI_ITEM_FIELDS, 'Purchase Invoice Item');
    required(item, 'item_name', `Row #${index + 1}: Item Name`);
    required(item, 'uom', `Row #${index + 1}: UOM`);
    required(item, 'rate', `Row #${index + 1}: Rate`);
    const { account, qty, rate, lineAmount } = itemCharge(store, company, item, index, currency, 'Expense Head');
    total += lineAmount;
    return {
      name: store.nextName('pii-', 10),
      doctype: 'Purchase Invoice Item',
      parentfield: 'items',
      parenttype: 'Purchase Invoice',
      idx: index + 1,
      item_code: item.item_code ?? '',
      item_name: item.item_name,
      description: item.description ?? item.item_name,
      qty,
      uom: item.uom,
      stock_uom: item.uom,
      conversion_factor: 1,
      rate: Number(rate.amount),
      amount: Number(fromMinorUnits(lineAmount, currency).amount),
      expense_account: account.name,
      cost_center: item.cost_center ?? '',
      project: item.project ?? '',
      item_tax_template: item.item_tax_template ?? '',
    };
  });
  const modified = timestamp(store);
  const totalNumber = Number(fromMinorUnits(total, currency).amount);
  return store.put({
    doctype: 'Purchase Invoice',
    name: store.nextName(`ACC-PINV-${postingDate.slice(0, 4)}-`, 5),
    owner: 'api-user@example.com',
    creation: modified,
    modified,
    docstatus: 0,
    naming_series: 'ACC-PINV-.YYYY.-',
    title: supplier.supplier_name,
    supplier: supplier.name,
    supplier_name: supplier.supplier_name,
    company: company.company.id,
    posting_date: postingDate,
    set_posting_time: body.set_posting_time ? 1 : 0,
    due_date: dueDate,
    currency,
    conversion_rate: body.conversion_rate ?? 1,
    bill_no: body.bill_no ?? '',
    bill_date: billDate,
    credit_to: creditTo.name,
    cost_center: body.cost_center ?? '',
    remarks: body.remarks ?? '',
    amended_from: body.amended_from ?? '',
    items: rows,
    total: totalNumber,
    net_total: totalNumber,
    grand_total: totalNumber,
    base_grand_total: totalNumber,
    outstanding_amount: totalNumber,
    status: 'Draft',
  });
}

function update(store: ErpnextStore, state: SandboxState, doc: Doc, body: Record<string, unknown>): SandboxResponse {
  if (body.modified !== undefined && body.modified !== doc.modified) {
    throw validation(
      `Error: Document has been modified after you have opened it (${String(body.modified)}, ${String(doc.modified)}). Please refresh to get the latest document.`,
      'TimestampMismatchError',
    );
  }
  // After the version check, as Frappe's check_if_latest -> check_docstatus_transition: a cancelled document
  // takes no save, submit or second cancel [S frappe/model/document.py].
  if (doc.docstatus === 2) throw validation('Cannot edit cancelled document');
  const { modified: _ignored, docstatus, ...changes } = body;
  void _ignored;
  const messages: string[] = [];
  if (Object.keys(changes).length > 0) {
    if (doc.docstatus !== 0) {
      throw validation(`Not allowed to change ${Object.keys(changes)[0]} after submission`, 'UpdateAfterSubmitError');
    }
    const rebuilt = insert(store, state, doc.doctype, { ...pickWritable(doc), ...changes }, doc.name);
    store.table(doc.doctype).delete(rebuilt.name);
    Object.assign(doc, { ...rebuilt, name: doc.name, creation: doc.creation });
  }
  if (docstatus !== undefined && docstatus !== doc.docstatus) {
    if (docstatus === 1 && doc.docstatus === 0) messages.push(...submit(store, state, doc));
    else if (docstatus === 2 && doc.docstatus === 1) cancel(store, doc);
    else
      throw validation(
        `Cannot change docstatus from ${String(doc.docstatus)} to ${String(docstatus)}`,
        'DocstatusTransitionError',
      );
  }
  doc.modified = timestamp(store);
  const body2: Record<string, unknown> = { data: doc };
  if (messages.length > 0) {
    body2._server_messages = JSON.stringify(
      messages.map((message) => JSON.stringify({ message, title: 'Budget Exceeded', indicator: 'orange' })),
    );
  }
  return { status: 200, body: body2 };
}

const WRITABLE: Readonly<Record<string, { fields: readonly string[]; table: string; rows: readonly string[] }>> = {
  'Purchase Order': { fields: PO_FIELDS, table: 'items', rows: PO_ITEM_FIELDS },
  'Purchase Invoice': { fields: PI_FIELDS, table: 'items', rows: PI_ITEM_FIELDS },
  'Journal Entry': { fields: JE_FIELDS, table: 'accounts', rows: JE_ACCOUNT_FIELDS },
};

function pickWritable(doc: Doc): Record<string, unknown> {
  const { fields: allowed, table, rows: itemAllowed } = WRITABLE[doc.doctype];
  const picked = Object.fromEntries(
    Object.entries(doc).filter(([key]) => allowed.includes(key) && key !== 'docstatus'),
  );
  picked[table] = (doc[table] as Record<string, unknown>[]).map((row) =>
    Object.fromEntries(Object.entries(row).filter(([key]) => itemAllowed.includes(key))),
  );
  if (picked.amended_from === '') delete picked.amended_from;
  return picked;
}

function submit(store: ErpnextStore, state: SandboxState, doc: Doc): string[] {
  if (doc.doctype !== 'Purchase Order') checkPostingDate(store, doc);
  const messages = checkBudgets(store, state, doc);
  doc.docstatus = 1;
  if (doc.doctype === 'Purchase Order') doc.status = 'To Receive and Bill';
  else if (doc.doctype === 'Purchase Invoice') {
    doc.status = 'Unpaid';
    postInvoiceGl(store, doc);
  } else postGl(store, doc);
  return messages;
}

/**
 * What ERPNext checks of a ledger document's posting date when it writes its GL entries, when the test hooks
 * turn it on: a Fiscal Year that holds it (FiscalYearError "Date {date} is not in any active Fiscal Year for
 * {company}" [S erpnext accounts/utils.py get_fiscal_years]), and a date after Accounts Settings' frozen-till
 * date (general_ledger.py check_freezing_date [S]). Dates are shown as Frappe's default format, dd-mm-yyyy.
 */
function checkPostingDate(store: ErpnextStore, doc: Doc): void {
  const date = String(doc.posting_date);
  if (store.fiscalYearCheck && !fiscalYearOf(store, String(doc.company), date))
    throw validation(
      `Date ${frappeDate(date)} is not in any active Fiscal Year for <strong>${String(doc.company)}</strong>`,
      'FiscalYearError',
    );
  const frozen = store.accountsFrozenTill;
  if (frozen !== undefined && date <= frozen)
    throw validation(`You are not authorized to add or update entries before ${frappeDate(frozen)}`);
}

function frappeDate(date: string): string {
  return date.split('-').reverse().join('-');
}

/**
 * The Budgets `doc` charges, checked as on submit [S erpnext budget.py validate_expense_against_budget,
 * validate_budget_records, compare_expense_with_budget]: per account and cost center, and per account and project
 * (a Budget names one account, for a project too), the Budget whose range holds the date; one of amount 0 is
 * skipped. Two comparisons, each with its action: annual (budget_amount against the GL entries of the whole
 * range) and accumulated monthly (distribution rows starting by the date against the GL entries to the end of
 * its month). An order adds the unbilled amount of the other submitted orders of the whole range, with the
 * actions "on PO", when the Budget applies to orders; a Journal Entry or Purchase Invoice compares actuals only.
 * Stop throws BudgetError, Warn answers its message. `exclude` is an order not to count among the submitted ones
 * (the order whose items update_child_qty_rate changes: its new amounts are `doc`'s).
 */
function checkBudgets(store: ErpnextStore, state: SandboxState, doc: Doc, exclude?: string): string[] {
  const company = companyOf(state, doc.company);
  const currency = company.company.currency;
  const charges = new Map<string, bigint>();
  const date = String(doc.doctype === 'Purchase Order' ? doc.transaction_date : doc.posting_date);
  const isJournal = doc.doctype === 'Journal Entry';
  const isPo = doc.doctype === 'Purchase Order';
  const rows = (isJournal ? doc.accounts : doc.items) as Record<string, unknown>[];
  for (const row of rows) {
    const account = String(isJournal ? row.account : row.expense_account);
    // A journal's credit on an expense (a refund) lessens its debit on the same head, as ERPNext merges the
    // GL entries of one account and dimension before the budget check [U].
    const value = isJournal
      ? amount(row.debit, currency, 'Debit') - amount(row.credit, currency, 'Credit')
      : amount(row.amount, currency, 'Amount');
    if (value === 0n) continue;
    for (const key of [
      `Cost Center|${String(row.cost_center)}|${account}`,
      `Project|${String(row.project)}|${account}`,
    ]) {
      charges.set(key, (charges.get(key) ?? 0n) + value);
    }
  }
  const messages: string[] = [];
  for (const [key, value] of charges) {
    const [against, dimension, account] = key.split('|');
    if (!dimension || value <= 0n) continue;
    // ERPNext: the Budgets of the account whose budget_start_date..budget_end_date (its fiscal years) holds the
    // date [S budget.py: AND b.account = %s], for a cost center its own and those of the groups above it
    // (cost-centers.ts); each is checked.
    const budgets = [...store.table('Budget').values()].filter((b) => {
      const range = budgetRange(store, b);
      return (
        b.docstatus === 1 &&
        b.company === company.company.id &&
        b.budget_against === against &&
        b.account === account &&
        (against === 'Cost Center' ? isAncestorOrSelf(store, b.cost_center, dimension) : b.project === dimension) &&
        range !== undefined &&
        range.start <= date &&
        date <= range.end
      );
    });
    for (const budget of budgets) {
      // `if flt(budget.budget_amount)`: a Budget of 0 is not checked.
      if (storedUnits(budget.budget_amount ?? 0, 'Budget Amount') === 0n) continue;
      messages.push(
        ...checkBudget(store, budget, { against, dimension, account }, { date, value, isPo, currency, exclude }),
      );
    }
  }
  return messages;
}

/**
 * One Budget's comparisons for a charge of `value` on `dimension` (the charged cost center or project): actuals
 * are the charged cost center's and those below it, orders the charged cost center's (get_actual_expense with the
 * document's cost center, get_ordered_amount); limits compared exactly as stored (storedUnits).
 */
function checkBudget(
  store: ErpnextStore,
  budget: Doc,
  charge: { against: string; dimension: string; account: string },
  check: { date: string; value: bigint; isPo: boolean; currency: string; exclude?: string },
): string[] {
  const { against, dimension, account } = charge;
  const { date, value, isPo, currency, exclude } = check;
  const range = budgetRange(store, budget)!;
  const onOrders = isPo && Boolean(budget.applicable_on_purchase_order);
  const orders = onOrders ? ordered(store, budget, dimension, range, currency, exclude) : 0n;
  const comparisons = [
    {
      label: 'Annual',
      action: String(
        onOrders ? budget.action_if_annual_budget_exceeded_on_po : budget.action_if_annual_budget_exceeded,
      ),
      limit: storedUnits(budget.budget_amount, 'Budget Amount'),
      actual: actualExpense(store, budget, dimension, range.start, range.end, currency),
    },
    {
      label: 'Accumulated Monthly',
      action: String(
        onOrders
          ? budget.action_if_accumulated_monthly_budget_exceeded_on_po
          : budget.action_if_accumulated_monthly_budget_exceeded,
      ),
      // get_accumulated_monthly_budget: the distribution rows that start on or before the date, as stored.
      limit: (budget.budget_distribution as Array<{ start_date: string; amount: number }>)
        .filter((row) => row.start_date <= date)
        .reduce((sum, row) => sum + storedUnits(row.amount, 'Budget Distribution Amount'), 0n),
      actual: actualExpense(store, budget, dimension, range.start, lastDay(date.slice(0, 7)), currency),
    },
  ];
  const messages: string[] = [];
  const budgetAgainst = String(against === 'Cost Center' ? budget.cost_center : budget.project);
  for (const { label, action, limit, actual } of comparisons) {
    if (action !== 'Stop' && action !== 'Warn') continue;
    const spent = unitsOfMinor(actual, currency);
    const total = unitsOfMinor(actual + orders + value, currency);
    if (total <= limit) continue;
    const money = (units: bigint) => unitsText(units, currency);
    const message =
      spent > limit
        ? `${label} Budget for Account ${account} against ${against} ${budgetAgainst} is ${money(limit)}. It is already exceeded by ${money(spent - limit)}.`
        : `${label} Budget for Account ${account} against ${against} ${budgetAgainst} is ${money(limit)}. It will be exceeded by ${money(total - limit)}.`;
    if (action === 'Stop') throw new FrappeError(417, 'BudgetError', message, 'Budget Exceeded');
    messages.push(message);
  }
  return messages;
}

/** Whether a GL entry or order item is on the Budget's account and the charged cost center or project. */
function chargeMatches(
  store: ErpnextStore,
  budget: Doc,
  dimension: string,
  row: Record<string, unknown>,
  account: unknown,
  withBelow: boolean,
): boolean {
  if (account !== budget.account) return false;
  if (budget.budget_against !== 'Cost Center') return row.project === dimension;
  return withBelow ? isAncestorOrSelf(store, dimension, row.cost_center) : row.cost_center === dimension;
}

/**
 * GL entries (debit less credit) on the budget's account and the charged dimension (a cost center with those
 * below it) from `from` to `to` [S get_actual_expense].
 */
function actualExpense(
  store: ErpnextStore,
  budget: Doc,
  dimension: string,
  from: string,
  to: string,
  currency: string,
): bigint {
  let total = 0n;
  for (const gl of store.table('GL Entry').values()) {
    if (gl.is_cancelled || String(gl.posting_date) < from || String(gl.posting_date) > to) continue;
    if (chargeMatches(store, budget, dimension, gl, gl.account, true))
      total += amount(gl.debit, currency, 'Debit') - amount(gl.credit, currency, 'Credit');
  }
  return total;
}

/**
 * Submitted orders dated within the Budget's whole range, not Closed, on its account and the charged cost center
 * (itself only) or project: what they do not have billed yet [S get_ordered_amount, get_other_condition].
 */
function ordered(
  store: ErpnextStore,
  budget: Doc,
  dimension: string,
  range: { start: string; end: string },
  currency: string,
  exclude?: string,
): bigint {
  let total = 0n;
  for (const po of store.table('Purchase Order').values()) {
    const day = String(po.transaction_date);
    if (po.docstatus !== 1 || po.status === 'Closed' || po.name === exclude || day < range.start || day > range.end)
      continue;
    for (const item of po.items as Record<string, unknown>[])
      if (chargeMatches(store, budget, dimension, item, item.expense_account, false)) {
        const unbilled = amount(item.amount, currency, 'Amount') - amount(item.billed_amt ?? 0, currency, 'Billed');
        if (unbilled > 0n) total += unbilled;
      }
  }
  return total;
}

function postGl(store: ErpnextStore, doc: Doc): void {
  for (const row of doc.accounts as Record<string, unknown>[]) {
    store.put({
      doctype: 'GL Entry',
      name: store.nextName('ACC-GLE-', 10),
      docstatus: 1,
      company: doc.company,
      posting_date: doc.posting_date,
      account: row.account,
      cost_center: row.cost_center ?? '',
      project: row.project ?? '',
      ...(row.party ? { party_type: row.party_type, party: row.party } : {}),
      debit: row.debit,
      credit: row.credit,
      voucher_type: 'Journal Entry',
      voucher_no: doc.name,
      is_cancelled: 0,
      modified: doc.modified,
    });
  }
}

/** Expense heads debited per item, the payable (credit_to) credited with the total, against the supplier. */
function postInvoiceGl(store: ErpnextStore, doc: Doc): void {
  const entry = (row: Record<string, unknown>) =>
    store.put({
      doctype: 'GL Entry',
      name: store.nextName('ACC-GLE-', 10),
      docstatus: 1,
      company: doc.company,
      posting_date: doc.posting_date,
      cost_center: '',
      project: '',
      debit: 0,
      credit: 0,
      voucher_type: 'Purchase Invoice',
      voucher_no: doc.name,
      is_cancelled: 0,
      modified: doc.modified,
      ...row,
    });
  for (const item of doc.items as Record<string, unknown>[])
    entry({ account: item.expense_account, cost_center: item.cost_center, project: item.project, debit: item.amount });
  entry({ account: doc.credit_to, party_type: 'Supplier', party: doc.supplier, credit: doc.grand_total });
}

function cancel(store: ErpnextStore, doc: Doc): void {
  // Frappe's check_no_back_links_exist on cancel: a submitted receipt or invoice whose items name this order
  // (purchase_order) blocks it [S frappe/model/delete_doc.py check_if_doc_is_linked, LinkExistsError].
  if (doc.doctype === 'Purchase Order') {
    const link = linkedTransaction(store, doc.name);
    if (link) {
      throw validation(
        `Cannot delete or cancel because Purchase Order ${doc.name} is linked with ${link.doctype} ${link.name}`,
        'LinkExistsError',
      );
    }
  }
  doc.docstatus = 2;
  if (doc.doctype === 'Purchase Order' || doc.doctype === 'Purchase Invoice') doc.status = 'Cancelled';
  for (const gl of store.table('GL Entry').values()) if (gl.voucher_no === doc.name) gl.is_cancelled = 1;
}

/** "Amount (Company Currency)" of an item: ERPNext rounds amount x conversion_rate to the company's currency. */
function baseAmountOf(lineAmount: bigint, currency: string, conversionRate: number, companyCurrency: string): number {
  return Number(
    (Number(fromMinorUnits(lineAmount, currency).amount) * conversionRate).toFixed(exponentOf(companyCurrency)),
  );
}

// ---- receipts and bills (test hooks), order status ----------------------------------------------------

/** A submitted receipt or invoice whose items name order `name` (purchase_order), if any. */
function linkedTransaction(store: ErpnextStore, name: string): Doc | undefined {
  for (const doctype of ['Purchase Receipt', 'Purchase Invoice']) {
    for (const doc of store.table(doctype).values()) {
      const items = Array.isArray(doc.items) ? (doc.items as Record<string, unknown>[]) : [];
      if (doc.docstatus === 1 && items.some((item) => item.purchase_order === name)) return doc;
    }
  }
  return undefined;
}

function linkTransaction(
  store: ErpnextStore,
  name: string,
  doctype: 'Purchase Receipt' | 'Purchase Invoice',
  byIdx: Readonly<Record<number, number>>,
): Doc {
  const po = store.table('Purchase Order').get(name);
  if (!po || po.docstatus !== 1) throw new Error(`Purchase Order ${name} is not submitted`);
  const currency = String(po.currency);
  const rows = po.items as Record<string, unknown>[];
  const receipt = doctype === 'Purchase Receipt';
  const items = Object.entries(byIdx).map(([idx, value]) => {
    const row = rows.find((item) => item.idx === Number(idx));
    if (!row) throw new Error(`Purchase Order ${name} has no item ${idx}`);
    if (receipt) row.received_qty = Number(row.received_qty ?? 0) + value;
    else
      row.billed_amt = Number(
        fromMinorUnits(amount(row.billed_amt ?? 0, currency, 'Billed') + amount(value, currency, 'Billed'), currency)
          .amount,
      );
    return {
      doctype: `${doctype} Item`,
      idx: Number(idx),
      item_code: row.item_code,
      purchase_order: name,
      [receipt ? 'purchase_order_item' : 'po_detail']: row.name,
      qty: receipt ? value : row.qty,
      amount: receipt ? 0 : value,
      expense_account: row.expense_account,
      cost_center: row.cost_center,
      project: row.project,
    };
  });
  const modified = timestamp(store);
  const year = String(po.transaction_date).slice(0, 4);
  const total = items.reduce((sum, item) => sum + amount(item.amount, currency, 'Amount'), 0n);
  const doc = store.put({
    doctype,
    name: store.nextName(receipt ? `MAT-PRE-${year}-` : `ACC-PINV-${year}-`, 5),
    docstatus: 1,
    company: po.company,
    supplier: po.supplier,
    currency,
    posting_date: po.transaction_date,
    items,
    creation: modified,
    modified,
    ...(receipt
      ? { status: 'To Bill' }
      : {
          status: 'Unpaid',
          bill_no: '',
          credit_to: store.table('Company').get(String(po.company))?.default_payable_account,
          grand_total: Number(fromMinorUnits(total, currency).amount),
        }),
  });
  if (!receipt) postInvoiceGl(store, doc);
  updateOrderProgress(po);
  po.modified = timestamp(store);
  return doc;
}

/**
 * per_received (received over ordered quantity) and per_billed (billed over ordered amount), in percent, and the
 * status they give an order that is not Closed [S erpnext purchase_order.py update_receiving_percentage,
 * status_updater.py: To Receive and Bill / To Bill / To Receive / Completed].
 */
function updateOrderProgress(po: Doc): void {
  const rows = po.items as Record<string, unknown>[];
  const ordered = rows.reduce((sum, row) => sum + Number(row.qty), 0);
  const received = rows.reduce((sum, row) => sum + Math.min(Number(row.received_qty ?? 0), Number(row.qty)), 0);
  const amounts = rows.reduce((sum, row) => sum + Number(row.amount), 0);
  const billed = rows.reduce((sum, row) => sum + Math.min(Number(row.billed_amt ?? 0), Number(row.amount)), 0);
  po.per_received = ordered > 0 ? Number(((received / ordered) * 100).toFixed(6)) : 0;
  po.per_billed = amounts > 0 ? Number(((billed / amounts) * 100).toFixed(6)) : 0;
  if (po.docstatus !== 1 || po.status === 'Closed') return;
  const allReceived = Number(po.per_received) >= 100;
  const allBilled = Number(po.per_billed) >= 100;
  po.status = allReceived ? (allBilled ? 'Completed' : 'To Bill') : allBilled ? 'To Receive' : 'To Receive and Bill';
}

// ---- whitelisted methods ---------------------------------------------------------------------------

const UPDATE_CHILD_QTY_RATE = 'erpnext.controllers.accounts_controller.update_child_qty_rate';

/** POST /api/method/<path>: the arguments are the JSON body's keys (Frappe's form_dict). */
function callMethod(store: ErpnextStore, request: FrappeRequest): SandboxResponse {
  const path = request.segments.join('/');
  if (path !== UPDATE_CHILD_QTY_RATE)
    throw new FrappeError(404, 'DoesNotExistError', `Failed to get method for command ${path}`);
  if (request.method !== 'POST') throw new FrappeError(405, 'MethodNotAllowed', `${request.method} not allowed`);
  const messages = updateChildQtyRate(store, request.state, objectBody(request.body));
  const body: Record<string, unknown> = {};
  if (messages.length > 0) {
    body._server_messages = JSON.stringify(
      messages.map((message) => JSON.stringify({ message, title: 'Budget Exceeded', indicator: 'orange' })),
    );
  }
  return { status: 200, body };
}

/**
 * ERPNext's "Update Items" of a submitted order [S erpnext controllers/accounts_controller.py
 * update_child_qty_rate, validate_and_delete_children, validate_child_on_delete; the ChildItemUpdater of
 * later versions]: `trans_items` (a JSON list) holds every row to keep; a row with `docname` updates that item's
 * qty, rate, uom, conversion_factor, schedule_date and description (nothing else: not its item, account, cost
 * center or project); a row without one is a new item with the Item's defaults (here: item name and
 * description from the item code, no expense account, cost center or project); an item left out is deleted.
 * Refused: deleting an item received or billed, a quantity of 0 or below the received one, an amount below
 * the billed one; the order's budget is checked again (validate_budget). All or nothing, as in one request.
 * A draft, cancelled or Closed order is refused [U].
 */
function updateChildQtyRate(store: ErpnextStore, state: SandboxState, args: Record<string, unknown>): string[] {
  if (args.parent_doctype !== 'Purchase Order')
    throw validation(`The simulator updates the items of Purchase Orders only, not ${String(args.parent_doctype)}`);
  if ((args.child_docname ?? 'items') !== 'items')
    throw validation(`Unknown child table ${String(args.child_docname)}`);
  const parent = store.table('Purchase Order').get(String(args.parent_doctype_name));
  if (!parent)
    throw new FrappeError(404, 'DoesNotExistError', `Purchase Order ${String(args.parent_doctype_name)} not found`);
  if (parent.docstatus !== 1 || parent.status === 'Closed')
    throw validation(
      `Cannot update items of Purchase Order ${parent.name}: it is ${parent.docstatus === 1 ? 'Closed' : parent.docstatus === 0 ? 'not submitted' : 'cancelled'}`,
    );
  let data: unknown;
  try {
    data = typeof args.trans_items === 'string' ? JSON.parse(args.trans_items) : args.trans_items;
  } catch {
    throw validation('trans_items is not valid JSON');
  }
  if (!Array.isArray(data)) throw validation('trans_items must be a list');
  const currency = String(parent.currency);
  const company = companyOf(state, parent.company);
  const rows = parent.items as Record<string, unknown>[];
  const kept = new Set(data.map((d) => (isObject(d) ? d.docname : undefined)).filter(Boolean));
  for (const row of rows) {
    if (kept.has(row.name)) continue;
    if (Number(row.received_qty ?? 0))
      throw validation(
        `Row #${String(row.idx)}: Cannot delete item ${String(row.item_code)} which has already been received`,
      );
    if (Number(row.billed_amt ?? 0))
      throw validation(
        `Row #${String(row.idx)}: Cannot delete item ${String(row.item_code)} which has already been billed.`,
      );
  }
  const next = rows.filter((row) => kept.has(row.name)).map((row) => ({ ...row }));
  for (const raw of data) {
    if (!isObject(raw) || !raw.item_code) continue;
    const d = raw;
    const where = `Row #${String(d.idx ?? '')}`;
    let row: Record<string, unknown>;
    if (!d.docname) {
      row = {
        name: store.nextName('poi-', 10),
        doctype: 'Purchase Order Item',
        parentfield: 'items',
        parenttype: 'Purchase Order',
        parent: parent.name,
        item_code: d.item_code,
        item_name: d.item_code,
        description: d.item_code,
        qty: 0,
        rate: 0,
        uom: d.uom || 'Nos',
        stock_uom: d.uom || 'Nos',
        conversion_factor: 1,
        schedule_date: d.schedule_date || parent.schedule_date,
        expense_account: '',
        cost_center: '',
        project: '',
        item_tax_template: '',
        received_qty: 0,
        billed_amt: 0,
      };
      next.push(row);
    } else {
      const found = next.find((item) => item.name === d.docname);
      if (!found) throw new FrappeError(404, 'DoesNotExistError', `Purchase Order Item ${String(d.docname)} not found`);
      row = found;
      const unchanged =
        Number(row.rate) === Number(d.rate) &&
        Number(row.qty) === Number(d.qty) &&
        Number(row.conversion_factor) === Number(d.conversion_factor) &&
        row.uom === d.uom &&
        row.schedule_date === d.schedule_date &&
        row.description === d.description;
      if (unchanged) continue;
    }
    const qty = d.qty;
    if (typeof qty !== 'number' || !(qty > 0))
      throw validation(`${where}:Quantity for Item ${String(d.item_code)} cannot be zero.`);
    if (qty < Number(row.received_qty ?? 0))
      throw validation(`${where}:Cannot set quantity less than received quantity.`);
    const rateMinor = signedAmount(d.rate ?? 0, currency, `${where}: Rate`);
    if (rateMinor < 0n) throw validation(`${where}: Rate ${String(d.rate)} cannot be negative`);
    const lineAmount = frappeAmount(store, rateMinor, qty, currency, where);
    if (rateMinor > 0n && amount(row.billed_amt ?? 0, currency, 'Billed') > lineAmount)
      throw validation(
        `Row #${String(row.idx)}: Cannot set Rate if the billed amount is greater than the amount for Item ${String(row.item_code)}.`,
      );
    Object.assign(row, {
      qty,
      rate: Number(fromMinorUnits(rateMinor, currency).amount),
      amount: Number(fromMinorUnits(lineAmount, currency).amount),
      base_amount: baseAmountOf(
        lineAmount,
        currency,
        typeof parent.conversion_rate === 'number' ? parent.conversion_rate : 1,
        company.company.currency,
      ),
      ...(typeof d.description === 'string' ? { description: d.description } : {}),
      ...(d.uom ? { uom: d.uom } : {}),
      ...(d.schedule_date ? { schedule_date: d.schedule_date } : {}),
    });
  }
  if (next.length === 0) throw validation('Error: Value missing for Purchase Order: Items', 'MandatoryError');
  next.forEach((row, index) => (row.idx = index + 1));
  const total = next.reduce((sum, row) => sum + amount(row.amount, currency, 'Amount'), 0n);
  const totalNumber = Number(fromMinorUnits(total, currency).amount);
  const updated = { ...parent, items: next };
  const messages = checkBudgets(store, state, updated, parent.name);
  Object.assign(parent, {
    items: next,
    total: totalNumber,
    net_total: totalNumber,
    grand_total: totalNumber,
    base_grand_total: totalNumber,
  });
  updateOrderProgress(parent);
  parent.modified = timestamp(store);
  return messages;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
