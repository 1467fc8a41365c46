/**
 * Coupa requisitions and purchase orders, as the Coupa Core API returns them in JSON (hyphenated keys,
 * nested `currency`, `supplier`, `account`, `requested-by`). Coupa has no general webhooks: documents are
 * polled with `?exported=false` (lib/sources/coupa-poller.ts) and each polled document is its own event, so
 * envelopeOf reads the document itself.
 *
 * Sources, tagged where they are used:
 * [D]  Coupa's documentation on compass.coupa.com: Requisitions API, Requisition Line API, Req Line Allocation
 *      API and Order Line Allocations API (`account`, `amount` decimal(32,4), `pct` decimal(16,10)), Accounts
 *      API (`code` = all segments joined by "-", up to 20 segments), Special Actions and API Notes (a new PO
 *      version resets `exported`), Requisitions API Example Calls (`total` as a decimal, `currency {code}`).
 * [3P] api-evangelist/coupa json-schema (requisition statuses, PO statuses, PO `version`, `order-lines` with
 *      `price`, `uom {code}`, `source-part-num`), hotglue tap-coupa (amounts as JSON strings, `supplier
 *      {id, name, number}`), IBM agent-ready-tools test data (`"unit-price": "50.0"`, `"line-num": "1"`).
 * [U]  Assumed, to be checked against a live instance; each is said where it is decided.
 *
 * Amounts arrive as JSON strings ("1499.00", Rails' decimals) or, from some middleware, as JSON numbers;
 * both are read digit by digit, never through float arithmetic. Trailing zeros beyond the currency's
 * exponent are dropped ("50.000000" -> "50.00"); any other extra digit is refused, never rounded.
 */
import { createHash } from 'node:crypto';
import { FinanceError } from '../../errors';
import { canonicalJson } from '../../model/canonical-json';
import { compare, exponentOf, money, multiply, sum } from '../../model/money';
import { normaliseApprovalState } from '../../model/states';
import {
  APPROVAL_STATES,
  type AccountAssignment,
  type ApprovalState,
  type Dimensions,
  type Money,
  type PurchaseOrder,
  type Requisition,
  type RequisitionLine,
} from '../../model/types';
import { moneyFromJsonNumber } from '../amounts';
import { describe, shapeReader, withoutUndefined, type JsonObject, type ShapeReader } from '../shape';
import { choiceOption, mapOption, stringOption } from './options';
import type { EventFacts, SourceProfile } from './profile';

const SUPPLIER_ID_FIELDS = ['number', 'id'] as const;
const REQUESTER_ID_FIELDS = ['employee-number', 'login', 'email'] as const;
/** "code" (the whole account code) or "segment-1" .. "segment-20" [D Accounts API]. */
const ACCOUNT_FIELD = /^(?:code|segment-(?:[1-9]|1\d|20))$/;
const DIMENSION_OPTIONS = {
  costCenterSegment: 'costCenter',
  glAccountSegment: 'glAccount',
  projectSegment: 'project',
  departmentSegment: 'department',
} as const satisfies Record<string, keyof Dimensions>;
type DimensionOption = keyof typeof DIMENSION_OPTIONS;

export interface CoupaProfileOptions {
  /** Account field holding the cost center: "segment-1" .. "segment-20", or "code" for the whole account code. */
  costCenterSegment?: string;
  /** Account field holding the GL account, e.g. "segment-3". */
  glAccountSegment?: string;
  /** Account field holding the project, e.g. "segment-4". */
  projectSegment?: string;
  /** Account field holding the department, e.g. "segment-2". */
  departmentSegment?: string;
  /** Which field of Coupa's `supplier` is the ERP supplier id (or the key of supplierIdMap). Default "number". */
  supplierIdFrom?: (typeof SUPPLIER_ID_FIELDS)[number];
  /**
   * Coupa supplier number (or id) -> ERP supplier id. Without it the Coupa value is the ERP id ("same id");
   * with it, a supplier missing from the map is an error rather than an id the ERP does not know.
   */
  supplierIdMap?: Record<string, string>;
  /** Which field of `requested-by` is the ERP employee id. Default "employee-number". */
  requesterIdFrom?: (typeof REQUESTER_ID_FIELDS)[number];
  /** The canonical (ERP) company the documents belong to. */
  company?: string;
  /** The Coupa instance host, e.g. "acme.coupahost.com"; part of the event source ("coupa:<instance>"). */
  instance?: string;
  /** Extra or overriding requisition status codes (Coupa instances can add their own). */
  approvalStatusMap?: Record<string, ApprovalState>;
}

