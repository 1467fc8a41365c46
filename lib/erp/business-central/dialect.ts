/**
 * Microsoft Dynamics 365 Business Central, API v2.0 (DESIGN section 9; README "Business Central").
 *
 * URL: {baseUrl}/v2.0/{tenant}/{environment}/api/v2.0/companies({id})/... with baseUrl
 * https://api.businesscentral.dynamics.com; authentication is the connection's OAuth2 client credentials
 * against Entra ID (the client does it). What lives where in BC, and how sure each fact is:
 * - purchase orders: `purchaseOrders` with deep insert of `purchaseOrderLines` and their `dimensionSetLines`
 *   [S metadata; D deep insert; U dimension set lines inside a deep-inserted line]; PATCH/DELETE need
 *   `If-Match: <@odata.etag>` [D]; a revision writes only the lines that differ (PATCH of a changed line with
 *   its own @odata.etag, POST of an added one, DELETE of a removed one [D]) and is refused before anything is
 *   written when the order is not Draft (API `Open` is BC's Released, `In_x0020_Review` its Pending
 *   Approval) or would undo what was received or invoiced; there is no cancel action in API v2.0, so
 *   cancelling deletes the order [D], refused once anything is received or invoiced. One canonical line
 *   becomes one BC line of type Account per account assignment; the canonical line id travels in
 *   `description2` (50) so the lines can be grouped and matched again when read back;
 * - external reference: API v2.0 has no writable reference field on purchase orders [S metadata]. With
 *   `referenceApi` set (a custom API page, see README) purchase orders go through that page, which adds
 *   `yourReference` (Purchase Header "Your Reference", Text[35]); without it the pack's ledger is the only
 *   guard against a second create;
 * - postings: an expense is a general journal with documentNumber (20) and externalDocumentNumber (35) from
 *   the reference, upper-cased as BC keeps Code fields, in a journal batch of its own (`journals` code FS + 8
 *   hex digits of the document number, created with the balancing account of the configured batch, EXPENSES by
 *   default, which must have one, and deleted once posted) because `Microsoft.NAV.post` posts every line of a
 *   batch [S metadata: journals insertable and deletable; D dynamics_journal_create; U balancingAccountId
 *   writable]. A retry inserts only the lines still missing; posted, it is found by documentNumber in
 *   `generalLedgerEntries` and must hold the posting's lines (total, and amounts per G/L account and
 *   dimensions), else it needs a person. Journal lines have no currency: BC books them in the local currency
 *   (generalLedgerSetup.localCurrencyCode), so another currency is refused. A payable is a `purchaseInvoices`
 *   document with `vendorInvoiceNumber` (35, upper case) and currencyCode, posted with `Microsoft.NAV.post`
 *   [S, D], owed to the posting's supplier or else to the vendor numbered like the employee; one found under
 *   the number must hold the posting's lines and still book them (not Canceled or Corrective);
 * - budgets: API v2.0 has no budget entity [S]; the Analytics API's `generalLedgerBudgetEntries` [D] (with
 *   `dimensionSetEntries` [U]) minus actuals from `generalLedgerEntries` minus open purchase order lines of
 *   the period, computed here, on the G/L accounts of the matching budget entries only (the balancing entry
 *   of a journal line carries the line's dimensions too). Cost centers are the DEPARTMENT dimension, projects the PROJECT dimension
 *   (option `costCenterDimension` / `projectDimension` to change them). Entries are read under the G/L budget
 *   name of option `budgetName` [D budgetName field], or, without it, must all be under one name; a cost
 *   center's budget is the entries without a project and a project's those without a cost center, unless the
 *   budget is kept only by both; a budget whose entries are all dated 1 January (BC's Year view) is compared
 *   year to date, any other month by month;
 * - master data: vendors, employees, accounts, dimension values, projects, with `@odata.nextLink` paging and
 *   `Prefer: odata.maxpagesize`; errors keep BC's `error.code` and message (the client puts them in
 *   details.vendorCode and the message).
 * - tax codes: a line's taxCode goes to journal lines, purchase invoice lines and purchase order lines as
 *   `taxCode` [S metadata], which BC validates as the VAT Prod. Posting Group (Tax Group Code without VAT),
 *   Code[20] [S APIV2 pages]; a journal amount includes VAT [D dynamics_journalline: "total amount (including
 *   VAT)"], and a payable is always sent with pricesIncludeTax, so BC takes the input tax (of the line's tax
 *   code, or of its G/L account's default VAT group) out of the gross amount instead of adding it on top;
 * Decimals travel as JSON numbers (BC's Edm.Decimal) through jsonNumber, which refuses what a double cannot
 * carry exactly; every amount read is turned into minor units through its decimal text, never added as a
 * float. Budgets, actuals and journals are local-currency figures: a request in another currency is refused.
 */
import { createHash } from 'node:crypto';
import { FinanceError, isFinanceError } from '../../errors';
import { allocate, fromMinorUnits, minorOf, money, sameAmount, splitByPercent } from '../../model/money';
import type {
  BudgetCheckRequest,
  Dimensions,
  ErpRef,
  MasterDataKind,
  Money,
  PurchaseOrder,
  PurchaseOrderLine,
} from '../../model/types';
import type { ErpHttp, ErpRequest, ErpResponse } from '../client';
import { isFinalRefusal, notPutBack, UNKNOWN_SHAPE_ADVICE } from '../http-errors';
import { jsonNumber } from '../json-number';
import type {
  BudgetAvailability,
  CallContext,
  DialectConfig,
  ErpDialect,
  ErpDocumentType,
  ErpPurchaseOrder,
  FoundDocument,
  MasterDataPage,
  MasterDataQuery,
  MasterRecord,
  PostingRef,
  PostingRequest,
  PurchaseOrderKey,
  PurchaseOrderPatch,
  PurchaseOrderRef,
} from '../dialect';
import { isRecord } from '../records';
import { fitReference } from '../reference';

type Entity = Record<string, unknown>;

/** Field lengths of API v2.0 [S bc-api-v2.0-metadata.xml]; "Your Reference" of the custom page [D table 38]. */
export const BC_LENGTHS = {
  documentNumber: 20,
  externalDocumentNumber: 35,
  vendorInvoiceNumber: 35,
  yourReference: 35,
  description: 100,
  description2: 50,
  /**
   * A line's taxCode becomes the VAT Prod. Posting Group (or, without VAT, the Tax Group Code), both Code[20]:
   * the journal line page keeps it in a Code[20] and the purchase line pages cut it with CopyStr(.., 1, 20)
   * although the metadata says 50 [S ALAppExtensions APIV2JournalLines / APIV2PurchaseOrderLines /
   * APIV2PurchaseInvoiceLines pages], so a longer code is refused rather than cut to another code.
   */
  taxCode: 20,
} as const;

/** erpMessages code: the budget is kept by year, so the check compared year to date. */
export const BUDGET_YEAR_TO_DATE = 'BUDGET_YEAR_TO_DATE';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function createBusinessCentralDialect(http: ErpHttp, config: DialectConfig): ErpDialect {
  return new BusinessCentralDialect(http, config);
}

interface BcLine {
  lineType: 'Account';
  lineObjectNumber: string;
  description: string;
  description2: string;
  quantity: number;
  directUnitCost: number;
  taxCode?: string;
  dimensionSetLines: Array<{ code: string; valueCode: string }>;
}

class BusinessCentralDialect implements ErpDialect {
  readonly name = 'business-central';
  /**
   * False without the reference API page: a purchase order cannot be found by external reference, so a create
   * that got no answer must not be sent again (lib/purchasing/unsettled-create.ts).
   */
  readonly findsPurchaseOrdersByReference: boolean;
  /**
   * Every G/L budget entry is on one G/L account, so a project's charges are checked per account, as cost
   * centers' are (lib/budget/aggregate.ts BudgetKeyModel).
   */
  readonly projectBudgetsPerAccount = true;
  readonly #http: ErpHttp;
  readonly #system: string;
  readonly #company: string;
  readonly #root: string;
  readonly #referenceApi?: string;
  readonly #journalCode: string;
  readonly #costCenterDimension: string;
  readonly #projectDimension: string;
  /** The G/L budget name budget checks read (Code[10], kept upper case); undefined: the only one found. */
  readonly #budgetName?: string;
  readonly #basePath: string;
  #companyId?: Promise<string>;
  #lcy?: Promise<string>;
  #journal?: Promise<Entity>;

  constructor(http: ErpHttp, config: DialectConfig) {
    const options = config.options ?? {};
    const where = `ERP connection "${config.name ?? 'erp'}" (Business Central)`;
    const tenant = required(options.tenant, 'tenant (the Entra ID tenant id or domain)', where);
    const environment = required(options.environment, 'environment (e.g. Production or Sandbox)', where);
    this.#company = required(config.company, 'company (the BC company name or id)', where);
    this.#http = http;
    this.#system = config.name ?? 'business-central';
    this.#root = `/v2.0/${encodeURIComponent(tenant)}/${encodeURIComponent(environment)}`;
    this.#basePath = config.baseUrl ? new URL(config.baseUrl).pathname.replace(/\/+$/, '') : '';
    const referenceApi = options.referenceApi?.trim().replace(/^\/+|\/+$/g, '');
    if (referenceApi !== undefined && referenceApi !== '') {
      if (!/^[\w-]+\/[\w-]+\/v\d+\.\d+$/.test(referenceApi)) {
        throw new FinanceError(
          'CONFIG_INVALID',
          `${where}: referenceApi must be "<publisher>/<group>/<version>" of the custom API page, e.g. finsync/finance/v1.0.`,
        );
      }
      this.#referenceApi = referenceApi;
    }
    this.findsPurchaseOrdersByReference = this.#referenceApi !== undefined;
    this.#journalCode = options.journal?.trim() || 'EXPENSES';
    this.#costCenterDimension = options.costCenterDimension?.trim() || 'DEPARTMENT';
    this.#projectDimension = options.projectDimension?.trim() || 'PROJECT';
    const budgetName = options.budgetName?.trim().toUpperCase();
    if (budgetName) this.#budgetName = budgetName;
  }

  // ---- budgets ---------------------------------------------------------------------------------

