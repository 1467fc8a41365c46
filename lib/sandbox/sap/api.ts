/**
 * The SAP S/4HANA simulator: the OData v2 service API_PURCHASEORDER_PROCESS_SRV below
 * `/sap/opu/odata/sap/API_PURCHASEORDER_PROCESS_SRV/` (see API.md next to this file; facts tagged there).
 * - CSRF: a GET with `X-CSRF-Token: Fetch` answers the token in `x-csrf-token` and a session cookie; every
 *   write must send both, else 403 with `x-csrf-token: Required` and "CSRF token validation failed";
 * - v2 JSON: `{ d: {...} }` / `{ d: { results: [...], __next } }`, `__metadata` with `etag`, dates as
 *   `/Date(ms)/`, decimals as strings;
 * - deep insert of A_PurchaseOrder with `to_PurchaseOrderItem.results[].to_AccountAssignment.results[]`,
 *   PATCH / MERGE with If-Match, DELETE of a purchase order or item sets the deletion code "L";
 * - availability control on create and change: a cost center / G/L account over its monthly budget (the
 *   sandbox's budgets, less the open SAP orders of the month) refuses with BP/604 in innererror.errordetails;
 * - errors as `{ error: { code, message: { lang, value }, innererror: { transactionid, errordetails } } }`.
 * Company codes: FS01 is the sandbox company FS-DEMO, FS02 is FS-JP (SAP company codes have 4 characters).
 */
import { randomBytes } from 'node:crypto';
import { fromMinorUnits, minorOf, money } from '../../model/money';
import { budgetFigures } from '../budgets';
import type { CompanyState } from '../company-state';
import { ODataSyntaxError, matchesFilter, parseFilter, parseResourcePath } from '../odata';
import { SandboxProblem } from '../problem';
import type { SandboxState } from '../state';
import type { SandboxResponse } from '../types';
import {
  SAP_ODATA_ROOT,
  SapError,
  checkProperties,
  companyOf,
  decimal,
  errorResponse,
  fieldError,
  header,
  isoDate,
  objectBody,
  sapDate,
  single,
  text,
  type Entity,
  type SapRequest,
} from './common';
import { readMasterData, type CostCenterInterval } from './master-data';
import { readSupplierInvoices, writeSupplierInvoice, type SupplierInvoice } from './supplier-invoice';

export { COMPANY_CODES, SAP_ODATA_ROOT, type SapRequest } from './common';
export const SAP_SERVICE_PATH = `${SAP_ODATA_ROOT}/API_PURCHASEORDER_PROCESS_SRV`;
const ENTITY_TYPE = 'API_PURCHASEORDER_PROCESS_SRV';

/**
 * The services the simulator serves, by technical name. Only API_PURCHASEORDER_PROCESS_SRV is checked against
 * its EDMX (../shared/specs); the others rest on SAP's documentation (see API.md), no EDMX in the specs.
 */
const SERVICES: Readonly<
  Record<
    string,
    {
      read(store: SapStore, request: SapRequest): SandboxResponse;
      write?(store: SapStore, request: SapRequest): SandboxResponse;
    }
  >
> = {
  API_PURCHASEORDER_PROCESS_SRV: {
    read: (store, request) => read(store, request),
    write: (store, request) => write(store, request),
  },
  API_SUPPLIERINVOICE_PROCESS_SRV: {
    read: (store, request) => readSupplierInvoices(store.invoices, request),
    write: (store, request) => writeSupplierInvoice(store.invoices, request, () => (store.nextInvoice += 1)),
  },
  API_BUSINESS_PARTNER: { read: (store, request) => readMasterData(request, store) },
  API_COSTCENTER_SRV: { read: (store, request) => readMasterData(request, store) },
  API_GLACCOUNTINCHARTOFACCOUNTS_SRV: { read: (store, request) => readMasterData(request, store) },
};

export const SAP_SERVICE_NAMES: readonly string[] = Object.keys(SERVICES);

interface AccountAssignment extends Entity {
  AccountAssignmentNumber: string;
}

interface Item extends Entity {
  PurchaseOrderItem: string;
  assignments: AccountAssignment[];
  /**
   * The item's purchase order history as goods and invoice receipts left it (EKBE; not a property of
   * A_PurchaseOrderItem, so never answered). Set by tests through SapStore.postGoodsReceipt / postInvoiceReceipt.
   */
  history: { received: number; invoiced: number };
}

interface Order {
  header: Entity;
  items: Item[];
  /** Availability control's warnings of the last write, answered in its sap-message header. */
  warnings?: Array<{ code: string; message: string; severity: string; target: string }>;
}

/** Consumption (in percent of the budget) from which availability control warns: tolerance action 1 [D]. */
export const AVC_WARNING_PERCENT = 90n;

/** The sap-message header of a write that passed with warnings [D Gateway message container]. */
function withWarnings(response: SandboxResponse, order: Order): SandboxResponse {
  const [first, ...rest] = order.warnings ?? [];
  if (first === undefined) return response;
  const message = { ...first, details: rest };
  return { ...response, headers: { ...response.headers, 'sap-message': JSON.stringify(message) } };
}