interface CoupaConfig {
  segments: Partial<Record<keyof Dimensions, string>>;
  supplierIdFrom: (typeof SUPPLIER_ID_FIELDS)[number];
  supplierIdMap?: Record<string, string>;
  requesterIdFrom: (typeof REQUESTER_ID_FIELDS)[number];
  company?: string;
  source: string;
  approvalStatusMap?: Record<string, ApprovalState>;
}

/**
 * Requisition statuses Coupa has [3P api-evangelist requisition schema] that lib/model/states.ts does not
 * list yet; states.ts is asked first, these only fill its gaps. The option approvalStatusMap outranks both.
 */
export const COUPA_REQUISITION_STATUS_SUPPLEMENT: Readonly<Record<string, ApprovalState>> = {
  cart: 'draft', // still the requester's shopping cart
  backgrounded: 'submitted', // [U] submission queued for background processing, not yet with an approver
  partially_received: 'approved', // ordered, goods arriving: approval is settled
  received: 'approved',
  abandoned: 'cancelled', // [U] a cart given up before submission
};

/** Coupa purchase order status -> canonical PO status [3P api-evangelist purchase order schema]. */
export const COUPA_PURCHASE_ORDER_STATUS: Readonly<Record<string, PurchaseOrder['status']>> = {
  draft: 'open',
  buyer_hold: 'open',
  supplier_hold: 'open',
  supplier_window_hold: 'open',
  currency_hold: 'open',
  error: 'open', // a transmission error to the supplier; the commitment still stands
  issued: 'open',
  exported: 'open',
  expensed: 'open', // [U] paid by card and expensed; nothing closes the order in that status alone
  closed: 'closed',
  cancelled: 'cancelled',
};

/** The envelope of a Coupa purchase order: EventFacts with the docType SourceProfile cannot carry yet. */
export type CoupaPurchaseOrderFacts = Omit<EventFacts, 'docType'> & { docType: 'PurchaseOrder' };

/**
 * The `coupa` profile maps requisitions through the SourceProfile interface. Purchase orders have their own
 * two methods because SourceProfile's docType and toCanonical do not include PurchaseOrder.
 */
export interface CoupaProfile extends SourceProfile {
  purchaseOrderEnvelopeOf(body: unknown): CoupaPurchaseOrderFacts;
  toPurchaseOrder(body: unknown): PurchaseOrder;
}

const readRequisition = shapeReader(
  'Coupa requisition',
  'Pass one element of the JSON array GET /api/requisitions returns (Accept: application/json).',
);
const readPurchaseOrder = shapeReader(
  'Coupa purchase order',
  'Pass one element of the JSON array GET /api/purchase_orders returns (Accept: application/json).',
);

export function createCoupaProfile(options: CoupaProfileOptions = {}): CoupaProfile {
  const config = checkedOptions(options);
  return {
    name: 'coupa',
    docType: 'Requisition',
    // Coupa documents are fetched by the pack's poller, not pushed; a relay that pushes them signs with the
    // pack's generic HMAC.
    signatureScheme: 'generic',
    embedsCanonical: false,
    // Ids are `requisition-<id>-<version>-<content digest>` and `purchase-order-<id>-<version>-<content digest>`,
    // made here (see the envelopes).
    derivesEventIds: true,
    envelopeOf: (body: unknown) => requisitionEnvelope(body, config),
    toCanonical: (body: unknown) => requisitionOf(body, config),
    purchaseOrderEnvelopeOf: (body: unknown) => purchaseOrderEnvelope(body, config),
    toPurchaseOrder: (body: unknown) => purchaseOrderOf(body, config),
  };
}

// ---- envelopes ------------------------------------------------------------------------------------