  async checkBudget(request: BudgetCheckRequest, ctx: CallContext): Promise<BudgetAvailability> {
    const { from, to } = periodRange(request.period);
    const yearStart = `${request.period.slice(0, 4)}-01-01`;
    // Budget entries and G/L entries are in the company's local currency; a request in another one would be
    // compared with figures that only look like its currency.
    const currency = await this.#requireLocalCurrency(request.amount.currency, 'budget', ctx);
    const wanted = this.#wantedDimensions(request);
    const glFilter = request.glAccount ? ` and glAccountNo eq ${quote(request.glAccount)}` : '';
    const nameFilter = this.#budgetName ? ` and budgetName eq ${quote(this.#budgetName)}` : '';
    const analytics = await this.#analyticsPath();
    // The whole year's entries: whether the budget is kept by month or by year shows only there.
    const [yearEntries, setEntries] = await Promise.all([
      this.#all(
        `${analytics}/generalLedgerBudgetEntries`,
        {
          $filter: `budgetDate ge ${yearStart} and budgetDate le ${request.period.slice(0, 4)}-12-31${glFilter}${nameFilter}`,
        },
        ctx,
      ),
      this.#all(`${analytics}/dimensionSetEntries`, {}, ctx),
    ]);
    const sets = new Map<number, Record<string, string>>();
    for (const entry of setEntries) {
      const id = Number(entry.dimensionSetID);
      const set = sets.get(id) ?? {};
      set[String(entry.dimensionCode)] = String(entry.dimensionValueCode);
      sets.set(id, set);
    }
    const yearLines = this.#budgetEntriesOf(yearEntries, sets, wanted);
    this.#requireOneBudgetName(yearLines, request);
    // BC's G/L Budget page viewed by Year puts a year's amount on 1 January. Such a budget is compared year to
    // date (the year's budget with what is spent and ordered since 1 January); any other layout month by month.
    const byYear =
      yearLines.length > 0 && yearLines.every((entry) => String(entry.budgetDate).slice(5, 10) === '01-01');
    const since = byYear ? yearStart : from;
    const budgetLines = byYear ? yearLines : yearLines.filter((entry) => inRange(entry.budgetDate, from, to));
    if (budgetLines.length === 0) {
      throw new FinanceError(
        'ERP_NOT_FOUND',
        `ERP "${this.#system}" (Business Central) has no G/L budget entries${this.#budgetName ? ` in budget ${this.#budgetName}` : ''} for ${describe(request)} in ${request.period}.`,
        { details: { vendorCode: 'NO_BUDGET' } },
      );
    }
    const [ledgerEntries, orders] = await Promise.all([
      this.#all(
        `${await this.#standardPath()}/generalLedgerEntries`,
        {
          $filter: `postingDate ge ${since} and postingDate le ${to}${request.glAccount ? ` and accountNumber eq ${quote(request.glAccount)}` : ''}`,
          $expand: 'dimensionSetLines',
        },
        ctx,
      ),
      this.#all(
        `${await this.#purchaseOrderPath()}`,
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
    const minor = (value: unknown, what: string) => this.#minor(value, currency, what);
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
        this.#requireLocalOrder(order, currency);
        commitments += uninvoiced(this.#money(line.amountExcludingTax, currency, 'amountExcludingTax'), line);
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
  #budgetEntriesOf(
    entries: Entity[],
    sets: Map<number, Record<string, string>>,
    wanted: Record<string, string>,
  ): Entity[] {
    const setOf = (entry: Entity) => sets.get(Number(entry.dimensionSetID)) ?? {};
    const candidates = entries.filter((entry) => matches(setOf(entry), wanted));
    const others = [this.#costCenterDimension, this.#projectDimension].filter((code) => !(code in wanted));
    const exact = candidates.filter((entry) => others.every((code) => setOf(entry)[code] === undefined));
    return exact.length > 0 ? exact : candidates;
  }

  /**
   * A BC company keeps several G/L budget names (an approved budget, a forecast, last year's copy); adding them
   * up would multiply the budget. Without a configured budget name the entries must all be under one name.
   */
  #requireOneBudgetName(entries: Entity[], request: BudgetCheckRequest): void {
    if (this.#budgetName) return;
    const names = [...new Set(entries.map((entry) => String(entry.budgetName)))].sort();
    if (names.length <= 1) return;
    throw new FinanceError(
      'CONFIG_INVALID',
      `ERP connection "${this.#system}" (Business Central): the G/L budget entries for ${describe(request)} in ${request.period.slice(0, 4)} are under ${names.length} budget names (${names.join(', ')}), and adding them up would count the budget more than once. Enter the one to check against in the connection's Budget name.`,
      { retryable: false, details: { budgetNames: names } },
    );
  }

  /**
   * Order line amounts are in the order's currency and API v2.0 gives no local-currency amount for them: adding
   * a foreign-currency order to local-currency budget figures would be money wrong, so the check stops instead.
   */
  #requireLocalOrder(order: Entity, local: string): void {
    const code = this.#currency(order, local);
    if (code === local) return;
    throw new FinanceError(
      'CURRENCY_MISMATCH',
      `Business Central company "${this.#company}" has open purchase order ${String(order.number)} in ${code} on this budget, but budgets are in its local currency ${local} and API v2.0 gives no ${local} amount for order lines. Check this budget in Business Central, or receive and invoice that order so its cost is in the G/L.`,
      { retryable: false, details: { currency: code, localCurrency: local, order: order.number } },
    );
  }

  #wantedDimensions(request: { costCenter?: string; project?: string }): Record<string, string> {
    const wanted: Record<string, string> = {};
    if (request.costCenter) wanted[this.#costCenterDimension] = request.costCenter;
    if (request.project) wanted[this.#projectDimension] = request.project;
    return wanted;
  }

  // ---- purchase orders -------------------------------------------------------------------------

  async upsertPurchaseOrder(po: PurchaseOrder, ctx: CallContext): Promise<PurchaseOrderRef> {
    const knownId = po.erpRef?.documentId ?? (await this.#findPurchaseOrder(po.externalReference, ctx))?.id;
    if (knownId !== undefined) return this.#updatePurchaseOrder(String(knownId), po, ctx);
    const body: Entity = {
      ...this.#header(po, await this.#localCurrency(ctx)),
      ...(this.#referenceApi ? { yourReference: fitReference(po.externalReference, BC_LENGTHS.yourReference) } : {}),
      purchaseOrderLines: this.#lines(po.lines),
    };
    const { data } = await this.#call({ method: 'POST', path: await this.#purchaseOrderPath(), body }, ctx);
    const created = this.#entity(data, 'the created purchase order');
    return { ...this.#poRef(created), action: 'created', version: etagOf(created) };
  }

  async #updatePurchaseOrder(id: string, po: PurchaseOrder, ctx: CallContext): Promise<PurchaseOrderRef> {
    for (let attempt = 0; ; attempt += 1) {
      const current = await this.#fetchPurchaseOrder(id, ctx);
      const headerChange = changedFields(current, this.#header(po, await this.#localCurrency(ctx)));
      const plan = planLines(asEntities(current.purchaseOrderLines), this.#lines(po.lines));
      if (Object.keys(headerChange).length === 0 && isEmptyPlan(plan)) {
        return { ...this.#poRef(current), action: 'unchanged', version: etagOf(current) };
      }
      try {
        const updated = await this.#applyChange(id, current, headerChange, plan, ctx);
        return { ...this.#poRef(updated), action: 'updated', version: etagOf(updated) };
      } catch (error) {
        if (attempt > 0 || !isStale(error)) throw error;
      }
    }
  }

  /**
   * PATCH of the header with If-Match (also when only lines change, to test the version), then only the lines
   * that differ, one request each (API v2.0 has no deep update): removed lines deleted, changed lines PATCHed
   * with their own If-Match (a line keeps its id, so what BC posted against it, receipts and invoices, stays
   * attached), added lines posted. Before anything is written, a change BC's order would not take or that
   * would undo what was received or invoiced is refused (#refusal). A line BC refuses part-way (an unknown VAT
   * group, a blocked account) would leave the order with part of the change while the pack still holds the
   * old version as the one applied and no retry comes; so the order is put back as it was (#restore) and the
   * refusal thrown as it came.
   */
  async #applyChange(
    id: string,
    current: Entity,
    header: Entity,
    plan: LinePlan,
    ctx: CallContext,
    ifMatch = etagOf(current),
  ): Promise<Entity> {
    const refusal = this.#refusal(current, header, plan);
    if (refusal !== undefined) {
      // Judged on the order as BC holds it now; a change computed on an older copy is read again first.
      if (ifMatch !== etagOf(current)) throw changedSince(current, ifMatch);
      throw refusal;
    }
    const path = `${await this.#purchaseOrderPath()}(${id})`;
    await this.#call({ method: 'PATCH', path, body: header, ifMatch }, ctx);
    const done: AppliedLines = { removed: [], changed: [] };
    try {
      for (const line of plan.remove) {
        await this.#call({ method: 'DELETE', path: linePath(path, line), ifMatch: etagOf(line) }, ctx);
        done.removed.push(line);
      }
      for (const change of plan.change) {
        await this.#call(
          { method: 'PATCH', path: linePath(path, change.line), body: change.body, ifMatch: etagOf(change.line) },
          ctx,
        );
        done.changed.push(change);
      }
      for (const line of plan.add) {
        await this.#call({ method: 'POST', path: `${path}/purchaseOrderLines`, body: line }, ctx);
      }
    } catch (error) {
      // Any other failure may have been applied: the retry of the whole change compares the lines again.
      if (!isFinalRefusal(error)) throw error;
      throw await this.#restore(id, current, header, done, error, ctx);
    }
    return this.#fetchPurchaseOrder(id, ctx);
  }

  /**
   * Why BC's order cannot take this change, or undefined when it can. BC allows no line insert, change or
   * delete and no vendor or currency change unless the order's Status is Open (API status `Draft`)
   * [S TestStatusOpen in Purchase Line OnInsert/OnDelete/OnValidate, Purchase Header Buy-from Vendor No.];
   * the API's `Open` is BC's Released (or Pending Prepayment) and `In_x0020_Review` its Pending Approval
   * [S codeunit 5497]. What was received or invoiced against a line is BC's record of goods and money: a line
   * with either is never removed or re-coded, its quantity never goes below it, and the vendor or currency of
   * an order with receipts never changes. Refused before anything is written, so BC's order stays whole.
   */
  #refusal(current: Entity, header: Entity, plan: LinePlan): FinanceError | undefined {
    const number = String(current.number ?? current.id);
    const lines = asEntities(current.purchaseOrderLines);
    const vendorChange = header.vendorNumber !== undefined && header.vendorNumber !== current.vendorNumber;
    const currencyChange = header.currencyCode !== undefined && header.currencyCode !== current.currencyCode;
    const status = current.status;
    if (typeof status === 'string' && status !== 'Draft' && (!isEmptyPlan(plan) || vendorChange || currencyChange)) {
      return poConflict(
        current,
        `PO ${number} is ${statusInBc(status)} (API status ${status}), and Business Central takes no change of its lines, vendor or currency then; nothing was changed. Reopen it in Business Central, then replay this change`,
        { status },
      );
    }
    const problems: string[] = [];
    for (const line of plan.remove) {
      if (received(line) > 0 || invoiced(line) > 0) {
        problems.push(
          `${lineName(line)} has ${decimalText(received(line))} received and ${decimalText(invoiced(line))} invoiced, so it cannot be removed or moved to another G/L account or dimension`,
        );
      }
    }
    for (const { line, body } of plan.change) {
      const quantity = typeof body.quantity === 'number' ? body.quantity : Number(line.quantity);
      const floor = Math.max(received(line), invoiced(line));
      if (quantity < floor) {
        problems.push(
          `${lineName(line)} would go to quantity ${decimalText(quantity)}, below the ${decimalText(floor)} already received or invoiced`,
        );
      }
    }
    if ((vendorChange || currencyChange) && lines.some((line) => received(line) > 0 || invoiced(line) > 0)) {
      const what = [vendorChange ? 'vendor' : '', currencyChange ? 'currency' : ''].filter(Boolean).join(' and ');
      problems.push(`its ${what} cannot change once anything is received (a new vendor or currency is a new order)`);
    }
    if (problems.length === 0) return undefined;
    return poConflict(
      current,
      `PO ${number} in Business Central: ${problems.join('; ')}. Nothing was changed. Settle it in Business Central (undo the receipt, or raise a new purchase order for what changed), then replay this change or discard it`,
      { problems },
    );
  }

  /**
   * Puts an order back as `current` held it after a change failed part-way: the lines added since are deleted
   * (read again, so a line whose POST answered with an error but was saved goes too), the header fields the
   * change patched get their old values back, then the changed lines their old fields, and the old lines that
   * were deleted are added again (they fitted before). A field that no longer holds the change's value
   * was changed by someone else meanwhile and is left as it is. Answers the error to throw: the failure as it
   * came, or, when the order could not be put back, one that says so.
   */
  async #restore(
    id: string,
    current: Entity,
    header: Entity,
    done: AppliedLines,
    failure: FinanceError,
    ctx: CallContext,
  ): Promise<FinanceError> {
    const path = `${await this.#purchaseOrderPath()}(${id})`;
    const old = new Set(asEntities(current.purchaseOrderLines).map((line) => line.id));
    try {
      const now = await this.#fetchPurchaseOrder(id, ctx);
      const nowLines = asEntities(now.purchaseOrderLines);
      for (const line of nowLines.filter((each) => !old.has(each.id))) {
        await this.#call({ method: 'DELETE', path: linePath(path, line), ifMatch: etagOf(line) }, ctx);
      }
      const back = Object.keys(header).filter((name) => now[name] === header[name] && now[name] !== current[name]);
      let headerError: unknown;
      if (back.length > 0) {
        try {
          // Every line written changes the order's ETag: the PATCH needs the one BC holds now.
          const latest = await this.#fetchPurchaseOrder(id, ctx);
          const body = Object.fromEntries(back.map((name) => [name, current[name]]));
          await this.#call({ method: 'PATCH', path, body, ifMatch: etagOf(latest) }, ctx);
        } catch (error) {
          headerError = error; // the old lines are still added back: an order without its lines is worse
        }
      }
      for (const { line, body } of done.changed) {
        const held = nowLines.find((each) => each.id === line.id);
        if (held === undefined) continue;
        const back = Object.keys(body).filter((name) => held[name] === body[name]);
        if (back.length === 0) continue;
        const previous = Object.fromEntries(back.map((name) => [name, line[name] ?? '']));
        await this.#call({ method: 'PATCH', path: linePath(path, held), body: previous, ifMatch: etagOf(held) }, ctx);
      }
      for (const line of done.removed) {
        await this.#call({ method: 'POST', path: `${path}/purchaseOrderLines`, body: lineBody(line) }, ctx);
      }
      if (headerError !== undefined) throw headerError;
      return failure;
    } catch (restoreError) {
      return notPutBack(
        failure,
        restoreError,
        `check purchase order ${String(current.number)} in Business Central (vendor, dates and lines) against the last version the pack applied.`,
      );
    }
  }

  async cancelPurchaseOrder(key: PurchaseOrderKey, ctx: CallContext): Promise<ErpRef> {
    const id = key.documentId ?? (await this.#findPurchaseOrder(key.externalReference, ctx))?.id;
    if (id === undefined) {
      throw new FinanceError(
        'ERP_NOT_FOUND',
        `ERP "${this.#system}" has no purchase order with external reference "${key.externalReference}"` +
          (this.#referenceApi
            ? ''
            : ' (without the custom reference API page, Business Central can only be asked by document id)') +
          '. Check the reference, or create the purchase order first.',
        { details: { externalReference: key.externalReference } },
      );
    }
    for (let attempt = 0; ; attempt += 1) {
      let current: Entity;
      try {
        current = await this.#fetchPurchaseOrder(String(id), ctx);
      } catch (error) {
        // Deleted already (by an earlier attempt or in BC): the outcome asked for holds.
        if (isFinanceError(error) && error.httpStatus === 404) return this.#cancelledRef(String(id));
        throw error;
      }
      const booked = asEntities(current.purchaseOrderLines).filter((line) => received(line) > 0 || invoiced(line) > 0);
      if (booked.length > 0) {
        throw poConflict(
          current,
          `PO ${String(current.number)} in Business Central has ${booked.map((line) => `${lineName(line)} with ${decimalText(received(line))} received and ${decimalText(invoiced(line))} invoiced`).join('; ')}; deleting the order would cut those receipts and invoices off from it, so nothing was deleted. Finish it in Business Central instead (reduce the open quantities to what was received and invoice the receipts, after which Business Central removes the order), then replay this cancel`,
          { lines: booked.map((line) => line.description2) },
        );
      }
      try {
        await this.#call(
          { method: 'DELETE', path: `${await this.#purchaseOrderPath()}(${String(id)})`, ifMatch: etagOf(current) },
          ctx,
        );
        return { ...this.#poRef(current), status: 'cancelled', etag: undefined };
      } catch (error) {
        if (attempt > 0 || !isStale(error)) throw error;
      }
    }
  }

  #cancelledRef(id: string): ErpRef {
    return {
      system: this.#system,
      dialect: this.name,
      documentType: 'purchaseOrder',
      documentId: id,
      status: 'cancelled',
    };
  }

  async getPurchaseOrder(documentId: string, ctx: CallContext): Promise<ErpPurchaseOrder> {
    return this.#erpPurchaseOrder(await this.#fetchPurchaseOrder(documentId, ctx), await this.#localCurrency(ctx));
  }

  async patchPurchaseOrder(
    documentId: string,
    patch: PurchaseOrderPatch,
    ifMatch: string,
    ctx: CallContext,
  ): Promise<ErpPurchaseOrder> {
    const current = await this.#fetchPurchaseOrder(documentId, ctx);
    const wanted: Entity = {};
    if (patch.supplierId !== undefined) wanted.vendorNumber = patch.supplierId;
    if (patch.orderDate !== undefined) wanted.orderDate = patch.orderDate;
    if (patch.currency !== undefined) {
      wanted.currencyCode = patch.currency === (await this.#localCurrency(ctx)) ? '' : patch.currency;
    }
    const plan =
      patch.lines === undefined
        ? NO_LINE_CHANGE
        : planLines(asEntities(current.purchaseOrderLines), this.#lines(patch.lines));
    const updated = await this.#applyChange(documentId, current, changedFields(current, wanted), plan, ctx, ifMatch);
    return this.#erpPurchaseOrder(updated, await this.#localCurrency(ctx));
  }

  /** The header fields the dialect writes; the local currency is a blank currencyCode in BC. */
  #header(po: Pick<PurchaseOrder, 'supplierId' | 'orderDate' | 'currency'>, localCurrency: string): Entity {
    return {
      vendorNumber: po.supplierId,
      orderDate: po.orderDate,
      currencyCode: po.currency === localCurrency ? '' : po.currency,
    };
  }

  /** One BC line of type Account per account assignment; splits by percent are divided to the cent. */
  #lines(lines: readonly PurchaseOrderLine[]): BcLine[] {
    return lines.flatMap((line, index) => {
      const where = `lines[${index}]`;
      checkLength(line.description, BC_LENGTHS.description, `${where}.description`);
      checkLength(line.lineId, BC_LENGTHS.description2, `${where}.lineId (kept in description2)`);
      const assignments = line.accountAssignments;
      if (assignments.length === 1) {
        const quantity = jsonNumber(line.quantity, `${where}.quantity`);
        return [this.#line(line, assignments[0].dimensions, quantity, line.unitPrice, where)];
      }
      const amounts = assignments.every((a) => a.percent !== undefined)
        ? splitByPercent(
            line.amount,
            assignments.map((a) => a.percent as string),
            `${where}.accountAssignments`,
          )
        : assignments.map((a, i) => {
            if (!a.amount) throw invalidPo(`${where}.accountAssignments[${i}] needs a percent or an amount`);
            return a.amount;
          });
      return assignments.map((assignment, i) =>
        this.#line(line, assignment.dimensions, 1, amounts[i], `${where}.accountAssignments[${i}]`),
      );
    });
  }

  #line(line: PurchaseOrderLine, dimensions: Dimensions, quantity: number, unitCost: Money, where: string): BcLine {
    if (!dimensions.glAccount)
      throw invalidPo(`${where}: a G/L account (dimensions.glAccount) is required; BC books the line to it`);
    return {
      lineType: 'Account',
      lineObjectNumber: dimensions.glAccount,
      description: line.description,
      description2: line.lineId,
      quantity,
      directUnitCost: jsonNumber(unitCost.amount, `${where} unit cost`),
      ...taxCodeField(line.taxCode, `${where}.taxCode`, invalidPo),
      dimensionSetLines: this.#dimensionSetLines(dimensions),
    };
  }

  #dimensionSetLines(dimensions: Dimensions): Array<{ code: string; valueCode: string }> {
    return [
      ...(dimensions.costCenter ? [{ code: this.#costCenterDimension, valueCode: dimensions.costCenter }] : []),
      ...(dimensions.project ? [{ code: this.#projectDimension, valueCode: dimensions.project }] : []),
    ];
  }

  #erpPurchaseOrder(entity: Entity, localCurrency: string): ErpPurchaseOrder {
    const currency = this.#currency(entity, localCurrency);
    const groups = new Map<string, Entity[]>();
    for (const line of asEntities(entity.purchaseOrderLines)) {
      const key = String(line.description2 || line.sequence);
      groups.set(key, [...(groups.get(key) ?? []), line]);
    }
    const lines: PurchaseOrderLine[] = [...groups].map(([lineId, bcLines]) => {
      const amounts = bcLines.map((line) => this.#minor(line.amountExcludingTax, currency, 'amountExcludingTax'));
      const total = amounts.reduce((sum, value) => sum + value, 0n);
      const first = bcLines[0];
      const single = bcLines.length === 1;
      return {
        lineId,
        description: String(first.description ?? ''),
        ...readTaxCode(first),
        quantity: single ? String(first.quantity) : '1',
        unitPrice: single
          ? this.#money(first.directUnitCost, currency, 'directUnitCost')
          : fromMinorUnits(total, currency),
        amount: fromMinorUnits(total, currency),
        accountAssignments: bcLines.map((line, i) => ({
          dimensions: this.#canonicalDimensions(line),
          ...(single ? {} : { amount: fromMinorUnits(amounts[i], currency) }),
        })),
      };
    });
    return {
      erpRef: this.#poRef(entity),
      externalReference: typeof entity.yourReference === 'string' ? entity.yourReference : '',
      supplierId: String(entity.vendorNumber),
      orderDate: String(entity.orderDate),
      currency,
      total: this.#money(entity.totalAmountExcludingTax, currency, 'totalAmountExcludingTax'),
      status: 'open',
      lines,
    };
  }

  #canonicalDimensions(line: Entity): Dimensions {
    const set = dimensionsOf(line.dimensionSetLines);
    return {
      glAccount: String(line.lineObjectNumber),
      ...(set[this.#costCenterDimension] ? { costCenter: set[this.#costCenterDimension] } : {}),
      ...(set[this.#projectDimension] ? { project: set[this.#projectDimension] } : {}),
    };
  }

  async #fetchPurchaseOrder(id: string, ctx: CallContext): Promise<Entity> {
    if (!GUID.test(id)) throw invalidPo(`"${id}" is not a Business Central document id (a GUID)`);
    const { data } = await this.#call(
      {
        method: 'GET',
        path: `${await this.#purchaseOrderPath()}(${id})`,
        query: { $expand: 'purchaseOrderLines($expand=dimensionSetLines)' },
      },
      ctx,
    );
    return this.#entity(data, `purchase order ${id}`);
  }

  async #findPurchaseOrder(externalReference: string, ctx: CallContext): Promise<Entity | undefined> {
    if (!this.#referenceApi) return undefined;
    const reference = fitReference(externalReference, BC_LENGTHS.yourReference);
    const found = await this.#all(
      await this.#purchaseOrderPath(),
      { $filter: `yourReference eq ${quote(reference)}` },
      ctx,
    );
    return found[0];
  }

  /** A purchase order by the number BC gave it (a person found it there), or null. */
  async findPurchaseOrderByNumber(number: string, ctx: CallContext): Promise<FoundDocument | null> {
    const found = await this.#all(await this.#purchaseOrderPath(), { $filter: `number eq ${quote(number)}` }, ctx);
    return found[0] ? { ...this.#poRef(found[0]), raw: found[0] } : null;
  }

  #poRef(entity: Entity): ErpRef {
    return {
      system: this.#system,
      dialect: this.name,
      documentType: 'purchaseOrder',
      documentId: String(entity.id),
      number: typeof entity.number === 'string' ? entity.number : undefined,
      status: poStatus(entity.status),
      etag: typeof entity['@odata.etag'] === 'string' ? entity['@odata.etag'] : undefined,
    };
  }

  // ---- postings --------------------------------------------------------------------------------

  /**
   * Everything that can refuse the posting before anything is written (the document's own checks, the
   * lookup of what BC already holds under its number, the configuration) runs first, and an error from there
   * says so (details.written false, lib/posting/idempotent-write.ts): only reads went out, so the ledger lets
   * the next attempt start afresh instead of treating the attempt as one that may still be applied.
   */
  async post(posting: PostingRequest, ctx: CallContext): Promise<PostingRef> {
    if (posting.kind === 'payable') {
      const next = await beforeWriting(async () => {
        const found = await this.#invoiceOf(posting, ctx);
        return found ? { found } : { body: await this.#invoiceBody(posting, ctx) };
      });
      return next.found ? this.#postedInvoice(next.found, ctx) : this.#postInvoice(next.body, ctx);
    }
    const next = await beforeWriting(async () => {
      const lines = this.#journalLineBodies(posting);
      await this.#requireLocalCurrency(posting.currency, 'journal', ctx);
      const expected = sumMinor(posting.lines.map((line) => line.amount));
      const existing = await this.#findJournal(posting.externalReference, ctx);
      if (existing) return { posted: await this.#completePosting(existing, expected, posting, ctx) };
      await this.#requireBalancing(expected, ctx);
      await this.#refuseLinesInSharedBatch(documentNumberOf(posting.externalReference), ctx);
      return { lines, expected };
    });
    if (next.posted) return next.posted;
    return this.#postJournal(posting, next.lines, next.expected, ctx);
  }

  /**
   * A journal goes through a batch of its own, never the shared one: `Microsoft.NAV.post` posts every line of
   * a batch, so in a shared batch one report's post would also post another report's lines left by a failed
   * attempt (booking that report in part). Lines an earlier attempt left in this batch are compared with the
   * posting and only the missing ones are inserted; the G/L total is checked after the post.
   */
  async #postJournal(
    posting: PostingRequest,
    lines: Entity[],
    expected: bigint,
    ctx: CallContext,
  ): Promise<PostingRef> {
    const documentNumber = documentNumberOf(posting.externalReference);
    const batch = await this.#postingBatch(posting.externalReference, ctx);
    const path = `${await this.#standardPath()}/journals(${String(batch.id)})`;
    const waiting = await this.#all(`${path}/journalLines`, { $expand: 'dimensionSetLines' }, ctx);
    for (const line of this.#missingLines(waiting, lines, batch, documentNumber, posting.currency)) {
      await this.#call({ method: 'POST', path: `${path}/journalLines`, body: line }, ctx);
    }
    await this.#call({ method: 'POST', path: `${path}/Microsoft.NAV.post` }, ctx);
    const posted = await this.#findJournal(posting.externalReference, ctx);
    if (!posted)
      throw this.#unexpected('the posted journal', `no general ledger entries with document number ${documentNumber}`);
    const complete = await this.#completePosting(posted, expected, posting, ctx);
    await this.#dropBatch(path, ctx);
    return complete;
  }

  /**
   * Earlier versions of the pack inserted a report's lines into the configured (shared) batch. Lines of this
   * document still waiting there, left by an attempt that stopped before the post, would be booked a second
   * time whenever someone posts that batch; so the posting stops for a person instead.
   */
  async #refuseLinesInSharedBatch(documentNumber: string, ctx: CallContext): Promise<void> {
    const shared = await this.#configuredJournal(ctx);
    const waiting = await this.#all(
      `${await this.#standardPath()}/journals(${String(shared.id)})/journalLines`,
      { $filter: `documentNumber eq ${quote(documentNumber)}` },
      ctx,
    );
    if (waiting.length === 0) return;
    throw new FinanceError(
      'ERP_CONFLICT',
      `ERP "${this.#system}" (Business Central): ${waiting.length} line(s) of document ${documentNumber} wait in the general journal batch ${this.#journalCode}, left by an interrupted attempt of an earlier version of finance-sync. Nothing was posted: post that batch in Business Central (General Journals) if the lines are complete, or delete them, then replay this posting.`,
      { retryable: false, details: { journal: this.#journalCode, documentNumber, waitingLines: waiting.length } },
    );
  }

  /** The journal line bodies, checked before anything is sent (account, amount as an exact JSON number). */
  #journalLineBodies(posting: PostingRequest): Entity[] {
    const documentNumber = documentNumberOf(posting.externalReference);
    return posting.lines.map((line, index) => {
      const where = `lines[${index}]`;
      if (!line.dimensions.glAccount)
        throw invalidPosting(`${where}: dimensions.glAccount is required; BC posts the line to it`);
      const description = line.description ?? posting.externalReference;
      return {
        accountType: 'G_x002F_L_x0020_Account',
        accountNumber: line.dimensions.glAccount,
        postingDate: posting.postingDate,
        documentNumber,
        externalDocumentNumber: fitReference(posting.externalReference, BC_LENGTHS.externalDocumentNumber, UPPER),
        amount: jsonNumber(line.amount.amount, `journal ${where}.amount`),
        description: description.slice(0, BC_LENGTHS.description),
        // The journal amount includes VAT: BC splits the input tax out by the VAT Prod. Posting Group.
        ...taxCodeField(line.taxCode, `journal ${where}.taxCode`, invalidPosting),
        dimensionSetLines: this.#dimensionSetLines(line.dimensions),
      };
    });
  }

  /**
   * This posting's own batch: found by its code, or created with the balancing account of the configured
   * batch (journals are insertable and deletable in API v2.0 [S metadata; D dynamics_journal_create]).
   */
  async #postingBatch(externalReference: string, ctx: CallContext): Promise<Entity> {
    const journals = `${await this.#standardPath()}/journals`;
    const documentNumber = documentNumberOf(externalReference);
    // From the reference as the pack fitted it before document numbers were upper-cased, so a batch an
    // attempt of an earlier version left is found (and its lines compared) instead of a second one made.
    const code = batchCode(fitReference(externalReference, BC_LENGTHS.documentNumber));
    const displayName = `finance-sync ${documentNumber}`;
    const [found] = await this.#all(journals, { $filter: `code eq ${quote(code)}` }, ctx);
    if (found) {
      if (String(found.displayName).toUpperCase() !== displayName.toUpperCase()) {
        throw this.#batchTaken(code, found, documentNumber);
      }
      return found;
    }
    const configured = await this.#configuredJournal(ctx);
    const balancing = configured.balancingAccountId;
    const body: Entity = {
      code,
      displayName,
      ...(typeof balancing === 'string' && balancing !== EMPTY_GUID ? { balancingAccountId: balancing } : {}),
    };
    const { data } = await this.#call({ method: 'POST', path: journals, body }, ctx);
    return this.#entity(data, `the created journal batch ${code}`);
  }

  /**
   * A posting's own batch takes the configured batch's balancing account, which must be a G/L account: API
   * v2.0 names a bank or vendor balancing account only by number, `balancingAccountId` being the id of a G/L
   * account [D dynamics_journal: "The balancing G/L Account ID"]. Without one, each line would be booked on
   * its expense account alone; BC refuses a document out of balance [D], and the lines of an expense report
   * are all debits, so only a posting whose own lines add up to zero needs none. Checked before anything is
   * written.
   */
  async #requireBalancing(expected: bigint, ctx: CallContext): Promise<void> {
    const configured = await this.#configuredJournal(ctx);
    const id = configured.balancingAccountId;
    const hasId = typeof id === 'string' && id !== '' && id !== EMPTY_GUID;
    const number = configured.balancingAccountNumber;
    if (hasId) return;
    const where = `ERP "${this.#system}" (Business Central): the journal batch ${String(configured.code)}`;
    const advice =
      'Set a G/L account (the account expense reports are owed on, e.g. an employee expenses clearing account) as its balancing account (Bal. Account Type G/L Account) in Business Central (General Journals), or post expense reports as payables; then replay the dead letter.';
    if (typeof number === 'string' && number !== '') {
      throw new FinanceError(
        'CONFIG_INVALID',
        `${where} balances to account ${number}, which is not a G/L account, and API v2.0 can give a new batch only a G/L balancing account. ${advice}`,
        { retryable: false, details: { journal: configured.code, balancingAccountNumber: number } },
      );
    }
    if (expected === 0n) return; // the lines balance each other
    throw new FinanceError(
      'CONFIG_INVALID',
      `${where} has no balancing account, so each line of an expense report (all debits) would be booked without its credit, and Business Central refuses a document out of balance. ${advice}`,
      { retryable: false, details: { journal: configured.code } },
    );
  }

  #batchTaken(code: string, found: Entity, documentNumber: string): FinanceError {
    return new FinanceError(
      'ERP_CONFLICT',
      `ERP "${this.#system}" (Business Central) already has a general journal batch ${code} ("${String(found.displayName)}") that is not the batch of document ${documentNumber}; rename or delete that batch in Business Central (General Journals), then retry.`,
      { retryable: false, details: { journal: code, documentNumber } },
    );
  }

  /**
   * The lines still to insert: the posting's lines minus those an earlier attempt left in the batch. A waiting
   * line that is no line of this posting (another document, or a changed line) needs a person: posting the
   * batch would book it too.
   */
  #missingLines(waiting: Entity[], lines: Entity[], batch: Entity, documentNumber: string, currency: string): Entity[] {
    const missing = [...lines];
    for (const have of waiting) {
      const index = missing.findIndex((line) => this.#sameJournalLine(have, line, currency));
      if (index < 0) throw this.#foreignLine(have, batch, documentNumber);
      missing.splice(index, 1);
    }
    return missing;
  }

  #sameJournalLine(have: Entity, line: Entity, currency: string): boolean {
    const wanted = line.dimensionSetLines as Array<{ code: string; valueCode: string }>;
    return (
      have.documentNumber === line.documentNumber &&
      have.accountNumber === line.accountNumber &&
      have.postingDate === line.postingDate &&
      have.description === line.description &&
      sameTaxCode(have.taxCode, line.taxCode as string | undefined) &&
      typeof have.amount === 'number' &&
      this.#minor(have.amount, currency, 'journalLine.amount') === this.#minor(line.amount, currency, 'amount') &&
      // BC adds the G/L account's default dimensions to a line: only those the pack sent must match.
      wanted.every((dimension) => dimensionsOf(have.dimensionSetLines)[dimension.code] === dimension.valueCode)
    );
  }

  #foreignLine(have: Entity, batch: Entity, documentNumber: string): FinanceError {
    // A line of this very document number was inserted by an attempt of the pack (the batch is the document's
    // own) and never posted: another version of the report, or another posting date, was tried before.
    const advice =
      have.documentNumber === documentNumber
        ? `It was left, never posted, by an earlier attempt at another version or posting date of this document: delete the lines of batch ${String(batch.code)} in Business Central (General Journals), then retry.`
        : 'Check the batch in Business Central (General Journals), delete the lines that do not belong, then retry.';
    return new FinanceError(
      'ERP_CONFLICT',
      `ERP "${this.#system}" (Business Central): journal batch ${String(batch.code)} holds a line that is not part of document ${documentNumber} as it is posted now (document ${String(have.documentNumber)}, account ${String(have.accountNumber)}, amount ${String(have.amount)}, posting date ${String(have.postingDate)}). Posting the batch would book it too, so nothing was posted. ${advice}`,
      {
        retryable: false,
        details: { journal: batch.code, documentNumber, lineDocumentNumber: have.documentNumber },
      },
    );
  }

  /**
   * A journal found in the G/L is this posting only when it booked the posting's lines: the same total, and
   * per G/L account and dimensions the same amounts (#journalDifferences). Anything else was posted in part,
   * differently, or is another version of the report, and needs a person, not a second post.
   */
  async #completePosting(
    found: JournalFound,
    expected: bigint,
    posting: PostingRequest,
    ctx: CallContext,
  ): Promise<PostingRef> {
    const ref = withoutEntries(found);
    const booked = ref.total ? minorOf(ref.total) : undefined;
    const want = fromMinorUnits(expected, posting.currency);
    if (booked !== expected) {
      throw new FinanceError(
        'ERP_CONFLICT',
        `ERP "${this.#system}" (Business Central) has general ledger entries for document ${String(ref.number)} that total ${ref.total ? `${ref.total.amount} ${ref.total.currency}` : 'an amount the dialect cannot read'}, but the posting totals ${want.amount} ${want.currency}: it was posted in part, differently, or is another version of the report. Do not retry: compare the G/L entries of that document in Business Central with the report, post the missing lines or reverse the entries by hand, then mark the posting as done.`,
        {
          retryable: false,
          details: { documentNumber: ref.number, booked: ref.total, expected: want },
        },
      );
    }
    const differences = await this.#journalDifferences(found.entries, posting, ctx);
    if (differences.length === 0) return ref;
    throw new FinanceError(
      'ERP_CONFLICT',
      `ERP "${this.#system}" (Business Central) has general ledger entries for document ${String(ref.number)} with the posting's total ${want.amount} ${want.currency}, but not its lines: ${differences.join('; ')}. It is another version of the report (re-coded or re-split) or was changed in Business Central, so it is not taken as this posting and nothing was posted. Do not retry: reverse the document in Business Central and post this version by hand, or keep what is booked, then mark the posting as done.`,
      { retryable: false, details: { documentNumber: ref.number, differences } },
    );
  }

  /**
   * How the G/L entries of a journal differ from the posting's lines, as sentences (none: the same). Entries on
   * the balancing account are the lines' credits and left out. The others are grouped by the G/L account and
   * dimensions of the posting's lines (an entry may carry more dimensions: BC adds an account's defaults) and
   * must add up to each group's amount. With VAT split out of a line BC books the net on the expense account
   * and the tax on a VAT account, a balance sheet account (category Assets or Liabilities) of none of the
   * posting's lines: then each group may hold less than its gross amount (never more, never nothing), and
   * together the groups must miss exactly what those accounts booked. An entry on any other account (an
   * expense account a line was moved away from) is a difference.
   */
  async #journalDifferences(entries: Entity[], posting: PostingRequest, ctx: CallContext): Promise<string[]> {
    const local = await this.#localCurrency(ctx);
    const balancing = (await this.#configuredJournal(ctx)).balancingAccountNumber;
    const groups: Array<{ account: string; dimensions: Record<string, string>; want: bigint; booked: bigint }> = [];
    for (const line of posting.lines) {
      const account = String(line.dimensions.glAccount);
      const dimensions = dimensionsOf(this.#dimensionSetLines(line.dimensions));
      const group = groups.find((g) => g.account === account && sameDimensions(g.dimensions, dimensions));
      if (group) group.want += minorOf(line.amount);
      else groups.push({ account, dimensions, want: minorOf(line.amount), booked: 0n });
    }
    const others = new Map<string, bigint>();
    const differences: string[] = [];
    for (const entry of entries) {
      if (balancing && entry.accountNumber === balancing) continue;
      const amount =
        this.#minor(entry.debitAmount, local, 'debitAmount') - this.#minor(entry.creditAmount, local, 'creditAmount');
      const account = String(entry.accountNumber);
      const held = dimensionsOf(entry.dimensionSetLines);
      const group = groups
        .filter((g) => g.account === account && matches(held, g.dimensions))
        .sort((a, b) => Object.keys(b.dimensions).length - Object.keys(a.dimensions).length)[0];
      if (group) group.booked += amount;
      else if (groups.some((g) => g.account === account)) {
        differences.push(
          `${decimalOf(amount, local)} on G/L account ${account} with ${describeDimensions(held)}, which no line of the posting has`,
        );
      } else others.set(account, (others.get(account) ?? 0n) + amount);
    }
    let elsewhere = 0n;
    for (const [account, amount] of others) {
      const category = await this.#accountCategory(account, ctx);
      if (TAX_CATEGORIES.has(category)) elsewhere += amount;
      else {
        differences.push(
          `${decimalOf(amount, local)} on G/L account ${account} (category ${category || 'unknown'}), which no line of the posting has`,
        );
      }
    }
    const exact = elsewhere === 0n;
    for (const group of groups) {
      const fits = exact
        ? group.booked === group.want
        : group.want > 0n
          ? group.booked > 0n && group.booked <= group.want
          : group.booked < 0n && group.booked >= group.want;
      if (fits) continue;
      differences.push(
        `G/L account ${group.account} with ${describeDimensions(group.dimensions)} holds ${decimalOf(group.booked, local)} where the posting has ${decimalOf(group.want, local)}${exact ? '' : ' (gross, tax included)'}`,
      );
    }
    if (!exact && differences.length === 0) {
      const missing = groups.reduce((sum, g) => sum + g.want - g.booked, 0n);
      if (missing !== elsewhere) {
        differences.push(
          `other G/L accounts hold ${decimalOf(elsewhere, local)}, which is not the tax the posting's lines miss (${decimalOf(missing, local)})`,
        );
      }
    }
    return differences;
  }

  /** The category of a G/L account (Assets, Liabilities, Expense...), '' when BC has no such account. */
  async #accountCategory(number: string, ctx: CallContext): Promise<string> {
    const [account] = await this.#all(
      `${await this.#standardPath()}/accounts`,
      { $filter: `number eq ${quote(number)}` },
      ctx,
    );
    return typeof account?.category === 'string' ? account.category : '';
  }

  /** The posted batch is empty; removing it keeps General Journals tidy. Failing to is harmless, so ignored. */
  async #dropBatch(path: string, ctx: CallContext): Promise<void> {
    try {
      const { data } = await this.#call({ method: 'GET', path }, ctx);
      const batch = this.#entity(data, 'the posted journal batch');
      await this.#call({ method: 'DELETE', path, ifMatch: etagOf(batch) }, ctx);
    } catch {
      // An empty batch left behind books nothing; the next attempt of this document would reuse it.
    }
  }

  /**
   * The currency the company books in, or CURRENCY_MISMATCH: journal lines have no currency field in API v2.0
   * (BC books their amount in the local currency), and budgets and actuals are local-currency figures.
   */
  async #requireLocalCurrency(currency: string, use: 'journal' | 'budget', ctx: CallContext): Promise<string> {
    const local = await this.#localCurrency(ctx);
    if (currency === local) return local;
    const what =
      use === 'journal'
        ? `books journal lines in its local currency ${local} (a journal line has no currency in API v2.0), but this posting is in ${currency}. Convert the expense report to ${local} in the source system or the mapping before posting, or post it as a payable (a purchase invoice carries its currency)`
        : `keeps G/L budgets and actuals in its local currency ${local}, but the budget check asks in ${currency}. Convert the requested amount to ${local} before the check`;
    throw new FinanceError('CURRENCY_MISMATCH', `Business Central company "${this.#company}" ${what}.`, {
      retryable: false,
      details: { currency, localCurrency: local },
    });
  }

  /**
   * The purchase invoice to create, checked before anything is written. The vendor is the posting's supplier,
   * else the reimbursed employee's vendor: BC pays an employee's expenses through a vendor, and API v2.0 links
   * no vendor to an employee, so it is the vendor numbered like the employee (README "Business Central"), as
   * SAP's supplier invoice falls back to the employee's number too.
   */
  async #invoiceBody(posting: PostingRequest, ctx: CallContext): Promise<Entity> {
    const lines = posting.lines.map((line, index) => {
      if (!line.dimensions.glAccount) throw invalidPosting(`lines[${index}]: dimensions.glAccount is required`);
      return {
        lineType: 'Account',
        lineObjectNumber: line.dimensions.glAccount,
        description: (line.description ?? posting.externalReference).slice(0, BC_LENGTHS.description),
        quantity: 1,
        unitCost: jsonNumber(line.amount.amount, `lines[${index}].amount`),
        ...taxCodeField(line.taxCode, `lines[${index}].taxCode`, invalidPosting),
        dimensionSetLines: this.#dimensionSetLines(line.dimensions),
      };
    });
    return {
      vendorNumber: await this.#payee(posting, ctx),
      vendorInvoiceNumber: vendorInvoiceNumberOf(posting.externalReference),
      invoiceDate: posting.postingDate,
      postingDate: posting.postingDate,
      currencyCode: posting.currency === (await this.#localCurrency(ctx)) ? '' : posting.currency,
      // An expense amount is what was paid, tax included, on every line: a line without a tax code still
      // gets the VAT product posting group of its G/L account, and with the vendor's default (often prices
      // excluding VAT) BC would add that VAT on top and owe the employee more than they paid.
      pricesIncludeTax: true,
      purchaseInvoiceLines: lines,
    };
  }

  /** The vendor number a payable is owed to (a Code[20], upper case in BC): see #invoiceBody. */
  async #payee(posting: PostingRequest, ctx: CallContext): Promise<string> {
    if (posting.supplierId) return posting.supplierId.toUpperCase();
    if (!posting.employeeId) {
      throw invalidPosting('a payable needs supplierId (the BC vendor number) or employeeId (whose vendor is paid)');
    }
    const number = posting.employeeId.toUpperCase();
    const [vendor] = await this.#all(
      `${await this.#standardPath()}/vendors`,
      { $filter: `number eq ${quote(number)}` },
      ctx,
    );
    if (vendor) return number;
    throw new FinanceError(
      'ERP_REJECTED',
      `ERP "${this.#system}" (Business Central) has no vendor ${number} for employee ${posting.employeeId}: an expense report posted as a payable is owed to the vendor numbered like the employee. Create that vendor in Business Central (one per reimbursed employee, with the employee's bank account), or post expense reports as journals; then replay the dead letter.`,
      { retryable: false, details: { vendorCode: 'NO_EMPLOYEE_VENDOR', employeeId: posting.employeeId } },
    );
  }

  async #postInvoice(body: Entity, ctx: CallContext): Promise<PostingRef> {
    const invoices = `${await this.#standardPath()}/purchaseInvoices`;
    const { data } = await this.#call({ method: 'POST', path: invoices, body }, ctx);
    return this.#postedInvoice(this.#entity(data, 'the created purchase invoice'), ctx);
  }

  /** Posts `invoice` if it is a draft, and answers it as BC holds it then. */
  async #postedInvoice(invoice: Entity, ctx: CallContext): Promise<PostingRef> {
    const path = `${await this.#standardPath()}/purchaseInvoices(${String(invoice.id)})`;
    if (invoice.status !== 'Draft') return this.#invoiceRef(invoice, ctx);
    await this.#call({ method: 'POST', path: `${path}/Microsoft.NAV.post` }, ctx);
    const { data } = await this.#call({ method: 'GET', path }, ctx);
    return this.#invoiceRef(this.#entity(data, 'the posted purchase invoice'), ctx);
  }

  /**
   * The purchase invoice under the posting's vendor invoice number, draft or posted, or null. It must be this
   * posting: the same total and currency, and per line the same G/L account, dimensions and amount (tax
   * included, as sent). One that differs is another version of the report or was changed in BC, and one
   * cancelled or corrected in BC (#liveInvoice) no longer books it: ERP_CONFLICT for a person, never posted or
   * taken as posted.
   */
  async #invoiceOf(posting: PostingRequest, ctx: CallContext): Promise<Entity | null> {
    const reference = vendorInvoiceNumberOf(posting.externalReference);
    const found = await this.#all(
      `${await this.#standardPath()}/purchaseInvoices`,
      {
        $filter: `vendorInvoiceNumber eq ${quote(reference)}`,
        $expand: 'purchaseInvoiceLines($expand=dimensionSetLines)',
      },
      ctx,
    );
    if (found.length === 0) return null;
    const invoice = this.#liveInvoice(found, reference);
    const currency = this.#currency(invoice, await this.#localCurrency(ctx));
    const held = this.#money(invoice.totalAmountIncludingTax, currency, 'totalAmountIncludingTax');
    const want = fromMinorUnits(sumMinor(posting.lines.map((line) => line.amount)), posting.currency);
    const differences = sameAmount(held, want)
      ? this.#invoiceLineDifferences(asEntities(invoice.purchaseInvoiceLines), posting, currency)
      : [`it totals ${held.amount} ${held.currency}, the posting ${want.amount} ${want.currency}`];
    if (differences.length === 0) return invoice;
    const draft = invoice.status === 'Draft';
    throw new FinanceError(
      'ERP_CONFLICT',
      `ERP "${this.#system}" (Business Central) has ${draft ? 'draft purchase invoice' : 'purchase invoice'} ${String(invoice.number)} under vendor invoice number ${reference}, but not as this posting: ${differences.join('; ')}. It is another version of the report or was changed in Business Central, so it is neither posted nor taken as this posting. Do not retry: ${draft ? 'correct the draft to the report (or delete it), then replay this posting' : 'Business Central keeps the vendor invoice number of a posted invoice even once it is cancelled, so post this version by hand (with another vendor invoice number, after cancelling the invoice with a credit memo if it is wrong), then mark the posting as done'}.`,
      {
        retryable: false,
        details: { invoice: invoice.number, vendorInvoiceNumber: reference, held, expected: want, differences },
      },
    );
  }

  /**
   * The invoice under a vendor invoice number that still books something. A posted invoice cancelled in BC
   * (API status Canceled: a corrective credit memo reverses it) or corrected (Corrective) books nothing, yet
   * BC keeps its vendor invoice number [D "Correct or cancel unpaid purchase invoices"], so the posting can
   * be neither taken as done nor posted again under that number: ERP_CONFLICT for a person. One pending
   * approval (In Review) is not posted and cannot be posted until approved.
   */
  #liveInvoice(found: Entity[], reference: string): Entity {
    const live = found.filter((invoice) => !CANCELLED_INVOICE.has(String(invoice.status)));
    const invoice = live[0];
    if (invoice === undefined) {
      const cancelled = found[0];
      throw new FinanceError(
        'ERP_CONFLICT',
        `ERP "${this.#system}" (Business Central) has purchase invoice ${String(cancelled.number)} under vendor invoice number ${reference}, ${cancelled.status === 'Corrective' ? 'corrected' : 'cancelled'} in Business Central (status ${String(cancelled.status)}), so the report is not booked, and Business Central refuses another invoice of the vendor with that number. Nothing was posted. Post the report by hand with another vendor invoice number (or leave it unbooked if the cancel was meant), then mark the posting as done; replaying would only meet this invoice again.`,
        {
          retryable: false,
          details: { invoice: cancelled.number, vendorInvoiceNumber: reference, status: cancelled.status },
        },
      );
    }
    if (invoice.status === 'In_x0020_Review') {
      throw new FinanceError(
        'ERP_CONFLICT',
        `ERP "${this.#system}" (Business Central) has purchase invoice ${String(invoice.number)} under vendor invoice number ${reference} pending approval, so it is not posted and cannot be posted yet. Approve it in Business Central (or reopen it), then replay this posting.`,
        {
          retryable: false,
          details: { invoice: invoice.number, vendorInvoiceNumber: reference, status: invoice.status },
        },
      );
    }
    return invoice;
  }

  /** How an invoice's lines differ from the posting's (G/L account, dimensions, amount tax included). */
  #invoiceLineDifferences(lines: Entity[], posting: PostingRequest, currency: string): string[] {
    const describeHeld = (line: Entity) =>
      `${String(line.amountIncludingTax)} on G/L account ${String(line.lineObjectNumber)} with ${describeDimensions(dimensionsOf(line.dimensionSetLines))}`;
    const unmatched = [...lines];
    const differences: string[] = [];
    for (const line of posting.lines) {
      const dimensions = dimensionsOf(this.#dimensionSetLines(line.dimensions));
      const index = unmatched.findIndex(
        (held) =>
          held.lineObjectNumber === line.dimensions.glAccount &&
          matches(dimensionsOf(held.dimensionSetLines), dimensions) &&
          this.#minor(held.amountIncludingTax, currency, 'amountIncludingTax') === minorOf(line.amount),
      );
      if (index >= 0) unmatched.splice(index, 1);
      else {
        differences.push(
          `no line of ${line.amount.amount} on G/L account ${String(line.dimensions.glAccount)} with ${describeDimensions(dimensions)}`,
        );
      }
    }
    for (const held of unmatched) differences.push(`a line of ${describeHeld(held)} that the posting does not have`);
    return differences;
  }

  async #invoiceRef(invoice: Entity, ctx: CallContext): Promise<PostingRef> {
    const currency = this.#currency(invoice, await this.#localCurrency(ctx));
    return {
      system: this.#system,
      dialect: this.name,
      documentType: 'posting',
      documentId: String(invoice.id),
      number: String(invoice.number),
      status: invoiceStatus(invoice.status),
      total: this.#money(invoice.totalAmountIncludingTax, currency, 'totalAmountIncludingTax'),
    };
  }

  /** A posted journal by its document number in the G/L, with what it booked and its entries, or null. */
  async #findJournal(externalReference: string, ctx: CallContext): Promise<JournalFound | null> {
    const documentNumber = documentNumberOf(externalReference);
    const entries = await this.#all(
      `${await this.#standardPath()}/generalLedgerEntries`,
      { $filter: `documentNumber eq ${quote(documentNumber)}`, $expand: 'dimensionSetLines' },
      ctx,
    );
    if (entries.length === 0) return null;
    return {
      system: this.#system,
      dialect: this.name,
      documentType: 'posting',
      documentId: documentNumber,
      number: documentNumber,
      status: 'posted',
      postedAt: String(entries[0].lastModifiedDateTime ?? entries[0].postingDate),
      total: await this.#bookedTotal(entries, ctx),
      entries,
    };
  }

  /**
   * What a journal document booked, in the local currency: the net of its G/L entries except those on the
   * balancing account of the configured batch (VAT entries count, so a gross line amount still matches). With
   * no balancing account the lines balance each other and the net is 0, like the posting's total.
   */
  async #bookedTotal(entries: Entity[], ctx: CallContext): Promise<Money> {
    const local = await this.#localCurrency(ctx);
    const balancing = (await this.#configuredJournal(ctx)).balancingAccountNumber;
    const net = entries
      .filter((entry) => !balancing || entry.accountNumber !== balancing)
      .reduce(
        (sum, entry) =>
          sum +
          this.#minor(entry.debitAmount, local, 'debitAmount') -
          this.#minor(entry.creditAmount, local, 'creditAmount'),
        0n,
      );
    return fromMinorUnits(net, local);
  }

  /**
   * The batch named by the connection's journal option: the balancing account of every posting's own batch.
   * Read once per connection (like the local currency), not on every posting.
   */
  #configuredJournal(ctx: CallContext): Promise<Entity> {
    this.#journal ??= (async () => {
      const journals = await this.#all(
        `${await this.#standardPath()}/journals`,
        { $filter: `code eq ${quote(this.#journalCode)}` },
        ctx,
      );
      const journal = journals[0];
      if (!journal) {
        throw new FinanceError(
          'CONFIG_INVALID',
          `ERP "${this.#system}" has no general journal batch ${this.#journalCode}; create it in Business Central (General Journals) or set the journal option of the connection.`,
        );
      }
      return journal;
    })();
    this.#journal.catch(() => {
      this.#journal = undefined;
    });
    return this.#journal;
  }

  async findByReference(
    documentType: ErpDocumentType,
    externalReference: string,
    ctx: CallContext,
  ): Promise<FoundDocument | null> {
    if (documentType === 'purchaseOrder') {
      const found = await this.#findPurchaseOrder(externalReference, ctx);
      return found ? { ...this.#poRef(found), raw: found } : null;
    }
    const journal = await this.#findJournal(externalReference, ctx);
    return journal ? withoutEntries(journal) : this.#findPostingReadOnly(externalReference, ctx);
  }

  /**
   * The ledger's lookup of a posting: a journal found in the G/L must hold the posting's lines (#completePosting),
   * and so must an invoice (#invoiceOf). A draft invoice is not posted yet: null, so the write posts it.
   */
  async findPosting(posting: PostingRequest, ctx: CallContext): Promise<FoundDocument | null> {
    if (posting.kind === 'payable') {
      const invoice = await this.#invoiceOf(posting, ctx);
      return invoice && invoice.status !== 'Draft' ? this.#invoiceRef(invoice, ctx) : null;
    }
    const found = await this.#findJournal(posting.externalReference, ctx);
    if (!found) return null;
    return this.#completePosting(found, sumMinor(posting.lines.map((line) => line.amount)), posting, ctx);
  }

  /** A payable found by reference without posting a draft: a lookup must not change the ERP. */
  async #findPostingReadOnly(externalReference: string, ctx: CallContext): Promise<FoundDocument | null> {
    const reference = vendorInvoiceNumberOf(externalReference);
    const invoices = await this.#all(
      `${await this.#standardPath()}/purchaseInvoices`,
      { $filter: `vendorInvoiceNumber eq ${quote(reference)}` },
      ctx,
    );
    const invoice = invoices.find((each) => !CANCELLED_INVOICE.has(String(each.status))) ?? invoices[0];
    if (!invoice) return null;
    return {
      system: this.#system,
      dialect: this.name,
      documentType: 'posting',
      documentId: String(invoice.id),
      number: String(invoice.number),
      status: invoiceStatus(invoice.status),
      raw: invoice,
    };
  }

  // ---- master data -----------------------------------------------------------------------------

  async listMasterData(kind: MasterDataKind, query: MasterDataQuery, ctx: CallContext): Promise<MasterDataPage> {
    let request: ErpRequest;
    if (query.cursor) {
      request = { method: 'GET', ...this.#pathOfLink(query.cursor) };
    } else {
      const { set, filter } = await this.#masterSet(kind, ctx);
      const filters = [
        filter,
        query.modifiedSince ? `lastModifiedDateTime ge ${query.modifiedSince}` : undefined,
      ].filter(Boolean);
      request = {
        method: 'GET',
        path: `${await this.#standardPath()}/${set}`,
        query: filters.length > 0 ? { $filter: filters.join(' and ') } : undefined,
      };
    }
    if (query.limit !== undefined) request.headers = { Prefer: `odata.maxpagesize=${query.limit}` };
    const { data } = await this.#call(request, ctx);
    if (!isRecord(data) || !Array.isArray(data.value)) throw this.#unexpected(`the ${kind} page`, 'no value list');
    const next = data['@odata.nextLink'];
    return {
      items: asEntities(data.value).map((entity) => this.#masterRecord(kind, entity)),
      nextCursor: typeof next === 'string' ? next : null,
    };
  }

  async #masterSet(kind: MasterDataKind, ctx: CallContext): Promise<{ set: string; filter?: string }> {
    switch (kind) {
      case 'employees':
        return { set: 'employees' };
      case 'suppliers':
        return { set: 'vendors' };
      case 'glAccounts':
        return { set: 'accounts' };
      case 'projects':
        return { set: 'projects' };
      case 'costCenters': {
        const dimensions = await this.#all(
          `${await this.#standardPath()}/dimensions`,
          { $filter: `code eq ${quote(this.#costCenterDimension)}` },
          ctx,
        );
        if (!dimensions[0])
          throw new FinanceError(
            'CONFIG_INVALID',
            `ERP "${this.#system}" has no dimension ${this.#costCenterDimension} for cost centers.`,
          );
        return { set: 'dimensionValues', filter: `dimensionId eq ${String(dimensions[0].id)}` };
      }
      default:
        throw new FinanceError(
          'CONFIG_INVALID',
          `Business Central API v2.0 has no ${String(kind)} with rates (tax rates live in VAT posting setup, which the API does not publish); sync ${String(kind)} from another source.`,
        );
    }
  }

  #masterRecord(kind: MasterDataKind, entity: Entity): MasterRecord {
    const base = {
      id: String(entity.number ?? entity.code),
      name: String(entity.displayName ?? ''),
      modifiedAt: String(entity.lastModifiedDateTime),
      company: this.#company,
    };
    switch (kind) {
      case 'employees':
        return {
          ...base,
          email: typeof entity.email === 'string' && entity.email ? entity.email : undefined,
          active: entity.status === 'Active',
        };
      case 'suppliers':
        return {
          ...base,
          country: String(entity.country ?? ''),
          ...(entity.currencyCode ? { currency: String(entity.currencyCode) } : {}),
          status: entity.blocked === 'All' || entity.blocked === 'Payment' ? 'blocked' : 'active',
        };
      case 'glAccounts':
        return { ...base, type: ACCOUNT_TYPES[String(entity.category)] ?? 'expense', open: entity.blocked !== true };
      case 'projects':
        return { ...base, status: 'open' };
      default:
        return { ...base, open: true };
    }
  }

  /** An absolute @odata.nextLink back into a path below the base URL and its query. */
  #pathOfLink(link: string): Pick<ErpRequest, 'path' | 'query'> {
    const url = new URL(link, 'http://next.link');
    let path = url.pathname;
    if (this.#basePath && path.startsWith(this.#basePath)) path = path.slice(this.#basePath.length);
    if (!path.startsWith(`${this.#root}/`)) {
      throw new FinanceError(
        'CONFIG_INVALID',
        `The paging cursor does not belong to this Business Central environment; start the sync again.`,
      );
    }
    return { path, query: Object.fromEntries(url.searchParams) };
  }

  // ---- plumbing --------------------------------------------------------------------------------

  async #standardPath(): Promise<string> {
    return `${this.#root}/api/v2.0/companies(${await this.#resolveCompany()})`;
  }

  async #analyticsPath(): Promise<string> {
    return `${this.#root}/api/microsoft/analytics/v1.0/companies(${await this.#resolveCompany()})`;
  }

  async #purchaseOrderPath(): Promise<string> {
    const api = this.#referenceApi ? `api/${this.#referenceApi}` : 'api/v2.0';
    return `${this.#root}/${api}/companies(${await this.#resolveCompany()})/purchaseOrders`;
  }

  /** The company id: the configured GUID, or looked up once by name. */
  #resolveCompany(): Promise<string> {
    if (GUID.test(this.#company)) return Promise.resolve(this.#company);
    this.#companyId ??= (async () => {
      const { data } = await this.#http.request<unknown>({
        method: 'GET',
        path: `${this.#root}/api/v2.0/companies`,
        query: { $filter: `name eq ${quote(this.#company)}` },
      });
      const found = isRecord(data) && Array.isArray(data.value) ? asEntities(data.value)[0] : undefined;
      if (!found) {
        throw new FinanceError(
          'CONFIG_INVALID',
          `ERP "${this.#system}" has no company named "${this.#company}" in this environment; enter the company name exactly as BC shows it (or its id).`,
        );
      }
      return String(found.id);
    })();
    this.#companyId.catch(() => {
      this.#companyId = undefined;
    });
    return this.#companyId;
  }

  /** Every page of a collection, following @odata.nextLink. */
  async #all(path: string, query: Record<string, string>, ctx: CallContext): Promise<Entity[]> {
    const items: Entity[] = [];
    let request: ErpRequest = { method: 'GET', path, query };
    for (;;) {
      const { data } = await this.#call(request, ctx);
      if (!isRecord(data) || !Array.isArray(data.value)) throw this.#unexpected(path, 'no value list');
      items.push(...asEntities(data.value));
      const next = data['@odata.nextLink'];
      if (typeof next !== 'string') return items;
      request = { method: 'GET', ...this.#pathOfLink(next) };
    }
  }

  #call(request: ErpRequest, ctx: CallContext): Promise<ErpResponse<unknown>> {
    return this.#http.request<unknown>({ ...request, correlationId: ctx.correlationId });
  }

  #entity(data: unknown, what: string): Entity {
    if (!isRecord(data) || typeof data.id !== 'string') throw this.#unexpected(what, 'no id');
    return data;
  }

  /** The document's currency: BC leaves currencyCode blank for the local currency (generalLedgerSetup). */
  #currency(entity: Entity, localCurrency: string): string {
    const code = entity.currencyCode;
    return typeof code === 'string' && code !== '' ? code : localCurrency;
  }

  #localCurrency(ctx: CallContext): Promise<string> {
    this.#lcy ??= (async () => {
      const setup = await this.#all(`${await this.#standardPath()}/generalLedgerSetup`, {}, ctx);
      const code = setup[0]?.localCurrencyCode;
      if (typeof code !== 'string' || code === '') throw this.#unexpected('generalLedgerSetup', 'no localCurrencyCode');
      return code;
    })();
    this.#lcy.catch(() => {
      this.#lcy = undefined;
    });
    return this.#lcy;
  }

  #minor(value: unknown, currency: string, what: string): bigint {
    return minorOf(this.#money(value, currency, what));
  }

  #money(value: unknown, currency: string, what: string): Money {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw this.#unexpected(what, 'not a decimal number');
    try {
      return money(decimalText(value), currency, { allowNegative: true, path: what });
    } catch {
      throw this.#unexpected(what, `${value} has more decimals than ${currency}`);
    }
  }

  #unexpected(what: string, problem: string): FinanceError {
    return new FinanceError(
      'ERP_UNAVAILABLE',
      `ERP "${this.#system}" (Business Central) answered ${what} in a shape this dialect does not know (${problem}). Check the base URL, tenant and environment; ${UNKNOWN_SHAPE_ADVICE}`,
      { retryable: false },
    );
  }
}