export class SapStore {
  readonly orders = new Map<string, Order>();
  /** Supplier invoices by "number/fiscal year". */
  readonly invoices = new Map<string, SupplierInvoice>();
  nextInvoice = 5100000000;
  /** Session cookie value -> CSRF token. */
  readonly sessions = new Map<string, string>();
  nextNumber = 4500000000;
  etagSequence = 0;
  counters = { requests: 0, csrfRejected: 0 };
  /** Validity intervals of time-dependent cost centers, by cost center id (see master-data.ts). */
  readonly costCenterIntervals = new Map<string, CostCenterInterval[]>();

  reset(): void {
    this.orders.clear();
    this.costCenterIntervals.clear();
    this.invoices.clear();
    this.nextInvoice = 5100000000;
    this.sessions.clear();
    this.nextNumber = 4500000000;
    this.counters = { requests: 0, csrfRejected: 0 };
  }

  /**
   * Test hook: a goods receipt of `quantity` for an item (MIGO), valuated; `complete` sets its "delivery
   * completed" indicator as SAP does when the order quantity is reached or the receipt says so.
   */
  postGoodsReceipt(purchaseOrder: string, item: string, quantity: number, options: { complete?: boolean } = {}): void {
    const found = itemOf(this, purchaseOrder, item);
    found.history.received += quantity;
    if (options.complete ?? found.history.received >= Number(found.OrderQuantity)) found.IsCompletelyDelivered = true;
    found.etag = etag(this);
  }

  /** Test hook: an invoice receipt of `quantity` for an item (MIRO); `final` sets its "final invoice" indicator. */
  postInvoiceReceipt(purchaseOrder: string, item: string, quantity: number, options: { final?: boolean } = {}): void {
    const found = itemOf(this, purchaseOrder, item);
    found.history.invoiced += quantity;
    if (options.final) found.IsFinallyInvoiced = true;
    found.etag = etag(this);
  }

  /** Ends every session, as an application server restart or a session timeout does. */
  expireSessions(): void {
    this.sessions.clear();
  }

  snapshot(): Record<string, unknown> {
    return {
      purchaseOrders: [...this.orders.values()].map((order) => ({
        ...order.header,
        items: order.items.map(({ assignments, ...item }) => ({ ...item, accountAssignments: assignments })),
      })),
      supplierInvoices: [...this.invoices.values()],
      counters: this.counters,
    };
  }
}

const stores = new WeakMap<SandboxState, SapStore>();

export function sapStoreOf(state: SandboxState): SapStore {
  let store = stores.get(state);
  if (!store) {
    store = new SapStore();
    stores.set(state, store);
  }
  return store;
}

export function handleSap(request: SapRequest): SandboxResponse {
  const store = sapStoreOf(request.state);
  const service = SERVICES[request.service];
  try {
    if (!service)
      throw new SapError(
        404,
        '/IWFND/MED/170',
        `No service found for namespace '', name '${request.service}', version '0001'`,
      );
    store.counters.requests += 1;
    const fault = request.state.faults.decide();
    if (fault.kind === 'rateLimited' || (fault.kind === 'error' && fault.status === 429)) {
      const seconds = fault.kind === 'rateLimited' ? fault.retryAfterSeconds : (fault.retryAfterSeconds ?? 1);
      throw new SapError(429, '/IWFND/CM_BEC/026', 'Too many requests; try again later.', [], {
        'Retry-After': String(seconds),
      });
    }
    if (fault.kind === 'error')
      throw new SapError(fault.status, '/IWFND/CM_BEC/026', `Injected fault: HTTP ${fault.status}.`);
    checkAuth(request);
    const session = sessionOf(store, request);
    if (request.method === 'GET') {
      const response = service.read(store, request);
      if (header(request.headers, 'x-csrf-token')?.toLowerCase() === 'fetch') {
        const sid = randomBytes(12).toString('hex');
        const token = randomBytes(16).toString('base64');
        store.sessions.set(sid, token);
        const client = request.query.get('sap-client') ?? '100';
        response.headers = {
          ...response.headers,
          'x-csrf-token': token,
          // Two cookies like a Gateway answers; the session one carries the token's validity.
          'Set-Cookie': [
            `SAP_SESSIONID_SIM_${client}=${sid}; path=/; HttpOnly`,
            `sap-usercontext=sap-client=${client}; path=/`,
          ] as unknown as string,
        };
      }
      return response;
    }
    const token = header(request.headers, 'x-csrf-token');
    if (session === undefined || token === undefined || store.sessions.get(session) !== token) {
      store.counters.csrfRejected += 1;
      return {
        status: 403,
        headers: { 'x-csrf-token': 'Required', 'Content-Type': 'text/plain' },
        body: 'CSRF token validation failed',
      };
    }
    if (!service.write)
      throw new SapError(
        405,
        '/IWBEP/CM_MGW_RT/021',
        `${request.service} is read-only here: ${request.method} is not supported`,
      );
    return service.write(store, request);
  } catch (error) {
    if (error instanceof SapError) return errorResponse(error, request.service);
    if (error instanceof ODataSyntaxError)
      return errorResponse(new SapError(400, '/IWBEP/CM_MGW_RT/022', error.message), request.service);
    if (error instanceof SandboxProblem && error.status === 401) {
      return {
        status: 401,
        headers: { 'WWW-Authenticate': 'Basic realm="SAP NetWeaver Application Server [SIM/100]"' },
        body: 'Logon failed',
      };
    }
    const message = error instanceof Error ? error.message : String(error);
    return errorResponse(
      new SapError(500, '/IWBEP/CM_MGW_RT/000', `The simulator failed: ${message}`),
      request.service,
    );
  }
}

