/**
 * ERPNext on the Frappe framework, REST API `/api/resource/{DocType}` (DESIGN section 9; README "ERPNext").
 *
 * Authentication is the connection's API key header `Authorization: token <api_key>:<api_secret>` [D Frappe
 * REST docs]; `site` (optional) is sent as X-Frappe-Site-Name for a bench serving several sites by one host
 * name [U]. Field names come from the doctype definitions in frappe/erpnext (purchase_order.json at
 * 009e0427, purchase_order_item.json at 01473129, budget.json at 0637e2eb; test/unit/metadata/erpnext.test.ts
 * holds the lists) [S]:
 * - Purchase Order: inserted as a draft with its `items`, then submitted (PUT `docstatus: 1`) once its item
 *   amounts and total are the canonical ones (ERPNext rounds qty x rate by its own Rounding Method); a change
 *   of quantities, rates, dates or removed lines of a submitted order goes through Update Items
 *   (erpnext.controllers.accounts_controller.update_child_qty_rate: the order keeps its name, its receipts and
 *   bills); any other change cancels it (`docstatus: 2`) and inserts its amendment (`amended_from`), as ERPNext
 *   does, only while nothing is received or billed (ERPNext refuses to cancel a linked order: LinkExistsError);
 *   otherwise, and for what Update Items refuses (a line below what was received or billed), ERP_CONFLICT before
 *   anything is written. Cancel is `docstatus: 2`, refused the same way for an order with receipts or bills
 *   (closing it is left to a person). The version is the document's `modified`: a PUT with an older one fails with
 *   TimestampMismatchError, reported as ERP_CONFLICT 412. An id that names a cancelled order stands for its
 *   live amendment (followed down `amended_from`), so a change retried after a lost answer continues with
 *   the amendment an earlier attempt left instead of amending the original twice. A change ERPNext refuses
 *   (after the cancel, which cannot be undone) is answered by submitting the previous version again as the
 *   amendment (#putBack). One item per account assignment (an item has one cost center and project);
 *   amounts and quantities travel as JSON numbers of at most 15 significant digits (jsonNumber);
 * - the lookup key is a Custom Field on Purchase Order (default `custom_external_ref`, Data, 140 characters;
 *   README says how to add it); expenses are Journal Entries whose Reference Number `cheque_no` (with
 *   `cheque_date`) holds the reference, balanced on the configured payable account, in the Company's
 *   `default_currency` only (no exchange rate is sent; another currency is CURRENCY_MISMATCH, as for budgets);
 *   a refund (negative line) is a credit row on its account, a 0.00 line is left out (ERPNext refuses a row of
 *   zero debit and credit), and a journal whose lines add up to zero or less is refused (SCHEMA_INVALID);
 * - payables are Purchase Invoices (purchase_invoice.json at 89466e00, purchase_invoice_item.json at 05c13711)
 *   to the posting's supplier or, for an expense report, the employee's own Supplier (found by a Custom Field
 *   on Supplier, default `custom_employee`), keyed by Supplier Invoice No `bill_no` (Data, 140) with
 *   `bill_date`, inserted as a draft and submitted (`docstatus: 1`); `credit_to` is left to ERPNext's party
 *   account; a refund line is refused (SCHEMA_INVALID), as ERPNext takes no negative rate outside a return.
 *   A submit that meets TimestampMismatchError reads the draft again and submits it once more. A
 *   journal or invoice found under the reference (or a draft left) that holds another total than the posting,
 *   or other amounts per account, cost center and project (a re-coded revision), is ERP_CONFLICT, never
 *   "posted" nor submitted. The journal's payable row names the Employee as party (party_type "Employee") when
 *   the account is a Payable / Receivable one, found by Employee ID or Employee Number. A draft whose submit
 *   ERPNext refused (frozen period, no fiscal year) is kept, and a replay moves it to the posting date it asks
 *   for before submitting it;
 * - budgets: the Budget doctype (against Cost Center or Project, one account, monthly distribution), checked
 *   as ERPNext checks it (checkBudget): its annual and its accumulated monthly comparison, each with its
 *   action (Stop / Warn / Ignore), GL Entries (actuals) from the start of its range, and for an order the
 *   unbilled amount of submitted orders over its whole range (commitments); a Budget of 0 is not checked. The
 *   actions travel as ERP messages. Fiscal years are the company's Fiscal Year documents (any start month, any name, e.g.
 *   "2026-2027"), found as ERPNext's get_fiscal_year finds them (not disabled, listing no company or this one
 *   in Fiscal Year Company, the latest start first) [S erpnext accounts/utils.py]; a Budget applies from the
 *   start of its from_fiscal_year to the end of its to_fiscal_year, as in budget.py [S]. They are read once and
 *   kept for FISCAL_YEARS_TTL_MS;
 * - accounts and cost centers are named with the company abbreviation in ERPNext ("6000 - Travel - FSD");
 *   the dialect finds them by `account_number` / `cost_center_number`;
 * - tax codes: a purchase order line's taxCode is its item's Item Tax Template (`item_tax_template`, Link)
 *   [S purchase_order_item.json], sent as the template's name. An expense posting with a tax-coded line is
 *   refused (expense-tax-codes.ts): a Journal Entry account row has no tax field, and a Purchase Invoice's rate
 *   is net unless a tax row says otherwise, while expense amounts are gross;
 * - errors keep `exc_type` (details.vendorCode) and `_server_messages` (details.erpMessages).
 */
import { FinanceError, isFinanceError } from '../../errors';
import { refuseTaxCodedExpenseLines } from '../expense-tax-codes';
import { allocate, fromMinorUnits, minorOf, money, sameAmount, splitByPercent, sum } from '../../model/money';
import type {
  BudgetCheckRequest,
  Dimensions,
  ErpMessage,
  ErpRef,
  MasterDataKind,
  Money,
  PurchaseOrder,
  PurchaseOrderLine,
} from '../../model/types';
import type { ErpHttp, ErpRequest, ErpResponse } from '../client';
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
import { isFinalRefusal, UNKNOWN_SHAPE_ADVICE } from '../http-errors';
import { jsonNumber } from '../json-number';
import { isRecord } from '../records';
import { fitReference } from '../reference';

type Doc = Record<string, unknown>;
type Filter = [string, string, unknown] | [string, string, string, unknown];

/** Frappe's Data fields hold 140 characters [S frappe data field default length]. */
export const FRAPPE_DATA_LENGTH = 140;
const PO = 'Purchase Order';
const PI = 'Purchase Invoice';
/** How far an amendment chain (`amended_from`) is followed. */
const MAX_AMENDMENTS = 50;
/**
 * How long the Fiscal Year list is kept: ERPNext adds a year about once a year, and a year's dates cannot change
 * (year_start_date / year_end_date are set_only_once [S fiscal_year.json]). A date in no kept year reads the
 * list again (at most every FISCAL_YEARS_REREAD_MS), so a year created in ERPNext is seen at the next check.
 */
export const FISCAL_YEARS_TTL_MS = 6 * 60 * 60 * 1000;
export const FISCAL_YEARS_REREAD_MS = 30 * 1000;

interface FiscalYear {
  name: string;
  start: string;
  end: string;
}

export function createErpnextDialect(http: ErpHttp, config: DialectConfig): ErpDialect {
  return new ErpnextDialect(http, config);
}

interface PoItem {
  item_code: string;
  item_name: string;
  description: string;
  qty: number;
  uom: string;
  conversion_factor: number;
  rate: number;
  schedule_date: string;
  expense_account: string;
  cost_center?: string;
  project?: string;
  item_tax_template?: string;
}

class ErpnextDialect implements ErpDialect {
  readonly name = 'erpnext';
  /**
   * A Budget names one account, for a project too, and ERPNext's check picks the Budgets of the expense's
   * account only (budget.py: AND b.account = %s): a project's charges are checked per G/L account
   * (lib/budget/aggregate.ts BudgetKeyModel).
   */
  readonly projectBudgetsPerAccount = true;
  readonly #http: ErpHttp;
  readonly #system: string;
  readonly #company: string;
  readonly #site?: string;
  readonly #referenceField: string;
  readonly #defaultItem: string;
  readonly #payableAccount?: string;
  readonly #employeeField: string;
  readonly #names = new Map<string, Promise<string>>();
  readonly #accountTypes = new Map<string, Promise<string>>();
  /** The canonical amount of each item #purchaseOrderBody built, for #requireCanonicalAmounts. */
  readonly #expectedAmounts = new WeakMap<PoItem, Money>();
  #companyCurrency?: Promise<string>;
  #fiscalYears?: { readAt: number; years: Promise<FiscalYear[]> };