const ACCOUNT_TYPES: Record<string, 'expense' | 'asset' | 'liability' | 'revenue' | 'equity'> = {
  Expense: 'expense',
  Cost_x0020_of_x0020_Goods_x0020_Sold: 'expense',
  Assets: 'asset',
  Liabilities: 'liability',
  Income: 'revenue',
  Equity: 'equity',
};

function required(value: string | undefined, what: string, where: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new FinanceError('CONFIG_INVALID', `${where}: ${what} is required.`);
  }
  return value.trim();
}

function checkLength(value: string, max: number, where: string): void {
  if (value.length > max) throw invalidPo(`${where} has ${value.length} characters; Business Central keeps ${max}`);
}

function invalidPo(problem: string): FinanceError {
  return new FinanceError('SCHEMA_INVALID', `Purchase order for Business Central: ${problem}.`);
}

function invalidPosting(problem: string): FinanceError {
  return new FinanceError('SCHEMA_INVALID', `Posting for Business Central: ${problem}.`);
}

/**
 * `{ taxCode }` for a line that has one, upper-cased as BC stores a Code value (so what is read back compares
 * equal); empty without one, so BC applies the G/L account's default VAT Prod. Posting Group.
 */
function taxCodeField(
  taxCode: string | undefined,
  where: string,
  invalid: (problem: string) => FinanceError,
): { taxCode?: string } {
  if (taxCode === undefined) return {};
  if (taxCode.length > BC_LENGTHS.taxCode) {
    throw invalid(
      `${where} "${taxCode}" has ${taxCode.length} characters; Business Central keeps ${BC_LENGTHS.taxCode} (a VAT Prod. Posting Group or Tax Group Code). Map it to the code Business Central uses`,
    );
  }
  return { taxCode: taxCode.toUpperCase() };
}

