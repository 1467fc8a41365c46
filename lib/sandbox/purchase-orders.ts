/**
 * Purchase orders: create, find, change with optimistic concurrency (ETag / If-Match) and cancel. An open
 * purchase order is a commitment against the budgets of its account assignments until it is cancelled.
 *
 * Every write runs synchronously from its duplicate check to its insert, so two concurrent creates with one
 * external reference can never both succeed.
 */
import { multiply, splitByPercent, sum, toMinorUnits } from '../model/money';
import type { AccountAssignment, Money, PurchaseOrderLine } from '../model/types';
import type { Charge } from './budget-ledger';
import type { CompanyState } from './company-state';
import { SandboxProblem, notFound } from './problem';
import { checkDimensions, checkDocumentCurrency, checkSupplier, checkTaxCode } from './references';
import type { SandboxState } from './state';
import type { PurchaseOrderDoc, SandboxResponse } from './types';
import {
  FieldErrors,
  bodyObject,
  isObject,
  readArray,
  readCurrency,
  readDate,
  readDimensions,
  readMoney,
  readString,
  rejectUnknownKeys,
  type JsonObject,
} from './validate';

const QUANTITY = /^\d{1,12}(?:\.\d{1,6})?$/;
const PERCENT = /^\d{1,3}(?:\.\d{1,2})?$/;
const PATCHABLE = ['supplierId', 'orderDate', 'currency', 'lines'] as const;
const MAX_LINES = 500;
const MAX_SPLITS = 50;

interface PurchaseOrderInput {
  externalReference: string;
  supplierId: string;
  orderDate: string;
  currency: string;
  lines: PurchaseOrderLine[];
}

function readAssignment(value: unknown, path: string, errors: FieldErrors): AccountAssignment | undefined {
  if (!isObject(value)) {
    errors.add(path, 'must be an object { "dimensions": {...}, "percent"?: "50", "amount"?: Money }');
    return undefined;
  }
  const dimensions = readDimensions(value.dimensions, `${path}/dimensions`, errors);
  const assignment: AccountAssignment = { dimensions: dimensions ?? {} };
  if (value.percent !== undefined) {
    if (typeof value.percent !== 'string' || !PERCENT.test(value.percent)) {
      errors.add(`${path}/percent`, 'must be a percentage string with up to two decimals, such as "33.33"');
    } else {
      assignment.percent = value.percent;
    }
  }
  if (value.amount !== undefined) {
    const amount = readMoney(value.amount, `${path}/amount`, errors);
    if (amount) assignment.amount = amount;
  }
  return dimensions ? assignment : undefined;
}

function readAssignments(line: JsonObject, path: string, errors: FieldErrors): AccountAssignment[] | undefined {
  const values = readArray(line, 'accountAssignments', path, errors, { required: true, maxItems: MAX_SPLITS });
  if (!values) return undefined;
  const where = `${path}/accountAssignments`;
  const assignments = values.map((value, index) => readAssignment(value, `${where}/${index}`, errors));
  const byPercent = values.filter((value) => isObject(value) && value.percent !== undefined).length;
  const byAmount = values.filter((value) => isObject(value) && value.amount !== undefined).length;
  if (byPercent > 0 && byAmount > 0) {
    errors.add(where, 'mixes "percent" and "amount" splits; give every split of a line the same kind');
  } else if (values.length > 1 && byPercent !== values.length && byAmount !== values.length) {
    errors.add(where, 'has several splits; give each a "percent" or each an "amount"');
  }
  return assignments.every((assignment) => assignment !== undefined) ? (assignments as AccountAssignment[]) : undefined;
}