function requisitionEnvelope(body: unknown, config: CoupaConfig): EventFacts {
  const requisition = readRequisition.object(body, '');
  refuseOtherDocument(
    requisition,
    readRequisition,
    'order-lines',
    'a purchase order; read it with purchaseOrderEnvelopeOf',
  );
  const docId = coupaId(requisition, readRequisition);
  const updatedAt = readRequisition.dateTime(requisition['updated-at'], '/updated-at');
  const status = readRequisition.string(requisition.status, '/status');
  const version = requisitionVersion(updatedAt, status, config);
  return {
    // One event per revision: the same revision polled twice is a duplicate, a new revision is a new event. The
    // content digest tells two revisions apart that Coupa stamped with the same second (see requisitionVersion).
    id: `requisition-${docId}-${version}-${coupaContentDigest(requisition)}`,
    source: config.source,
    type: `coupa.requisition.${status}`,
    subject: docId,
    time: updatedAt,
    docType: 'Requisition',
    docId,
    version,
  };
}

function purchaseOrderEnvelope(body: unknown, config: CoupaConfig): CoupaPurchaseOrderFacts {
  const order = readPurchaseOrder.object(body, '');
  refuseOtherDocument(order, readPurchaseOrder, 'requisition-lines', 'a requisition; read it with envelopeOf');
  const id = coupaId(order, readPurchaseOrder);
  const version = purchaseOrderVersion(order);
  // The PO number, like the canonical externalReference, so the envelope and the mapped order agree on docId.
  const poNumber = readPurchaseOrder.string(order['po-number'], '/po-number');
  return {
    // One event per revision, as for requisitions: the same revision polled again is a duplicate. Whether Coupa
    // raises `version` when a PO is only cancelled or closed is not documented [U]; the content digest makes such a
    // status change a new event either way, and the purchase-order sync decides what it does within the version
    // (lib/purchasing/versions.ts, eventVerdict).
    id: `purchase-order-${id}-${version}-${coupaContentDigest(order)}`,
    source: config.source,
    type: `coupa.purchase_order.${readPurchaseOrder.string(order.status, '/status')}`,
    subject: poNumber,
    time: readPurchaseOrder.dateTime(order['updated-at'], '/updated-at'),
    docType: 'PurchaseOrder',
    docId: poNumber,
    version,
  };
}

/**
 * Requisitions have no revision number in Coupa's API, so their version is `updated-at` as epoch
 * milliseconds: it grows with every change Coupa records. Coupa stamps whole seconds, so two changes within
 * one second share `updated-at`. The event id carries a digest of the content, so the later one is a new event
 * all the same (not a duplicate); and its version is ordered by the requisition's life cycle within the second
 * (REQUISITION_LIFECYCLE_RANK, added as milliseconds, which Coupa leaves at 0): a requisition approved and
 * cancelled (or ordered) in one second gets a higher version for the cancellation, so what orders versions
 * downstream (the purchase-order sync, the approval workflow) applies it instead of taking it for a replay. Two
 * changes in one second that leave the status as it was still share a version (see the README).
 */
function requisitionVersion(updatedAt: string, status: string, config: CoupaConfig): number {
  const epochMs = Date.parse(updatedAt);
  return epochMs % 1000 === 0 ? epochMs + lifecycleRank(status, config) : epochMs;
}

/**
 * Where a status comes in a requisition's life once it is approved, which is when it is polled: ordered and
 * received follow approval, and a cancellation ends it. Statuses before approval (and any other) are 0.
 */
const REQUISITION_LIFECYCLE_RANK: Readonly<Record<string, number>> = {
  ordered: 1,
  partially_received: 2,
  received: 3,
};
const CANCELLED_RANK = 9;

function lifecycleRank(status: string, config: CoupaConfig): number {
  if (Object.hasOwn(REQUISITION_LIFECYCLE_RANK, status)) return REQUISITION_LIFECYCLE_RANK[status];
  let state: ApprovalState | undefined;
  try {
    state = requisitionStateOf({ status }, config);
  } catch {
    // A status the profile does not know: finance-map refuses the document; its version needs no rank.
  }
  return state === 'cancelled' ? CANCELLED_RANK : 0;
}

/**
 * What marking a document exported may change by itself [D: the mark "requires its own request"; U: which fields
 * it touches]: the flag, when it was last exported, and when and by whom the record was last changed. A digest or
 * a comparison without them tells a revision from the same revision marked.
 */
export const COUPA_EXPORT_STAMPS: readonly string[] = ['exported', 'last-exported-at', 'updated-at', 'updated-by'];

/**
 * A digest of a Coupa document's content without its export stamps (COUPA_EXPORT_STAMPS), whatever the order of
 * its keys: the same revision read again (before or after its export mark) gives the same digest, a change to
 * anything else another one. 16 hexadecimal characters (64 bits of SHA-256).
 */
