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
 *   actions travel as ERP messages. A charge on a cost center is checked against the Budgets of the cost center
 *   and of every group above it in the Cost Center tree (lft / rgt), the strictest deciding, each counting the
 *   charged cost center's actuals (with those below it) and orders (cost-center-tree.ts). Budget figures are
 *   compared at the precision ERPNext stores them (an equally distributed month is 83.333) and answered rounded
 *   down to the currency (budget-amounts.ts). Fiscal years are the company's Fiscal Year documents (any start month, any name, e.g.
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
import type { BudgetCheckRequest, ErpRef, MasterDataKind, PurchaseOrder } from '../../model/types';
import type { ErpHttp } from '../client';
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
  PostingRef,
  PostingRequest,
  PurchaseOrderKey,
  PurchaseOrderPatch,
  PurchaseOrderRef,
} from '../dialect';
import { fitReference } from '../reference';
import { ErpnextBudgets } from './budget';
import { ErpnextContext } from './context';
import { ErpnextMasterData } from './master-data';
import { ErpnextPostings } from './postings';
import { ErpnextPurchaseOrders } from './purchase-orders';
import { FRAPPE_DATA_LENGTH } from './shared';

export { FISCAL_YEARS_REREAD_MS, FISCAL_YEARS_TTL_MS } from './fiscal-years';
export { FRAPPE_DATA_LENGTH } from './shared';

export function createErpnextDialect(http: ErpHttp, config: DialectConfig): ErpDialect {
  return new ErpnextDialect(http, config);
}

/** The ERPNext dialect: one part per concern (see the modules), sharing the connection's ErpnextContext. */
class ErpnextDialect implements ErpDialect {
  readonly name = 'erpnext';
  /**
   * A Budget names one account, for a project too, and ERPNext's check picks the Budgets of the expense's
   * account only (budget.py: AND b.account = %s): a project's charges are checked per G/L account
   * (lib/budget/aggregate.ts BudgetKeyModel).
   */
  readonly projectBudgetsPerAccount = true;
  readonly #erp: ErpnextContext;
  readonly #orders: ErpnextPurchaseOrders;
  readonly #postings: ErpnextPostings;
  readonly #budgets: ErpnextBudgets;
  readonly #masterData: ErpnextMasterData;

  constructor(http: ErpHttp, config: DialectConfig) {
    this.#erp = new ErpnextContext(http, config);
    this.#orders = new ErpnextPurchaseOrders(this.#erp);
    this.#postings = new ErpnextPostings(this.#erp);
    this.#budgets = new ErpnextBudgets(this.#erp);
    this.#masterData = new ErpnextMasterData(this.#erp);
  }

  upsertPurchaseOrder(po: PurchaseOrder, ctx: CallContext): Promise<PurchaseOrderRef> {
    return this.#orders.upsertPurchaseOrder(po, ctx);
  }

  cancelPurchaseOrder(key: PurchaseOrderKey, ctx: CallContext): Promise<ErpRef> {
    return this.#orders.cancelPurchaseOrder(key, ctx);
  }

  getPurchaseOrder(documentId: string, ctx: CallContext): Promise<ErpPurchaseOrder> {
    return this.#orders.getPurchaseOrder(documentId, ctx);
  }

  patchPurchaseOrder(
    documentId: string,
    patch: PurchaseOrderPatch,
    ifMatch: string,
    ctx: CallContext,
  ): Promise<ErpPurchaseOrder> {
    return this.#orders.patchPurchaseOrder(documentId, patch, ifMatch, ctx);
  }

  post(posting: PostingRequest, ctx: CallContext): Promise<PostingRef> {
    return this.#postings.post(posting, ctx);
  }

  findPosting(posting: PostingRequest, ctx: CallContext): Promise<FoundDocument | null> {
    return this.#postings.findPosting(posting, ctx);
  }

  async findByReference(
    documentType: ErpDocumentType,
    externalReference: string,
    ctx: CallContext,
  ): Promise<FoundDocument | null> {
    if (documentType === 'purchaseOrder') {
      const doc = await this.#orders.findPurchaseOrder(externalReference, ctx, false);
      return doc ? { ...this.#erp.ref(doc), raw: doc } : null;
    }
    // The lookup does not know the posting kind: a journal or an invoice under the reference is the posting.
    const reference = fitReference(externalReference, FRAPPE_DATA_LENGTH);
    const doc =
      (await this.#postings.findJournal(reference, ctx)) ?? (await this.#postings.findInvoice(reference, ctx));
    return doc ? { ...this.#erp.ref(doc, 'posting'), raw: doc } : null;
  }

  checkBudget(request: BudgetCheckRequest, ctx: CallContext): Promise<BudgetAvailability> {
    return this.#budgets.checkBudget(request, ctx);
  }

  listMasterData(kind: MasterDataKind, query: MasterDataQuery, ctx: CallContext): Promise<MasterDataPage> {
    return this.#masterData.listMasterData(kind, query, ctx);
  }
}