function readLine(value: unknown, path: string, errors: FieldErrors): PurchaseOrderLine | undefined {
  if (!isObject(value)) {
    errors.add(path, 'must be a line object');
    return undefined;
  }
  const lineId = readString(value, 'lineId', path, errors, { required: true, maxLength: 50 });
  const description = readString(value, 'description', path, errors, { required: true, maxLength: 500 });
  let quantity: string | undefined;
  if (typeof value.quantity !== 'string' || !QUANTITY.test(value.quantity) || !/[1-9]/.test(value.quantity)) {
    errors.add(`${path}/quantity`, 'must be a positive decimal string such as "2" or "1.5" (up to 6 decimals)');
  } else {
    quantity = value.quantity;
  }
  const unitPrice = readMoney(value.unitPrice, `${path}/unitPrice`, errors, { required: true });
  const amount = readMoney(value.amount, `${path}/amount`, errors, { required: true });
  const taxCode = readString(value, 'taxCode', path, errors, { maxLength: 20 });
  const itemCode = readString(value, 'itemCode', path, errors, { maxLength: 50 });
  const unitOfMeasure = readString(value, 'unitOfMeasure', path, errors, { maxLength: 20 });
  const needBy = readDate(value, 'needBy', path, errors);
  const accountAssignments = readAssignments(value, path, errors);
  if (!lineId || !description || !quantity || !unitPrice || !amount || !accountAssignments) return undefined;
  return {
    lineId,
    description,
    ...(itemCode ? { itemCode } : {}),
    quantity,
    ...(unitOfMeasure ? { unitOfMeasure } : {}),
    unitPrice,
    amount,
    ...(taxCode ? { taxCode } : {}),
    ...(needBy ? { needBy } : {}),
    accountAssignments,
  };
}

/** Well-formedness (400). Fields other than the documented ones are ignored, so a canonical PO can be sent. */
function readPurchaseOrder(body: JsonObject): PurchaseOrderInput {
  const errors = new FieldErrors();
  const externalReference = readString(body, 'externalReference', '', errors, { required: true, maxLength: 100 });
  const supplierId = readString(body, 'supplierId', '', errors, { required: true, maxLength: 50 });
  const orderDate = readDate(body, 'orderDate', '', errors, { required: true });
  const currency = readCurrency(body, 'currency', '', errors, { required: true });
  const values = readArray(body, 'lines', '', errors, { required: true, maxItems: MAX_LINES });
  const lines = (values ?? []).map((value, index) => readLine(value, `/lines/${index}`, errors));
  const seen = new Set<string>();
  lines.forEach((line, index) => {
    if (!line) return;
    if (seen.has(line.lineId)) errors.add(`/lines/${index}/lineId`, `"${line.lineId}" is used by an earlier line`);
    seen.add(line.lineId);
  });
  errors.throwIfAny(400);
  return {
    externalReference: externalReference as string,
    supplierId: supplierId as string,
    orderDate: orderDate as string,
    currency: currency as string,
    lines: lines as PurchaseOrderLine[],
  };
}

function checkLineAmounts(line: PurchaseOrderLine, currency: string, path: string, errors: FieldErrors): void {
  if (line.unitPrice.currency !== currency || line.amount.currency !== currency) {
    errors.add(path, `line amounts must be in the document currency ${currency}`, 'CURRENCY_MISMATCH');
    return;
  }
  const expected = multiply(line.unitPrice, line.quantity);
  if (expected.amount !== line.amount.amount) {
    errors.add(
      `${path}/amount`,
      `is ${line.amount.amount} but quantity ${line.quantity} x unit price ${line.unitPrice.amount} is ${expected.amount}`,
      'LINE_AMOUNT_MISMATCH',
    );
  }
}

function checkSplits(line: PurchaseOrderLine, path: string, errors: FieldErrors): void {
  const splits = line.accountAssignments;
  const where = `${path}/accountAssignments`;
  if (splits[0].percent !== undefined) {
    const hundredths = splits.reduce((total, split) => total + percentHundredths(split.percent as string), 0);
    if (hundredths !== 10000) {
      errors.add(where, `the percentages add up to ${hundredths / 100}, not 100`, 'SPLIT_MISMATCH');
    }
  } else if (splits[0].amount !== undefined) {
    const amounts = splits.map((split) => split.amount as Money);
    if (amounts.some((amount) => amount.currency !== line.amount.currency)) {
      errors.add(where, `split amounts must be in the line currency ${line.amount.currency}`, 'CURRENCY_MISMATCH');
    } else if (sum(amounts).amount !== line.amount.amount) {
      errors.add(
        where,
        `the split amounts add up to ${sum(amounts).amount}, not the line amount ${line.amount.amount}`,
        'SPLIT_MISMATCH',
      );
    }
  }
}