/** Basic authentication is accepted as it comes (the sandbox has no SAP users); OAuth2 mode demands the token. */
function checkAuth(request: SapRequest): void {
  const authorization = header(request.headers, 'authorization');
  if (authorization?.startsWith('Basic ')) return;
  request.auth.checkBearer(authorization);
}

function sessionOf(store: SapStore, request: SapRequest): string | undefined {
  const cookies = header(request.headers, 'cookie') ?? '';
  const match = /SAP_SESSIONID_SIM_\d+=([0-9a-f]+)/.exec(cookies);
  return match && store.sessions.has(match[1]) ? match[1] : undefined;
}

const HEADER_WRITABLE = [
  'CompanyCode',
  'PurchaseOrderType',
  'Supplier',
  'PurchasingOrganization',
  'PurchasingGroup',
  'PurchaseOrderDate',
  'DocumentCurrency',
  'CorrespncExternalReference',
  'CorrespncInternalReference',
  'Language',
  'PaymentTerms',
];
const ITEM_WRITABLE = [
  'PurchaseOrder',
  'PurchaseOrderItem',
  'PurchaseOrderItemText',
  'Plant',
  'MaterialGroup',
  'OrderQuantity',
  'PurchaseOrderQuantityUnit',
  'NetPriceAmount',
  'NetPriceQuantity',
  'AccountAssignmentCategory',
  'MultipleAcctAssgmtDistribution',
  'TaxCode',
  'Material',
  'RequisitionerName',
];
/** What an item PATCH may change here (the properties this simulator keeps; the EDMX allows more). */
const ITEM_UPDATABLE = [
  'PurchaseOrderItemText',
  'OrderQuantity',
  'PurchaseOrderQuantityUnit',
  'NetPriceAmount',
  'NetPriceQuantity',
  'TaxCode',
  'RequisitionerName',
  'Plant',
  'MaterialGroup',
];
const ASSIGNMENT_WRITABLE = [
  'PurchaseOrder',
  'PurchaseOrderItem',
  'AccountAssignmentNumber',
  'GLAccount',
  'CostCenter',
  'WBSElement',
  'Quantity',
  'MultipleAcctAssgmtDistrPercent',
  'PurgDocNetAmount',
];

// ---- reading ---------------------------------------------------------------------------------------

function etag(store: SapStore): string {
  store.etagSequence += 1;
  return `W/"datetimeoffset'${new Date(Date.UTC(2026, 0, 1) + store.etagSequence * 1000).toISOString().replace('.000Z', '0000000Z')}'"`;
}

function headerView(request: SapRequest, order: Order, expand: Set<string>): Entity {
  const number = String(order.header.PurchaseOrder);
  const view: Entity = {
    __metadata: {
      id: `${request.serviceRoot}/A_PurchaseOrder('${number}')`,
      uri: `${request.serviceRoot}/A_PurchaseOrder('${number}')`,
      type: `${ENTITY_TYPE}.A_PurchaseOrderType`,
      etag: order.header.etag,
    },
    ...withoutEtag(order.header),
  };
  if (expand.has('to_PurchaseOrderItem')) {
    view.to_PurchaseOrderItem = { results: order.items.map((item) => itemView(request, order, item, expand)) };
  }
  return view;
}

function itemView(request: SapRequest, order: Order, item: Item, expand: Set<string>): Entity {
  const key = `PurchaseOrder='${String(order.header.PurchaseOrder)}',PurchaseOrderItem='${item.PurchaseOrderItem}'`;
  const { assignments, history, ...fields } = item;
  void history; // not a property of the service
  const view: Entity = {
    __metadata: {
      id: `${request.serviceRoot}/A_PurchaseOrderItem(${key})`,
      uri: `${request.serviceRoot}/A_PurchaseOrderItem(${key})`,
      type: `${ENTITY_TYPE}.A_PurchaseOrderItemType`,
      etag: fields.etag,
    },
    ...withoutEtag(fields),
  };
  if (expand.has('to_PurchaseOrderItem/to_AccountAssignment') || expand.has('to_AccountAssignment')) {
    view.to_AccountAssignment = {
      results: assignments.map((assignment) => assignmentView(request, order, item, assignment)),
    };
  }
  return view;
}

function assignmentView(request: SapRequest, order: Order, item: Item, assignment: AccountAssignment): Entity {
  const key = `PurchaseOrder='${String(order.header.PurchaseOrder)}',PurchaseOrderItem='${item.PurchaseOrderItem}',AccountAssignmentNumber='${assignment.AccountAssignmentNumber}'`;
  return {
    __metadata: {
      id: `${request.serviceRoot}/A_PurOrdAccountAssignment(${key})`,
      uri: `${request.serviceRoot}/A_PurOrdAccountAssignment(${key})`,
      type: `${ENTITY_TYPE}.A_PurOrdAccountAssignmentType`,
      etag: assignment.etag,
    },
    ...withoutEtag(assignment),
  };
}

