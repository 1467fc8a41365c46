/**
 * The funds check of the ERPNext dialect (checkBudget), following ERPNext's own
 * [S erpnext accounts/doctype/budget/budget.py]: the Budget doctype, GL Entries as actuals, unbilled submitted
 * orders as commitments.
 */
import { FinanceError } from '../../errors';
import { allocate, fromMinorUnits, minorOf } from '../../model/money';
import type { BudgetCheckRequest, ErpMessage } from '../../model/types';
import type { BudgetAvailability, CallContext } from '../dialect';
import { isRecord } from '../records';
import type { ErpnextContext } from './context';
import type { FrappeClient } from './frappe-client';
import { floorToMinor, storedUnits, unitsOfMinor, unitsText } from './budget-amounts';
import { costCenterFamily } from './cost-center-tree';
import { lastDay, PO, type Filter } from './shared';

/** A Budget's deciding comparison: its limit (units of 10^-9), actuals and orders (minor units), what is left. */
interface Deciding {
  limit: bigint;
  spent: bigint;
  orders: bigint;
  left: bigint;
  stop: boolean;
}

function tightestOf<T extends { left: bigint }>(comparisons: T[]): T {
  return comparisons.reduce((a, b) => (b.left < a.left ? b : a));
}

export class ErpnextBudgets {
  readonly #erp: ErpnextContext;
  readonly #api: FrappeClient;

  constructor(erp: ErpnextContext) {
    this.#erp = erp;
    this.#api = erp.api;
  }