export function coupaContentDigest(document: unknown): string {
  const content =
    typeof document === 'object' && document !== null && !Array.isArray(document)
      ? Object.fromEntries(Object.entries(document as JsonObject).filter(([key]) => !COUPA_EXPORT_STAMPS.includes(key)))
      : document;
  return createHash('sha256').update(canonicalJson(content), 'utf8').digest('hex').slice(0, 16);
}

/**
 * Purchase orders carry Coupa's own `version`, which a revision raises and which resets `exported` [D]. It is kept
 * as Coupa's number (no life-cycle rank as for requisitions): a status change that does not raise it shares the
 * version, and the purchase-order sync applies a cancel within the version all the same.
 */
function purchaseOrderVersion(order: JsonObject): number {
  const version = readPurchaseOrder.optionalInteger(order.version, '/version');
  if (version === undefined || version < 1) {
    throw readPurchaseOrder.fail(
      '/version',
      `must be Coupa's PO version, a whole number from 1, got ${describe(order.version)}`,
    );
  }
  return version;
}

function refuseOtherDocument(doc: JsonObject, read: ShapeReader, otherLines: string, what: string): void {
  if (doc[otherLines] !== undefined) throw read.fail(`/${otherLines}`, `is present, so this is ${what}`);
}

/** Coupa ids are positive integers; the canonical model carries them as strings. */
function coupaId(doc: JsonObject, read: ShapeReader): string {
  const id = doc.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
    throw read.fail('/id', `must be Coupa's id, a positive whole number, got ${describe(id)}`);
  }
  return String(id);
}

// ---- documents ------------------------------------------------------------------------------------

function requisitionOf(body: unknown, config: CoupaConfig): Requisition {
  const read = readRequisition;
  const requisition = read.object(body, '');
  refuseOtherDocument(requisition, read, 'order-lines', 'a purchase order; map it with toPurchaseOrder');
  const id = coupaId(requisition, read);
  const currency = currencyOf(requisition, '', read);
  const headerNeedBy = optionalDate(requisition['need-by-date'], '/need-by-date', read);
  const lineValues = read.array(requisition['requisition-lines'], '/requisition-lines');
  if (lineValues.length === 0) throw read.fail('/requisition-lines', 'is empty; a requisition needs at least one line');
  const lines = lineValues.map((value, index) =>
    lineOf(value, `/requisition-lines/${index}`, currency, headerNeedBy, config, read),
  );
  const state = requisitionStateOf(requisition, config);
  return withoutUndefined({
    docType: 'Requisition' as const,
    sourceRef: {
      system: 'coupa',
      id,
      version: requisitionVersion(
        read.dateTime(requisition['updated-at'], '/updated-at'),
        read.string(requisition.status, '/status'),
        config,
      ),
    },
    requisitionId: id,
    requesterId: requesterIdOf(requisition, config),
    supplierId: singleSupplierOf(lineValues, config),
    company: config.company,
    state,
    currency,
    total: totalOf(requisition, lines, currency, read),
    lines,
    cancelled: state === 'cancelled' ? true : undefined,
  });
}

function purchaseOrderOf(body: unknown, config: CoupaConfig): PurchaseOrder {
  const read = readPurchaseOrder;
  const order = read.object(body, '');
  refuseOtherDocument(order, read, 'requisition-lines', 'a requisition; map it with toCanonical');
  const id = coupaId(order, read);
  const currency = currencyOf(order, '', read);
  const lineValues = read.array(order['order-lines'], '/order-lines');
  if (lineValues.length === 0) throw read.fail('/order-lines', 'is empty; a purchase order needs at least one line');
  const lines = lineValues.map((value, index) =>
    lineOf(value, `/order-lines/${index}`, currency, undefined, config, read),
  );
  const status = read.string(order.status, '/status');
  if (!Object.hasOwn(COUPA_PURCHASE_ORDER_STATUS, status)) {
    throw read.fail(
      '/status',
      `"${status}" is not a Coupa purchase order status this profile knows (${Object.keys(COUPA_PURCHASE_ORDER_STATUS).join(', ')})`,
    );
  }
  return withoutUndefined({
    docType: 'PurchaseOrder' as const,
    sourceRef: { system: 'coupa', id, version: purchaseOrderVersion(order) },
    // The Coupa PO number is the reference the ERP finds the order by.
    externalReference: read.string(order['po-number'], '/po-number'),
    supplierId: supplierIdOf(order.supplier, '/supplier', config, read),
    company: config.company,
    // [U] Coupa exposes no separate order date; the order exists from its creation.
    orderDate: read.date(order['created-at'], '/created-at'),
    currency,
    total: totalOf(order, lines, currency, read),
    lines,
    status: COUPA_PURCHASE_ORDER_STATUS[status],
  });
}