function itemOf(store: SapStore, purchaseOrder: string | undefined, number: string | undefined): Item {
  const order = orderOf(store, purchaseOrder);
  const item = order.items.find((candidate) => candidate.PurchaseOrderItem === number);
  if (!item) throw new SapError(404, 'ME/058', `Item ${String(number)} does not exist`);
  return item;
}

function assignmentOf(item: Item, number: string | undefined): AccountAssignment {
  const assignment = item.assignments.find((candidate) => candidate.AccountAssignmentNumber === number);
  if (!assignment)
    throw new SapError(
      404,
      'ME/058',
      `Account assignment ${String(number)} of item ${item.PurchaseOrderItem} does not exist`,
    );
  return assignment;
}

/** Goods or invoices were received for the item (its purchase order history is not empty). */
function hasHistory(item: Item): boolean {
  return item.history.received > 0 || item.history.invoiced > 0;
}

function withoutEtag(entity: Entity): Entity {
  return Object.fromEntries(Object.entries(entity).filter(([name]) => name !== 'etag'));
}

function expandOf(request: SapRequest): Set<string> {
  return new Set(
    (request.query.get('$expand') ?? '')
      .split(',')
      .map((part) => part.trim())
      .filter(Boolean),
  );
}

function orderOf(store: SapStore, number: string | undefined): Order {
  const order = number === undefined ? undefined : store.orders.get(number);
  if (!order) {
    throw new SapError(404, 'ME/057', `Purchase order ${String(number)} does not exist`, [
      { code: 'ME/057', message: `Purchase order ${String(number)} does not exist`, severity: 'error' },
    ]);
  }
  return order;
}

function read(store: SapStore, request: SapRequest): SandboxResponse {
  const path = parseResourcePath(request.segments);
  const [first, second] = path;
  if (!first) {
    return {
      status: 200,
      body: { d: { EntitySets: ['A_PurchaseOrder', 'A_PurchaseOrderItem', 'A_PurOrdAccountAssignment'] } },
    };
  }
  const expand = expandOf(request);
  if (first.name === 'A_PurchaseOrder' && first.keys === undefined) {
    const filters = parseFilter(request.query.get('$filter'));
    const all = [...store.orders.values()].filter((order) => matchesFilter(order.header, filters));
    const skip = Number(request.query.get('$skip') ?? '0');
    const top = Number(request.query.get('$top') ?? '1000');
    const page = all.slice(skip, skip + top);
    return {
      status: 200,
      headers: { 'Content-Type': 'application/json' },
      body: { d: { results: page.map((order) => headerView(request, order, expand)) } },
    };
  }
  if (first.name === 'A_PurchaseOrder') {
    const order = orderOf(store, first.keys?.['']);
    if (second === undefined) return single(headerView(request, order, expand));
    if (second.name === 'to_PurchaseOrderItem') {
      return {
        status: 200,
        body: { d: { results: order.items.map((item) => itemView(request, order, item, expand)) } },
      };
    }
  }
  if (first.name === 'A_PurOrdAccountAssignment' && first.keys) {
    const order = orderOf(store, first.keys.PurchaseOrder);
    const item = itemOf(store, first.keys.PurchaseOrder, first.keys.PurchaseOrderItem);
    return single(assignmentView(request, order, item, assignmentOf(item, first.keys.AccountAssignmentNumber)));
  }
  if (first.name === 'A_PurchaseOrderItem' && first.keys) {
    const order = orderOf(store, first.keys.PurchaseOrder);
    const item = order.items.find((candidate) => candidate.PurchaseOrderItem === first.keys?.PurchaseOrderItem);
    if (!item) throw new SapError(404, 'ME/058', `Item ${first.keys.PurchaseOrderItem} does not exist`);
    return single(itemView(request, order, item, expand));
  }
  throw new SapError(404, '/IWBEP/CM_MGW_RT/021', `Resource not found for segment '${request.segments.join('/')}'`);
}

// ---- writing ---------------------------------------------------------------------------------------

function requireIfMatch(request: SapRequest, current: unknown): void {
  const ifMatch = header(request.headers, 'if-match');
  if (ifMatch === undefined) {
    throw new SapError(428, '/IWBEP/CM_MGW_RT/093', 'Precondition required: send If-Match with the ETag of the entity');
  }
  if (ifMatch !== '*' && ifMatch !== current) {
    throw new SapError(
      412,
      '/IWBEP/CM_MGW_RT/022',
      'The ETag sent does not match the current version of the entity (it was changed)',
    );
  }
}

