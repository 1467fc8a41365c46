/**
 * The canonical model (DESIGN section 6). Sources map into these shapes, ERP dialects map out of them; no
 * process node knows a vendor's field names. The JSON Schemas in ./schemas describe the same shapes and are
 * what validation uses at run time.
 *
 * Money is never a float: an amount is a decimal string with exactly the currency's ISO 4217 exponent
 * ("100.00" EUR, "100" JPY, "100.000" KWD). Arithmetic happens in integer minor units (./money.ts).
 */

export interface Money {
  /** Decimal string, optional leading '-', exactly the currency's number of decimals. */
  amount: string;
  /** ISO 4217 alphabetic code, upper case. */
  currency: string;
}

export const APPROVAL_STATES = [
  'draft',
  'submitted',
  'pending_approval',
  'approved',
  'rejected',
  'returned',
  'escalated',
  'cancelled',
  'posted',
  'paid',
] as const;
export type ApprovalState = (typeof APPROVAL_STATES)[number];

export interface SourceRef {
  /** The source system, e.g. "concur", "ramp", "coupa", "cloudevents:<source>". */
  system: string;
  /** The document's id in that system. */
  id: string;
  /** Monotonic version of the document in the source (revision number), when the source has one. */
  version?: number;
}

export interface ErpRef {
  system: string;
  dialect: string;
  documentType: string;
  documentId: string;
  number?: string;
  status?: string;
  etag?: string;
}

/** Accounting dimensions a line is charged to. */
export interface Dimensions {
  company?: string;
  costCenter?: string;
  project?: string;
  glAccount?: string;
  department?: string;
}

export interface PolicyException {
  code: string;
  message: string;
  /** Line the exception is about; absent for report-level exceptions. */
  lineId?: string;
}

export interface ExpenseLine {
  lineId: string;
  date: string; // YYYY-MM-DD
  expenseType?: string;
  description?: string;
  merchant?: string;
  amount: Money;
  dimensions: Dimensions;
  taxCode?: string;
  receiptAttached?: boolean;
  policyExceptions?: PolicyException[];
}

export interface ExpenseReport {
  docType: 'ExpenseReport';
  sourceRef: SourceRef;
  erpRef?: ErpRef;
  reportId: string;
  name?: string;
  businessPurpose?: string;
  employeeId: string;
  company?: string;
  submittedAt?: string; // date-time
  state: ApprovalState;
  total: Money;
  lines: ExpenseLine[];
  policyExceptions?: PolicyException[];
}

/** How a PO or requisition line is charged: one or more splits that add up to the line exactly. */
export interface AccountAssignment {
  dimensions: Dimensions;
  /** Either a percentage ("33.34", up to 2 decimals) or an amount; all splits of a line use the same kind. */
  percent?: string;
  amount?: Money;
}

export interface RequisitionLine {
  lineId: string;
  description: string;
  itemCode?: string;
  quantity: string; // decimal string, e.g. "2" or "1.5"
  unitOfMeasure?: string;
  unitPrice: Money;
  amount: Money; // quantity x unitPrice, rounded to the currency's exponent
  taxCode?: string;
  needBy?: string; // YYYY-MM-DD
  accountAssignments: AccountAssignment[];
}

export interface Requisition {
  docType: 'Requisition';
  sourceRef: SourceRef;
  erpRef?: ErpRef;
  requisitionId: string;
  requesterId: string;
  supplierId: string;
  company?: string;
  state: ApprovalState;
  currency: string;
  total: Money;
  lines: RequisitionLine[];
  /** True when the source cancelled the requisition or its purchase order. */
  cancelled?: boolean;
}

export type PurchaseOrderLine = RequisitionLine;

export interface PurchaseOrder {
  docType: 'PurchaseOrder';
  sourceRef: SourceRef;
  erpRef?: ErpRef;
  /** The key the ERP can find this PO by (external reference). */
  externalReference: string;
  supplierId: string;
  company?: string;
  orderDate: string; // YYYY-MM-DD
  currency: string;
  total: Money;
  lines: PurchaseOrderLine[];
  status?: 'open' | 'cancelled' | 'closed';
}

export interface ApprovalEvent {
  docType: 'ApprovalEvent';
  /** The document the decision is about. */
  subject: SourceRef;
  decision: 'approve' | 'reject' | 'return';
  approver: string;
  comment?: string;
  decidedAt: string; // date-time
}

export interface BudgetCheckRequest {
  company?: string;
  costCenter?: string;
  project?: string;
  glAccount?: string;
  /** Fiscal period "YYYY-MM". */
  period: string;
  amount: Money;
  /**
   * The kind of document checked: an ERP may judge an expense (actuals only) otherwise than an order (actuals
   * and open commitments), as ERPNext does. Absent: checked as an order.
   */
  documentType?: 'ExpenseReport' | 'Requisition' | 'PurchaseOrder';
}

/**
 * `deferred`: the ERP has no funds check call and checks the budget itself when the document is written
 * (SAP availability control); nothing was checked before, and a refusal at the write ends as budget_exceeded.
 */
export type BudgetStatus = 'within' | 'exceeded' | 'warning' | 'deferred';

export interface ErpMessage {
  code: string;
  severity: 'error' | 'warning' | 'info';
  text: string;
}

export interface BudgetCheckResult {
  status: BudgetStatus;
  requested: Money;
  /** Absent when the ERP gave no figures: `deferred`, or `exceeded` from a refusal at the write. */
  available?: Money;
  budget?: Money;
  currency: string;
  period: string;
  checkedAt: string;
  erpMessages: ErpMessage[];
}

export interface PostingResult {
  docType: 'Posting';
  kind: 'journal' | 'payable';
  erpRef: ErpRef;
  amount: Money;
  postedAt: string;
}

// ---- master data ---------------------------------------------------------------------------------

export interface MasterRecordBase {
  id: string;
  name: string;
  modifiedAt: string; // date-time
  company?: string;
}

export interface Employee extends MasterRecordBase {
  email?: string;
  managerId?: string;
  costCenter?: string;
  /** The largest amount this person may approve, in the company currency. */
  approvalLimit?: Money;
  active: boolean;
}

export interface Supplier extends MasterRecordBase {
  country: string; // ISO 3166-1 alpha-2
  currency?: string;
  status: 'active' | 'blocked';
  taxCodes?: string[];
}

export interface CostCenter extends MasterRecordBase {
  ownerId?: string;
  open: boolean;
}

export interface Project extends MasterRecordBase {
  status: 'open' | 'closed' | 'on_hold';
  ownerId?: string;
}

export interface GlAccount extends MasterRecordBase {
  type: 'expense' | 'asset' | 'liability' | 'revenue' | 'equity';
  open: boolean;
}

export interface TaxCode extends MasterRecordBase {
  country: string;
  /** Rate as a decimal string percent, e.g. "19.00". */
  rate: string;
}

export type MasterDataKind = 'employees' | 'suppliers' | 'costCenters' | 'projects' | 'glAccounts' | 'taxCodes';

// ---- the envelope (msg.finance) ------------------------------------------------------------------

/** CloudEvents 1.0 attributes plus correlation; `source` + `id` is the de-duplication key. */
export interface FinanceEnvelope {
  id: string;
  source: string;
  type: string;
  subject?: string;
  time: string;
  correlationId: string;
  causationId?: string;
  docType: string;
  docId: string;
  version?: number;
  attempt: number;
}