function requisitionStateOf(requisition: JsonObject, config: CoupaConfig): ApprovalState {
  const status = readRequisition.string(requisition.status, '/status');
  const custom = config.approvalStatusMap?.[status];
  if (custom !== undefined) return custom;
  try {
    return normaliseApprovalState('coupa', status);
  } catch (error) {
    if (!(error instanceof FinanceError)) throw error;
    if (Object.hasOwn(COUPA_REQUISITION_STATUS_SUPPLEMENT, status)) return COUPA_REQUISITION_STATUS_SUPPLEMENT[status];
    throw readRequisition.fail(
      '/status',
      `"${status}" is not a known Coupa requisition status; if your instance added it, map it with the profile ` +
        'option approvalStatusMap',
    );
  }
}

function requesterIdOf(requisition: JsonObject, config: CoupaConfig): string {
  const field = config.requesterIdFrom;
  const requester = readRequisition.object(requisition['requested-by'], '/requested-by');
  const value = readRequisition.optionalString(requester[field], `/requested-by/${field}`);
  if (value === undefined) {
    throw readRequisition.fail(
      `/requested-by/${field}`,
      `is missing, and it is the field configured as the requester id; fill it in Coupa or set the profile ` +
        `option requesterIdFrom to one of ${REQUESTER_ID_FIELDS.join(', ')}`,
    );
  }
  return value;
}

/** Coupa keeps the supplier on each requisition line; the canonical requisition has one supplier. */
function singleSupplierOf(lineValues: unknown[], config: CoupaConfig): string {
  const suppliers = lineValues.map((value, index) => {
    const line = readRequisition.object(value, `/requisition-lines/${index}`);
    return supplierIdOf(line.supplier, `/requisition-lines/${index}/supplier`, config, readRequisition);
  });
  const different = suppliers.findIndex((supplier) => supplier !== suppliers[0]);
  if (different > 0) {
    throw readRequisition.fail(
      `/requisition-lines/${different}/supplier`,
      `is ERP supplier "${suppliers[different]}" but line 0 is "${suppliers[0]}"; a requisition is mapped to one ` +
        'purchase order with one supplier, so split it in Coupa per supplier',
    );
  }
  return suppliers[0];
}

function supplierIdOf(value: unknown, path: string, config: CoupaConfig, read: ShapeReader): string {
  const supplier = read.object(value, path);
  const field = config.supplierIdFrom;
  const raw = supplier[field];
  const key = typeof raw === 'number' && field === 'id' ? String(raw) : read.optionalString(raw, `${path}/${field}`);
  if (key === undefined) {
    throw read.fail(
      `${path}/${field}`,
      `is missing, and it is the field configured as the supplier id; fill it in Coupa or set the profile option ` +
        `supplierIdFrom to one of ${SUPPLIER_ID_FIELDS.join(', ')}`,
    );
  }
  if (config.supplierIdMap === undefined) return key;
  const mapped = config.supplierIdMap[key];
  if (mapped === undefined) {
    throw read.fail(
      `${path}/${field}`,
      `is "${key}", which the profile option supplierIdMap does not map to an ERP supplier; add it to the map`,
    );
  }
  return mapped;
}

function currencyOf(doc: JsonObject, path: string, read: ShapeReader): string {
  const currency = read.object(doc.currency, `${path}/currency`);
  const code = read.string(currency.code, `${path}/currency/code`);
  exponentOf(code, `${path}/currency/code`, documentOf(read));
  return code;
}

/** The document's total: the sum of its lines, which Coupa's own `total`, when sent, must agree with. */
function totalOf(doc: JsonObject, lines: readonly RequisitionLine[], currency: string, read: ShapeReader): Money {
  const total = sum(
    lines.map((line) => line.amount),
    currency,
  );
  if (doc.total !== undefined && doc.total !== null) {
    const stated = coupaMoney(doc.total, currency, '/total', read);
    if (compare(stated, total) !== 0) {
      throw read.fail(
        '/total',
        `is ${stated.amount} ${currency} but the lines add up to ${total.amount} ${currency}; send the document with all its lines`,
      );
    }
  }
  return total;
}

