/**
 * Approval-state normalisation: every source and ERP has its own status codes; process nodes only ever see
 * the canonical ApprovalState (DESIGN section 6). One table per system, the codes exactly as the vendor
 * sends them; sources are named next to each table (notes = /work/shared/notes/erp-apis.md, specs =
 * /work/shared/specs/).
 */
import { FinanceError } from '../errors';
import { APPROVAL_STATES, type ApprovalState } from './types';

export type StateSystem = 'concur' | 'coupa' | 'oracle' | 'businessCentral' | 'erpnext' | 'ramp';

type StateTable = Readonly<Record<string, ApprovalState>>;

/**
 * SAP Concur Expense approval status codes. Source: specs/concur/v4.expense-events.md (the codes events
 * carry in previous/currentApprovalStatus) and the complete standard list in
 * specs/concur/concur-v3.0-Reports.swagger.json (ApprovalStatusCode).
 */
export const CONCUR_APPROVAL_STATES: StateTable = Object.freeze({
  A_NOTF: 'draft', // Not Submitted
  A_AAFH: 'submitted', // submission triggered an anomaly and fraud check; not yet with an approver
  A_RHLD: 'submitted', // submission is held until the receipt images arrive; not yet with an approver
  A_FILE: 'pending_approval', // submitted
  A_PEND: 'pending_approval', // Submitted & Pending (manager) Approval
  A_PBDG: 'pending_approval', // Pending Budget Approval
  A_PECO: 'pending_approval', // Pending Cost Object Approval
  A_EXTV: 'pending_approval', // Pending External Validation
  A_PVAL: 'pending_approval', // Pending prepayment validation
  A_TEXP: 'escalated', // expired in the approval queue: the approver let it sit past the deadline
  A_APPR: 'approved', // Approved
  A_ACCO: 'pending_approval', // Approved & In Accounting Review: the processor may still send it back (A_RESU)
  A_RESU: 'returned', // Sent Back to Employee, or Recalled by Employee
});

/**
 * SAP Concur payment status codes (specs/concur/v4.expense-events.md, concur-v3.0-Reports.swagger.json
 * PaymentStatusCode). Only "paid" changes the approval state; the others say the payment is still to come.
 */
export const CONCUR_PAYMENT_STATES: Readonly<Record<string, 'paid' | null>> = Object.freeze({
  P_NOTP: null, // Not Paid
  P_PROC: null, // Processing Payment
  P_HOLD: null, // payment on hold
  P_PAID: 'paid', // Paid
  P_PAYC: 'paid', // Payment Confirmed (some or all expenses paid)
});

/**
 * Coupa requisition and expense report statuses. Source: notes section 3.2 (expense statuses from Coupa's
 * flat-file export documentation) and the mapping table in notes section 3.6. "ordered" means the approved
 * requisition became a purchase order; "withdrawn" means the requester pulled it back to change it.
 */
export const COUPA_APPROVAL_STATES: StateTable = Object.freeze({
  draft: 'draft',
  working: 'draft',
  pending_approval: 'pending_approval',
  pending_info: 'pending_approval',
  pending_buyer_action: 'pending_approval',
  approved: 'approved',
  ordered: 'approved',
  accounting_review: 'approved',
  approved_for_payment: 'approved',
  scheduled_for_payment: 'approved',
  paid: 'paid',
  rejected: 'rejected',
  withdrawn: 'returned',
  cancelled: 'cancelled',
});

/** Oracle Fusion Procurement requisition document status codes. Source: notes section 3.6. */
export const ORACLE_APPROVAL_STATES: StateTable = Object.freeze({
  INCOMPLETE: 'draft',
  'PENDING APPROVAL': 'pending_approval',
  APPROVED: 'approved',
  REJECTED: 'rejected',
  RETURNED: 'returned',
  WITHDRAWN: 'returned', // the preparer withdrew it from approval to edit it
  CANCELED: 'cancelled',
});