function write(store: SapStore, request: SapRequest): SandboxResponse {
  const path = parseResourcePath(request.segments);
  const [first, second] = path;
  const method = request.method === 'MERGE' ? 'PATCH' : request.method;
  if (first?.name === 'A_PurchaseOrder' && first.keys === undefined && method === 'POST') {
    const order = create(store, request, objectBody(request.body));
    return withWarnings(
      single(
        headerView(request, order, new Set(['to_PurchaseOrderItem', 'to_PurchaseOrderItem/to_AccountAssignment'])),
        201,
      ),
      order,
    );
  }
  if (first?.name === 'A_PurchaseOrder' && first.keys) {
    const order = orderOf(store, first.keys['']);
    if (second?.name === 'to_PurchaseOrderItem' && method === 'POST') {
      checkOpen(order);
      const company = companyOf(request, order.header.CompanyCode);
      const item = newItem(company, order, objectBody(request.body), order.items.length);
      order.items.push(item);
      try {
        availabilityControl(store, company, order);
      } catch (error) {
        order.items.pop(); // a refused item is not saved
        throw error;
      }
      touch(store, order, item);
      return withWarnings(single(itemView(request, order, item, new Set(['to_AccountAssignment'])), 201), order);
    }
    if (second !== undefined) throw new SapError(405, '/IWBEP/CM_MGW_RT/021', 'Method not allowed');
    if (method === 'PATCH') {
      requireIfMatch(request, order.header.etag);
      checkOpen(order);
      const body = objectBody(request.body);
      checkProperties(
        body,
        ['Supplier', 'PurchaseOrderDate', 'DocumentCurrency', 'CorrespncExternalReference', 'PaymentTerms'],
        'A_PurchaseOrder',
      );
      refuseAfterReceipts(order, body);
      const company = companyOf(request, order.header.CompanyCode);
      const before = { ...order.header };
      applyHeader(company, order.header, body);
      try {
        availabilityControl(store, company, order);
      } catch (error) {
        order.header = before; // a refused change is not saved
        throw error;
      }
      touch(store, order);
      return withWarnings({ status: 204 }, order);
    }
    if (method === 'DELETE') {
      requireIfMatch(request, order.header.etag);
      order.header.PurchasingDocumentDeletionCode = 'L';
      for (const item of order.items) item.PurchasingDocumentDeletionCode = 'L';
      touch(store, order, ...order.items);
      return { status: 204 };
    }
  }
  if (first?.name === 'A_PurchaseOrderItem' && first.keys && second === undefined) {
    const order = orderOf(store, first.keys.PurchaseOrder);
    const item = itemOf(store, first.keys.PurchaseOrder, first.keys.PurchaseOrderItem);
    requireIfMatch(request, item.etag);
    checkOpen(order);
    if (method === 'DELETE') {
      // Goods received but not yet invoiced: GR/IR would stay open on a deleted item [U message and code].
      if (item.history.received > item.history.invoiced) {
        throw itemRefusal(
          'ME/040',
          `Item ${item.PurchaseOrderItem}: goods receipt quantity exceeds invoice receipt quantity; deletion not possible`,
        );
      }
      item.PurchasingDocumentDeletionCode = 'L';
      touch(store, order, item);
      return { status: 204 };
    }
    if (method === 'PATCH') {
      const body = objectBody(request.body);
      checkProperties(body, ITEM_UPDATABLE, 'A_PurchaseOrderItem');
      const quantity = decimal(body, 'OrderQuantity');
      // SAP warns below the received quantity in the dialog; the API answers it as an error [U code].
      if (quantity !== undefined && Number(quantity) < item.history.received) {
        throw itemRefusal(
          'ME/407',
          `Item ${item.PurchaseOrderItem}: order quantity ${quantity} is less than the quantity received (${item.history.received})`,
        );
      }
      const before = { ...item };
      const values: Entity = {};
      for (const name of ['PurchaseOrderItemText', 'PurchaseOrderQuantityUnit', 'TaxCode', 'RequisitionerName']) {
        const max =
          { PurchaseOrderItemText: 40, PurchaseOrderQuantityUnit: 3, TaxCode: 2, RequisitionerName: 12 }[name] ?? 0;
        const value = text(body, name, max);
        if (value !== undefined) values[name] = name === 'TaxCode' ? value.toUpperCase() : value;
      }
      for (const name of ['OrderQuantity', 'NetPriceAmount', 'NetPriceQuantity']) {
        const value = decimal(body, name);
        if (value !== undefined) values[name] = value;
      }
      for (const name of ['Plant', 'MaterialGroup']) {
        const value = text(body, name, name === 'Plant' ? 4 : 9);
        if (value !== undefined) values[name] = value;
      }
      Object.assign(item, values);
      try {
        availabilityControl(store, companyOf(request, order.header.CompanyCode), order);
      } catch (error) {
        Object.assign(item, before); // a refused change is not saved
        throw error;
      }
      touch(store, order, item);
      return withWarnings({ status: 204 }, order);
    }
  }
  if (first?.name === 'A_PurOrdAccountAssignment' && first.keys && second === undefined && method === 'PATCH') {
    const order = orderOf(store, first.keys.PurchaseOrder);
    const item = itemOf(store, first.keys.PurchaseOrder, first.keys.PurchaseOrderItem);
    const assignment = assignmentOf(item, first.keys.AccountAssignmentNumber);
    requireIfMatch(request, assignment.etag);
    checkOpen(order);
    // The account assignment cannot change once a valuated goods receipt was posted [D SAP help, "Displaying
    // and Changing Account Assignments"; U message code].
    if (item.history.received > 0) {
      throw itemRefusal(
        'ME/250',
        `Item ${item.PurchaseOrderItem}: account assignment cannot be changed after a valuated goods receipt`,
      );
    }
    const body = objectBody(request.body);
    checkProperties(body, ['GLAccount', 'CostCenter', 'WBSElement', 'PurgDocNetAmount'], 'A_PurOrdAccountAssignment');
    const company = companyOf(request, order.header.CompanyCode);
    const glAccount = text(body, 'GLAccount', 10);
    if (glAccount !== undefined && !company.records('glAccounts').has(glAccount))
      throw fieldError(
        'GLAccount',
        `G/L account ${glAccount} does not exist in company code ${String(order.header.CompanyCode)}`,
      );
    const costCenter = text(body, 'CostCenter', 10);
    if (costCenter !== undefined && costCenter !== '' && !company.records('costCenters').has(costCenter))
      throw fieldError('CostCenter', `Cost center ${costCenter} does not exist`);
    const wbs = text(body, 'WBSElement', 24);
    if (wbs !== undefined && wbs !== '' && !company.records('projects').has(wbs))
      throw fieldError('WBSElement', `WBS element ${wbs} does not exist`);
    const amount = decimal(body, 'PurgDocNetAmount');
    const before = { ...assignment };
    Object.assign(assignment, {
      ...(glAccount === undefined ? {} : { GLAccount: glAccount }),
      ...(costCenter === undefined ? {} : { CostCenter: costCenter }),
      ...(wbs === undefined ? {} : { WBSElement: wbs }),
      ...(amount === undefined ? {} : { PurgDocNetAmount: amount }),
    });
    try {
      availabilityControl(store, company, order);
    } catch (error) {
      Object.assign(assignment, before);
      throw error;
    }
    assignment.etag = etag(store);
    touch(store, order, item);
    return withWarnings({ status: 204 }, order);
  }
  throw new SapError(
    405,
    '/IWBEP/CM_MGW_RT/021',
    `${request.method} is not supported on ${request.segments.join('/')}`,
  );
}