// ---- lines ----------------------------------------------------------------------------------------

function lineOf(
  value: unknown,
  path: string,
  currency: string,
  headerNeedBy: string | undefined,
  config: CoupaConfig,
  read: ShapeReader,
): RequisitionLine {
  const line = read.object(value, path);
  if (line.currency !== undefined && line.currency !== null) {
    const lineCurrency = currencyOf(line, path, read);
    if (lineCurrency !== currency) {
      throw new FinanceError(
        'CURRENCY_MISMATCH',
        `${documentOf(read)} ${path}/currency/code: is ${lineCurrency} but the document is in ${currency}; ` +
          'the ERP order is in one currency, so convert the line in Coupa.',
        { details: { document: documentOf(read), path: `${path}/currency/code` } },
      );
    }
  }
  const lineId = lineIdOf(line, path, read);
  const hasQuantity = line.quantity !== undefined && line.quantity !== null;
  // [U] Amount lines (RequisitionAmountLine, OrderAmountLine) carry no quantity: one unit at the line total.
  const quantity = hasQuantity ? quantityOf(line.quantity, `${path}/quantity`, read) : '1';
  const statedTotal =
    line.total === undefined || line.total === null
      ? undefined
      : coupaMoney(line.total, currency, `${path}/total`, read);
  const unitPrice = unitPriceOf(line, path, currency, hasQuantity ? undefined : statedTotal, read);
  const amount = statedTotal ?? multiply(unitPrice, quantity, `${path}/quantity`);
  const item = line.item === undefined || line.item === null ? undefined : read.object(line.item, `${path}/item`);
  const uom = line.uom === undefined || line.uom === null ? undefined : read.object(line.uom, `${path}/uom`);
  return withoutUndefined({
    lineId,
    description: read.string(line.description, `${path}/description`),
    itemCode:
      (item && read.optionalString(item['item-number'], `${path}/item/item-number`)) ??
      read.optionalString(line['source-part-num'], `${path}/source-part-num`),
    quantity,
    unitOfMeasure: uom && read.optionalString(uom.code, `${path}/uom/code`),
    unitPrice,
    amount,
    needBy: optionalDate(line['need-by-date'], `${path}/need-by-date`, read) ?? headerNeedBy,
    accountAssignments: assignmentsOf(line, path, amount, config, read),
  });
}

/**
 * Requisition lines call the unit price `unit-price`, order lines `price` [3P]. An amount line without a
 * price is one unit at its total (`amountLineTotal`).
 */
function unitPriceOf(
  line: JsonObject,
  path: string,
  currency: string,
  amountLineTotal: Money | undefined,
  read: ShapeReader,
): Money {
  const key = line['unit-price'] !== undefined && line['unit-price'] !== null ? 'unit-price' : 'price';
  const price = line[key];
  if (price !== undefined && price !== null) return coupaMoney(price, currency, `${path}/${key}`, read);
  if (amountLineTotal !== undefined) return amountLineTotal;
  throw read.fail(`${path}/unit-price`, 'is missing; a line needs its unit price (or, for an amount line, its total)');
}

function lineIdOf(line: JsonObject, path: string, read: ShapeReader): string {
  const lineNum = line['line-num'];
  if (typeof lineNum === 'number' && Number.isSafeInteger(lineNum) && lineNum > 0) return String(lineNum);
  if (typeof lineNum === 'string' && /^[1-9]\d*$/.test(lineNum)) return lineNum;
  if (lineNum !== undefined && lineNum !== null) {
    throw read.fail(`${path}/line-num`, `must be a line number such as 1, got ${describe(lineNum)}`);
  }
  // Without a line number, Coupa's own line id identifies the line.
  const id = line.id;
  if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 1) {
    throw read.fail(`${path}/line-num`, 'is missing and so is the line id; send the lines as Coupa returns them');
  }
  return String(id);
}