/**
 * Business Central API v2.0 purchase order status (enum purchaseOrderEntityBufferStatus in
 * specs/bc-api-v2.0-metadata.xml; notes section 1.1). "In Review" travels XML-escaped as In_x0020_Review.
 * Open is what the API shows for a released, approved order (notes section 3.6).
 */
export const BUSINESS_CENTRAL_APPROVAL_STATES: StateTable = Object.freeze({
  Draft: 'draft',
  In_x0020_Review: 'pending_approval',
  'In Review': 'pending_approval',
  Open: 'approved',
});

/**
 * ERPNext Purchase Order: docstatus (0 draft, 1 submitted, 2 cancelled) and the status field. Source:
 * notes sections 3.6 and 5. Completed means fully received and billed, so the invoice is in the ledger:
 * "posted", not "paid" (the notes' "paid/closed" row); Closed is treated the same way, since nothing more
 * will be received or billed.
 */
export const ERPNEXT_APPROVAL_STATES: StateTable = Object.freeze({
  '0': 'draft',
  '1': 'approved',
  '2': 'cancelled',
  Draft: 'draft',
  'On Hold': 'approved',
  'To Receive and Bill': 'approved',
  'To Bill': 'approved',
  'To Receive': 'approved',
  Delivered: 'approved',
  Completed: 'posted',
  Closed: 'posted',
  Cancelled: 'cancelled',
});

/**
 * Ramp has no status code in its webhooks, only the event type, which says what happened to the
 * reimbursement or bill. Source: notes section 3.4 (Ramp developer API webhooks: "reimbursements.
 * ready_for_review - needs review or coding", "ready_to_sync - ready to sync to accounting", bills created /
 * approved / rejected / paid).
 */
export const RAMP_APPROVAL_STATES: StateTable = Object.freeze({
  'reimbursements.ready_for_review': 'pending_approval',
  'reimbursements.ready_to_sync': 'approved',
  'bills.created': 'submitted',
  'bills.approved': 'approved',
  'bills.rejected': 'rejected',
  'bills.paid': 'paid',
});

export const APPROVAL_STATE_TABLES: Readonly<Record<StateSystem, StateTable>> = Object.freeze({
  concur: CONCUR_APPROVAL_STATES,
  coupa: COUPA_APPROVAL_STATES,
  oracle: ORACLE_APPROVAL_STATES,
  businessCentral: BUSINESS_CENTRAL_APPROVAL_STATES,
  erpnext: ERPNEXT_APPROVAL_STATES,
  ramp: RAMP_APPROVAL_STATES,
});

const SYSTEM_NAMES: Readonly<Record<StateSystem, string>> = {
  concur: 'SAP Concur',
  coupa: 'Coupa',
  oracle: 'Oracle Fusion',
  businessCentral: 'Business Central',
  erpnext: 'ERPNext',
  ramp: 'Ramp',
};

/**
 * Lookup key: vendors show the same code in several spellings (Oracle "PENDING APPROVAL" in the API,
 * "Pending approval" on screen; Coupa "pending_approval" in JSON, "Pending Approval" in exports), so case,
 * underscores and repeated spaces do not matter.
 */
function lookupKey(code: string): string {
  return code
    .trim()
    .toLowerCase()
    .replace(/[\s_]+/g, ' ');
}

/** Maps, not the plain tables, for lookups: a code such as "constructor" must not find Object.prototype. */
function lookupMap<V>(table: Readonly<Record<string, V>>): ReadonlyMap<string, V> {
  return new Map(Object.entries(table).map(([code, value]) => [lookupKey(code), value]));
}

const APPROVAL_LOOKUPS = new Map(
  (Object.keys(APPROVAL_STATE_TABLES) as StateSystem[]).map((system) => [
    system,
    lookupMap(APPROVAL_STATE_TABLES[system]),
  ]),
);
const CONCUR_PAYMENT_LOOKUP = lookupMap(CONCUR_PAYMENT_STATES);

