/**
 * The capability interface every ERP dialect implements (DESIGN section 9). Canonical documents go in,
 * canonical results come out; vendor field names, paths and quirks stay inside the dialect's folder.
 * Dialects throw FinanceError with the pack's codes (most come from ErpClient already).
 */
import { FinanceError } from '../errors';
import type {
  BudgetCheckRequest,
  CostCenter,
  Dimensions,
  Employee,
  ErpMessage,
  ErpRef,
  GlAccount,
  MasterDataKind,
  Money,
  Project,
  PurchaseOrder,
  PurchaseOrderLine,
  Supplier,
  TaxCode,
} from '../model/types';
import type { ErpHttp } from './client';
import { createBusinessCentralDialect } from './business-central/dialect';
import { createErpnextDialect } from './erpnext/dialect';
import { createSandboxDialect } from './sandbox/dialect';
import { createSapDialect } from './sap/dialect';

/** Travels with every dialect call into the ERP's request headers. */
export interface CallContext {
  correlationId: string;
  /**
   * The ledger key of this write (`source:docType:docId:version:operation`). Dialects whose ERP honours an
   * Idempotency-Key send it (derived per HTTP write when one operation makes several).
   */
  idempotencyKey?: string;
}

export interface PostingLine {
  lineId: string;
  /** The expense as paid (gross): the ERP takes the input tax out of it by `taxCode`. */
  amount: Money;
  dimensions: Dimensions;
  description?: string;
  /**
   * The ERP's tax code for the line (VAT product posting group, SAP tax code, ERPNext Item Tax Template).
   * Without it the ERP books the whole amount to the expense account (or applies its own default), so a
   * dialect that has no place for it refuses the posting rather than dropping it.
   */
  taxCode?: string;
}

/** An approved expense (journal) or invoice (payable) to post. */
export interface PostingRequest {
  kind: 'journal' | 'payable';
  externalReference: string;
  employeeId?: string;
  supplierId?: string;
  postingDate: string; // YYYY-MM-DD
  /** The document's own date (YYYY-MM-DD): the report's or invoice's date; absent: postingDate. */
  documentDate?: string;
  currency: string;
  lines: PostingLine[];
}

/** The ERP's answer to a funds check, before the budget-check node turns it into msg.budget. */
export interface BudgetAvailability {
  budget: Money;
  actuals: Money;
  commitments: Money;
  /** budget - actuals - commitments; negative when already overspent. */
  available: Money;
  requested: Money;
  period: string;
  status: 'within' | 'exceeded';
  erpMessages: ErpMessage[];
}

export interface PurchaseOrderRef extends ErpRef {
  /** What the upsert did: a replay of an applied change reports `unchanged` and writes nothing. */
  action: 'created' | 'updated' | 'unchanged';
  /** The ERP's version of the document after the write (its ETag where the ERP has no other). */
  version?: string;
  /**
   * Warnings of the ERP's budget control at the write (SAP availability control within tolerance, in the
   * sap-message header): the PO was saved, but the budget is nearly used up.
   */
  budgetWarnings?: ErpMessage[];
}

export interface PostingRef extends ErpRef {
  total?: Money;
  postedAt?: string;
}

export interface PurchaseOrderKey {
  externalReference: string;
  /** The ERP's id when known (from the ledger); otherwise the PO is looked up by external reference. */
  documentId?: string;
}

export type ErpDocumentType = 'purchaseOrder' | 'posting';

export interface FoundDocument extends ErpRef {
  /** The ERP's document as it answered, for audit and diagnosis. */
  raw?: unknown;
}

/**
 * A partial change of a purchase order: only the fields present are changed. `lines` replaces the whole line
 * set, so an added, removed or changed line is sent as the complete new set of lines.
 */
export type PurchaseOrderPatch = Partial<Pick<PurchaseOrder, 'supplierId' | 'orderDate' | 'currency' | 'lines'>>;

/** A purchase order as the ERP holds it. */
export interface ErpPurchaseOrder {
  erpRef: ErpRef;
  externalReference: string;
  supplierId: string;
  orderDate: string;
  currency: string;
  total: Money;
  status: 'open' | 'cancelled' | 'closed';
  lines: PurchaseOrderLine[];
  /** After a change: the ERP's budget control warnings at that write (see PurchaseOrderRef.budgetWarnings). */
  budgetWarnings?: ErpMessage[];
}

export type MasterRecord = Employee | Supplier | CostCenter | Project | GlAccount | TaxCode;

export interface MasterDataQuery {
  /** ISO date-time: only records changed at or after it (delta sync). */
  modifiedSince?: string;
  /** Opaque cursor from the previous page; absent or null for the first page. */
  cursor?: string | null;
  limit?: number;
}

export interface MasterDataPage {
  items: MasterRecord[];
  /** Null on the last page. */
  nextCursor: string | null;
}