/**
 * A line's account splits [D Req Line Allocation API]. Coupa stores each split with both `pct`
 * (10 decimals) and `amount` (4 decimals). Percentages are used when each has at most 2 decimals and they
 * add up to 100 (what a person typed); otherwise the amounts, when each fits the currency and they add up to
 * the line (a split entered by amount, e.g. 100.00 + 50.00 of 150.00 is 66.6666666667 %). Without
 * allocations the line's own `account` takes 100 %.
 */
function assignmentsOf(
  line: JsonObject,
  path: string,
  lineAmount: Money,
  config: CoupaConfig,
  read: ShapeReader,
): AccountAssignment[] {
  const allocationsValue = line['account-allocations'];
  const allocations =
    allocationsValue === undefined || allocationsValue === null
      ? []
      : read.array(allocationsValue, `${path}/account-allocations`);
  if (allocations.length === 0) {
    return [{ dimensions: dimensionsOf(line.account, `${path}/account`, config, read), percent: '100' }];
  }
  const splits = allocations.map((value, index) => {
    const at = `${path}/account-allocations/${index}`;
    const allocation = read.object(value, at);
    return {
      dimensions: dimensionsOf(allocation.account, `${at}/account`, config, read),
      percent: percentOf(allocation.pct),
      amount: allocationAmountOf(allocation.amount, lineAmount.currency),
    };
  });
  const percents = splits.map((split) => split.percent);
  if (percents.every((percent): percent is string => percent !== undefined) && hundredthsTotal(percents) === 10000n) {
    return splits.map((split, index) => ({ dimensions: split.dimensions, percent: percents[index] }));
  }
  const amounts = splits.map((split) => split.amount);
  if (
    amounts.every((amount): amount is Money => amount !== undefined) &&
    compare(sum(amounts, lineAmount.currency), lineAmount) === 0
  ) {
    return splits.map((split, index) => ({ dimensions: split.dimensions, amount: amounts[index] }));
  }
  throw read.fail(
    `${path}/account-allocations`,
    `give neither percentages (pct, at most 2 decimals) adding up to 100 nor amounts adding up to the line total ` +
      `${lineAmount.amount} ${lineAmount.currency}; correct the split in Coupa`,
  );
}

/** The configured account fields as dimensions [D Accounts API: `code` and `segment-1` .. `segment-20`]. */
function dimensionsOf(value: unknown, path: string, config: CoupaConfig, read: ShapeReader): Dimensions {
  const account = read.object(value, path);
  const dimensions: Dimensions = {};
  for (const [dimension, field] of Object.entries(config.segments) as [keyof Dimensions, string][]) {
    const code = read.optionalString(account[field], `${path}/${field}`);
    if (code === undefined) {
      throw read.fail(
        `${path}/${field}`,
        `is empty, and it is the account field configured for the ${dimension}; fill the segment in Coupa or ` +
          'correct the profile option',
      );
    }
    dimensions[dimension] = code;
  }
  return dimensions;
}

// ---- numbers --------------------------------------------------------------------------------------

const DECIMAL_TEXT = /^(-)?(\d+)(?:\.(\d+))?$/;
/** A double carries 15 significant decimal digits exactly (see ../amounts.ts). */
const MAX_SIGNIFICANT_DIGITS = 15;

/** A decimal from a JSON string or number, without trailing fractional zeros; undefined when malformed. */
function decimalText(value: unknown): string | undefined {
  let text: string;
  if (typeof value === 'string') text = value.trim();
  else if (typeof value === 'number' && Number.isFinite(value)) {
    text = String(value);
    const significant = text.replace(/^-/, '').replace('.', '').replace(/^0+/, '');
    // Exponent notation or more digits than a double holds: the sender's arithmetic, not a typed number.
    if (/e/i.test(text) || significant.length > MAX_SIGNIFICANT_DIGITS) return undefined;
  } else return undefined;
  const match = DECIMAL_TEXT.exec(text);
  if (!match) return undefined;
  const [, sign = '', whole, fraction = ''] = match;
  const kept = fraction.replace(/0+$/, '');
  return `${sign}${whole.replace(/^0+(?=\d)/, '')}${kept === '' ? '' : `.${kept}`}`;
}