  constructor(http: ErpHttp, config: DialectConfig) {
    const options = config.options ?? {};
    const where = `ERP connection "${config.name ?? 'erp'}" (ERPNext)`;
    this.#http = http;
    this.#system = config.name ?? 'erpnext';
    if (!config.company?.trim())
      throw new FinanceError('CONFIG_INVALID', `${where}: company (the ERPNext Company name) is required.`);
    this.#company = config.company.trim();
    this.#site = options.site?.trim() || undefined;
    this.#referenceField = options.referenceField?.trim() || 'custom_external_ref';
    if (!/^[a-z][a-z0-9_]*$/.test(this.#referenceField)) {
      throw new FinanceError(
        'CONFIG_INVALID',
        `${where}: referenceField must be a field name such as custom_external_ref.`,
      );
    }
    this.#defaultItem = options.defaultItem?.trim() || 'Services';
    this.#payableAccount = options.payableAccount?.trim() || undefined;
    this.#employeeField = options.employeeField?.trim() || 'custom_employee';
    if (!/^[a-z][a-z0-9_]*$/.test(this.#employeeField)) {
      throw new FinanceError(
        'CONFIG_INVALID',
        `${where}: employeeField must be a field name of Supplier such as custom_employee.`,
      );
    }
  }

  // ---- purchase orders -------------------------------------------------------------------------

  async upsertPurchaseOrder(po: PurchaseOrder, ctx: CallContext): Promise<PurchaseOrderRef> {
    const existing = po.erpRef?.documentId
      ? await this.#currentPurchaseOrder(po.erpRef.documentId, ctx)
      : await this.#findPurchaseOrder(po.externalReference, ctx, true);
    const desired = await this.#purchaseOrderBody(po, ctx);
    if (!existing) {
      const draft = await this.#insert(PO, desired, ctx);
      this.#requireCanonicalAmounts(draft, desired, po.externalReference, 'draft');
      const submitted = await this.#submit(PO, draft, ctx);
      return { ...this.#ref(submitted), action: 'created', version: String(submitted.modified) };
    }
    if (existing.docstatus === 0) {
      // A draft left by an attempt that stopped before submitting: bring it up to date, then submit.
      const submitted = await this.#finishDraft(existing, desired, String(existing.modified), ctx);
      return { ...this.#ref(submitted), action: 'updated', version: String(submitted.modified) };
    }
    if (existing.docstatus === 2 || sameOrder(existing, desired)) {
      return { ...this.#ref(existing), action: 'unchanged', version: String(existing.modified) };
    }
    const revised = await this.#revise(existing, desired, String(existing.modified), ctx);
    return { ...this.#ref(revised), action: 'updated', version: String(revised.modified) };
  }

  /**
   * A change to a submitted order, made as an ERPNext user makes it. A change of quantities, rates, units or
   * dates of its lines, or removing lines, goes through "Update Items" (update_child_qty_rate): the order keeps
   * its name (the number the supplier has) and its receipts and bills, and ERPNext refuses what it refuses
   * there (checked first here, #refuseItemUpdate). Anything else (supplier, currency, order date, a line's
   * item, description, account, cost center, project or tax template, an added line, which Update Items would
   * give the Item's defaults instead of the line's account assignment) needs cancel + amend (#amend), which
   * ERPNext refuses once the order has a Purchase Receipt or Purchase Invoice (LinkExistsError): refused here
   * before anything is written (#notAmendable).
   */
  async #revise(current: Doc, desired: Doc, version: string, ctx: CallContext): Promise<Doc> {
    const plan = itemPlan(current, desired);
    const header = headerChanges(current, desired);
    if (header.length === 0 && plan.added.length === 0) return this.#updateItems(current, desired, plan, version, ctx);
    const progress = progressOf(current);
    if (progress) throw this.#notAmendable(current, progress, header, plan);
    return this.#amend(current, desired, version, ctx);
  }

  /**
   * POST erpnext.controllers.accounts_controller.update_child_qty_rate with every line to keep (its row's
   * docname, qty, rate, uom, conversion_factor, schedule_date, description): ERPNext deletes the rows left out,
   * updates the others and checks the budget again, all in one request. It takes no `modified`, so the
   * version is compared here first (what ERPNext's save does, check_if_latest). Read back afterwards: the
   * answer holds no document.
   */
  async #updateItems(current: Doc, desired: Doc, plan: ItemPlan, version: string, ctx: CallContext): Promise<Doc> {
    const name = String(current.name);
    if (version !== String(current.modified)) {
      throw new FinanceError(
        'ERP_CONFLICT',
        `Purchase Order ${name} was changed in ERP "${this.#system}" (ERPNext) after version ${version} (now ${String(current.modified)}); read it again and apply the change to what it holds.`,
        { httpStatus: 412, retryable: false, details: { documentId: name, vendorCode: 'TimestampMismatchError' } },
      );
    }
    this.#refuseItemUpdate(current, plan);
    const transItems = plan.pairs.map(({ row, item }) => ({
      docname: row.name,
      idx: row.idx,
      item_code: row.item_code,
      qty: item.qty,
      rate: item.rate,
      uom: item.uom,
      conversion_factor: item.conversion_factor,
      schedule_date: item.schedule_date,
      description: item.description,
    }));
    await this.#call(
      {
        method: 'POST',
        path: `/api/method/${UPDATE_CHILD_QTY_RATE}`,
        body: {
          parent_doctype: PO,
          parent_doctype_name: name,
          child_docname: 'items',
          trans_items: JSON.stringify(transItems),
        },
      },
      ctx,
    );
    const updated = await this.#get(PO, name, ctx);
    if (!updated)
      throw new FinanceError('ERP_NOT_FOUND', `Purchase Order ${name} is gone after its items were updated.`);
    if (!sameOrder(updated, desired)) {
      throw new FinanceError(
        'ERP_CONFLICT',
        `ERP "${this.#system}" (ERPNext) took the item update of Purchase Order ${name} (Update Items), but the order does not hold the change afterwards (its lines differ from the purchase order's). Do not retry: compare ${name} in ERPNext with the purchase order, correct it there with Update Items, then resolve the dead letter.`,
        { retryable: false, details: { documentId: name, vendorCode: 'ITEM_UPDATE_NOT_HELD' } },
      );
    }
    this.#requireCanonicalAmounts(updated, desired, String(current[this.#referenceField] ?? name), 'applied');
    return updated;
  }

  /** What ERPNext's Update Items refuses (validate_child_on_delete, validate_quantity, the billed amount), first. */
  #refuseItemUpdate(current: Doc, plan: ItemPlan): void {
    const currency = String(current.currency);
    const problems: string[] = [];
    for (const row of plan.removed) {
      const received = Number(row.received_qty ?? 0);
      const billed = Number(row.billed_amt ?? 0);
      if (received > 0 || billed > 0)
        problems.push(
          `row ${String(row.idx)} (${String(row.item_name)}) would be removed, but ${received > 0 ? `${received} of it ${received === 1 ? 'was' : 'were'} received` : ''}${received > 0 && billed > 0 ? ' and ' : ''}${billed > 0 ? `${billed} ${currency} of it was billed` : ''}`,
        );
    }
    for (const { row, item } of plan.pairs) {
      const received = Number(row.received_qty ?? 0);
      if (item.qty < received)
        problems.push(
          `row ${String(row.idx)} (${item.item_name}) would order ${item.qty}, but ${received} ${row.uom === undefined ? '' : `${String(row.uom)} `}were received`,
        );
      const expected = this.#expectedAmounts.get(item);
      const billed = minorOf(this.#money(row.billed_amt ?? 0, currency, 'billed_amt'));
      if (expected && billed > minorOf(expected))
        problems.push(
          `row ${String(row.idx)} (${item.item_name}) would amount to ${expected.amount} ${currency}, but ${fromMinorUnits(billed, currency).amount} ${currency} of it was billed`,
        );
    }
    if (problems.length === 0) return;
    const name = String(current.name);
    throw new FinanceError(
      'ERP_CONFLICT',
      `Purchase Order ${name} in ERP "${this.#system}" (ERPNext) cannot take this change: ${problems.join('; ')}. ERPNext refuses to remove or reduce a line below what was received or billed. Nothing was written. Do not retry: change the purchase order in the source so it keeps what was received and billed, or cancel the Purchase Receipt / Purchase Invoice in ERPNext first, then replay.`,
      {
        httpStatus: 409,
        retryable: false,
        details: { documentId: name, vendorCode: 'BELOW_RECEIVED_OR_BILLED', problems },
      },
    );
  }

  /** A change only cancel + amend can make, of an order ERPNext will not cancel (it has receipts or bills). */
  #notAmendable(current: Doc, progress: Progress, header: string[], plan: ItemPlan): FinanceError {
    const name = String(current.name);
    const what = [
      ...header,
      ...(plan.added.length > 0
        ? [
            `${plan.added.length} line${plan.added.length === 1 ? '' : 's'} with a new item, description, account, cost center, project or tax template`,
          ]
        : []),
    ].join(', ');
    // Another supplier or currency is another order.
    const newOrder = header.some((change) => /^(supplier|currency) /.test(change));
    return new FinanceError(
      'ERP_CONFLICT',
      `Purchase Order ${name} in ERP "${this.#system}" (ERPNext) is ${progress.received}% received and ${progress.billed}% billed, so this change cannot be made to it: ${what}. ERPNext makes such a change only by cancelling the order and submitting an amendment, and refuses to cancel an order that has a Purchase Receipt or Purchase Invoice (LinkExistsError); its Update Items changes only quantities, rates and dates. Nothing was written. Do not retry: ${newOrder ? `for another supplier or currency, close ${name} in ERPNext (Status > Close) and issue a new purchase order in the source` : `change only quantities, prices and dates of ${name} (or remove lines not received), put new or re-assigned lines on a new purchase order, or cancel the receipts and invoices of ${name} in ERPNext first and send the change again`}.`,
      {
        httpStatus: 409,
        retryable: false,
        details: {
          documentId: name,
          vendorCode: 'ORDER_RECEIVED_OR_BILLED',
          perReceived: progress.received,
          perBilled: progress.billed,
          changes: what,
        },
      },
    );
  }

  /**
   * The amounts ERPNext computed for an order (each item's qty x rate, and the total) against the canonical
   * ones #purchaseOrderBody recorded: ERPNext rounds qty x rate by System Settings "Rounding Method", where
   * the pack rounds half away from zero. "Banker's Rounding" rounds a half to even (2.5 x 0.05 = 0.12 there,
   * 0.13 here); the default "Banker's Rounding (legacy)" does so for a currency without decimals (2.5 x 1 JPY =
   * 2 there, 3 here) and rounds up otherwise [S frappe/utils/data.py rounded, _bankers_rounding_legacy];
   * "Commercial Rounding" is the pack's rule. A draft that differs is not submitted (as #refuseAddedCharges
   * for an invoice). Content not built from a document (a put-back) is not checked.
   */
  #requireCanonicalAmounts(
    doc: Doc,
    desired: Doc,
    reference: string,
    outcome: 'draft' | 'amendment' | 'applied',
  ): void {
    const wanted = (desired.items as PoItem[]).map((item) => this.#expectedAmounts.get(item));
    if (wanted.length === 0 || wanted.some((amount) => amount === undefined)) return;
    const currency = String(doc.currency);
    const items = (Array.isArray(doc.items) ? doc.items.filter(isRecord) : []).sort(
      (a, b) => Number(a.idx) - Number(b.idx),
    );
    const differences: string[] = [];
    wanted.forEach((want, i) => {
      const held = this.#money(items[i]?.amount, currency, 'amount');
      if (!sameAmount(held, want as Money))
        differences.push(`row ${i + 1}: ${held.amount} ${currency} (the purchase order: ${(want as Money).amount})`);
    });
    const total = this.#money(doc.total, currency, 'total');
    const expected = sum(wanted as Money[], currency);
    if (differences.length === 0 && sameAmount(total, expected)) return;
    const name = String(doc.name);
    throw new FinanceError(
      'ERP_CONFLICT',
      `ERP "${this.#system}" (ERPNext) computed Purchase Order ${name} for ${reference} with other amounts than the purchase order: ${differences.join('; ') || 'the items match'}; total ${total.amount} ${currency} (the purchase order: ${expected.amount}). ERPNext rounds quantity x rate by System Settings "Rounding Method"; "Banker's Rounding", and "Banker's Rounding (legacy)" for a currency without decimals, round a half to even, the pack rounds it away from zero. ${AMOUNTS_OUTCOME[outcome](name)} Do not retry: set System Settings > Rounding Method to "Commercial Rounding"${outcome === 'applied' ? ` (${name} keeps its amounts until its lines change)` : outcome === 'draft' ? ` and delete draft ${name}` : ''}, or change the line in the source so that quantity x price needs no rounding; then replay.`,
      {
        retryable: false,
        details: {
          documentId: name,
          vendorCode: AMOUNTS_DIFFER,
          externalReference: reference,
          held: total,
          expected,
          differences,
        },
      },
    );
  }

  /**
   * Cancels the submitted order (with its version) and submits its amendment. Three writes: an answer lost
   * after any of them is picked up by the next call through #currentPurchaseOrder, which continues with the
   * amendment instead of amending the (by then cancelled) original a second time. An amendment ERPNext
   * refuses is answered by #putBack, so the previous version stays in force.
   *
   * The cancel has to come first, and nothing can be checked by ERPNext before it: Frappe refuses to insert an
   * amendment of a document that is not cancelled ("cannot be amended because it is not cancelled",
   * Document.validate_amended_from, frappe/frappe#28617, in v15 and later) [S]; a cancelled document takes no
   * further change, so a cancel cannot be undone (check_docstatus_transition) [S]; and the budget check that
   * refuses most revisions runs only when the order is submitted [S erpnext purchase_order.py on_submit].
   */
  async #amend(current: Doc, desired: Doc, version: string, ctx: CallContext): Promise<Doc> {
    await this.#put(PO, current, { docstatus: 2, modified: version }, ctx);
    let draft: Doc | undefined;
    try {
      draft = await this.#insert(PO, { ...desired, amended_from: current.name }, ctx);
      this.#requireCanonicalAmounts(draft, desired, String(current[this.#referenceField] ?? current.name), 'amendment');
      return await this.#submit(PO, draft, ctx);
    } catch (error) {
      throw await this.#putBack(current, draft, error, ctx);
    }
  }

  /** Brings a draft to the desired content (only when it differs; `version` guards that save) and submits it. */
  async #finishDraft(draft: Doc, desired: Doc, version: string, ctx: CallContext): Promise<Doc> {
    let latest = draft;
    try {
      if (!sameOrder(draft, desired)) latest = await this.#put(PO, draft, { ...desired, modified: version }, ctx);
      this.#requireCanonicalAmounts(
        latest,
        desired,
        String(draft[this.#referenceField] ?? draft.name),
        draft.amended_from ? 'amendment' : 'draft',
      );
      return await this.#submit(PO, latest, ctx);
    } catch (error) {
      // The draft amendment an earlier attempt left: the order it amends is cancelled and holds the version in force.
      const amended =
        (isRefused(error) || isAmountsDiffer(error)) && draft.amended_from
          ? await this.#get(PO, String(draft.amended_from), ctx)
          : undefined;
      if (amended?.docstatus !== 2) throw error;
      throw await this.#putBack(amended, latest, error, ctx);
    }
  }

  /**
   * ERPNext refused the amendment of `cancelled` (its insert, save or submit), after `cancelled` was cancelled
   * for it: left so, no order would be in force while the pack still holds the previous version as open. So
   * the previous version is submitted again as the amendment: the refused draft, when there is one, is brought
   * back to the cancelled order's content, else an amendment with that content is inserted. Its budget fits,
   * as the cancelled order no longer counts. Answers the error to throw: the refusal (still a refusal to the
   * pack), naming the order that holds the previous version; or, when that failed too, an ERP_CONFLICT for a
   * person. Only a refusal proves the write was not applied: after a lost answer it may have been, and the
   * retry continues with what it left (#currentPurchaseOrder), so any other error is answered as it is.
   */
  async #putBack(cancelled: Doc, draft: Doc | undefined, refusal: unknown, ctx: CallContext): Promise<unknown> {
    // Amounts ERPNext rounded otherwise: the draft was not submitted, so the change is not applied either.
    if (!isRefused(refusal) && !isAmountsDiffer(refusal)) return refusal;
    const previous = orderContent(cancelled, this.#referenceField);
    let restored: Doc;
    try {
      const ready = !draft
        ? await this.#insert(PO, { ...previous, amended_from: cancelled.name }, ctx)
        : sameOrder(draft, previous)
          ? draft
          : await this.#put(PO, draft, { ...previous, modified: draft.modified }, ctx);
      restored = await this.#submit(PO, ready, ctx);
    } catch (failure) {
      const why = isFinanceError(failure) ? failure.message : String(failure);
      return new FinanceError(
        'ERP_CONFLICT',
        `ERP "${this.#system}" (ERPNext) refused the change of Purchase Order ${String(cancelled.name)} after the order was cancelled for it (ERPNext changes a submitted order by cancelling it and submitting an amendment): ${refusal.message}. Submitting the previous version again as its amendment failed too (${why}), so no submitted order may hold this purchase order now${draft ? `; draft ${String(draft.name)} is left` : ''}. In ERPNext, amend ${String(cancelled.name)} with its previous content (or correct${draft ? ' and submit the draft' : ' the change'}) and submit it, then resolve the dead letter.`,
        {
          retryable: false,
          details: {
            documentId: String(cancelled.name),
            vendorCode: 'AMENDMENT_NOT_RESTORED',
            refusal: { code: refusal.code, message: refusal.message },
            failure: isFinanceError(failure) ? { code: failure.code, message: failure.message } : why,
          },
          cause: refusal,
        },
      );
    }
    return new FinanceError(
      refusal.code,
      `${refusal.message} The change was not applied: ERPNext had cancelled Purchase Order ${String(cancelled.name)} to amend it and a cancel cannot be undone, so its previous version was submitted again as ${String(restored.name)}.`,
      {
        httpStatus: refusal.httpStatus,
        retryable: refusal.retryable,
        retryAfterMs: refusal.retryAfterMs,
        details: { ...refusal.details, cancelled: String(cancelled.name), restoredAs: String(restored.name) },
        cause: refusal,
      },
    );
  }

  /**
   * The Purchase Order that stands for `documentId` now. ERPNext changes a submitted order by cancelling it
   * and inserting an amendment (`amended_from`, named `<id>-1`), so an id handed out earlier may name a
   * cancelled order whose content lives on in its amendment; a retry after a lost answer must continue with
   * that amendment. Answers the first live (draft or submitted) document down the chain, the last cancelled
   * one when none is live, undefined when `documentId` does not exist.
   */
  async #currentPurchaseOrder(documentId: string, ctx: CallContext): Promise<Doc | undefined> {
    let doc = await this.#get(PO, documentId, ctx);
    // An amendment always names an older document, so the chain ends; the bound only guards a corrupt one.
    for (let step = 0; doc?.docstatus === 2 && step < MAX_AMENDMENTS; step += 1) {
      const amendment = await this.#amendmentOf(String(doc.name), ctx);
      if (!amendment) return doc;
      doc = amendment;
    }
    return doc;
  }