/**
 * How an ERP controls budgets: `check-call` (the default) answers checkBudget before a document is written;
 * `at-creation` has no such call and checks the budget when the document is written (SAP availability
 * control), refusing the write with details.budget = { status: 'exceeded' } when it does not fit.
 */
export type BudgetControl = 'check-call' | 'at-creation';

export interface ErpDialect {
  readonly name: string;
  /** Absent means `check-call`. */
  readonly budgetControl?: BudgetControl;
  checkBudget(request: BudgetCheckRequest, ctx: CallContext): Promise<BudgetAvailability>;
  /** Creates the PO, or updates it when it exists (by erpRef.documentId or external reference). */
  upsertPurchaseOrder(po: PurchaseOrder, ctx: CallContext): Promise<PurchaseOrderRef>;
  /**
   * False when the ERP cannot find a purchase order by its external reference (Business Central without its
   * reference API page): a create whose outcome is unknown is then never sent again (purchasing/unsettled-create).
   * Absent means true.
   */
  readonly findsPurchaseOrdersByReference?: boolean;
  /** A purchase order by the number the ERP gave it, for a person's check after ERP_OUTCOME_UNKNOWN. */
  findPurchaseOrderByNumber?(number: string, ctx: CallContext): Promise<FoundDocument | null>;
  /** Cancels the PO; cancelling a cancelled PO succeeds with its reference. */
  cancelPurchaseOrder(key: PurchaseOrderKey, ctx: CallContext): Promise<ErpRef>;
  /** Posts once: a posting that exists under the same external reference is returned, not posted again. */
  post(posting: PostingRequest, ctx: CallContext): Promise<PostingRef>;
  /** The lookup before a create (DESIGN section 7): null when the ERP has no such document. */
  findByReference(
    documentType: ErpDocumentType,
    externalReference: string,
    ctx: CallContext,
  ): Promise<FoundDocument | null>;
  /**
   * The lookup before a posting is written again, where the ERP can tell more than findByReference: a document
   * found under the reference but holding another total than `posting` was posted in part, which is an
   * ERP_CONFLICT for a person, not "found". Without it, findByReference('posting') is used.
   */
  findPosting?(posting: PostingRequest, ctx: CallContext): Promise<FoundDocument | null>;
  listMasterData(kind: MasterDataKind, query: MasterDataQuery, ctx: CallContext): Promise<MasterDataPage>;
  getPurchaseOrder(documentId: string, ctx: CallContext): Promise<ErpPurchaseOrder>;
  /**
   * One conditional change: sends only the fields in `patch`, with If-Match `ifMatch`, and answers the PO as
   * the ERP holds it afterwards (erpRef.etag the new version). A stale `ifMatch` fails with ERP_CONFLICT and
   * httpStatus 412, so the caller can read the PO again, re-apply its change and decide whether to retry.
   */
  patchPurchaseOrder(
    documentId: string,
    patch: PurchaseOrderPatch,
    ifMatch: string,
    ctx: CallContext,
  ): Promise<ErpPurchaseOrder>;
  /**
   * Committed (open purchase orders) and actual (postings) spend per cost center, for the metrics. Optional:
   * an ERP without such a report leaves it out, and the metrics then show no spend.
   */
  spendByCostCenter?(query: { period?: string }, ctx: CallContext): Promise<CostCenterSpend[]>;
}

export interface CostCenterSpend {
  costCenter: string;
  committed: Money;
  actual: Money;
}

/** The connection settings a dialect reads; a whole ErpConnectionConfig fits. */
export interface DialectConfig {
  /** Connection name, reported as ErpRef.system. */
  name?: string;
  /** Company / tenant the connection works in. */
  company?: string;
  /** The connection's base URL (dialects that receive absolute next-page links turn them back into paths). */
  baseUrl?: string;
  /**
   * Settings only one dialect needs, by name: Business Central `tenant`, `environment`, `referenceApi`;
   * SAP `sapClient`, `servicePath`; ERPNext `site`. Each dialect checks its own and says what is missing.
   */
  options?: Readonly<Record<string, string | undefined>>;
}

export type DialectFactory = (http: ErpHttp, config: DialectConfig) => ErpDialect;

/** Adding an ERP means one folder under lib/erp/ and one line here. */
const DIALECTS: Readonly<Record<string, DialectFactory>> = {
  sandbox: createSandboxDialect,
  'business-central': createBusinessCentralDialect,
  sap: createSapDialect,
  erpnext: createErpnextDialect,
};

export const DIALECT_NAMES: readonly string[] = Object.keys(DIALECTS);

export function createDialect(name: string, http: ErpHttp, config: DialectConfig): ErpDialect {
  const factory = Object.prototype.hasOwnProperty.call(DIALECTS, name) ? DIALECTS[name] : undefined;
  if (!factory) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `ERP dialect "${String(name)}" is not available; choose one of: ${DIALECT_NAMES.join(', ')}.`,
    );
  }
  return factory(http, config);
}