function itemRefusal(code: string, message: string): SapError {
  return new SapError(400, code, message, [{ code, message, severity: 'error', target: '' }]);
}

/**
 * Supplier and currency stay once goods or invoices were received for the order: its history is in them
 * [3P SAP Note 457511 FAQ, question 7; U message codes].
 */
function refuseAfterReceipts(order: Order, body: Entity): void {
  if (!order.items.some(hasHistory)) return;
  if (body.Supplier !== undefined && body.Supplier !== order.header.Supplier)
    throw itemRefusal(
      'ME/083',
      `Purchase order ${String(order.header.PurchaseOrder)} has follow-on documents; the supplier cannot be changed`,
    );
  if (body.DocumentCurrency !== undefined && body.DocumentCurrency !== order.header.DocumentCurrency)
    throw itemRefusal(
      'ME/084',
      `Purchase order ${String(order.header.PurchaseOrder)} has follow-on documents; the currency cannot be changed`,
    );
}

function checkOpen(order: Order): void {
  if (order.header.PurchasingDocumentDeletionCode === 'L') {
    throw new SapError(
      400,
      'ME/011',
      `Purchase order ${String(order.header.PurchaseOrder)} is flagged for deletion; it cannot be changed`,
    );
  }
}

/** A change gives the header a new ETag, and each item named (or, with none named, none) one too. */
function touch(store: SapStore, order: Order, ...items: Item[]): void {
  order.header.etag = etag(store);
  order.header.LastChangeDateTime = `/Date(${Date.now()}+0000)/`;
  for (const item of items) item.etag = etag(store);
}

function applyHeader(company: CompanyState, headerFields: Entity, body: Entity): void {
  const supplierId = text(body, 'Supplier', 10);
  if (supplierId !== undefined) {
    const supplier = company.records('suppliers').get(supplierId) as { status?: string } | undefined;
    if (!supplier) throw fieldError('Supplier', `Supplier ${supplierId} does not exist`);
    if (supplier.status === 'blocked') {
      throw new SapError(400, 'ME/045', `Supplier ${supplierId} is blocked for purchasing`, [
        {
          code: 'ME/045',
          message: `Supplier ${supplierId} is blocked for purchasing`,
          severity: 'error',
          target: 'Supplier',
        },
      ]);
    }
    headerFields.Supplier = supplierId;
  }
  if (body.PurchaseOrderDate !== undefined) {
    if (isoDate(body.PurchaseOrderDate) === undefined)
      throw new SapError(400, '/IWBEP/CM_MGW_RT/022', 'Property PurchaseOrderDate has invalid value; send /Date(ms)/');
    headerFields.PurchaseOrderDate = body.PurchaseOrderDate;
  }
  const currency = text(body, 'DocumentCurrency', 5);
  if (currency !== undefined) headerFields.DocumentCurrency = currency;
  const reference = text(body, 'CorrespncExternalReference', 12);
  if (reference !== undefined) headerFields.CorrespncExternalReference = reference;
  const terms = text(body, 'PaymentTerms', 4);
  if (terms !== undefined) headerFields.PaymentTerms = terms;
}

