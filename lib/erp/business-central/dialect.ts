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
 *   `generalLedgerEntries` and must hold the posting's lines (journal-comparison.ts: total, and amounts per
 *   G/L account, cost center and project, tax split out counted for its line), else it needs a person. Journal lines have no currency: BC books them in the local currency
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
import { checkBudget } from './budget';
import { BcContext } from './context';
import { documentNumberOf } from './fields';
import { refuseLinesInSharedBatch, requireBalancing } from './journal-batch';
import { completePosting, findJournal, journalLineBodies, postJournal, withoutEntries } from './journal';
import { listMasterData } from './master-data';
import { beforeWriting, sumMinor } from './odata';
import {
  findPostingReadOnly,
  invoiceBody,
  invoiceOf,
  invoiceRef,
  postedInvoice,
  postInvoice,
} from './purchase-invoice';
import {
  cancelPurchaseOrder,
  findPurchaseOrder,
  findPurchaseOrderByNumber,
  getPurchaseOrder,
  patchPurchaseOrder,
  poRef,
  upsertPurchaseOrder,
} from './purchase-orders';

export { BC_LENGTHS } from './fields';
export { BUDGET_YEAR_TO_DATE } from './budget';

export function createBusinessCentralDialect(http: ErpHttp, config: DialectConfig): ErpDialect {
  return new BusinessCentralDialect(http, config);
}

/**
 * The dialect's entry point: each call goes to the part that does it (budget.ts, purchase-orders.ts,
 * journal.ts and journal-batch.ts, purchase-invoice.ts, master-data.ts), all sharing one BcContext.
 */
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
  readonly #bc: BcContext;

  constructor(http: ErpHttp, config: DialectConfig) {
    this.#bc = new BcContext(http, config);
    this.findsPurchaseOrdersByReference = this.#bc.referenceApi !== undefined;
  }

  checkBudget(request: BudgetCheckRequest, ctx: CallContext): Promise<BudgetAvailability> {
    return checkBudget(this.#bc, request, ctx);
  }

  upsertPurchaseOrder(po: PurchaseOrder, ctx: CallContext): Promise<PurchaseOrderRef> {
    return upsertPurchaseOrder(this.#bc, po, ctx);
  }

  cancelPurchaseOrder(key: PurchaseOrderKey, ctx: CallContext): Promise<ErpRef> {
    return cancelPurchaseOrder(this.#bc, key, ctx);
  }

  getPurchaseOrder(documentId: string, ctx: CallContext): Promise<ErpPurchaseOrder> {
    return getPurchaseOrder(this.#bc, documentId, ctx);
  }

  patchPurchaseOrder(
    documentId: string,
    patch: PurchaseOrderPatch,
    ifMatch: string,
    ctx: CallContext,
  ): Promise<ErpPurchaseOrder> {
    return patchPurchaseOrder(this.#bc, documentId, patch, ifMatch, ctx);
  }

  /** A purchase order by the number BC gave it (a person found it there), or null. */
  findPurchaseOrderByNumber(number: string, ctx: CallContext): Promise<FoundDocument | null> {
    return findPurchaseOrderByNumber(this.#bc, number, ctx);
  }

  /**
   * Everything that can refuse the posting before anything is written (the document's own checks, the
   * lookup of what BC already holds under its number, the configuration) runs first, and an error from there
   * says so (details.written false, lib/posting/idempotent-write.ts): only reads went out, so the ledger lets
   * the next attempt start afresh instead of treating the attempt as one that may still be applied.
   */
  async post(posting: PostingRequest, ctx: CallContext): Promise<PostingRef> {
    if (posting.kind === 'payable') {
      const next = await beforeWriting(async () => {
        const found = await invoiceOf(this.#bc, posting, ctx);
        return found ? { found } : { body: await invoiceBody(this.#bc, posting, ctx) };
      });
      return next.found ? postedInvoice(this.#bc, next.found, ctx) : postInvoice(this.#bc, next.body, ctx);
    }
    const next = await beforeWriting(async () => {
      const lines = journalLineBodies(this.#bc, posting);
      await this.#bc.requireLocalCurrency(posting.currency, 'journal', ctx);
      const expected = sumMinor(posting.lines.map((line) => line.amount));
      const existing = await findJournal(this.#bc, posting.externalReference, ctx);
      if (existing) return { posted: await completePosting(this.#bc, existing, expected, posting, 'replay', ctx) };
      await requireBalancing(this.#bc, expected, ctx);
      await refuseLinesInSharedBatch(this.#bc, documentNumberOf(posting.externalReference), ctx);
      return { lines, expected };
    });
    if (next.posted) return next.posted;
    return postJournal(this.#bc, posting, next.lines, next.expected, ctx);
  }

  async findByReference(
    documentType: ErpDocumentType,
    externalReference: string,
    ctx: CallContext,
  ): Promise<FoundDocument | null> {
    if (documentType === 'purchaseOrder') {
      const found = await findPurchaseOrder(this.#bc, externalReference, ctx);
      return found ? { ...poRef(this.#bc, found), raw: found } : null;
    }
    const journal = await findJournal(this.#bc, externalReference, ctx);
    return journal ? withoutEntries(journal) : findPostingReadOnly(this.#bc, externalReference, ctx);
  }

  /**
   * The ledger's lookup of a posting: a journal found in the G/L must hold the posting's lines (journal.ts completePosting),
   * and so must an invoice (purchase-invoice.ts invoiceOf). A draft invoice is not posted yet: null, so the write posts it.
   */
  async findPosting(posting: PostingRequest, ctx: CallContext): Promise<FoundDocument | null> {
    if (posting.kind === 'payable') {
      const invoice = await invoiceOf(this.#bc, posting, ctx);
      return invoice && invoice.status !== 'Draft' ? invoiceRef(this.#bc, invoice, ctx) : null;
    }
    const found = await findJournal(this.#bc, posting.externalReference, ctx);
    if (!found) return null;
    return completePosting(this.#bc, found, sumMinor(posting.lines.map((line) => line.amount)), posting, 'replay', ctx);
  }

  listMasterData(kind: MasterDataKind, query: MasterDataQuery, ctx: CallContext): Promise<MasterDataPage> {
    return listMasterData(this.#bc, kind, query, ctx);
  }
}