function percentHundredths(percent: string): number {
  const [whole, fraction = ''] = percent.split('.');
  return Number(whole) * 100 + Number(fraction.padEnd(2, '0'));
}

/** Business rules (422): the supplier, the currency, line arithmetic, splits and dimensions. */
function checkPurchaseOrder(company: CompanyState, order: PurchaseOrderInput): void {
  const errors = new FieldErrors();
  checkSupplier(company, order.supplierId, '/supplierId', errors);
  checkDocumentCurrency(company, order.currency, '/currency', errors);
  order.lines.forEach((line, index) => {
    const path = `/lines/${index}`;
    checkLineAmounts(line, order.currency, path, errors);
    checkSplits(line, path, errors);
    if (line.taxCode !== undefined) checkTaxCode(company, line.taxCode, `${path}/taxCode`, errors);
    line.accountAssignments.forEach((split, splitIndex) => {
      checkDimensions(company, split.dimensions, `${path}/accountAssignments/${splitIndex}/dimensions`, errors);
    });
  });
  errors.throwIfAny(422);
}

/** What an open purchase order commits, split by account assignment, in the period of its order date. */
export function commitmentsOf(order: PurchaseOrderDoc): Charge[] {
  const period = order.orderDate.slice(0, 7);
  const charges: Charge[] = [];
  for (const line of order.lines) {
    const splits = line.accountAssignments;
    const amounts =
      splits[0].percent !== undefined
        ? splitByPercent(
            line.amount,
            splits.map((split) => split.percent as string),
          )
        : splits[0].amount !== undefined
          ? splits.map((split) => split.amount as Money)
          : [line.amount];
    splits.forEach((split, index) => {
      charges.push({
        period,
        dimensions: split.dimensions,
        minor: toMinorUnits(amounts[index].amount, order.currency),
      });
    });
  }
  return charges;
}

function documentResponse(status: number, order: PurchaseOrderDoc): SandboxResponse {
  return {
    status,
    headers: {
      ETag: order.etag,
      ...(status === 201
        ? { Location: `/api/v1/companies/${encodeURIComponent(order.company)}/purchaseOrders/${order.id}` }
        : {}),
    },
    body: order,
  };
}

function total(order: PurchaseOrderInput): Money {
  return sum(
    order.lines.map((line) => line.amount),
    order.currency,
  );
}

export function createPurchaseOrder(state: SandboxState, company: CompanyState, rawBody: unknown): SandboxResponse {
  const input = readPurchaseOrder(bodyObject(rawBody));
  const existingId = company.purchaseOrderByReference.get(input.externalReference);
  if (existingId !== undefined) {
    throw new SandboxProblem(
      409,
      'DUPLICATE_REFERENCE',
      `A purchase order with externalReference "${input.externalReference}" already exists (id ${existingId}); ` +
        'fetch it instead of creating it again.',
      { members: { existingId } },
    );
  }
  checkPurchaseOrder(company, input);
  const timestamp = state.timestamp();
  const order: PurchaseOrderDoc = {
    id: state.newId(),
    number: company.nextNumber('PO'),
    company: company.company.id,
    ...input,
    status: 'open',
    etag: state.nextEtag(),
    total: total(input),
    createdAt: timestamp,
    modifiedAt: timestamp,
  };
  company.purchaseOrders.set(order.id, order);
  company.purchaseOrderByReference.set(order.externalReference, order.id);
  company.ledger.book(commitmentsOf(order), 'commitments', 1n);
  state.counters.writes += 1;
  return documentResponse(201, order);
}