function create(store: SapStore, request: SapRequest, body: Entity): Order {
  checkProperties(body, HEADER_WRITABLE, 'A_PurchaseOrder');
  const company = companyOf(request, text(body, 'CompanyCode', 4, true));
  text(body, 'PurchaseOrderType', 4, true);
  text(body, 'PurchasingOrganization', 4, true);
  text(body, 'PurchasingGroup', 3, true);
  text(body, 'Supplier', 10, true);
  store.nextNumber += 1;
  const number = String(store.nextNumber);
  const now = Date.now();
  const order: Order = {
    header: {
      PurchaseOrder: number,
      CompanyCode: body.CompanyCode,
      PurchaseOrderType: body.PurchaseOrderType,
      PurchasingDocumentDeletionCode: '',
      PurchasingProcessingStatus: '05',
      CreatedByUser: 'CC0000000001',
      CreationDate: `/Date(${Date.parse(new Date(now).toISOString().slice(0, 10))})/`,
      LastChangeDateTime: `/Date(${now}+0000)/`,
      Supplier: '',
      PurchasingOrganization: body.PurchasingOrganization,
      PurchasingGroup: body.PurchasingGroup,
      PurchaseOrderDate: sapDate(new Date(now).toISOString().slice(0, 10)),
      DocumentCurrency: company.company.currency,
      CorrespncExternalReference: '',
      ReleaseIsNotCompleted: false,
    },
    items: [],
  };
  applyHeader(company, order.header, body);
  const items = body.to_PurchaseOrderItem;
  const results = items === undefined ? [] : (items as { results?: unknown }).results;
  if (!Array.isArray(results))
    throw new SapError(
      400,
      '/IWBEP/CM_MGW_RT/022',
      'to_PurchaseOrderItem must be { "results": [...] } in OData v2 JSON',
    );
  if (results.length === 0) throw fieldError('to_PurchaseOrderItem', 'Purchase order has no items');
  results.forEach((raw, index) => order.items.push(newItem(company, order, objectBody(raw), index)));
  availabilityControl(store, company, order);
  store.orders.set(number, order);
  touch(store, order, ...order.items);
  return order;
}

function newItem(company: CompanyState, order: Order, body: Entity, index: number): Item {
  checkProperties(body, ITEM_WRITABLE, 'A_PurchaseOrderItem');
  const number = text(body, 'PurchaseOrderItem', 5) ?? String((index + 1) * 10);
  if (order.items.some((item) => item.PurchaseOrderItem === number))
    throw fieldError('PurchaseOrderItem', `Item ${number} exists already`);
  const quantity = decimal(body, 'OrderQuantity') ?? '1';
  const price = decimal(body, 'NetPriceAmount') ?? '0';
  const currency = String(order.header.DocumentCurrency);
  const item: Item = {
    PurchaseOrder: order.header.PurchaseOrder,
    PurchaseOrderItem: number,
    PurchasingDocumentDeletionCode: '',
    PurchaseOrderItemText: text(body, 'PurchaseOrderItemText', 40) ?? '',
    Plant: text(body, 'Plant', 4, true),
    MaterialGroup: text(body, 'MaterialGroup', 9, true),
    OrderQuantity: quantity,
    PurchaseOrderQuantityUnit: text(body, 'PurchaseOrderQuantityUnit', 3) ?? 'EA',
    DocumentCurrency: currency,
    NetPriceAmount: price,
    NetPriceQuantity: decimal(body, 'NetPriceQuantity') ?? '1',
    AccountAssignmentCategory: text(body, 'AccountAssignmentCategory', 1) ?? '',
    MultipleAcctAssgmtDistribution: text(body, 'MultipleAcctAssgmtDistribution', 1) ?? '',
    // Edm.String MaxLength 2, UpperCase [S EDMX]; SAP checks it against the company code's country [U].
    TaxCode: (text(body, 'TaxCode', 2) ?? '').toUpperCase(),
    RequisitionerName: text(body, 'RequisitionerName', 12) ?? '',
    IsCompletelyDelivered: false,
    IsFinallyInvoiced: false,
    assignments: [],
    history: { received: 0, invoiced: 0 },
  };
  const raw = body.to_AccountAssignment as { results?: unknown } | undefined;
  const assignments = raw === undefined ? [] : raw.results;
  if (!Array.isArray(assignments))
    throw new SapError(400, '/IWBEP/CM_MGW_RT/022', 'to_AccountAssignment must be { "results": [...] }');
  if (item.AccountAssignmentCategory !== '' && assignments.length === 0) {
    throw fieldError(
      'to_AccountAssignment',
      `Item ${number}: account assignment category ${String(item.AccountAssignmentCategory)} needs an account assignment`,
    );
  }
  assignments.forEach((each, position) => {
    const assignment = objectBody(each);
    checkProperties(assignment, ASSIGNMENT_WRITABLE, 'A_PurOrdAccountAssignment');
    const glAccount = text(assignment, 'GLAccount', 10, true) as string;
    if (!company.records('glAccounts').has(glAccount))
      throw fieldError(
        'GLAccount',
        `G/L account ${glAccount} does not exist in company code ${String(order.header.CompanyCode)}`,
      );
    const costCenter = text(assignment, 'CostCenter', 10);
    if (costCenter !== undefined && costCenter !== '' && !company.records('costCenters').has(costCenter)) {
      throw fieldError('CostCenter', `Cost center ${costCenter} does not exist`);
    }
    const wbs = text(assignment, 'WBSElement', 24);
    if (wbs !== undefined && wbs !== '' && !company.records('projects').has(wbs))
      throw fieldError('WBSElement', `WBS element ${wbs} does not exist`);
    item.assignments.push({
      PurchaseOrder: order.header.PurchaseOrder,
      PurchaseOrderItem: number,
      AccountAssignmentNumber: text(assignment, 'AccountAssignmentNumber', 2) ?? String(position + 1).padStart(2, '0'),
      IsDeleted: false,
      Quantity: decimal(assignment, 'Quantity') ?? '0',
      MultipleAcctAssgmtDistrPercent: decimal(assignment, 'MultipleAcctAssgmtDistrPercent') ?? '0',
      DocumentCurrency: currency,
      PurgDocNetAmount: decimal(assignment, 'PurgDocNetAmount') ?? '0',
      GLAccount: glAccount,
      CostCenter: costCenter ?? '',
      WBSElement: wbs ?? '',
      etag: `W/"${number}-${position + 1}-0"`,
    });
  });
  return item;
}