/**
 * The tax code BC holds is the one wanted. A line sent without one gets the G/L account's default, which is
 * not a change of ours, so only a wanted code is compared.
 */
function sameTaxCode(have: unknown, wanted: string | undefined): boolean {
  return wanted === undefined || (typeof have === 'string' && have.toUpperCase() === wanted.toUpperCase());
}

/** The tax code of a BC line as the canonical line carries it; BC answers '' for none. */
function readTaxCode(line: Entity): { taxCode?: string } {
  return typeof line.taxCode === 'string' && line.taxCode !== '' ? { taxCode: line.taxCode } : {};
}

/** An OData string literal: single quotes, a quote inside doubled. */
function quote(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** A JSON number as plain decimal text (no exponent), the way BC wrote it. */
function decimalText(value: number): string {
  const text = String(value);
  return /e/i.test(text) ? value.toFixed(6).replace(/\.?0+$/, '') : text;
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

function asEntities(value: unknown): Entity[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function dimensionsOf(lines: unknown): Record<string, string> {
  return Object.fromEntries(asEntities(lines).map((line) => [String(line.code), String(line.valueCode)]));
}

function matches(set: Record<string, string>, wanted: Record<string, string>): boolean {
  return Object.entries(wanted).every(([code, value]) => set[code] === value);
}

function etagOf(entity: Entity): string {
  const etag = entity['@odata.etag'];
  if (typeof etag !== 'string') {
    throw new FinanceError('ERP_UNAVAILABLE', 'Business Central answered an entity without @odata.etag.', {
      retryable: false,
    });
  }
  return etag;
}

function changedFields(current: Entity, desired: Entity): Entity {
  return Object.fromEntries(Object.entries(desired).filter(([name, value]) => current[name] !== value));
}

/** The lines of a change: only those that differ from what BC holds are written. */
interface LinePlan {
  /** Lines BC holds that go: no longer wanted, or wanted on another G/L account or dimensions. */
  remove: Entity[];
  /** Lines that stay (with their id, receipts and invoices) and the fields of theirs to PATCH. */
  change: Array<{ line: Entity; body: Entity }>;
  add: BcLine[];
}

/** What a change wrote to the lines before it failed, for #restore. */
interface AppliedLines {
  removed: Entity[];
  changed: Array<{ line: Entity; body: Entity }>;
}

const NO_LINE_CHANGE: LinePlan = { remove: [], change: [], add: [] };

function isEmptyPlan(plan: LinePlan): boolean {
  return plan.remove.length === 0 && plan.change.length === 0 && plan.add.length === 0;
}

/**
 * Pairs the wanted lines with BC's as the dialect identifies them: by the canonical line id in description2,
 * and within one canonical line (one BC line per account assignment) in sequence order. A pair on the same
 * G/L account and dimensions is changed in place; one on another account or dimensions is replaced (BC
 * re-initialises a line whose No. changes, and its dimension set lines are a collection of their own).
 * BC lines without a line id (added by hand in BC) are not the pack's and go, as the version's lines are the
 * whole order.
 */
function planLines(current: Entity[], desired: BcLine[]): LinePlan {
  const held = new Map<string, Entity[]>();
  for (const line of [...current].sort((a, b) => Number(a.sequence) - Number(b.sequence))) {
    const key =
      typeof line.description2 === 'string' && line.description2 !== '' ? line.description2 : `#${String(line.id)}`;
    held.set(key, [...(held.get(key) ?? []), line]);
  }
  const plan: LinePlan = { remove: [], change: [], add: [] };
  const used = new Map<string, number>();
  for (const line of desired) {
    const index = used.get(line.description2) ?? 0;
    used.set(line.description2, index + 1);
    const have = held.get(line.description2)?.[index];
    if (have === undefined) {
      plan.add.push(line);
    } else if (!sameCoding(have, line)) {
      plan.remove.push(have);
      plan.add.push(line);
    } else {
      const body = lineChange(have, line);
      if (Object.keys(body).length > 0) plan.change.push({ line: have, body });
    }
  }
  for (const [key, lines] of held) plan.remove.push(...lines.slice(used.get(key) ?? 0));
  return plan;
}

/** Same line type, G/L account and dimension values. */
function sameCoding(have: Entity, line: BcLine): boolean {
  const held = dimensionsOf(have.dimensionSetLines);
  const wanted = Object.fromEntries(line.dimensionSetLines.map((d) => [d.code, d.valueCode]));
  return (
    have.lineType === line.lineType &&
    have.lineObjectNumber === line.lineObjectNumber &&
    Object.keys(held).length === Object.keys(wanted).length &&
    matches(held, wanted)
  );
}

/** The fields of a kept line that the wanted line changes: only those go into its PATCH. */
function lineChange(have: Entity, line: BcLine): Entity {
  const body: Entity = {};
  for (const name of ['description', 'quantity', 'directUnitCost'] as const) {
    if (have[name] !== line[name]) body[name] = line[name];
  }
  if (!sameTaxCode(have.taxCode, line.taxCode)) body.taxCode = line.taxCode;
  return body;
}

function linePath(orderPath: string, line: Entity): string {
  return `${orderPath}/purchaseOrderLines(${String(line.id)})`;
}

function received(line: Entity): number {
  return typeof line.receivedQuantity === 'number' ? line.receivedQuantity : 0;
}

function invoiced(line: Entity): number {
  return typeof line.invoicedQuantity === 'number' ? line.invoicedQuantity : 0;
}

function lineName(line: Entity): string {
  const id = typeof line.description2 === 'string' && line.description2 !== '' ? line.description2 : 'without id';
  return `line ${id} (G/L account ${String(line.lineObjectNumber)}, sequence ${String(line.sequence)})`;
}

/** BC's Status behind the API's status of a purchase order [S codeunit 5497 SetStatusOptionFromPurchaseHeader]. */
function statusInBc(status: string): string {
  if (status === 'Open') return 'Released (or Pending Prepayment)';
  if (status === 'In_x0020_Review') return 'Pending Approval';
  return status;
}

/** The order's state for ErpRef.status: draft (BC Open), in review (Pending Approval), released. */
function poStatus(status: unknown): string {
  if (status === 'Open') return 'released';
  if (status === 'In_x0020_Review') return 'in review';
  return status === 'Draft' ? 'draft' : 'open';
}

/** A change or cancel BC's order cannot take: for a person, never retried; nothing was written. */
function poConflict(order: Entity, message: string, details: Record<string, unknown>): FinanceError {
  return new FinanceError('ERP_CONFLICT', `${message}.`, {
    retryable: false,
    httpStatus: 409,
    details: { documentId: order.id, number: order.number, ...details },
  });
}

/**
 * The order changed in BC since the copy a patch was computed on: answered like BC's 412, without writing,
 * so the caller reads the order again and computes its change anew.
 */
function changedSince(order: Entity, ifMatch: string): FinanceError {
  return new FinanceError(
    'ERP_CONFLICT',
    `Purchase order ${String(order.number)} changed in Business Central since the copy this change was computed on (version ${ifMatch}); read it again and reapply the change.`,
    { retryable: false, httpStatus: 412, details: { documentId: order.id } },
  );
}

/** A line as BC holds it, as the body that adds it again: what the pack writes, and the line type BC has. */
function lineBody(line: Entity): Entity {
  return {
    lineType: line.lineType,
    lineObjectNumber: line.lineObjectNumber,
    description: line.description,
    description2: line.description2,
    quantity: line.quantity,
    directUnitCost: line.directUnitCost,
    ...readTaxCode(line),
    dimensionSetLines: asEntities(line.dimensionSetLines).map((d) => ({ code: d.code, valueCode: d.valueCode })),
  };
}

const EMPTY_GUID = '00000000-0000-0000-0000-000000000000';

/**
 * The code (Code[10]) of a posting's own journal batch: "FS" and 8 hex digits of a hash of the document
 * number, the same on every attempt. A clash with another document's batch is caught by its displayName.
 */
function batchCode(documentNumber: string): string {
  return `FS${createHash('sha256').update(documentNumber).digest('hex').slice(0, 8).toUpperCase()}`;
}

function sumMinor(amounts: readonly Money[]): bigint {
  return amounts.reduce((sum, amount) => sum + minorOf(amount), 0n);
}

function isStale(error: unknown): boolean {
  return isFinanceError(error) && error.httpStatus === 412;
}

/** Code fields of BC (Document No., External Document No., Vendor Invoice No.) hold upper case only [D]. */
const UPPER = { upperCase: true } as const;

function documentNumberOf(externalReference: string): string {
  return fitReference(externalReference, BC_LENGTHS.documentNumber, UPPER);
}

function vendorInvoiceNumberOf(externalReference: string): string {
  return fitReference(externalReference, BC_LENGTHS.vendorInvoiceNumber, UPPER);
}

/** A journal found in the G/L: its reference and the entries it booked (with their dimension set lines). */
type JournalFound = PostingRef & { entries: Entity[] };

/** G/L account categories [S glAccountCategory] a VAT account has: the balance sheet's, never an expense. */
const TAX_CATEGORIES = new Set(['Assets', 'Liabilities']);

function withoutEntries(found: JournalFound): PostingRef {
  const ref: PostingRef & { entries?: Entity[] } = { ...found };
  delete ref.entries;
  return ref;
}

/** Purchase invoice statuses [S invoiceEntityAggregateStatus] of an invoice that no longer books anything. */
const CANCELLED_INVOICE = new Set(['Canceled', 'Corrective']);

/** ErpRef.status of a purchase invoice: posted once BC posted it (Open, Paid), else what it is. */
function invoiceStatus(status: unknown): string {
  if (status === 'Draft') return 'draft';
  if (status === 'In_x0020_Review') return 'in review';
  if (CANCELLED_INVOICE.has(String(status))) return 'cancelled';
  return 'posted';
}

function sameDimensions(a: Record<string, string>, b: Record<string, string>): boolean {
  return Object.keys(a).length === Object.keys(b).length && matches(a, b);
}

function describeDimensions(dimensions: Record<string, string>): string {
  const entries = Object.entries(dimensions);
  return entries.length === 0 ? 'no dimensions' : entries.map(([code, value]) => `${code} ${value}`).join(', ');
}

function decimalOf(minor: bigint, currency: string): string {
  const amount = fromMinorUnits(minor, currency);
  return `${amount.amount} ${amount.currency}`;
}

/**
 * Runs the checks and reads before a write's first writing request; an error from them is marked
 * details.written false (lib/posting/idempotent-write.ts: the ledger then knows no write of this attempt can
 * be in flight). Errors of other kinds than FinanceError (a defect) are left as they are.
 */
async function beforeWriting<T>(checks: () => Promise<T>): Promise<T> {
  try {
    return await checks();
  } catch (error) {
    if (!isFinanceError(error)) throw error;
    throw new FinanceError(error.code, error.message, {
      httpStatus: error.httpStatus,
      retryable: error.retryable,
      retryAfterMs: error.retryAfterMs,
      details: { ...error.details, written: false },
      cause: error,
    });
  }
}