export function getPurchaseOrder(company: CompanyState, id: string): SandboxResponse {
  return documentResponse(200, existingOrder(company, id));
}

export function findPurchaseOrders(company: CompanyState, externalReference: string | null): SandboxResponse {
  if (externalReference === null) {
    throw new SandboxProblem(
      400,
      'QUERY_REQUIRED',
      'Give ?externalReference=... to find a purchase order; GET /_sandbox/state lists all of them.',
    );
  }
  const id = company.purchaseOrderByReference.get(externalReference);
  const order = id === undefined ? undefined : company.purchaseOrders.get(id);
  return { status: 200, body: { items: order ? [order] : [] } };
}

function existingOrder(company: CompanyState, id: string): PurchaseOrderDoc {
  const order = company.purchaseOrders.get(id);
  if (!order) throw notFound(`Purchase order "${id}" in ${company.company.id}`);
  return order;
}

/** The If-Match rules shared by change and cancel: 428 without it, 412 when it is not the current ETag. */
function checkIfMatch(order: PurchaseOrderDoc, ifMatch: string | undefined): void {
  if (ifMatch === undefined) {
    throw new SandboxProblem(
      428,
      'PRECONDITION_REQUIRED',
      `Send If-Match with the purchase order's current ETag (GET it first) so a concurrent change is not overwritten.`,
    );
  }
  if (ifMatch !== '*' && ifMatch !== order.etag) {
    throw new SandboxProblem(
      412,
      'ETAG_MISMATCH',
      `Purchase order ${order.number} changed since you read it (If-Match ${ifMatch}, current ${order.etag}); ` +
        'GET it again, re-apply your change and retry.',
    );
  }
}

function refuseIfCancelled(order: PurchaseOrderDoc): void {
  if (order.status === 'cancelled') {
    throw new SandboxProblem(409, 'ALREADY_CANCELLED', `Purchase order ${order.number} is already cancelled.`, {
      members: { existingId: order.id },
    });
  }
}

export function changePurchaseOrder(
  state: SandboxState,
  company: CompanyState,
  id: string,
  ifMatch: string | undefined,
  rawBody: unknown,
): SandboxResponse {
  const current = existingOrder(company, id);
  refuseIfCancelled(current);
  checkIfMatch(current, ifMatch);
  const patch = bodyObject(rawBody);
  const errors = new FieldErrors();
  rejectUnknownKeys(
    patch,
    PATCHABLE,
    '',
    errors,
    `a PATCH may change ${PATCHABLE.join(', ')} (cancel with POST .../cancel)`,
  );
  errors.throwIfAny(400);
  const { externalReference, supplierId, orderDate, currency, lines } = current;
  const input = readPurchaseOrder({ externalReference, supplierId, orderDate, currency, lines, ...patch });
  checkPurchaseOrder(company, input);
  const changed: PurchaseOrderDoc = {
    ...current,
    ...input,
    etag: state.nextEtag(),
    total: total(input),
    modifiedAt: state.timestamp(),
  };
  company.ledger.book(commitmentsOf(current), 'commitments', -1n);
  company.ledger.book(commitmentsOf(changed), 'commitments', 1n);
  company.purchaseOrders.set(id, changed);
  state.counters.writes += 1;
  return documentResponse(200, changed);
}

/** Cancelling releases the commitment. A second cancel is 409 so a retried cancel can tell it already happened. */
export function cancelPurchaseOrder(
  state: SandboxState,
  company: CompanyState,
  id: string,
  ifMatch: string | undefined,
): SandboxResponse {
  const current = existingOrder(company, id);
  refuseIfCancelled(current);
  checkIfMatch(current, ifMatch);
  const cancelled: PurchaseOrderDoc = {
    ...current,
    status: 'cancelled',
    etag: state.nextEtag(),
    modifiedAt: state.timestamp(),
  };
  company.ledger.book(commitmentsOf(current), 'commitments', -1n);
  company.purchaseOrders.set(id, cancelled);
  state.counters.writes += 1;
  return documentResponse(200, cancelled);
}