/** Net value of each open assignment, in minor units, keyed by period|cost center|G/L account. */
function commitments(store: SapStore, except?: Order): Map<string, bigint> {
  const totals = new Map<string, bigint>();
  for (const order of store.orders.values()) {
    if (order === except || order.header.PurchasingDocumentDeletionCode === 'L') continue;
    for (const [key, amount] of orderCharges(order)) totals.set(key, (totals.get(key) ?? 0n) + amount);
  }
  return totals;
}

function orderCharges(order: Order): Map<string, bigint> {
  const charges = new Map<string, bigint>();
  const currency = String(order.header.DocumentCurrency);
  const period = (isoDate(order.header.PurchaseOrderDate) ?? '').slice(0, 7);
  for (const item of order.items) {
    if (item.PurchasingDocumentDeletionCode === 'L') continue;
    const net = netValue(item, currency);
    const single = item.assignments.length === 1;
    for (const assignment of item.assignments) {
      if (!assignment.CostCenter) continue;
      const amount = single
        ? net
        : minorOf(money(trimDecimals(String(assignment.PurgDocNetAmount), currency), currency));
      const key = `${period}|${String(assignment.CostCenter)}|${String(assignment.GLAccount)}`;
      charges.set(key, (charges.get(key) ?? 0n) + amount);
    }
  }
  return charges;
}

/**
 * An item's net value in minor units: NetPriceAmount x OrderQuantity / NetPriceQuantity, rounded half away from
 * zero, as SAP values an item whose price is per a price unit (50.00 per 100 pieces) [S EDMX NetPriceQuantity
 * "Price Unit"]; a missing or zero price unit is 1.
 */
function netValue(item: Item, currency: string): bigint {
  const price = minorOf(money(trimDecimals(String(item.NetPriceAmount), currency), currency));
  const [whole, fraction = ''] = String(item.OrderQuantity).split('.');
  const unit = /^\d+(\.0*)?$/.test(String(item.NetPriceQuantity))
    ? BigInt(String(item.NetPriceQuantity).split('.')[0])
    : 0n;
  const numerator = price * BigInt(whole + fraction);
  const denominator = 10n ** BigInt(fraction.length) * (unit > 0n ? unit : 1n);
  const rounded = numerator / denominator;
  return (numerator % denominator) * 2n >= denominator ? rounded + 1n : rounded;
}

/** "150.000" -> "150.00" for EUR: SAP pads decimals to the field's scale. */
function trimDecimals(value: string, currency: string): string {
  const exponent = fromMinorUnits(0n, currency).amount.split('.')[1]?.length ?? 0;
  const [whole, fraction = ''] = value.split('.');
  const kept = fraction.slice(0, exponent);
  if (/[1-9]/.test(fraction.slice(exponent)))
    throw new SapError(400, 'ME/084', `Amount ${value} has more decimals than ${currency}`);
  return exponent === 0 ? whole : `${whole}.${kept.padEnd(exponent, '0')}`;
}

/**
 * Availability control: each cost center / G/L account the order charges must have budget left in the
 * order's month, after the other open orders; otherwise BP/604 (error), the classic message [3P erplingo].
 */
function availabilityControl(store: SapStore, company: CompanyState, order: Order): void {
  const others = commitments(store, order);
  const details = [];
  const warnings = [];
  for (const [key, amount] of orderCharges(order)) {
    const [period, costCenter, glAccount] = key.split('|');
    const figures = budgetFigures(company, period, { costCenter, glAccount });
    if (!figures) continue; // no budget line: not under availability control
    const left = minorOf(figures.available) - (others.get(key) ?? 0n);
    const budget = minorOf(figures.budget);
    if (amount > left) {
      const by = fromMinorUnits(amount - left, company.company.currency).amount;
      details.push({
        code: 'BP/604',
        message: `Item ${glAccount} ${costCenter}: budget for fiscal year ${period.slice(0, 4)} was exceeded by ${by} ${company.company.currency}`,
        severity: 'error',
        target: '',
      });
    } else if (budget > 0n && (budget - left + amount) * 100n >= budget * AVC_WARNING_PERCENT) {
      // Tolerance action 1 (warning): the order is saved, the message comes in the sap-message header.
      warnings.push({
        code: 'BP/603',
        message: `Item ${glAccount} ${costCenter}: ${AVC_WARNING_PERCENT} % of the budget for ${period} is used up`,
        severity: 'warning',
        target: '',
      });
    }
  }
  if (details.length > 0) throw new SapError(400, 'BP/604', details[0].message, details);
  order.warnings = warnings;
}