  /**
   * The funds check as ERPNext's own (validate_expense_against_budget, validate_budget_records,
   * compare_expense_with_budget [S erpnext accounts/doctype/budget/budget.py]) would make it for the document:
   * - the submitted Budgets of the company for the dimension (and account, when the request names one) whose
   *   range (start of from_fiscal_year to end of to_fiscal_year) holds the period's end; a Budget of 0 is not
   *   checked (`if flt(budget.budget_amount)`), nor one whose actions for the document are both Ignore;
   * - two comparisons per Budget, each with its action: the annual (budget_amount against the GL entries of the
   *   whole range) and the accumulated monthly (the distribution rows starting by the period's end against the
   *   GL entries up to it). An order (a requisition or purchase order, documentType) adds the unbilled amount
   *   of submitted orders over the Budget's whole range, when the Budget applies to purchase orders, and takes
   *   the Budget's actions "on PO"; an expense report (a Journal Entry or Purchase Invoice in ERPNext) compares
   *   its actuals only, with the actions on actual expenses. A request without documentType is checked as an
   *   order;
   * - the figures are those of the tightest comparison whose action is Stop (what ERPNext refuses the document
   *   for), else of the tightest Warn one; `status` is exceeded when a Stop comparison is. A Warn comparison
   *   that the document overruns while the Stop ones fit does not make it exceeded, as ERPNext accepts the
   *   document then: its message (BUDGET_WARN, ERPNext's own wording) says by how much.
   */
  async checkBudget(request: BudgetCheckRequest, ctx: CallContext): Promise<BudgetAvailability> {
    // Budgets, GL Entries and base amounts are in the company currency; the answer is labelled with it.
    const currency = await this.#erp.requireCompanyCurrency(
      request.amount.currency,
      `The budget check for ${describe(request)} in ${request.period}`,
      ctx,
    );
    const isOrder = request.documentType !== 'ExpenseReport';
    const periodEnd = lastDay(request.period);
    // The fiscal year that holds the period's end, and the Budgets whose fiscal years span it (ERPNext's
    // budget_start_date <= date <= budget_end_date, through the Fiscal Year names).
    const { year, years } = await this.#erp.fiscalYears.yearOf(periodEnd, ctx);
    const filters: Filter[] = [
      ['company', '=', this.#erp.company],
      ['docstatus', '=', 1],
      ['from_fiscal_year', 'in', years.filter((fy) => fy.start <= periodEnd).map((fy) => fy.name)],
      ['to_fiscal_year', 'in', years.filter((fy) => fy.end >= periodEnd).map((fy) => fy.name)],
    ];
    // Budgets apply to the charged cost center and every group above it; actuals count the cost center and
    // every one below it, open orders the cost center itself (costCenterFamily) [S budget.py].
    let budgetScope: Filter[] = [];
    let actualsScope: Filter[] = [];
    let ordersScope: Filter[] = [];
    if (request.costCenter) {
      const costCenter = await this.#erp.nameOf('Cost Center', 'cost_center_number', request.costCenter, ctx);
      const family = await costCenterFamily(this.#erp, costCenter, ctx);
      budgetScope = [
        ['budget_against', '=', 'Cost Center'],
        ['cost_center', 'in', family.ancestors],
      ];
      actualsScope = [['cost_center', 'in', family.subtree]];
      ordersScope = [['cost_center', '=', costCenter]];
    } else if (request.project) {
      budgetScope = [
        ['budget_against', '=', 'Project'],
        ['project', '=', request.project],
      ];
      actualsScope = ordersScope = [['project', '=', request.project]];
    }
    filters.push(...budgetScope);
    if (request.glAccount)
      filters.push(['account', '=', await this.#erp.nameOf('Account', 'account_number', request.glAccount, ctx)]);
    const found =
      budgetScope.length === 0 ? [] : await this.#api.list('Budget', { filters, fields: ['name'], limit: 0 }, ctx);
    const requested = unitsOfMinor(minorOf(request.amount), currency);
    let stopped = false;
    const messages: ErpMessage[] = [];
    const unchecked: string[] = [];
    /** Per account, the deciding comparison of each of its Budgets (the cost center's own, its groups'). */
    const decidingByAccount = new Map<string, Deciding[]>();
    for (const row of found) {
      const doc = await this.#api.get('Budget', String(row.name), ctx);
      if (!doc) continue;
      const amount = this.#units(doc.budget_amount ?? 0, 'budget_amount');
      const onOrders = isOrder && Boolean(doc.applicable_on_purchase_order);
      const actions = {
        Annual: String(
          (onOrders ? doc.action_if_annual_budget_exceeded_on_po : doc.action_if_annual_budget_exceeded) ?? '',
        ),
        'Accumulated Monthly': String(
          (onOrders
            ? doc.action_if_accumulated_monthly_budget_exceeded_on_po
            : doc.action_if_accumulated_monthly_budget_exceeded) ?? '',
        ),
      };
      const controlled = Object.values(actions).some((action) => action === 'Stop' || action === 'Warn');
      if (amount === 0n || !controlled) {
        unchecked.push(`${String(doc.name)} (${amount === 0n ? 'its amount is 0' : 'its actions are Ignore'})`);
        continue;
      }
      const account = String(doc.account);
      // The Budget's range: from the start of its first fiscal year to the end of its last (budget.py).
      const start = years.find((fy) => fy.name === doc.from_fiscal_year)?.start ?? year.start;
      const end = years.find((fy) => fy.name === doc.to_fiscal_year)?.end ?? year.end;
      // Each Budget counts its own account only, for a project too: ERPNext keeps one Budget per account, and
      // its own check filters GL entries and orders by the Budget's account [S erpnext budget.py
      // get_actual_expense, get_ordered_amount]; without it every Budget of a project adds all of its spend.
      const byAccount: Filter = ['account', '=', account];
      const spentUntil = await this.#actualsByDate([...actualsScope, byAccount], start, end, currency, ctx);
      const orders = onOrders ? await this.#unbilledOrders([...ordersScope, byAccount], start, end, currency, ctx) : 0n;
      const distribution = Array.isArray(doc.budget_distribution) ? doc.budget_distribution.filter(isRecord) : [];
      // get_accumulated_monthly_budget: the distribution rows that start on or before the date, summed as
      // stored (three decimals for an equal distribution: budget-amounts.ts) [S].
      const monthly = distribution
        .filter((entry) => String(entry.start_date) <= periodEnd)
        .reduce((sum, entry) => sum + this.#units(entry.amount, 'budget_distribution.amount'), 0n);
      const comparisons = [
        { label: 'Annual' as const, limit: amount, spent: spentUntil(end) },
        { label: 'Accumulated Monthly' as const, limit: monthly, spent: spentUntil(periodEnd) },
      ]
        .map((comparison) => ({
          ...comparison,
          action: actions[comparison.label],
          left: comparison.limit - unitsOfMinor(comparison.spent + orders, currency),
        }))
        .filter((comparison) => comparison.action === 'Stop' || comparison.action === 'Warn');
      const against = `${doc.budget_against === 'Project' ? 'Project' : 'Cost Center'} ${String(doc.budget_against === 'Project' ? doc.project : doc.cost_center)}`;
      for (const comparison of comparisons) {
        const over = requested - comparison.left;
        const exceeded = over > 0n;
        if (exceeded && comparison.action === 'Stop') stopped = true;
        messages.push({
          code: `BUDGET_${comparison.action.toUpperCase()}`,
          severity: !exceeded ? 'info' : comparison.action === 'Stop' ? 'error' : 'warning',
          text: `Budget ${String(doc.name)}: ${comparison.label} Budget for Account ${account} against ${against} is ${unitsText(comparison.limit, currency)}. ${exceeded ? `It will be exceeded by ${unitsText(over, currency)}` : `${unitsText(comparison.left, currency)} left`}; ERPNext's action: ${comparison.action}${exceeded ? (comparison.action === 'Stop' ? ' (ERPNext refuses the document)' : ' (ERPNext accepts the document with a warning)') : ''}.`,
        });
      }
      const stops = comparisons.filter((comparison) => comparison.action === 'Stop');
      const tightest = tightestOf(stops.length > 0 ? stops : comparisons);
      const list = decidingByAccount.get(account) ?? [];
      list.push({ ...tightest, orders, stop: stops.length > 0 });
      decidingByAccount.set(account, list);
    }
    if (decidingByAccount.size === 0) {
      throw new FinanceError(
        'ERP_NOT_FOUND',
        `ERP "${this.#erp.system}" (ERPNext) has no ${unchecked.length > 0 ? 'checked ' : ''}submitted Budget for ${describe(request)} in fiscal year ${year.name}${unchecked.length > 0 ? `: ERPNext does not check Budget ${unchecked.join(', ')}` : ''}.`,
        {
          details: { vendorCode: 'NO_BUDGET', ...(unchecked.length > 0 ? { unchecked } : {}) },
        },
      );
    }
    // Per account the strictest of its Budgets decides (ERPNext checks each and refuses on any Stop one): a
    // Stop Budget before a Warn one, then the least left. Accounts add up.
    let budget = 0n;
    let actuals = 0n;
    let commitments = 0n;
    for (const candidates of decidingByAccount.values()) {
      const stops = candidates.filter((candidate) => candidate.stop);
      const deciding = tightestOf(stops.length > 0 ? stops : candidates);
      budget += floorToMinor(deciding.limit, currency);
      actuals += deciding.spent;
      commitments += deciding.orders;
    }
    const available = budget - actuals - commitments;
    return {
      budget: fromMinorUnits(budget, currency),
      actuals: fromMinorUnits(actuals, currency),
      commitments: fromMinorUnits(commitments, currency),
      available: fromMinorUnits(available, currency),
      requested: request.amount,
      period: request.period,
      status: stopped ? 'exceeded' : 'within',
      erpMessages: messages,
    };
  }

  /** A Budget figure (budget_amount, a distribution row's amount) exactly, in units of 10^-9 (budget-amounts.ts). */
  #units(value: unknown, what: string): bigint {
    const units = storedUnits(value);
    if (units === undefined) throw this.#api.unexpected(what, `${String(value)} is not a number of at most 9 decimals`);
    return units;
  }

  /**
   * The GL entries (debit less credit) of `scope` from `from` to `to`, read once: answers the sum up to a date
   * within that range, in minor units of the company currency.
   */
  async #actualsByDate(
    scope: Filter[],
    from: string,
    to: string,
    currency: string,
    ctx: CallContext,
  ): Promise<(until: string) => bigint> {
    const gl = await this.#api.list(
      'GL Entry',
      {
        filters: [
          ...scope,
          ['company', '=', this.#erp.company],
          ['is_cancelled', '=', 0],
          ['posting_date', '>=', from],
          ['posting_date', '<=', to],
        ],
        fields: ['posting_date', 'debit', 'credit'],
        limit: 0,
      },
      ctx,
    );
    const entries = gl.map((e) => ({
      date: String(e.posting_date),
      amount:
        minorOf(this.#api.money(e.debit, currency, 'debit')) - minorOf(this.#api.money(e.credit, currency, 'credit')),
    }));
    return (until) => entries.reduce((sum, e) => (e.date <= until ? sum + e.amount : sum), 0n);
  }

  /**
   * Submitted orders that are not Closed, dated within the Budget's whole range (get_other_condition: its
   * transaction_date between the start of from_fiscal_year and the end of to_fiscal_year), less what was billed,
   * as ERPNext's own budget check counts them [S budget.py get_ordered_amount]: what was billed is in the GL
   * entries, through the purchase invoice. On the item the account is the expense_account.
   */
  async #unbilledOrders(
    scope: Filter[],
    from: string,
    to: string,
    currency: string,
    ctx: CallContext,
  ): Promise<bigint> {
    const childScope: Filter[] = scope.map(
      (f) => [`${PO} Item`, f[0] === 'account' ? 'expense_account' : f[0], f[1], f[2]] as Filter,
    );
    const items = await this.#api.list(
      PO,
      {
        filters: [
          ['company', '=', this.#erp.company],
          ['docstatus', '=', 1],
          ['status', '!=', 'Closed'],
          ['transaction_date', '>=', from],
          ['transaction_date', '<=', to],
          ...childScope,
        ],
        fields: [
          'name',
          'currency',
          '`tabPurchase Order Item`.amount as amount',
          '`tabPurchase Order Item`.billed_amt as billed_amt',
          '`tabPurchase Order Item`.base_amount as base_amount',
        ],
        limit: 0,
      },
      ctx,
    );
    return items.reduce((sum, item) => sum + this.#unbilled(item, currency), 0n);
  }

  /**
   * What an order item still commits, in minor units of the company's currency: its amount less what was billed
   * (ERPNext's rule), carried into the company's currency by the item's base_amount. Both amounts are in the
   * order's currency; base_amount is split between the unbilled and the billed part in their proportion, so a
   * foreign-currency order counts at its own exchange rate. (ERPNext's own check adds the order-currency
   * amounts as they are.)
   */
  #unbilled(item: Record<string, unknown>, companyCurrency: string): bigint {
    const orderCurrency = typeof item.currency === 'string' && item.currency !== '' ? item.currency : companyCurrency;
    const amount = minorOf(this.#api.money(item.amount, orderCurrency, 'amount'));
    const billed = minorOf(this.#api.money(item.billed_amt ?? 0, orderCurrency, 'billed_amt'));
    if (amount <= 0n || billed >= amount) return 0n;
    const base = this.#api.money(item.base_amount ?? item.amount, companyCurrency, 'base_amount');
    return minorOf(allocate(base, [amount - billed, billed])[0]);
  }
}

function describe(request: BudgetCheckRequest): string {
  return (
    [
      request.costCenter && `cost center ${request.costCenter}`,
      request.project && `project ${request.project}`,
      request.glAccount && `account ${request.glAccount}`,
    ]
      .filter(Boolean)
      .join(', ') || 'no dimension'
  );
}