/** Money from a Coupa decimal (string or number) in the document's currency. */
function coupaMoney(value: unknown, currency: string, path: string, read: ShapeReader): Money {
  const document = documentOf(read);
  if (typeof value === 'number') {
    return moneyFromJsonNumber(value, currency, { document, path, currencyPath: '/currency/code' });
  }
  const text = decimalText(value);
  if (text === undefined) {
    throw invalidAmount(document, path, `must be a decimal such as "12.50", got ${describe(value)}`);
  }
  const decimals = text.split('.')[1]?.length ?? 0;
  const exponent = exponentOf(currency, '/currency/code', document);
  if (decimals > exponent) {
    throw invalidAmount(
      document,
      path,
      `${String(value)} has ${decimals} significant decimals but ${currency} has ${exponent}; the amount is not ` +
        'rounded here: correct it in Coupa (or its price) so it fits the currency',
    );
  }
  return money(text, currency, { path, document });
}

function quantityOf(value: unknown, path: string, read: ShapeReader): string {
  const text = decimalText(value);
  if (text === undefined || !/^\d{1,12}(?:\.\d{1,6})?$/.test(text)) {
    throw read.fail(path, `must be a quantity such as "2" or "1.5" (at most 6 decimals), got ${describe(value)}`);
  }
  return text;
}

/** A `pct` the canonical model can carry (at most 2 decimals), else undefined. */
function percentOf(value: unknown): string | undefined {
  const text = value === undefined || value === null ? undefined : decimalText(value);
  return text !== undefined && /^\d{1,3}(?:\.\d{1,2})?$/.test(text) ? text : undefined;
}

/** An allocation `amount` that fits the currency, else undefined (the percentages may still do). */
function allocationAmountOf(value: unknown, currency: string): Money | undefined {
  const text = value === undefined || value === null ? undefined : decimalText(value);
  if (text === undefined || text.startsWith('-')) return undefined;
  if ((text.split('.')[1]?.length ?? 0) > exponentOf(currency)) return undefined;
  return money(text, currency);
}

function hundredthsTotal(percents: readonly string[]): bigint {
  return percents.reduce((total, percent) => {
    const [whole, fraction = ''] = percent.split('.');
    return total + BigInt(whole + fraction.padEnd(2, '0'));
  }, 0n);
}

function optionalDate(value: unknown, path: string, read: ShapeReader): string | undefined {
  return value === undefined || value === null || value === '' ? undefined : read.date(value, path);
}

function documentOf(read: ShapeReader): string {
  return read === readRequisition ? 'Coupa requisition' : 'Coupa purchase order';
}

function invalidAmount(document: string, path: string, problem: string): FinanceError {
  return new FinanceError('INVALID_AMOUNT', `${document} ${path}: ${problem}.`, { details: { document, path } });
}

// ---- options --------------------------------------------------------------------------------------

function checkedOptions(options: CoupaProfileOptions): CoupaConfig {
  if (typeof options !== 'object' || options === null) {
    throw new FinanceError('CONFIG_INVALID', 'The coupa profile options must be an object.');
  }
  const segments: Partial<Record<keyof Dimensions, string>> = {};
  for (const option of Object.keys(DIMENSION_OPTIONS) as DimensionOption[]) {
    const field = stringOption('coupa', options, option, 'segment-2');
    if (field === undefined) continue;
    if (!ACCOUNT_FIELD.test(field)) {
      throw new FinanceError(
        'CONFIG_INVALID',
        `The coupa profile option "${option}" must be "code" or "segment-1" to "segment-20", got "${field}". ` +
          'Fix it in the source configuration.',
        { details: { profile: 'coupa', option } },
      );
    }
    segments[DIMENSION_OPTIONS[option]] = field;
  }
  const instance = stringOption('coupa', options, 'instance', 'acme.coupahost.com');
  return withoutUndefined({
    segments,
    supplierIdFrom: choiceOption('coupa', options, 'supplierIdFrom', SUPPLIER_ID_FIELDS) ?? 'number',
    supplierIdMap: mapOption('coupa', options, 'supplierIdMap', '{ "SUP-77": "V-1001" }'),
    requesterIdFrom: choiceOption('coupa', options, 'requesterIdFrom', REQUESTER_ID_FIELDS) ?? 'employee-number',
    company: stringOption('coupa', options, 'company', 'FS-DEMO'),
    source: instance === undefined ? 'coupa' : `coupa:${instance}`,
    approvalStatusMap: mapOption(
      'coupa',
      options,
      'approvalStatusMap',
      '{ "pending_review": "pending_approval" }',
      APPROVAL_STATES,
    ),
  });
}