function unknownCode(kind: string, system: string, code: unknown, known: readonly string[]): FinanceError {
  return new FinanceError(
    'SCHEMA_INVALID',
    `${system} ${kind} ${JSON.stringify(code)} is not known. Known codes: ${known.join(', ')}. ` +
      'Check the source sends one of these, or map the new code in a custom mapping.',
    { details: { system, code: String(code), knownCodes: known } },
  );
}

/** The canonical state of a vendor's approval status code; throws SCHEMA_INVALID for a code it does not know. */
export function normaliseApprovalState(system: StateSystem, code: string): ApprovalState {
  const lookup = APPROVAL_LOOKUPS.get(system);
  if (lookup === undefined) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `"${String(system)}" is not a system with a state table; use one of ${Object.keys(APPROVAL_STATE_TABLES).join(', ')}.`,
    );
  }
  const state = typeof code === 'string' ? lookup.get(lookupKey(code)) : undefined;
  if (state === undefined) {
    throw unknownCode('approval status', SYSTEM_NAMES[system], code, Object.keys(APPROVAL_STATE_TABLES[system]));
  }
  return state;
}

/**
 * Concur reports payment separately from approval. Returns "paid" when the payment status means paid and
 * undefined when the report is not paid yet (the approval status then says where it is); throws
 * SCHEMA_INVALID for an unknown code.
 */
export function normalisePaymentState(system: 'concur', code: string): 'paid' | undefined {
  if (system !== 'concur') {
    throw new FinanceError('CONFIG_INVALID', `"${String(system)}" has no separate payment status; only concur does.`);
  }
  const state = typeof code === 'string' ? CONCUR_PAYMENT_LOOKUP.get(lookupKey(code)) : undefined;
  if (state === undefined) {
    throw unknownCode('payment status', SYSTEM_NAMES.concur, code, Object.keys(CONCUR_PAYMENT_STATES));
  }
  return state ?? undefined;
}

/**
 * Where a document may go from each state. A source can skip steps (a report approved without a separate
 * "submitted" event, an ERPNext order submitted straight from draft), so forward jumps are allowed. Going
 * back from approved to returned is allowed too, so a source that reopens an approved document is followed,
 * not refused (Concur's own send-back from accounting review, A_ACCO -> A_RESU in the spec's example, is
 * pending_approval -> returned).
 */
export const ALLOWED_TRANSITIONS: Readonly<Record<ApprovalState, readonly ApprovalState[]>> = Object.freeze({
  draft: ['submitted', 'pending_approval', 'approved', 'cancelled'],
  submitted: ['pending_approval', 'approved', 'rejected', 'returned', 'escalated', 'cancelled'],
  pending_approval: ['approved', 'rejected', 'returned', 'escalated', 'cancelled'],
  escalated: ['pending_approval', 'approved', 'rejected', 'returned', 'cancelled'],
  returned: ['draft', 'submitted', 'pending_approval', 'approved', 'cancelled'],
  approved: ['posted', 'paid', 'returned', 'cancelled'],
  posted: ['paid'],
  rejected: [],
  cancelled: [],
  paid: [],
});

/** States after which nothing more happens to the document. */
const FINAL_STATES: ReadonlySet<ApprovalState> = new Set(
  APPROVAL_STATES.filter((state) => ALLOWED_TRANSITIONS[state].length === 0),
);

export function isFinalState(state: ApprovalState): boolean {
  return FINAL_STATES.has(state);
}

/**
 * Whether a document may move from one state to another. Staying in the same state is allowed: a
 * re-delivered or repeated event (A_APPR after A_ACCO both mean approved) is not an illegal move.
 */
export function canTransition(from: ApprovalState, to: ApprovalState): boolean {
  return from === to || (ALLOWED_TRANSITIONS[from]?.includes(to) ?? false);
}