  /** The amendment of a cancelled order: its live one, else a cancelled one to follow further. */
  async #amendmentOf(name: string, ctx: CallContext): Promise<Doc | undefined> {
    const rows = await this.#list(
      PO,
      {
        filters: [
          ['amended_from', '=', name],
          ['company', '=', this.#company],
        ],
        fields: ['name', 'docstatus'],
        orderBy: 'modified desc',
        limit: 20,
      },
      ctx,
    );
    const live = rows.filter((row) => row.docstatus !== 2);
    if (live.length > 1) {
      const names = live.map((row) => String(row.name)).join(', ');
      throw new FinanceError(
        'ERP_CONFLICT',
        `ERP "${this.#system}" (ERPNext) holds ${live.length} live amendments of Purchase Order ${name} (${names}), so the order is committed more than once. Cancel the ones that should not exist in ERPNext, then replay the dead letter.`,
        { details: { documentId: name, amendments: live.map((row) => String(row.name)) } },
      );
    }
    const chosen = live[0] ?? rows[0];
    return chosen ? this.#get(PO, String(chosen.name), ctx) : undefined;
  }

  async cancelPurchaseOrder(key: PurchaseOrderKey, ctx: CallContext): Promise<ErpRef> {
    const found = key.documentId
      ? await this.#currentPurchaseOrder(key.documentId, ctx)
      : await this.#findPurchaseOrder(key.externalReference, ctx, false);
    if (!found) {
      throw new FinanceError(
        'ERP_NOT_FOUND',
        `ERP "${this.#system}" has no Purchase Order with ${this.#referenceField} "${key.externalReference}", so there is nothing to cancel.`,
        {
          details: { externalReference: key.externalReference },
        },
      );
    }
    if (found.docstatus === 2) return this.#ref(found);
    if (found.docstatus === 0) {
      await this.#call({ method: 'DELETE', path: this.#docPath(PO, String(found.name)) }, ctx);
      return { ...this.#ref(found), status: 'cancelled' };
    }
    for (let attempt = 0; ; attempt += 1) {
      const current = attempt === 0 ? found : await this.#get(PO, String(found.name), ctx);
      if (!current) throw new FinanceError('ERP_NOT_FOUND', `Purchase Order ${String(found.name)} is gone.`);
      // Cancelled by someone in between: ERPNext refuses to cancel it again, and it is what was asked.
      if (current.docstatus === 2) return this.#ref(current);
      const progress = progressOf(current);
      if (progress) throw this.#notCancellable(current, progress);
      try {
        return this.#ref(await this.#put(PO, current, { docstatus: 2, modified: current.modified }, ctx));
      } catch (error) {
        if (attempt > 0 || !isStale(error)) throw error;
      }
    }
  }

  /**
   * A submitted order with a Purchase Receipt or Purchase Invoice: ERPNext refuses its cancel (LinkExistsError,
   * check_no_back_links_exist). Closing it (purchase_order.update_status "Closed") would release what is not
   * received, but also stops billing what was received and leaves the order in force: a person's decision, not
   * the pack's reading of "cancelled". So refused before anything is written, saying how.
   */
  #notCancellable(current: Doc, progress: Progress): FinanceError {
    const name = String(current.name);
    return new FinanceError(
      'ERP_CONFLICT',
      `Purchase Order ${name} in ERP "${this.#system}" (ERPNext) is ${progress.received}% received and ${progress.billed}% billed, so it cannot be cancelled: ERPNext refuses to cancel an order that has a Purchase Receipt or Purchase Invoice (LinkExistsError). Nothing was written. Do not retry: in ERPNext, close ${name} (Status > Close) to stop what is not received yet, or cancel its receipts and invoices and send the cancel again.`,
      {
        httpStatus: 409,
        retryable: false,
        details: {
          documentId: name,
          vendorCode: 'ORDER_RECEIVED_OR_BILLED',
          perReceived: progress.received,
          perBilled: progress.billed,
        },
      },
    );
  }

  async getPurchaseOrder(documentId: string, ctx: CallContext): Promise<ErpPurchaseOrder> {
    const doc = await this.#currentPurchaseOrder(documentId, ctx);
    if (!doc) throw new FinanceError('ERP_NOT_FOUND', `ERP "${this.#system}" has no Purchase Order ${documentId}.`);
    return this.#canonical(doc);
  }

  async patchPurchaseOrder(
    documentId: string,
    patch: PurchaseOrderPatch,
    ifMatch: string,
    ctx: CallContext,
  ): Promise<ErpPurchaseOrder> {
    const current = await this.#currentPurchaseOrder(documentId, ctx);
    if (!current) throw new FinanceError('ERP_NOT_FOUND', `ERP "${this.#system}" has no Purchase Order ${documentId}.`);
    if (current.docstatus === 2) throw this.#cancelledWithoutAmendment(documentId, String(current.name));
    const canonical = this.#canonical(current);
    const merged: PurchaseOrder = {
      docType: 'PurchaseOrder',
      sourceRef: { system: this.#system, id: String(current.name) },
      externalReference: String(current[this.#referenceField] ?? ''),
      supplierId: patch.supplierId ?? canonical.supplierId,
      orderDate: patch.orderDate ?? canonical.orderDate,
      currency: patch.currency ?? canonical.currency,
      total: canonical.total,
      lines: patch.lines ?? canonical.lines,
    };
    const desired = await this.#purchaseOrderBody(merged, ctx);
    desired[this.#referenceField] = current[this.#referenceField];
    // A draft or an amendment already holding the content is what an earlier attempt left: carry on with it.
    if (current.docstatus === 0) return this.#canonical(await this.#finishDraft(current, desired, ifMatch, ctx));
    if (sameOrder(current, desired)) return this.#canonical(current);
    return this.#canonical(await this.#revise(current, desired, ifMatch, ctx));
  }

  /**
   * Not amended again: ERPNext refuses to cancel a cancelled order, and whether a user cancelled it or an
   * earlier attempt of this change stopped between the cancel and the amendment cannot be told from here.
   */
  #cancelledWithoutAmendment(documentId: string, name: string): FinanceError {
    return new FinanceError(
      'ERP_CONFLICT',
      `Purchase Order ${name} is cancelled in ERP "${this.#system}" (ERPNext) and has no live amendment, so this change has no order to go to. Either it was cancelled in ERPNext, or an earlier attempt of this change stopped after the cancel; check ${name} in ERPNext, amend it there by hand with the new content if the order should stand, then resolve the dead letter.`,
      { details: { documentId, cancelled: name, vendorCode: 'CANCELLED_WITHOUT_AMENDMENT' } },
    );
  }

  async #purchaseOrderBody(po: PurchaseOrder, ctx: CallContext): Promise<Doc> {
    const items: PoItem[] = [];
    for (const [index, line] of po.lines.entries()) {
      const where = `lines[${index}]`;
      if (line.description.length > FRAPPE_DATA_LENGTH)
        throw invalid(`${where}.description has more than ${FRAPPE_DATA_LENGTH} characters (item_name)`);
      const split = line.accountAssignments.length > 1;
      const amounts = !split
        ? [line.amount]
        : line.accountAssignments.every((a) => a.percent !== undefined)
          ? splitByPercent(
              line.amount,
              line.accountAssignments.map((a) => a.percent as string),
              `${where}.accountAssignments`,
            )
          : line.accountAssignments.map((a, i) => {
              if (!a.amount) throw invalid(`${where}.accountAssignments[${i}] needs a percent or an amount`);
              return a.amount;
            });
      for (const [i, assignment] of line.accountAssignments.entries()) {
        const item: PoItem = {
          item_code: line.itemCode ?? this.#defaultItem,
          item_name: line.description,
          description: line.description,
          qty: split ? 1 : jsonNumber(line.quantity, `${where}.quantity`),
          uom: line.unitOfMeasure ?? 'Nos',
          conversion_factor: 1,
          rate: split
            ? jsonNumber(amounts[i].amount, `${where}.accountAssignments[${i}] amount`)
            : jsonNumber(line.unitPrice.amount, `${where}.unitPrice`),
          schedule_date: line.needBy ?? po.orderDate,
          ...itemTaxTemplate(line.taxCode, `${where}.taxCode`),
          ...(await this.#dimensions(assignment.dimensions, `${where}.accountAssignments[${i}]`, ctx)),
        };
        this.#expectedAmounts.set(item, amounts[i]);
        items.push(item);
      }
    }
    return {
      supplier: po.supplierId,
      company: this.#company,
      transaction_date: po.orderDate,
      schedule_date: po.orderDate,
      currency: po.currency,
      [this.#referenceField]: fitReference(po.externalReference, FRAPPE_DATA_LENGTH),
      items,
    };
  }

  async #dimensions(
    d: Dimensions,
    where: string,
    ctx: CallContext,
  ): Promise<{ expense_account: string; cost_center?: string; project?: string }> {
    if (!d.glAccount) throw invalid(`${where}: a G/L account (dimensions.glAccount) is required`);
    return {
      expense_account: await this.#nameOf('Account', 'account_number', d.glAccount, ctx),
      ...(d.costCenter
        ? { cost_center: await this.#nameOf('Cost Center', 'cost_center_number', d.costCenter, ctx) }
        : {}),
      ...(d.project ? { project: d.project } : {}),
    };
  }

  /** The document name of an account / cost center by its number in this company (cached). */
  #nameOf(doctype: string, numberField: string, number: string, ctx: CallContext): Promise<string> {
    const key = `${doctype}|${number}`;
    let name = this.#names.get(key);
    if (!name) {
      name = (async () => {
        const rows = await this.#list(
          doctype,
          {
            filters: [
              [numberField, '=', number],
              ['company', '=', this.#company],
            ],
            fields: ['name'],
            limit: 1,
          },
          ctx,
        );
        if (!rows[0])
          throw new FinanceError(
            'ERP_REJECTED',
            `ERP "${this.#system}" has no ${doctype} numbered ${number} in company ${this.#company}.`,
          );
        return String(rows[0].name);
      })();
      this.#names.set(key, name);
      name.catch(() => this.#names.delete(key));
    }
    return name;
  }

  #canonical(doc: Doc): ErpPurchaseOrder {
    const currency = String(doc.currency);
    const items = Array.isArray(doc.items) ? doc.items.filter(isRecord) : [];
    const lines: PurchaseOrderLine[] = items.map((item) => {
      const unitPrice = this.#money(item.rate, currency, 'rate');
      return {
        lineId: String(item.idx),
        description: String(item.item_name ?? ''),
        ...(item.item_code && item.item_code !== this.#defaultItem ? { itemCode: String(item.item_code) } : {}),
        ...(item.item_tax_template ? { taxCode: String(item.item_tax_template) } : {}),
        quantity: decimalText(Number(item.qty)),
        unitOfMeasure: String(item.uom),
        unitPrice,
        amount: this.#money(item.amount, currency, 'amount'),
        accountAssignments: [
          {
            dimensions: {
              glAccount: numberOfName(String(item.expense_account)),
              ...(item.cost_center ? { costCenter: numberOfName(String(item.cost_center)) } : {}),
              ...(item.project ? { project: String(item.project) } : {}),
            },
          },
        ],
      };
    });
    const total = lines.reduce((sum, line) => sum + minorOf(line.amount), 0n);
    return {
      erpRef: this.#ref(doc),
      externalReference: String(doc[this.#referenceField] ?? ''),
      supplierId: String(doc.supplier),
      orderDate: String(doc.transaction_date),
      currency,
      total: fromMinorUnits(total, currency),
      status:
        doc.docstatus === 2 ? 'cancelled' : doc.status === 'Closed' || doc.status === 'Completed' ? 'closed' : 'open',
      lines,
    };
  }

  async #findPurchaseOrder(externalReference: string, ctx: CallContext, liveOnly: boolean): Promise<Doc | undefined> {
    const rows = await this.#list(
      PO,
      {
        filters: [
          [this.#referenceField, '=', fitReference(externalReference, FRAPPE_DATA_LENGTH)],
          ['company', '=', this.#company],
        ],
        fields: ['name', 'docstatus'],
        orderBy: 'modified desc',
        limit: 20,
      },
      ctx,
    );
    const live = rows.find((row) => row.docstatus !== 2);
    const chosen = live ?? (liveOnly ? undefined : rows[0]);
    return chosen ? this.#get(PO, String(chosen.name), ctx) : undefined;
  }

  #ref(doc: Doc, documentType = 'purchaseOrder'): ErpRef {
    return {
      system: this.#system,
      dialect: this.name,
      documentType,
      documentId: String(doc.name),
      number: String(doc.name),
      status:
        doc.docstatus === 2
          ? 'cancelled'
          : doc.docstatus === 1
            ? documentType === 'posting'
              ? 'posted'
              : 'open'
            : 'draft',
      etag: typeof doc.modified === 'string' ? doc.modified : undefined,
    };
  }

  // ---- postings --------------------------------------------------------------------------------

  async post(posting: PostingRequest, ctx: CallContext): Promise<PostingRef> {
    return posting.kind === 'payable' ? this.#postInvoice(posting, ctx) : this.#postJournal(posting, ctx);
  }

  async #postJournal(posting: PostingRequest, ctx: CallContext): Promise<PostingRef> {
    if (!this.#payableAccount) {
      throw new FinanceError(
        'CONFIG_INVALID',
        `ERP "${this.#system}" (ERPNext): set the payable account (the account number the journal credits, e.g. the employee payable account).`,
      );
    }
    const currencies = [posting.currency, ...posting.lines.map((line) => line.amount.currency)];
    for (const currency of new Set(currencies))
      await this.#requireCompanyCurrency(currency, `Journal posting ${posting.externalReference}`, ctx);
    const reference = fitReference(posting.externalReference, FRAPPE_DATA_LENGTH);
    const existing = await this.#findJournal(reference, ctx);
    if (existing) await this.#requireSamePosting(existing, 'Journal Entry', posting, ctx);
    if (existing?.docstatus === 1) return this.#postingRef(existing);
    refuseTaxCodedExpenseLines(posting, 'an ERPNext Journal Entry (its account rows have no tax field)');
    const total = posting.lines.reduce((net, line) => net + minorOf(line.amount), 0n);
    if (total <= 0n) {
      throw new FinanceError(
        'SCHEMA_INVALID',
        `Posting ${posting.externalReference}: its lines add up to ${fromMinorUnits(total, posting.currency).amount} ${posting.currency}, so the payable account would be credited nothing or debited; this dialect posts only what is owed to the payee. Nothing was written. Book the report by hand in ERPNext, or mark the posting as done.`,
        {
          retryable: false,
          details: { externalReference: posting.externalReference, total: fromMinorUnits(total, posting.currency) },
        },
      );
    }
    let draft = existing;
    if (!draft) {
      // One row per line on its own side: an expense is debited, a refund (a negative line) credited with its
      // absolute value; a 0.00 line is left out, as ERPNext refuses a row whose debit and credit are both zero
      // [S journal_entry.py validate_debit_credit_amount]. The payable is credited with the net total, so the
      // debits (the expense lines) equal the credits (refunds + payable) exactly, in minor units.
      const accounts: Doc[] = [];
      for (const [index, line] of posting.lines.entries()) {
        const minor = minorOf(line.amount);
        if (minor === 0n) continue;
        const where = `lines[${index}]`;
        const magnitude = jsonNumber(
          fromMinorUnits(minor < 0n ? -minor : minor, posting.currency).amount,
          `${where}.amount`,
        );
        const { expense_account, ...dimensions } = await this.#dimensions(line.dimensions, where, ctx);
        accounts.push({
          account: expense_account,
          ...(minor > 0n ? { debit_in_account_currency: magnitude } : { credit_in_account_currency: magnitude }),
          ...dimensions,
          user_remark: line.description ?? '',
        });
      }
      const payable = await this.#nameOf('Account', 'account_number', this.#payableAccount, ctx);
      accounts.push({
        account: payable,
        credit_in_account_currency: jsonNumber(
          fromMinorUnits(total, posting.currency).amount,
          'journal total (payable credit)',
        ),
        ...(await this.#partyOf(payable, posting, ctx)),
      });
      draft = await this.#insert(
        'Journal Entry',
        {
          voucher_type: 'Journal Entry',
          company: this.#company,
          posting_date: posting.postingDate,
          cheque_no: reference,
          cheque_date: posting.postingDate,
          user_remark: `${posting.externalReference}${posting.employeeId ? ` (employee ${posting.employeeId})` : ''}`,
          accounts,
        },
        ctx,
      );
    } else {
      draft = await this.#redateDraft(draft, 'Journal Entry', posting, ctx);
    }
    return this.#postingRef(await this.#submitOnce('Journal Entry', draft, posting, ctx));
  }

  /**
   * The party of the journal's payable row: ERPNext refuses a row on a Receivable or Payable account without
   * Party Type and Party ("Row {0}: Party Type and Party is required for Receivable / Payable account {1}",
   * journal_entry.py validate_party), and some versions refuse a party on any other account ("Party Type and
   * Party is only applicable against Receivable / Payable account") [S]. So the party (the Employee, whom the
   * payable is owed to) is sent only when the account's account_type is Payable or Receivable.
   */
  async #partyOf(account: string, posting: PostingRequest, ctx: CallContext): Promise<Doc> {
    const type = await this.#accountTypeOf(account, ctx);
    if (type !== 'Payable' && type !== 'Receivable') return {};
    if (!posting.employeeId)
      throw invalid(
        `a journal on ${type} account ${account} needs employeeId: ERPNext requires the party (the Employee owed) on that row`,
      );
    return { party_type: 'Employee', party: await this.#employeeOf(posting.employeeId, ctx) };
  }

  /** An Account's account_type ("Payable", "Receivable", "" ...), read once per account. */
  #accountTypeOf(account: string, ctx: CallContext): Promise<string> {
    let type = this.#accountTypes.get(account);
    if (!type) {
      type = (async () => {
        const doc = await this.#get('Account', account, ctx);
        if (!doc) throw new FinanceError('ERP_REJECTED', `ERP "${this.#system}" has no Account ${account}.`);
        return typeof doc.account_type === 'string' ? doc.account_type : '';
      })();
      this.#accountTypes.set(account, type);
      type.catch(() => this.#accountTypes.delete(account));
    }
    return type;
  }

  /**
   * The ERPNext Employee (its name, the Employee ID) for the report's employee id: the Employee of that name
   * in this company, else the one whose Employee Number (`employee_number`) is the id. ERPNext names employees
   * by HR Settings "Employee Naming By" (a naming series such as HR-EMP-00001 by default, the Employee Number,
   * or the full name), while the id comes from the expense source; where they differ, the Employee Number
   * carries the source's id.
   */
  async #employeeOf(employeeId: string, ctx: CallContext): Promise<string> {
    const named = await this.#get('Employee', employeeId, ctx);
    if (named && (named.company === undefined || named.company === this.#company)) return String(named.name);
    const rows = await this.#list(
      'Employee',
      {
        filters: [
          ['employee_number', '=', employeeId],
          ['company', '=', this.#company],
        ],
        fields: ['name'],
        limit: 2,
      },
      ctx,
    );
    if (rows.length === 1) return String(rows[0].name);
    throw new FinanceError(
      'ERP_REJECTED',
      `ERP "${this.#system}" (ERPNext) has ${rows.length === 0 ? 'no' : 'more than one'} Employee in company ${this.#company} whose ID or Employee Number is ${employeeId}, so the journal's payable row has no party (ERPNext requires one on a Payable account). Nothing was written. Set the Employee Number of the employee in ERPNext to ${employeeId} (the id the expense source gives), or map the source's employee id to the ERPNext Employee ID, then replay the dead letter.`,
      { retryable: false, details: { vendorCode: 'NO_EMPLOYEE', employeeId, company: this.#company } },
    );
  }

  /**
   * A draft an earlier attempt left (its submit was refused, e.g. for a frozen or closed period, or its answer
   * was lost) holds that attempt's posting date; a replay may ask for another (the "today" rule, or a date a
   * person chose to leave the closed period). Submitting the draft as it is would book the old date, so its
   * dates are moved to the posting's first (the draft holds this posting's rows: #requireSamePosting).
   */
  async #redateDraft(draft: Doc, doctype: string, posting: PostingRequest, ctx: CallContext): Promise<Doc> {
    if (draft.posting_date === posting.postingDate) return draft;
    const date = posting.postingDate;
    const dates =
      doctype === PI
        ? { posting_date: date, set_posting_time: 1, due_date: date, bill_date: date }
        : { posting_date: date, cheque_date: date };
    return this.#put(doctype, draft, { ...dates, modified: draft.modified }, ctx);
  }

  /**
   * A payable is a Purchase Invoice to the supplier (for an expense report: the employee's own Supplier),
   * keyed by Supplier Invoice No `bill_no` (Data, 140) with `bill_date`, one item per line on the line's
   * expense account, cost center and project. `credit_to` is left to ERPNext, which takes the supplier's (or
   * the company's default) payable account. Lookup before insert; a draft left by an earlier attempt is
   * submitted, not inserted again, when it holds the posting (#requireSamePosting), moved to its posting date.
   */
  async #postInvoice(posting: PostingRequest, ctx: CallContext): Promise<PostingRef> {
    const reference = fitReference(posting.externalReference, FRAPPE_DATA_LENGTH);
    const existing = await this.#findInvoice(reference, ctx);
    if (existing) await this.#requireSamePosting(existing, PI, posting, ctx);
    if (existing?.docstatus === 1) return this.#postingRef(existing);
    refuseTaxCodedExpenseLines(
      posting,
      'an ERPNext Purchase Invoice (its rate is net unless a tax row says otherwise)',
    );
    refuseRefundLines(posting);
    let draft = existing;
    if (!draft) {
      const supplier = await this.#payee(posting, ctx);
      const items: Doc[] = [];
      for (const [index, line] of posting.lines.entries()) {
        const where = `lines[${index}]`;
        const name = (line.description ?? posting.externalReference).slice(0, FRAPPE_DATA_LENGTH);
        items.push({
          item_code: this.#defaultItem,
          item_name: name,
          description: line.description ?? posting.externalReference,
          qty: 1,
          uom: 'Nos',
          rate: jsonNumber(line.amount.amount, `${where}.amount`),
          ...(await this.#dimensions(line.dimensions, where, ctx)),
        });
      }
      draft = await this.#insert(
        PI,
        {
          supplier,
          company: this.#company,
          posting_date: posting.postingDate,
          // Without it ERPNext sets an invoice's posting date to today on save [U accounts_controller].
          set_posting_time: 1,
          due_date: posting.postingDate,
          currency: posting.currency,
          bill_no: reference,
          bill_date: posting.postingDate,
          remarks: `${posting.externalReference}${posting.employeeId ? ` (employee ${posting.employeeId})` : ''}`,
          items,
        },
        ctx,
      );
      this.#refuseAddedCharges(draft, posting);
    } else {
      draft = await this.#redateDraft(draft, PI, posting, ctx);
    }
    return this.#postingRef(await this.#submitOnce(PI, draft, posting, ctx));
  }

  /**
   * ERPNext may add rows of its own to a new invoice (a default Purchase Taxes and Charges Template, a Tax
   * Rule for the supplier): on the gross amounts of an expense report that owes the payee more than was paid.
   * So a new draft whose grand total is not the posting's is left unsubmitted, for a person.
   */
  #refuseAddedCharges(draft: Doc, posting: PostingRequest): void {
    const want = sum(
      posting.lines.map((line) => line.amount),
      posting.currency,
    );
    const held = this.#money(draft.grand_total, String(draft.currency), 'grand_total');
    if (sameAmount(held, want)) return;
    throw new FinanceError(
      'ERP_CONFLICT',
      `ERP "${this.#system}" (ERPNext) made the new Purchase Invoice ${String(draft.name)} for ${posting.externalReference} total ${held.amount} ${held.currency}, but the posting totals ${want.amount} ${want.currency}: ERPNext added charges of its own (a default Purchase Taxes and Charges Template, or a Tax Rule for the supplier), which on amounts paid tax included would owe the payee more than was paid. The draft was not submitted. Remove the taxes from draft ${String(draft.name)} and submit it, or delete it and turn the default template or tax rule off for this supplier, then replay the posting.`,
      {
        retryable: false,
        details: { documentId: String(draft.name), externalReference: posting.externalReference, held, expected: want },
      },
    );
  }

  /** The Supplier paid: the posting's supplier, else the Supplier whose employee field names the employee. */
  async #payee(posting: PostingRequest, ctx: CallContext): Promise<string> {
    if (posting.supplierId) return posting.supplierId;
    if (!posting.employeeId) throw invalid('a payable needs supplierId or employeeId (whom the invoice is owed to)');
    const rows = await this.#list(
      'Supplier',
      { filters: [[this.#employeeField, '=', posting.employeeId]], fields: ['name', 'disabled'], limit: 2 },
      ctx,
    );
    const live = rows.filter((row) => !row.disabled);
    if (live.length !== 1) {
      throw new FinanceError(
        'ERP_REJECTED',
        `ERP "${this.#system}" (ERPNext) has ${live.length === 0 ? 'no' : 'more than one'} enabled Supplier with ${this.#employeeField} = ${posting.employeeId}; create one Supplier per reimbursed employee and set its ${this.#employeeField} (README "ERPNext"), then replay the dead letter.`,
        { details: { vendorCode: 'NO_EMPLOYEE_SUPPLIER', employeeId: posting.employeeId } },
      );
    }
    return String(live[0].name);
  }

  async #findInvoice(reference: string, ctx: CallContext): Promise<Doc | undefined> {
    const rows = await this.#list(
      PI,
      {
        filters: [
          ['bill_no', '=', reference],
          ['company', '=', this.#company],
          ['docstatus', '!=', 2],
        ],
        fields: ['name'],
        limit: 1,
      },
      ctx,
    );
    return rows[0] ? this.#get(PI, String(rows[0].name), ctx) : undefined;
  }

  /**
   * Submits the draft; when someone saved it in between (TimestampMismatchError, 412 here) it is read again
   * and submitted with its new `modified`, or taken as it is when that save already submitted it; either only
   * while it still holds the posting's total, as that save may have changed it.
   */
  async #submitOnce(doctype: string, draft: Doc, posting: PostingRequest, ctx: CallContext): Promise<Doc> {
    try {
      return await this.#submit(doctype, draft, ctx);
    } catch (error) {
      if (isRefused(error)) throw draftLeft(error, doctype, String(draft.name), posting.postingDate);
      if (!isStale(error)) throw error;
      const current = await this.#get(doctype, String(draft.name), ctx);
      if (!current) throw error;
      await this.#requireSamePosting(current, doctype, posting, ctx);
      if (current.docstatus === 1) return current;
      return this.#submit(doctype, current, ctx);
    }
  }

  /**
   * A journal or invoice found under the posting's reference is this posting only when it holds the posting's
   * total (the dialect contract, ErpDialect.findPosting): another total is an earlier version of the report
   * (or a document changed in ERPNext), and answering it as posted, or submitting it when it is a draft, would
   * book amounts the report no longer has. An invoice's total is `grand_total`, in its own currency. A
   * journal's, in the company's currency, is what it credits the payable account (the net total) and its
   * `total_debit`: the sum of the expense (positive) lines, as refunds are credit rows (#postJournal); a
   * journal an earlier version wrote with refunds as negative debits holds the net total there, taken too.
   */
  async #requireSameTotal(doc: Doc, doctype: string, posting: PostingRequest, ctx: CallContext): Promise<void> {
    const amounts = posting.lines.map((line) => line.amount);
    let want = sum(amounts, posting.currency);
    const invoice = doctype === PI;
    let held: Money;
    if (invoice) {
      held = this.#money(doc.grand_total, String(doc.currency), 'grand_total');
      if (sameAmount(held, want)) return;
    } else {
      const currency = await this.#currencyOfCompany(ctx);
      const debits = this.#money(doc.total_debit, currency, 'total_debit');
      const owed = this.#payableAccount
        ? await this.#payableCredit(doc, this.#payableAccount, currency, ctx)
        : undefined;
      const expectedDebits = journalDebits(amounts, posting.currency);
      const sameDebits = sameAmount(debits, expectedDebits) || sameAmount(debits, want);
      if (sameDebits && (owed === undefined || sameAmount(owed, want))) return;
      // The error compares like with like: what the journal owes the payee, else its debits.
      if (owed !== undefined && !sameAmount(owed, want)) held = owed;
      else [held, want] = [debits, expectedDebits];
    }
    const draft = doc.docstatus === 0;
    const name = String(doc.name);
    throw new FinanceError(
      'ERP_CONFLICT',
      `ERP "${this.#system}" (ERPNext) already holds ${draft ? 'draft ' : ''}${doctype} ${name} for ${posting.externalReference}, totalling ${held.amount} ${held.currency}, but this posting totals ${want.amount} ${want.currency}: ${name} holds an earlier version of the document, or was changed in ERPNext, so it was ${draft ? 'not submitted' : 'not taken as this posting'} and nothing was written. Do not retry: compare ${name} in ERPNext with the document; to book this version, ${draft ? 'delete the draft' : `cancel ${name}`} in ERPNext and replay the posting; if ${name} is right, mark the posting as done.`,
      {
        retryable: false,
        details: {
          documentId: name,
          doctype,
          docstatus: doc.docstatus,
          externalReference: posting.externalReference,
          booked: held,
          expected: want,
        },
      },
    );
  }

  /**
   * A journal or invoice found under the posting's reference is this posting only when it books what the
   * posting books: its total (#requireSameTotal) and, account by account, the same amounts on the same
   * accounts, cost centers and projects (#requireSameRows). A revision of a report that re-codes lines keeps
   * its total; answering the earlier document as posted would leave the old coding booked.
   */
  async #requireSamePosting(doc: Doc, doctype: string, posting: PostingRequest, ctx: CallContext): Promise<void> {
    await this.#requireSameTotal(doc, doctype, posting, ctx);
    await this.#requireSameRows(doc, doctype, posting, ctx);
  }

  /**
   * The document's expense rows (a journal's rows other than the payable account's; an invoice's items) against
   * the posting's lines, summed per account, cost center and project (in minor units, a journal's credit as a
   * negative amount): how the amounts are split into rows within one of them does not change what is booked.
   * A row's cost center the posting does not name is not counted where the posting has a line on that account
   * and project without one: ERPNext may fill in a default cost center on such a row. Any difference is
   * ERP_CONFLICT naming it.
   */
  async #requireSameRows(doc: Doc, doctype: string, posting: PostingRequest, ctx: CallContext): Promise<void> {
    const invoice = doctype === PI;
    const currency = invoice ? String(doc.currency) : await this.#currencyOfCompany(ctx);
    const wanted = new Map<string, bigint>();
    // Per account and project: the cost centers the posting names, and whether a line names none.
    const centers = new Map<string, Set<string>>();
    const withoutCenter = new Set<string>();
    for (const [index, line] of posting.lines.entries()) {
      const { expense_account, cost_center, project } = await this.#dimensions(line.dimensions, `lines[${index}]`, ctx);
      const place = rowKey(expense_account, undefined, project);
      if (cost_center) centers.set(place, (centers.get(place) ?? new Set<string>()).add(cost_center));
      else withoutCenter.add(place);
      addTo(wanted, rowKey(expense_account, cost_center, project), minorOf(line.amount));
    }
    const payable =
      !invoice && this.#payableAccount
        ? await this.#nameOf('Account', 'account_number', this.#payableAccount, ctx)
        : undefined;
    const rows = (
      Array.isArray(doc[invoice ? 'items' : 'accounts']) ? (doc[invoice ? 'items' : 'accounts'] as unknown[]) : []
    )
      .filter(isRecord)
      .filter((row) => invoice || row.account !== payable);
    const held = new Map<string, bigint>();
    for (const row of rows) {
      const account = String(invoice ? row.expense_account : row.account);
      const project = typeof row.project === 'string' && row.project !== '' ? row.project : undefined;
      const center = typeof row.cost_center === 'string' && row.cost_center !== '' ? row.cost_center : undefined;
      const place = rowKey(account, undefined, project);
      // A cost center the posting does not name, where it has a line without one, is ERPNext's default.
      const counted = center !== undefined && (centers.get(place)?.has(center) || !withoutCenter.has(place));
      const minor = invoice
        ? minorOf(this.#money(row.amount, currency, 'items.amount'))
        : minorOf(this.#money(row.debit_in_account_currency ?? 0, currency, 'accounts.debit_in_account_currency')) -
          minorOf(this.#money(row.credit_in_account_currency ?? 0, currency, 'accounts.credit_in_account_currency'));
      addTo(held, rowKey(account, counted ? center : undefined, project), minor);
    }
    const name = String(doc.name);
    const differences: string[] = [];
    for (const key of [...new Set([...held.keys(), ...wanted.keys()])].sort()) {
      const has = held.get(key) ?? 0n;
      const want = wanted.get(key) ?? 0n;
      if (has === want) continue;
      differences.push(
        `${describeRow(key)}: ${fromMinorUnits(has, currency).amount} in ${name}, ${fromMinorUnits(want, currency).amount} in this posting`,
      );
    }
    if (differences.length === 0) return;
    const draft = doc.docstatus === 0;
    throw new FinanceError(
      'ERP_CONFLICT',
      `ERP "${this.#system}" (ERPNext) already holds ${draft ? 'draft ' : ''}${doctype} ${name} for ${posting.externalReference} with this posting's total, but booked otherwise: ${differences.join('; ')}. ${name} holds an earlier version of the document (its lines were re-coded since), or was changed in ERPNext, so it was ${draft ? 'not submitted' : 'not taken as this posting'} and nothing was written. Do not retry: compare ${name} in ERPNext with the document; to book this version, ${draft ? 'delete the draft' : `cancel ${name}`} in ERPNext and replay the posting; if ${name} is right, mark the posting as done.`,
      {
        retryable: false,
        details: {
          documentId: name,
          doctype,
          docstatus: doc.docstatus,
          externalReference: posting.externalReference,
          vendorCode: 'ROWS_DIFFER',
          differences,
        },
      },
    );
  }

  /** What a Journal Entry credits the payable account, less what it debits it (its `accounts` rows). */
  async #payableCredit(doc: Doc, payableAccount: string, currency: string, ctx: CallContext): Promise<Money> {
    const payable = await this.#nameOf('Account', 'account_number', payableAccount, ctx);
    const rows = Array.isArray(doc.accounts) ? doc.accounts.filter(isRecord) : [];
    let owed = 0n;
    for (const row of rows) {
      if (row.account !== payable) continue;
      owed += minorOf(
        this.#money(row.credit_in_account_currency ?? 0, currency, 'accounts.credit_in_account_currency'),
      );
      owed -= minorOf(this.#money(row.debit_in_account_currency ?? 0, currency, 'accounts.debit_in_account_currency'));
    }
    return fromMinorUnits(owed, currency);
  }

  async #findJournal(reference: string, ctx: CallContext): Promise<Doc | undefined> {
    const rows = await this.#list(
      'Journal Entry',
      {
        filters: [
          ['cheque_no', '=', reference],
          ['company', '=', this.#company],
          ['docstatus', '!=', 2],
        ],
        fields: ['name'],
        limit: 1,
      },
      ctx,
    );
    return rows[0] ? this.#get('Journal Entry', String(rows[0].name), ctx) : undefined;
  }

  #postingRef(doc: Doc): PostingRef {
    const currency = typeof doc.currency === 'string' ? doc.currency : undefined;
    return {
      ...this.#ref(doc, 'posting'),
      ...(currency
        ? { total: this.#money(doc.doctype === PI ? doc.grand_total : doc.total_debit, currency, 'total') }
        : {}),
      postedAt: String(doc.modified),
    };
  }

  /**
   * The ledger's lookup of a posting (ErpDialect.findPosting): a submitted document of the posting's kind that
   * holds its total and rows; another is an ERP_CONFLICT (#requireSamePosting). A draft is not a posting: null, and
   * post() checks it and submits it. A lookup writes nothing.
   */
  async findPosting(posting: PostingRequest, ctx: CallContext): Promise<FoundDocument | null> {
    const reference = fitReference(posting.externalReference, FRAPPE_DATA_LENGTH);
    const doctype = posting.kind === 'payable' ? PI : 'Journal Entry';
    const doc =
      posting.kind === 'payable' ? await this.#findInvoice(reference, ctx) : await this.#findJournal(reference, ctx);
    if (doc?.docstatus !== 1) return null;
    await this.#requireSamePosting(doc, doctype, posting, ctx);
    return { ...this.#postingRef(doc), raw: doc };
  }

  async findByReference(
    documentType: ErpDocumentType,
    externalReference: string,
    ctx: CallContext,
  ): Promise<FoundDocument | null> {
    if (documentType === 'purchaseOrder') {
      const doc = await this.#findPurchaseOrder(externalReference, ctx, false);
      return doc ? { ...this.#ref(doc), raw: doc } : null;
    }
    // The lookup does not know the posting kind: a journal or an invoice under the reference is the posting.
    const reference = fitReference(externalReference, FRAPPE_DATA_LENGTH);
    const doc = (await this.#findJournal(reference, ctx)) ?? (await this.#findInvoice(reference, ctx));
    return doc ? { ...this.#ref(doc, 'posting'), raw: doc } : null;
  }

  // ---- budgets -----------------------------------------------------------------------------------

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
    const currency = await this.#requireCompanyCurrency(
      request.amount.currency,
      `The budget check for ${describe(request)} in ${request.period}`,
      ctx,
    );
    const isOrder = request.documentType !== 'ExpenseReport';
    const periodEnd = lastDay(request.period);
    // The fiscal year that holds the period's end, and the Budgets whose fiscal years span it (ERPNext's
    // budget_start_date <= date <= budget_end_date, through the Fiscal Year names).
    const { year, years } = await this.#fiscalYearOf(periodEnd, ctx);
    const filters: Filter[] = [
      ['company', '=', this.#company],
      ['docstatus', '=', 1],
      ['from_fiscal_year', 'in', years.filter((fy) => fy.start <= periodEnd).map((fy) => fy.name)],
      ['to_fiscal_year', 'in', years.filter((fy) => fy.end >= periodEnd).map((fy) => fy.name)],
    ];
    const dimension: Filter[] = [];
    if (request.costCenter) {
      const costCenter = await this.#nameOf('Cost Center', 'cost_center_number', request.costCenter, ctx);
      filters.push(['budget_against', '=', 'Cost Center'], ['cost_center', '=', costCenter]);
      dimension.push(['cost_center', '=', costCenter]);
    } else if (request.project) {
      filters.push(['budget_against', '=', 'Project'], ['project', '=', request.project]);
      dimension.push(['project', '=', request.project]);
    }
    if (request.glAccount)
      filters.push(['account', '=', await this.#nameOf('Account', 'account_number', request.glAccount, ctx)]);
    const found =
      dimension.length === 0 ? [] : await this.#list('Budget', { filters, fields: ['name'], limit: 0 }, ctx);
    const requested = minorOf(request.amount);
    let budget = 0n;
    let actuals = 0n;
    let commitments = 0n;
    let stopped = false;
    const messages: ErpMessage[] = [];
    const unchecked: string[] = [];
    for (const row of found) {
      const doc = await this.#get('Budget', String(row.name), ctx);
      if (!doc) continue;
      const amount = this.#money(doc.budget_amount ?? 0, currency, 'budget_amount');
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
      if (minorOf(amount) === 0n || !controlled) {
        unchecked.push(
          `${String(doc.name)} (${minorOf(amount) === 0n ? 'its amount is 0' : 'its actions are Ignore'})`,
        );
        continue;
      }
      const account = String(doc.account);
      // The Budget's range: from the start of its first fiscal year to the end of its last (budget.py).
      const start = years.find((fy) => fy.name === doc.from_fiscal_year)?.start ?? year.start;
      const end = years.find((fy) => fy.name === doc.to_fiscal_year)?.end ?? year.end;
      // Each Budget counts its own account only, for a project too: ERPNext keeps one Budget per account, and
      // its own check filters GL entries and orders by the Budget's account [S erpnext budget.py
      // get_actual_expense, get_ordered_amount]; without it every Budget of a project adds all of its spend.
      const scope: Filter[] = [...dimension, ['account', '=', account]];
      const spentUntil = await this.#actualsByDate(scope, start, end, currency, ctx);
      const orders = onOrders ? await this.#unbilledOrders(scope, start, end, currency, ctx) : 0n;
      const distribution = Array.isArray(doc.budget_distribution) ? doc.budget_distribution.filter(isRecord) : [];
      // get_accumulated_monthly_budget: the distribution rows that start on or before the date [S].
      const monthly = distribution
        .filter((entry) => String(entry.start_date) <= periodEnd)
        .reduce((sum, entry) => sum + minorOf(this.#money(entry.amount, currency, 'budget_distribution.amount')), 0n);
      const comparisons = [
        { label: 'Annual' as const, limit: minorOf(amount), spent: spentUntil(end) },
        { label: 'Accumulated Monthly' as const, limit: monthly, spent: spentUntil(periodEnd) },
      ]
        .map((comparison) => ({
          ...comparison,
          action: actions[comparison.label],
          left: comparison.limit - comparison.spent - orders,
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
          text: `Budget ${String(doc.name)}: ${comparison.label} Budget for Account ${account} against ${against} is ${fromMinorUnits(comparison.limit, currency).amount}. ${exceeded ? `It will be exceeded by ${fromMinorUnits(over, currency).amount}` : `${fromMinorUnits(comparison.left, currency).amount} left`}; ERPNext's action: ${comparison.action}${exceeded ? (comparison.action === 'Stop' ? ' (ERPNext refuses the document)' : ' (ERPNext accepts the document with a warning)') : ''}.`,
        });
      }
      const deciding = comparisons.some((comparison) => comparison.action === 'Stop')
        ? comparisons.filter((comparison) => comparison.action === 'Stop')
        : comparisons;
      const tightest = deciding.reduce((a, b) => (b.left < a.left ? b : a));
      budget += tightest.limit;
      actuals += tightest.spent;
      commitments += orders;
    }
    if (budget === 0n && messages.length === 0) {
      throw new FinanceError(
        'ERP_NOT_FOUND',
        `ERP "${this.#system}" (ERPNext) has no ${unchecked.length > 0 ? 'checked ' : ''}submitted Budget for ${describe(request)} in fiscal year ${year.name}${unchecked.length > 0 ? `: ERPNext does not check Budget ${unchecked.join(', ')}` : ''}.`,
        {
          details: { vendorCode: 'NO_BUDGET', ...(unchecked.length > 0 ? { unchecked } : {}) },
        },
      );
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
    const gl = await this.#list(
      'GL Entry',
      {
        filters: [
          ...scope,
          ['company', '=', this.#company],
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
      amount: minorOf(this.#money(e.debit, currency, 'debit')) - minorOf(this.#money(e.credit, currency, 'credit')),
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
    const items = await this.#list(
      PO,
      {
        filters: [
          ['company', '=', this.#company],
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

  // ---- fiscal years ------------------------------------------------------------------------------

  /**
   * The company's fiscal year that holds `date` and all the company's fiscal years (latest start first), from
   * the kept list; a list older than FISCAL_YEARS_TTL_MS is read again, and so is one without the date (if it
   * is older than FISCAL_YEARS_REREAD_MS). No year holds it: ERP_NOT_FOUND (NO_FISCAL_YEAR), as ERPNext's own
   * FiscalYearError.
   */
  async #fiscalYearOf(date: string, ctx: CallContext): Promise<{ year: FiscalYear; years: FiscalYear[] }> {
    let kept = this.#fiscalYears;
    if (!kept || Date.now() - kept.readAt >= FISCAL_YEARS_TTL_MS) kept = this.#readFiscalYears(ctx);
    let years = await kept.years;
    let year = years.find((fy) => fy.start <= date && date <= fy.end);
    if (!year && Date.now() - kept.readAt >= FISCAL_YEARS_REREAD_MS) {
      years = await this.#readFiscalYears(ctx).years;
      year = years.find((fy) => fy.start <= date && date <= fy.end);
    }
    if (!year) {
      throw new FinanceError(
        'ERP_NOT_FOUND',
        `ERP "${this.#system}" (ERPNext) has no active Fiscal Year for company ${this.#company} that holds ${date}. Create it in ERPNext (Accounting > Fiscal Year: Year Start Date on or before ${date}, Year End Date on or after it, and no Companies listed or ${this.#company} among them), or enable it if it is disabled; then retry.`,
        { retryable: false, details: { vendorCode: 'NO_FISCAL_YEAR', date, company: this.#company } },
      );
    }
    return { year, years };
  }

  /**
   * GET the Fiscal Year list with its Fiscal Year Company rows (a left join: one row per listed company, one row
   * with company null for a year that lists none), kept as the company's years; a failed read is not kept.
   */
  #readFiscalYears(ctx: CallContext): { readAt: number; years: Promise<FiscalYear[]> } {
    const years = (async () => {
      const rows = await this.#list(
        'Fiscal Year',
        {
          filters: [['disabled', '=', 0]],
          fields: ['name', 'year_start_date', 'year_end_date', '`tabFiscal Year Company`.company as company'],
          orderBy: 'year_start_date desc',
          limit: 0,
        },
        ctx,
      );
      const byName = new Map<string, FiscalYear & { companies: Set<string>; forAll: boolean }>();
      for (const row of rows) {
        const name = row.name;
        const start = row.year_start_date;
        const end = row.year_end_date;
        if (typeof name !== 'string' || !isDate(start) || !isDate(end))
          throw this.#unexpected('the Fiscal Year list', 'a row without name, year_start_date or year_end_date');
        const year = byName.get(name) ?? { name, start, end, companies: new Set<string>(), forAll: false };
        if (typeof row.company === 'string' && row.company !== '') year.companies.add(row.company);
        else year.forAll = true;
        byName.set(name, year);
      }
      return [...byName.values()]
        .filter((fy) => fy.forAll || fy.companies.has(this.#company))
        .sort((a, b) => (a.start < b.start ? 1 : a.start > b.start ? -1 : 0))
        .map(({ name, start, end }) => ({ name, start, end }));
    })();
    const kept = { readAt: Date.now(), years };
    this.#fiscalYears = kept;
    years.catch(() => {
      if (this.#fiscalYears === kept) this.#fiscalYears = undefined;
    });
    return kept;
  }

  // ---- company currency --------------------------------------------------------------------------

  /**
   * The company currency when `currency` is it; else CURRENCY_MISMATCH. Journal Entry amounts
   * (`*_in_account_currency` on company-currency accounts) and budget figures are company-currency amounts,
   * and this dialect sends no exchange rate: a JPY amount would be booked, or a EUR figure labelled, as the
   * other currency.
   */
  async #requireCompanyCurrency(currency: string, what: string, ctx: CallContext): Promise<string> {
    const companyCurrency = await this.#currencyOfCompany(ctx);
    if (currency === companyCurrency) return companyCurrency;
    throw new FinanceError(
      'CURRENCY_MISMATCH',
      `${what} is in ${currency}, but ERPNext company ${this.#company} (ERP "${this.#system}") keeps its books in ${companyCurrency} and this connection sends no exchange rate. Convert the amounts to ${companyCurrency} in the source system (or book this one by hand in ERPNext); retrying will not help.`,
      { retryable: false, details: { currency, companyCurrency, company: this.#company } },
    );
  }

  /** The Company's `default_currency`, read once per connection (a failed read is tried again next time). */
  #currencyOfCompany(ctx: CallContext): Promise<string> {
    if (!this.#companyCurrency) {
      const read = (async () => {
        const company = await this.#get('Company', this.#company, ctx);
        if (!company) {
          throw new FinanceError(
            'CONFIG_INVALID',
            `ERP "${this.#system}" (ERPNext) has no Company "${this.#company}"; set company to the Company's name as ERPNext shows it.`,
          );
        }
        const currency = company.default_currency;
        if (typeof currency !== 'string' || !/^[A-Z]{3}$/.test(currency))
          throw this.#unexpected(`Company ${this.#company}`, 'no default_currency');
        return currency;
      })();
      this.#companyCurrency = read;
      read.catch(() => {
        if (this.#companyCurrency === read) this.#companyCurrency = undefined;
      });
    }
    return this.#companyCurrency;
  }

  // ---- master data -------------------------------------------------------------------------------

  async listMasterData(kind: MasterDataKind, query: MasterDataQuery, ctx: CallContext): Promise<MasterDataPage> {
    const spec = MASTER[kind];
    if (!spec)
      throw new FinanceError(
        'CONFIG_INVALID',
        `ERPNext keeps ${String(kind)} as tax templates without a single rate; sync ${String(kind)} from another source.`,
      );
    const limit = query.limit ?? 100;
    // Paged by name (the key), not by limit_start: a record deleted while the listing runs would shift later
    // rows onto pages already read, and a full sync would remove a record that still exists.
    const after = query.cursor ?? undefined;
    if (after === '')
      throw new FinanceError(
        'CONFIG_INVALID',
        'The paging cursor is not one this dialect handed out; start the sync again.',
      );
    const filters: Filter[] = [
      ...(spec.company ? [['company', '=', this.#company] as Filter] : []),
      ...(spec.filters ?? []),
    ];
    if (query.modifiedSince) filters.push(['modified', '>=', frappeDateTime(query.modifiedSince)]);
    if (after !== undefined) filters.push(['name', '>', after]);
    const rows = await this.#list(spec.doctype, { filters, fields: spec.fields, orderBy: 'name asc', limit }, ctx);
    const last = rows.at(-1)?.name;
    if (rows.length === limit && (typeof last !== 'string' || last === ''))
      throw this.#unexpected(`the ${spec.doctype} list`, 'a row without name');
    return {
      items: rows.map((row) => spec.map(row, this.#company)),
      nextCursor: rows.length === limit ? String(last) : null,
    };
  }

  // ---- HTTP --------------------------------------------------------------------------------------

  #docPath(doctype: string, name?: string): string {
    const base = `/api/resource/${encodeURIComponent(doctype)}`;
    return name === undefined ? base : `${base}/${encodeURIComponent(name)}`;
  }

  async #list(
    doctype: string,
    options: { filters: Filter[]; fields: string[]; orderBy?: string; limit: number },
    ctx: CallContext,
  ): Promise<Doc[]> {
    const { data } = await this.#call(
      {
        method: 'GET',
        path: this.#docPath(doctype),
        query: {
          fields: JSON.stringify(options.fields),
          filters: JSON.stringify(options.filters),
          limit_page_length: options.limit,
          ...(options.orderBy ? { order_by: options.orderBy } : {}),
        },
      },
      ctx,
    );
    if (!isRecord(data) || !Array.isArray(data.data)) throw this.#unexpected(`the ${doctype} list`, 'no data list');
    return data.data.filter(isRecord);
  }

  async #get(doctype: string, name: string, ctx: CallContext): Promise<Doc | undefined> {
    try {
      const { data } = await this.#call({ method: 'GET', path: this.#docPath(doctype, name) }, ctx);
      return this.#data(data, `${doctype} ${name}`);
    } catch (error) {
      if (isFinanceError(error) && error.httpStatus === 404) return undefined;
      throw error;
    }
  }

  async #insert(doctype: string, body: Doc, ctx: CallContext): Promise<Doc> {
    const { data } = await this.#call({ method: 'POST', path: this.#docPath(doctype), body }, ctx);
    return this.#data(data, `the inserted ${doctype}`);
  }

  async #put(doctype: string, current: Doc, body: Doc, ctx: CallContext): Promise<Doc> {
    const { data } = await this.#call({ method: 'PUT', path: this.#docPath(doctype, String(current.name)), body }, ctx);
    return this.#data(data, `the updated ${doctype}`);
  }

  #submit(doctype: string, draft: Doc, ctx: CallContext): Promise<Doc> {
    return this.#put(doctype, draft, { docstatus: 1, modified: draft.modified }, ctx);
  }

  async #call(request: ErpRequest, ctx: CallContext): Promise<ErpResponse<unknown>> {
    const headers = this.#site ? { ...request.headers, 'X-Frappe-Site-Name': this.#site } : request.headers;
    try {
      return await this.#http.request<unknown>({ ...request, headers, correlationId: ctx.correlationId });
    } catch (error) {
      throw withFrappeMessages(error);
    }
  }

  #data(data: unknown, what: string): Doc {
    if (!isRecord(data) || !isRecord(data.data) || typeof data.data.name !== 'string')
      throw this.#unexpected(what, 'no data.name');
    return data.data;
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
    const amount = minorOf(this.#money(item.amount, orderCurrency, 'amount'));
    const billed = minorOf(this.#money(item.billed_amt ?? 0, orderCurrency, 'billed_amt'));
    if (amount <= 0n || billed >= amount) return 0n;
    const base = this.#money(item.base_amount ?? item.amount, companyCurrency, 'base_amount');
    return minorOf(allocate(base, [amount - billed, billed])[0]);
  }

  #money(value: unknown, currency: string, what: string): Money {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw this.#unexpected(what, 'not a number');
    try {
      return money(decimalText(value), currency, { allowNegative: true, path: what });
    } catch {
      throw this.#unexpected(what, `${value} has more decimals than ${currency}`);
    }
  }

  #unexpected(what: string, problem: string): FinanceError {
    return new FinanceError(
      'ERP_UNAVAILABLE',
      `ERP "${this.#system}" (ERPNext) answered ${what} in a shape this dialect does not know (${problem}). Check the base URL (the site's address); ${UNKNOWN_SHAPE_ADVICE}`,
      {
        retryable: false,
      },
    );
  }
}

interface MasterSpec {
  doctype: string;
  fields: string[];
  company?: boolean;
  filters?: Filter[];
  map(row: Doc, company: string): MasterRecord;
}

const MASTER: Partial<Record<MasterDataKind, MasterSpec>> = {
  employees: {
    doctype: 'Employee',
    fields: ['name', 'employee_name', 'company_email', 'reports_to', 'status', 'modified'],
    company: true,
    map: (row, company) => ({
      id: String(row.name),
      name: String(row.employee_name),
      modifiedAt: isoDateTime(row.modified),
      company,
      ...(row.company_email ? { email: String(row.company_email) } : {}),
      ...(row.reports_to ? { managerId: String(row.reports_to) } : {}),
      active: row.status === 'Active',
    }),
  },
  suppliers: {
    doctype: 'Supplier',
    fields: ['name', 'supplier_name', 'country', 'default_currency', 'on_hold', 'disabled', 'modified'],
    map: (row) => ({
      id: String(row.name),
      name: String(row.supplier_name),
      modifiedAt: isoDateTime(row.modified),
      country: String(row.country ?? ''),
      ...(row.default_currency ? { currency: String(row.default_currency) } : {}),
      status: row.on_hold || row.disabled ? 'blocked' : 'active',
    }),
  },
  costCenters: {
    doctype: 'Cost Center',
    fields: ['name', 'cost_center_name', 'cost_center_number', 'disabled', 'modified'],
    company: true,
    filters: [['is_group', '=', 0]],
    map: (row, company) => ({
      id: String(row.cost_center_number || row.name),
      name: String(row.cost_center_name),
      modifiedAt: isoDateTime(row.modified),
      company,
      open: !row.disabled,
    }),
  },
  projects: {
    doctype: 'Project',
    fields: ['name', 'project_name', 'status', 'modified'],
    company: true,
    map: (row, company) => ({
      id: String(row.name),
      name: String(row.project_name),
      modifiedAt: isoDateTime(row.modified),
      company,
      status: row.status === 'Open' ? 'open' : 'closed',
    }),
  },
  glAccounts: {
    doctype: 'Account',
    fields: ['name', 'account_name', 'account_number', 'root_type', 'disabled', 'modified'],
    company: true,
    filters: [['is_group', '=', 0]],
    map: (row, company) => ({
      id: String(row.account_number || row.name),
      name: String(row.account_name),
      modifiedAt: isoDateTime(row.modified),
      company,
      type: ROOT_TYPES[String(row.root_type)] ?? 'expense',
      open: !row.disabled,
    }),
  },
};

const ROOT_TYPES: Record<string, 'expense' | 'asset' | 'liability' | 'revenue' | 'equity'> = {
  Expense: 'expense',
  Asset: 'asset',
  Liability: 'liability',
  Income: 'revenue',
  Equity: 'equity',
};

/** The error with Frappe's `_server_messages` (a JSON list of JSON strings) as erpMessages; a stale `modified` as 412. */
function withFrappeMessages(error: unknown): unknown {
  if (!isFinanceError(error)) return error;
  const body = error.details?.erpBody;
  const excType = isRecord(body) ? body.exc_type : undefined;
  const erpMessages: ErpMessage[] = [];
  if (isRecord(body) && typeof body._server_messages === 'string') {
    try {
      for (const text of JSON.parse(body._server_messages) as unknown[]) {
        const message = typeof text === 'string' ? (JSON.parse(text) as unknown) : text;
        if (isRecord(message)) {
          erpMessages.push({
            code: String(excType ?? 'Message'),
            severity: message.indicator === 'orange' ? 'warning' : message.indicator === 'blue' ? 'info' : 'error',
            text: String(message.message ?? '').replace(/<[^>]+>/g, ''),
          });
        }
      }
    } catch {
      // Not the documented shape: the raw body stays in details.erpBody.
    }
  }
  const stale = excType === 'TimestampMismatchError';
  return new FinanceError(stale ? 'ERP_CONFLICT' : error.code, error.message, {
    httpStatus: stale ? 412 : error.httpStatus,
    retryable: error.retryable,
    retryAfterMs: error.retryAfterMs,
    details: {
      ...error.details,
      erpMessages,
      ...(excType === 'BudgetError' ? { budget: { status: 'exceeded', erpMessages } } : {}),
    },
    cause: error,
  });
}

const UPDATE_CHILD_QTY_RATE = 'erpnext.controllers.accounts_controller.update_child_qty_rate';
/** What #requireCanonicalAmounts says happened to the order. */
const AMOUNTS_OUTCOME: Record<'draft' | 'amendment' | 'applied', (name: string) => string> = {
  draft: (name) => `The order was not submitted; draft ${name} is left.`,
  amendment: (name) => `Amendment ${name} was not submitted.`,
  applied: (name) => `The change is applied to ${name} with ERPNext's amounts.`,
};
/** details.vendorCode of #requireCanonicalAmounts. */
const AMOUNTS_DIFFER = 'AMOUNTS_DIFFER';

function isAmountsDiffer(error: unknown): error is FinanceError {
  return isFinanceError(error) && error.details?.vendorCode === AMOUNTS_DIFFER;
}

/** How far an order is received and billed (percent), when anything is; else undefined. */
interface Progress {
  received: number;
  billed: number;
}

function progressOf(doc: Doc): Progress | undefined {
  const items = Array.isArray(doc.items) ? doc.items.filter(isRecord) : [];
  const received = Number(doc.per_received ?? 0);
  const billed = Number(doc.per_billed ?? 0);
  const rows = items.some((item) => Number(item.received_qty ?? 0) > 0 || Number(item.billed_amt ?? 0) > 0);
  return received > 0 || billed > 0 || rows ? { received, billed } : undefined;
}

/** The header fields a change would alter that ERPNext does not change on a submitted order. */
function headerChanges(current: Doc, desired: Doc): string[] {
  const changes: string[] = [];
  if (current.supplier !== desired.supplier)
    changes.push(`supplier ${String(current.supplier)} -> ${String(desired.supplier)}`);
  if (current.currency !== desired.currency)
    changes.push(`currency ${String(current.currency)} -> ${String(desired.currency)}`);
  if (current.transaction_date !== desired.transaction_date)
    changes.push(`order date ${String(current.transaction_date)} -> ${String(desired.transaction_date)}`);
  return changes;
}

/**
 * The order's rows against the wanted items, in order: a row is the same line when its item, name, account,
 * cost center, project and tax template are the wanted item's (Update Items can change its quantity, rate,
 * unit and date); the rows no wanted item takes are removed; a wanted item no row matches is added (or a row
 * whose assignment changed: Update Items cannot change that).
 */
interface ItemPlan {
  pairs: Array<{ row: Doc; item: PoItem }>;
  removed: Doc[];
  added: PoItem[];
}

function itemPlan(current: Doc, desired: Doc): ItemPlan {
  const rows = (Array.isArray(current.items) ? current.items.filter(isRecord) : []).sort(
    (a, b) => Number(a.idx) - Number(b.idx),
  );
  const plan: ItemPlan = { pairs: [], removed: [], added: [] };
  let next = 0;
  for (const item of desired.items as PoItem[]) {
    const at = rows.findIndex((row, index) => index >= next && sameLine(row, item));
    if (at < 0) {
      plan.added.push(item);
      continue;
    }
    plan.removed.push(...rows.slice(next, at));
    plan.pairs.push({ row: rows[at], item });
    next = at + 1;
  }
  plan.removed.push(...rows.slice(next));
  return plan;
}

function sameLine(row: Doc, item: PoItem): boolean {
  return (
    row.item_code === item.item_code &&
    row.item_name === item.item_name &&
    row.expense_account === item.expense_account &&
    (row.cost_center || undefined) === item.cost_center &&
    (row.project || undefined) === item.project &&
    (item.item_tax_template === undefined || row.item_tax_template === item.item_tax_template)
  );
}

/** The header and item fields #purchaseOrderBody writes. */
const ORDER_FIELDS = ['supplier', 'company', 'transaction_date', 'schedule_date', 'currency'];
const ORDER_ITEM_FIELDS: ReadonlyArray<keyof PoItem> = [
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

/** What `doc` holds of the fields this dialect writes: the body of an order with the same content. */
function orderContent(doc: Doc, referenceField: string): Doc {
  const items = (Array.isArray(doc.items) ? doc.items.filter(isRecord) : []).map((item) =>
    Object.fromEntries(
      ORDER_ITEM_FIELDS.filter((field) => item[field] !== undefined && item[field] !== null && item[field] !== '').map(
        (field) => [field, item[field]],
      ),
    ),
  );
  return {
    ...Object.fromEntries(ORDER_FIELDS.map((field) => [field, doc[field]])),
    [referenceField]: doc[referenceField],
    items,
  };
}

function sameOrder(current: Doc, desired: Doc): boolean {
  if (
    current.supplier !== desired.supplier ||
    current.transaction_date !== desired.transaction_date ||
    current.currency !== desired.currency
  )
    return false;
  const have = Array.isArray(current.items) ? current.items.filter(isRecord) : [];
  const want = desired.items as PoItem[];
  return (
    have.length === want.length &&
    want.every((item, i) => {
      const h = have[i];
      return (
        h.item_code === item.item_code &&
        h.item_name === item.item_name &&
        Number(h.qty) === item.qty &&
        Number(h.rate) === item.rate &&
        h.uom === item.uom &&
        h.expense_account === item.expense_account &&
        (h.cost_center || undefined) === item.cost_center &&
        (h.project || undefined) === item.project &&
        // Only a wanted template counts: an item sent without one may get the Item's own template from ERPNext.
        (item.item_tax_template === undefined || h.item_tax_template === item.item_tax_template)
      );
    })
  );
}

/** "6000 - Travel - FSD" -> "6000"; "CC-100 - FSD" -> "CC-100". */
function numberOfName(name: string): string {
  return name.split(' - ')[0];
}

/** `{ item_tax_template }` for a line with a tax code: the Item Tax Template's name (a Link, Data length). */
function itemTaxTemplate(taxCode: string | undefined, where: string): { item_tax_template?: string } {
  if (taxCode === undefined) return {};
  if (taxCode.length > FRAPPE_DATA_LENGTH)
    throw invalid(`${where} has more than ${FRAPPE_DATA_LENGTH} characters (item_tax_template)`);
  return { item_tax_template: taxCode };
}

/**
 * ERPNext refuses a Purchase Invoice item with a negative rate unless the invoice is a return (`is_return`,
 * a debit note against an earlier invoice) or Buying Settings "Allow Negative rates for Items" is on
 * [S erpnext controllers/status_updater.py, frappe/erpnext#54254]; this dialect sends no returns, so a refund line is refused before anything
 * is written. A 0.00 line is sent as an item of rate 0, which ERPNext takes.
 */
function refuseRefundLines(posting: PostingRequest): void {
  const refunds = posting.lines.filter((line) => minorOf(line.amount) < 0n);
  if (refunds.length === 0) return;
  const lines = refunds.map((line) => `${line.lineId} (${line.amount.amount} ${line.amount.currency})`).join(', ');
  throw new FinanceError(
    'SCHEMA_INVALID',
    `Posting ${posting.externalReference}: line ${lines} is negative (a refund), but an ERPNext Purchase Invoice ` +
      'takes no negative rate outside a return (ERPNext: "rate must be a positive number"), and this dialect ' +
      'sends no returns. Nothing was written. Post the report as a journal (finance-post "Post as": journal, ' +
      'which credits refunds), net the refund into another line in the mapping, or book it by hand.',
    {
      retryable: false,
      details: {
        externalReference: posting.externalReference,
        lines: refunds.map((line) => ({ lineId: line.lineId, amount: line.amount })),
      },
    },
  );
}

/** A booking's place: account, cost center and project (ERPNext names), joined by a separator no name holds. */
function rowKey(account: string, costCenter: string | undefined, project: string | undefined): string {
  return [account, costCenter ?? '', project ?? ''].join('\u0000');
}

function describeRow(key: string): string {
  const [account, costCenter, project] = key.split('\u0000');
  return `account ${account}${costCenter ? `, cost center ${costCenter}` : ''}${project ? `, project ${project}` : ''}`;
}

function addTo(sums: Map<string, bigint>, key: string, minor: bigint): void {
  sums.set(key, (sums.get(key) ?? 0n) + minor);
}

/**
 * ERPNext refused to submit a posting's draft (a frozen or closed period, a date in no fiscal year, its budget):
 * the refusal as it is, saying that the draft stays and what a replay does with it.
 */
function draftLeft(refusal: FinanceError, doctype: string, name: string, postingDate: string): FinanceError {
  return new FinanceError(
    refusal.code,
    `${refusal.message} (${doctype} ${name}, posting date ${postingDate}, stays a draft in ERPNext: a replay submits it again, with the posting date it then asks for; or delete it in ERPNext.)`,
    {
      httpStatus: refusal.httpStatus,
      retryable: refusal.retryable,
      retryAfterMs: refusal.retryAfterMs,
      details: { ...refusal.details, documentId: name, doctype, draftLeft: true },
      cause: refusal,
    },
  );
}

/** The debit side of a posting's Journal Entry: its expense (positive) lines; refunds are credited. */
function journalDebits(amounts: readonly Money[], currency: string): Money {
  return fromMinorUnits(
    amounts.reduce((debits, amount) => {
      const minor = minorOf(amount);
      return minor > 0n ? debits + minor : debits;
    }, 0n),
    currency,
  );
}

function invalid(problem: string): FinanceError {
  return new FinanceError('SCHEMA_INVALID', `Document for ERPNext: ${problem}.`);
}

function isStale(error: unknown): boolean {
  return isFinanceError(error) && error.httpStatus === 412;
}

/**
 * ERPNext's final no to a write, which it did not apply: a 4xx that is not retryable. Not a stale version
 * (412, someone saved in between) nor a duplicate name (409, another document is in the way): those ask for a
 * fresh read, not for a write of the previous content.
 */
function isRefused(error: unknown): error is FinanceError {
  return isFinalRefusal(error) && error.httpStatus !== 409 && error.httpStatus !== 412;
}

function decimalText(value: number): string {
  const text = String(value);
  return /e/i.test(text) ? value.toFixed(6).replace(/\.?0+$/, '') : text;
}

function lastDay(period: string): string {
  const [year, month] = period.split('-').map(Number);
  return `${period}-${String(new Date(Date.UTC(year, month, 0)).getUTCDate()).padStart(2, '0')}`;
}

function isDate(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value);
}

function frappeDateTime(iso: string): string {
  return iso.replace('T', ' ').replace(/Z$|[+-]\d{2}:\d{2}$/, '');
}

function isoDateTime(value: unknown): string {
  const text = String(value ?? '');
  return /^\d{4}-\d{2}-\d{2} /.test(text) ? `${text.slice(0, 19).replace(' ', 'T')}Z` : text;
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
