/**
 * The Business Central simulator: API v2.0 as https://api.businesscentral.dynamics.com serves it, below
 * `/v2.0/{tenant}/{environment}/` (see API.md next to this file for what is simulated and how sure each fact is).
 * - `api/v2.0/companies` and, per company, `companies({id})/<entity set>` with OData v4 JSON
 *   (`value`, `@odata.context`, `@odata.etag`, `@odata.nextLink` server paging honouring
 *   `Prefer: odata.maxpagesize`);
 * - purchase orders with deep insert of `purchaseOrderLines` (and their `dimensionSetLines`), PATCH and DELETE
 *   that demand `If-Match` (428 without, 412 when stale), lines added, changed (PATCH with the line's own
 *   If-Match) and removed one by one; BC's TestStatusOpen (no line or vendor/currency change unless the order
 *   is Draft) and its receipt checks, with status and received/invoiced quantities set by the test hooks
 *   BcStore.setPurchaseOrderStatus and postAgainstLine;
 * - journals with `journalLines` (a line read or deleted on its own) and the bound action `Microsoft.NAV.post`; purchase invoices with
 *   `purchaseInvoiceLines` and `Microsoft.NAV.post`; posting writes general ledger entries with their
 *   dimension set lines, and refuses a document out of balance and a posting date outside the allowed posting
 *   dates (test hook BcStore.setAllowedPostingDates); Code fields (document numbers, vendor invoice numbers)
 *   are kept in upper case as BC keeps them;
 * - the Analytics API's `generalLedgerBudgetEntries` and `dimensionSetEntries` for budgets;
 * - a custom API page `api/finsync/finance/v1.0/companies({id})/purchaseOrders`: the standard fields plus
 *   `yourReference` (Purchase Header "Your Reference", Text[35]), which API v2.0 does not expose;
 * - errors as `{"error":{"code","message"}}`, unknown and read-only properties refused like OData does,
 *   429 with Retry-After from the sandbox's fault injection, the bearer token of the sandbox's OAuth2 gate
 *   (also issued at `/{tenant}/oauth2/v2.0/token`, Entra ID's path).
 */
import { multiply, money, minorOf, fromMinorUnits } from '../../model/money';
import type { Money } from '../../model/types';
import { isFinanceError } from '../../errors';
import type { AuthGate } from '../auth';
import { ODataSyntaxError, matchesFilter, parseFilter, parseResourcePath, type PathSegment } from '../odata';
import { SandboxProblem } from '../problem';
import type { SandboxState } from '../state';
import type { SandboxResponse } from '../types';
import {
  DEPARTMENT,
  PROJECT,
  bcStoreOf,
  guidOf,
  type BcCompany,
  type BcStore,
  type Entity,
  type PurchaseOrderRecord,
} from './store';

export interface BcRequest {
  state: SandboxState;
  auth: AuthGate;
  method: string;
  /** Path segments after /v2.0/{tenant}/{environment}/. */
  segments: string[];
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** Origin + /v2.0/{tenant}/{environment}, to build absolute @odata.nextLink and @odata.context URLs. */
  serviceRoot: string;
}

/** BC serves at most 20,000 entities per page [D]; the simulator's default is smaller so paging is exercised. */
const DEFAULT_PAGE_SIZE = 1000;
const MAX_PAGE_SIZE = 20_000;
const PAYABLES_ACCOUNT = '2110';

export class BcError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

function errorResponse(error: BcError): SandboxResponse {
  return {
    status: error.status,
    headers: { ...error.headers, 'Content-Type': 'application/json; odata.metadata=minimal' },
    body: { error: { code: error.code, message: error.message } },
  };
}

export function handleBusinessCentral(request: BcRequest): SandboxResponse {
  const store = bcStoreOf(request.state);
  try {
    store.counters.requests += 1;
    const fault = request.state.faults.decide();
    if (fault.kind === 'rateLimited' || (fault.kind === 'error' && fault.status === 429)) {
      const seconds = fault.kind === 'rateLimited' ? fault.retryAfterSeconds : (fault.retryAfterSeconds ?? 1);
      throw new BcError(
        429,
        'Application_TooManyRequests',
        'Too many requests reached. Actual (6001). Maximum (6000).',
        { 'Retry-After': String(seconds) },
      );
    }
    if (fault.kind === 'error') {
      throw new BcError(fault.status, 'Internal_ServerError', `Injected fault: HTTP ${fault.status}.`);
    }
    try {
      request.auth.checkBearer(firstHeader(request.headers.authorization));
    } catch (error) {
      if (error instanceof SandboxProblem) {
        throw new BcError(401, 'Authentication_InvalidCredentials', 'The credentials provided are incorrect');
      }
      throw error;
    }
    return route(store, request);
  } catch (error) {
    if (error instanceof BcError) return errorResponse(error);
    if (error instanceof ODataSyntaxError) return errorResponse(new BcError(400, 'BadRequest', error.message));
    // A value of the request the money model refuses (an amount, a currency): the request's fault, not the simulator's.
    if (isFinanceError(error)) return errorResponse(new BcError(400, 'BadRequest', error.message));
    const message = error instanceof Error ? error.message : String(error);
    return errorResponse(new BcError(500, 'Internal_ServerError', `The simulator failed: ${message}`));
  }
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

type Api = 'standard' | 'custom' | 'analytics';

function route(store: BcStore, request: BcRequest): SandboxResponse {
  const { segments } = request;
  let api: Api;
  let rest: string[];
  if (segments[0] === 'api' && segments[1] === 'v2.0') {
    api = 'standard';
    rest = segments.slice(2);
  } else if (segments.slice(0, 4).join('/') === 'api/finsync/finance/v1.0') {
    api = 'custom';
    rest = segments.slice(4);
  } else if (segments.slice(0, 4).join('/') === 'api/microsoft/analytics/v1.0') {
    api = 'analytics';
    rest = segments.slice(4);
  } else {
    throw notFound(`No API is published at ${segments.join('/')}.`);
  }
  const path = parseResourcePath(rest);
  if (path.length === 1 && path[0].name === 'companies' && !path[0].keys && request.method === 'GET') {
    return collection(
      request,
      [...store.companies.values()].map((company) => ({
        id: company.id,
        systemVersion: '27.0.0.0',
        timestamp: 1,
        name: company.name,
        displayName: company.name,
        businessProfileId: '',
      })),
      'companies',
    );
  }
  if (path[0]?.name !== 'companies' || path[0].keys?.[''] === undefined) {
    throw notFound(`The path must start with companies({id}).`);
  }
  const company = store.companies.get(path[0].keys[''].toLowerCase());
  if (!company) {
    throw notFound(`The company with id ${path[0].keys['']} does not exist; list them at api/v2.0/companies.`);
  }
  const resource = path.slice(1);
  if (api === 'analytics') return analytics(request, company, resource);
  if (api === 'custom' && resource[0]?.name !== 'purchaseOrders') {
    throw notFound('The custom API page publishes purchaseOrders only.');
  }
  return standard(store, request, company, resource, api === 'custom');
}

function notFound(message: string): BcError {
  return new BcError(404, 'BadRequest_NotFound', message);
}

function methodNotAllowed(method: string, what: string): BcError {
  return new BcError(405, 'BadRequest_MethodNotAllowed', `'${method}' requests for '${what}' are not allowed.`);
}

// ---- reading -------------------------------------------------------------------------------------

function pageSize(request: BcRequest): number {
  const prefer = firstHeader(request.headers.prefer) ?? '';
  const match = /odata\.maxpagesize=(\d+)/.exec(prefer);
  return match ? Math.min(Math.max(Number(match[1]), 1), MAX_PAGE_SIZE) : DEFAULT_PAGE_SIZE;
}

/** A filtered, paged collection answer; `$skiptoken` is the offset the simulator handed out in nextLink. */
function collection(request: BcRequest, all: readonly Entity[], context: string): SandboxResponse {
  const filtered = all.filter((entity) => matchesFilter(entity, parseFilter(request.query.get('$filter'))));
  const top = request.query.get('$top');
  const limited = top === null ? filtered : filtered.slice(0, Number(top));
  const skip = Number(request.query.get('$skiptoken') ?? '0');
  const size = pageSize(request);
  const page = limited.slice(skip, skip + size);
  const body: Record<string, unknown> = {
    '@odata.context': `${request.serviceRoot}/api/v2.0/$metadata#${context}`,
    value: page,
  };
  if (skip + size < limited.length) {
    const next = new URLSearchParams(request.query);
    next.set('$skiptoken', String(skip + size));
    const pathText = request.segments.join('/');
    body['@odata.nextLink'] = `${request.serviceRoot}/${pathText}?${next.toString()}`;
  }
  return { status: 200, headers: { 'Content-Type': 'application/json; odata.metadata=minimal' }, body };
}

function single(entity: Entity, status = 200): SandboxResponse {
  const etag = entity['@odata.etag'];
  return {
    status,
    headers: {
      'Content-Type': 'application/json; odata.metadata=minimal',
      ...(typeof etag === 'string' ? { ETag: etag } : {}),
    },
    body: entity,
  };
}

/** `$expand=purchaseOrderLines($expand=dimensionSetLines),dimensionSetLines` -> { purchaseOrderLines: {...} }. */
function parseExpand(text: string | null): Record<string, Record<string, unknown>> {
  const result: Record<string, Record<string, unknown>> = {};
  if (!text) return result;
  let depth = 0;
  let current = '';
  const add = (item: string) => {
    const match = /^\s*(\w+)(?:\(\$expand=(.*)\))?\s*$/.exec(item);
    if (!match) throw new ODataSyntaxError(`$expand item "${item}" is not supported`);
    result[match[1]] = parseExpand(match[2] ?? null);
  };
  for (const char of text) {
    if (char === '(') depth += 1;
    if (char === ')') depth -= 1;
    if (char === ',' && depth === 0) {
      add(current);
      current = '';
    } else current += char;
  }
  if (current.trim()) add(current);
  return result;
}

// ---- the standard API v2.0 (and the custom page) -----------------------------------------------------

const MASTER_SETS = ['vendors', 'employees', 'accounts', 'taxGroups', 'projects', 'dimensions', 'dimensionValues'];

function standard(
  store: BcStore,
  request: BcRequest,
  company: BcCompany,
  resource: PathSegment[],
  custom: boolean,
): SandboxResponse {
  const [first, second, third] = resource;
  if (!first) throw notFound('Name an entity set after companies({id}).');
  const key = first.keys?.[''];
  const { method } = request;
  if (MASTER_SETS.includes(first.name) && resource.length === 1) {
    const all = company.master.get(first.name) ?? [];
    if (method !== 'GET') throw methodNotAllowed(method, first.name);
    if (key === undefined) return collection(request, all, first.name);
    const found = all.find((entity) => entity.id === key.toLowerCase());
    if (!found) throw notFound(`The ${first.name} record ${key} does not exist.`);
    return single(found);
  }
  switch (first.name) {
    case 'purchaseOrders':
      return purchaseOrders(store, request, company, key, second, third, custom);
    case 'journals':
      return journals(store, request, company, key, second);
    case 'journalLines':
      if (method !== 'GET' || key !== undefined) throw methodNotAllowed(method, 'journalLines');
      return collection(
        request,
        company.journalLines.map((line) => withDimensions(line, company.journalLineDimensions, request)),
        'journalLines',
      );
    case 'generalLedgerEntries':
      if (method !== 'GET' || key !== undefined) throw methodNotAllowed(method, 'generalLedgerEntries');
      return collection(
        request,
        company.generalLedgerEntries.map((entry) =>
          withDimensions(entry, company.generalLedgerEntryDimensions, request),
        ),
        'generalLedgerEntries',
      );
    case 'purchaseInvoices':
      return purchaseInvoices(store, request, company, key, second);
    case 'generalLedgerSetup':
      if (method !== 'GET' || key !== undefined) throw methodNotAllowed(method, 'generalLedgerSetup');
      return collection(
        request,
        [
          {
            id: guidOf('generalLedgerSetup', company.name),
            localCurrencyCode: company.currency,
            shortcutDimension1Code: DEPARTMENT,
            shortcutDimension2Code: PROJECT,
            lastModifiedDateTime: request.state.timestamp(),
          },
        ],
        'generalLedgerSetup',
      );
    default:
      throw notFound(`The entity set ${first.name} is not simulated; see lib/sandbox/business-central/API.md.`);
  }
}

function withDimensions(entity: Entity, dimensions: Map<string, Entity[]>, request: BcRequest): Entity {
  const expand = parseExpand(request.query.get('$expand'));
  return expand.dimensionSetLines ? { ...entity, dimensionSetLines: dimensions.get(entity.id) ?? [] } : entity;
}

function requireIfMatch(request: BcRequest, current: string): void {
  const ifMatch = firstHeader(request.headers['if-match']);
  if (ifMatch === undefined) {
    throw new BcError(
      428,
      'BadRequest_PreconditionRequired',
      'An If-Match header with the @odata.etag of the record is required for this request.',
    );
  }
  if (ifMatch !== '*' && ifMatch !== current) {
    throw new BcError(
      412,
      'Request_EntityChanged',
      'Another user has already changed the record. Read it again and reapply your changes.',
    );
  }
}

function bodyObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new BcError(400, 'BadRequest', 'The request body must be a JSON object.');
  }
  return body as Record<string, unknown>;
}

/** OData refuses a property the entity does not have, and BC one its API page marks read-only. */
function checkProperties(body: Record<string, unknown>, writable: readonly string[], typeName: string): void {
  for (const name of Object.keys(body)) {
    if (name.startsWith('@odata.')) continue;
    if (!writable.includes(name)) {
      throw new BcError(
        400,
        'BadRequest',
        `The property '${name}' does not exist on type 'Microsoft.NAV.${typeName}' or is read-only. Make sure to only use property names that are defined by the type.`,
      );
    }
  }
}

function stringField(
  body: Record<string, unknown>,
  name: string,
  maxLength: number,
  entity: string,
): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw new BcError(400, 'BadRequest', `'${name}' must be a string.`);
  if (value.length > maxLength) {
    throw new BcError(
      400,
      'BadRequest_InvalidLength',
      `The length of the string is ${value.length}, but it must be less than or equal to ${maxLength} characters. Field: ${name}, ${entity}`,
    );
  }
  return value;
}

/**
 * A line's taxCode as BC keeps it: the VAT Prod. Posting Group (Code[20], upper case; the purchase line pages
 * cut the text to 20 before validating it) that must exist, else BC's "does not exist" error. The simulator's
 * groups are the company's tax codes (taxGroups); '' when the line names none.
 */
function taxCodeField(company: BcCompany, body: Record<string, unknown>, entity: string, maxLength: number): string {
  const value = stringField(body, 'taxCode', maxLength, entity);
  if (value === undefined || value === '') return '';
  const code = value.slice(0, 20).toUpperCase();
  if (!(company.master.get('taxGroups') ?? []).some((group) => String(group.code).toUpperCase() === code)) {
    throw new BcError(
      400,
      'Application_RecordNotFound',
      `The VAT Product Posting Group does not exist. Identification fields and values: Code='${code}'`,
    );
  }
  return code;
}

function numberField(body: Record<string, unknown>, name: string): number | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new BcError(
      400,
      'BadRequest',
      `Cannot convert the literal '${String(value)}' to the expected type 'Edm.Decimal'.`,
    );
  }
  return value;
}

/** A Code field of BC: kept in upper case [D AL Code data type]; '' when not sent. */
function codeField(body: Record<string, unknown>, name: string, maxLength: number, entity: string): string {
  return (stringField(body, name, maxLength, entity) ?? '').toUpperCase();
}

/**
 * BC's allowed posting dates (General Ledger Setup / User Setup "Allow Posting From/To", set by a test through
 * BcStore.setAllowedPostingDates): posting outside them is refused when the document is posted, not when it is
 * written [D; 3P message "The Posting Date is not within your range of allowed posting dates."; U error code].
 */
function requireAllowedPostingDate(company: BcCompany, postingDate: string, where: string): void {
  const { from, to } = company.allowedPostingDates;
  if ((from === undefined || postingDate >= from) && (to === undefined || postingDate <= to)) return;
  throw new BcError(
    400,
    'Application_DialogException',
    `The Posting Date is not within your range of allowed posting dates. ${where}, Posting Date ${postingDate}.`,
  );
}

function dateField(body: Record<string, unknown>, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(value)) {
    throw new BcError(
      400,
      'BadRequest',
      `Cannot convert the literal '${String(value)}' to the expected type 'Edm.Date'.`,
    );
  }
  return value;
}

function vendorOf(company: BcCompany, body: Record<string, unknown>): Entity {
  const vendors = company.master.get('vendors') ?? [];
  const number = stringField(body, 'vendorNumber', 20, 'purchaseOrder');
  const id = typeof body.vendorId === 'string' ? body.vendorId.toLowerCase() : undefined;
  if (number === undefined && id === undefined) {
    throw new BcError(400, 'Application_InvalidArgument', 'A "vendorNumber" or a "vendorId" must be provided.');
  }
  // A Code field: BC upper-cases what is written to it, so 'sup-1001' names vendor SUP-1001.
  const vendor = vendors.find((v) => (id !== undefined ? v.id === id : v.number === number?.toUpperCase()));
  if (!vendor) {
    throw new BcError(
      400,
      'Application_RecordNotFound',
      `The Vendor does not exist. Identification fields and values: No.='${number ?? id}'`,
    );
  }
  if (vendor.blocked === 'All') {
    throw new BcError(
      400,
      'Application_DialogException',
      `You cannot create this type of document when Vendor ${String(vendor.number)} is blocked with type All`,
    );
  }
  return vendor;
}

function currencyOf(company: BcCompany, code: string | undefined): string {
  return code === undefined || code === '' ? company.currency : code;
}

/**
 * An amount of a request in `currency`, exactly as sent: the simulator books what it is given and rounds
 * nothing, so an amount with more decimals than the currency has (or not a decimal at all) is refused with
 * 400 naming the field, as BC's validation would, never a 500.
 */
function toMoney(value: unknown, currency: string, field = 'Amount'): bigint {
  return minorOf(amountIn(value, currency, field));
}

function amountIn(value: unknown, currency: string, field: string): Money {
  try {
    return money(String(value), currency, { allowNegative: true });
  } catch (error) {
    throw new BcError(
      400,
      'Application_DialogException',
      `${field} ${String(value)} cannot be booked in ${currency}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

/** quantity x unit cost in `currency`, or 400 naming the line's fields. */
function lineAmount(unitCost: unknown, quantity: unknown, currency: string, unitField: string): bigint {
  const unit = amountIn(unitCost, currency, unitField);
  try {
    return minorOf(multiply(unit, String(quantity)));
  } catch (error) {
    throw new BcError(
      400,
      'Application_DialogException',
      `Quantity ${String(quantity)} x ${unitField} ${unit.amount} cannot be booked in ${currency}: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}

function toNumber(minor: bigint, currency: string): number {
  return Number(fromMinorUnits(minor, currency).amount);
}

const DIMENSION_CODES = [DEPARTMENT, PROJECT];

function dimensionLines(
  company: BcCompany,
  raw: unknown,
  parentId: string,
  parentType: string,
  where: string,
): Entity[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new BcError(400, 'BadRequest', `${where}: dimensionSetLines must be an array.`);
  return raw.map((item) => {
    const line = bodyObject(item);
    checkProperties(line, ['code', 'valueCode', 'id', 'valueId'], 'dimensionSetLine');
    const code = stringField(line, 'code', 20, 'dimensionSetLine');
    const valueCode = stringField(line, 'valueCode', 20, 'dimensionSetLine');
    if (code === undefined || !DIMENSION_CODES.includes(code)) {
      throw new BcError(
        400,
        'Application_RecordNotFound',
        `The Dimension does not exist. Identification fields and values: Code='${code}'`,
      );
    }
    const value = (company.master.get('dimensionValues') ?? []).find(
      (v) => v.code === valueCode && v.dimensionId === guidOf('dimension', company.name, code),
    );
    if (!value) {
      throw new BcError(
        400,
        'Application_RecordNotFound',
        `The Dimension Value does not exist. Identification fields and values: Dimension Code='${code}',Code='${valueCode}'`,
      );
    }
    return {
      id: guidOf('dimensionSetLine', parentId, code),
      code,
      parentId,
      parentType,
      displayName: code === DEPARTMENT ? 'Department' : 'Project',
      valueId: value.id,
      valueCode: value.code,
      valueDisplayName: value.displayName,
    };
  });
}

// ---- purchase orders -----------------------------------------------------------------------------

const PO_WRITABLE = [
  'vendorId',
  'vendorNumber',
  'orderDate',
  'postingDate',
  'currencyCode',
  'shortcutDimension1Code',
  'shortcutDimension2Code',
  'purchaser',
  'requestedReceiptDate',
  'pricesIncludeTax',
];

const PO_LINE_WRITABLE = [
  'sequence',
  'lineType',
  'lineObjectNumber',
  'accountId',
  'description',
  'description2',
  'quantity',
  'directUnitCost',
  'taxCode',
  'unitOfMeasureCode',
  'expectedReceiptDate',
];

function purchaseOrders(
  store: BcStore,
  request: BcRequest,
  company: BcCompany,
  key: string | undefined,
  sub: PathSegment | undefined,
  subSub: PathSegment | undefined,
  custom: boolean,
): SandboxResponse {
  const { method } = request;
  const view = (record: PurchaseOrderRecord) => purchaseOrderView(record, request, custom);
  if (key === undefined) {
    if (method === 'GET') return collection(request, [...company.purchaseOrders.values()].map(view), 'purchaseOrders');
    if (method === 'POST')
      return single(view(createPurchaseOrder(store, company, bodyObject(request.body), custom)), 201);
    throw methodNotAllowed(method, 'purchaseOrders');
  }
  const record = company.purchaseOrders.get(key.toLowerCase());
  if (!record) throw notFound(`The purchaseOrder ${key} does not exist.`);
  if (sub === undefined) {
    if (method === 'GET') return single(view(record));
    if (method === 'PATCH') {
      requireIfMatch(request, String(record.header['@odata.etag']));
      const body = bodyObject(request.body);
      checkProperties(body, custom ? [...PO_WRITABLE, 'yourReference'] : PO_WRITABLE, 'purchaseOrder');
      checkHeaderChange(company, record, body);
      applyHeader(company, record, body, custom);
      touch(store, record, request.state.timestamp());
      return single(view(record));
    }
    if (method === 'DELETE') {
      requireIfMatch(request, String(record.header['@odata.etag']));
      for (const line of record.lines) testNothingReceivedUninvoiced(record, line);
      company.purchaseOrders.delete(record.header.id);
      return { status: 204 };
    }
    throw methodNotAllowed(method, 'purchaseOrders');
  }
  if (sub.name !== 'purchaseOrderLines') throw notFound(`purchaseOrders has no ${sub.name} here.`);
  const lineKey = sub.keys?.[''];
  if (lineKey === undefined && subSub === undefined) {
    if (method === 'GET') {
      return collection(
        request,
        record.lines.map((line) => lineView(record, line, request)),
        'purchaseOrderLines',
      );
    }
    if (method === 'POST') {
      testStatusOpen(record);
      const line = addLine(store, company, record, bodyObject(request.body), record.lines.length);
      recalculate(company, record);
      touch(store, record, request.state.timestamp());
      return single(lineView(record, line, request), 201);
    }
    throw methodNotAllowed(method, 'purchaseOrderLines');
  }
  const line = record.lines.find((candidate) => candidate.id === lineKey?.toLowerCase());
  if (!line) throw notFound(`The purchaseOrderLine ${String(lineKey)} does not exist.`);
  if (method === 'GET') return single(lineView(record, line, request));
  if (method === 'PATCH') {
    requireIfMatch(request, String(line['@odata.etag']));
    testStatusOpen(record);
    changeLine(company, record, line, bodyObject(request.body));
    line['@odata.etag'] = store.nextEtag();
    recalculate(company, record);
    touch(store, record, request.state.timestamp());
    return single(lineView(record, line, request));
  }
  if (method === 'DELETE') {
    requireIfMatch(request, String(line['@odata.etag']));
    testStatusOpen(record);
    testNothingReceivedUninvoiced(record, line);
    record.lines.splice(record.lines.indexOf(line), 1);
    record.lineDimensions.delete(line.id);
    recalculate(company, record);
    touch(store, record, request.state.timestamp());
    return { status: 204 };
  }
  throw methodNotAllowed(method, 'purchaseOrderLines');
}

/** BC's Status of an order behind the API status (codeunit 5497): the API's Draft is BC's Open. */
const STATUS_IN_BC: Record<string, string> = { Draft: 'Open', In_x0020_Review: 'Pending Approval', Open: 'Released' };

/**
 * Purchase Line OnInsert / OnDelete / OnValidate and the header's Buy-from Vendor No. and Currency Code call
 * TestStatusOpen: nothing of the lines, vendor or currency changes unless BC's Status is Open (API Draft)
 * [S PurchaseLine.Table.al; message as BC words it, D; error code U].
 */
function testStatusOpen(record: PurchaseOrderRecord): void {
  const status = String(record.header.status);
  if (status === 'Draft') return;
  throw new BcError(
    400,
    'Application_DialogException',
    `Status must be equal to 'Open'  in Purchase Header: Document Type=Order, No.=${String(record.header.number)}. Current value is '${STATUS_IN_BC[status] ?? status}'.`,
  );
}

/** A line received and not invoiced cannot go (Purchase Line OnDelete: TestField "Qty. Rcd. Not Invoiced" 0) [U]. */
function testNothingReceivedUninvoiced(record: PurchaseOrderRecord, line: Entity): void {
  const open = Number(line.receivedQuantity) - Number(line.invoicedQuantity);
  if (open === 0) return;
  throw new BcError(
    400,
    'Application_DialogException',
    `Qty. Rcd. Not Invoiced must be equal to '0'  in Purchase Line: Document Type=Order, Document No.=${String(record.header.number)}, Line No.=${String(line.sequence)}. Current value is '${open}'.`,
  );
}

/** A vendor or currency change: TestStatusOpen, and never on an order with receipts (CheckReceiptInfo) [3P]. */
function checkHeaderChange(company: BcCompany, record: PurchaseOrderRecord, body: Record<string, unknown>): void {
  const vendor =
    (body.vendorNumber !== undefined && body.vendorNumber !== record.header.vendorNumber) ||
    (typeof body.vendorId === 'string' && body.vendorId.toLowerCase() !== record.header.vendorId);
  const currency =
    typeof body.currencyCode === 'string' &&
    (body.currencyCode === company.currency ? '' : body.currencyCode) !== record.header.currencyCode;
  if (!vendor && !currency) return;
  testStatusOpen(record);
  if (record.lines.some((line) => Number(line.receivedQuantity) !== 0)) {
    const field = vendor ? 'Buy-from Vendor No.' : 'Currency Code';
    throw new BcError(
      400,
      'Application_DialogException',
      `You cannot change ${field} because the order is associated with one or more purchase receipts.`,
    );
  }
}

/** A line PATCH: the fields sent, validated as on insert; not below what was received or invoiced [U wording]. */
function changeLine(
  company: BcCompany,
  record: PurchaseOrderRecord,
  line: Entity,
  body: Record<string, unknown>,
): void {
  checkProperties(
    body,
    PO_LINE_WRITABLE.filter((name) => name !== 'sequence' && name !== 'lineType'),
    'purchaseOrderLine',
  );
  const booked = Math.max(Number(line.receivedQuantity), Number(line.invoicedQuantity));
  const changed: Entity = { id: line.id };
  if (body.lineObjectNumber !== undefined && body.lineObjectNumber !== line.lineObjectNumber) {
    if (booked !== 0) {
      throw new BcError(
        400,
        'Application_DialogException',
        `Quantity Received must be equal to '0'  in Purchase Line: Document Type=Order, Document No.=${String(record.header.number)}, Line No.=${String(line.sequence)}. Current value is '${String(line.receivedQuantity)}'.`,
      );
    }
    const number = stringField(body, 'lineObjectNumber', 20, 'purchaseOrderLine');
    const account = (company.master.get('accounts') ?? []).find((a) => a.number === number);
    if (!account) {
      throw new BcError(
        400,
        'Application_RecordNotFound',
        `The G/L Account does not exist. Identification fields and values: No.='${number}'`,
      );
    }
    Object.assign(changed, { lineObjectNumber: account.number, accountId: account.id });
  }
  for (const name of ['description', 'description2', 'unitOfMeasureCode'] as const) {
    const value = stringField(
      body,
      name,
      name === 'description' ? 100 : name === 'description2' ? 50 : 10,
      'purchaseOrderLine',
    );
    if (value !== undefined) changed[name] = value;
  }
  const quantity = numberField(body, 'quantity');
  if (quantity !== undefined) {
    if (quantity < booked) {
      throw new BcError(
        400,
        'Application_DialogException',
        `Quantity must not be less than ${booked} (received or invoiced) in Purchase Line: Document Type=Order, Document No.=${String(record.header.number)}, Line No.=${String(line.sequence)}.`,
      );
    }
    changed.quantity = quantity;
  }
  const cost = numberField(body, 'directUnitCost');
  if (cost !== undefined) changed.directUnitCost = cost;
  if (body.taxCode !== undefined) changed.taxCode = taxCodeField(company, body, 'purchaseOrderLine', 50);
  const date = dateField(body, 'expectedReceiptDate');
  if (date !== undefined) changed.expectedReceiptDate = date;
  // Refused before the line changes: a line the order cannot total must not stay on it.
  lineAmount(
    changed.directUnitCost ?? line.directUnitCost,
    changed.quantity ?? line.quantity,
    currencyOf(company, record.header.currencyCode as string),
    'Direct Unit Cost',
  );
  Object.assign(line, changed);
}

function createPurchaseOrder(
  store: BcStore,
  company: BcCompany,
  body: Record<string, unknown>,
  custom: boolean,
): PurchaseOrderRecord {
  const { purchaseOrderLines, ...header } = body;
  checkProperties(header, custom ? [...PO_WRITABLE, 'yourReference'] : PO_WRITABLE, 'purchaseOrder');
  const id = guidOf('purchaseOrder', company.name, String(store.etagSequence), String(company.purchaseOrders.size));
  const now = new Date().toISOString();
  const record: PurchaseOrderRecord = {
    header: {
      id,
      number: company.nextNumber('PO'),
      orderDate: now.slice(0, 10),
      postingDate: now.slice(0, 10),
      vendorId: '',
      vendorNumber: '',
      vendorName: '',
      currencyCode: '',
      shortcutDimension1Code: '',
      shortcutDimension2Code: '',
      purchaser: '',
      pricesIncludeTax: false,
      status: 'Draft',
      fullyReceived: false,
      totalAmountExcludingTax: 0,
      totalTaxAmount: 0,
      totalAmountIncludingTax: 0,
      lastModifiedDateTime: now,
    },
    lines: [],
    lineDimensions: new Map(),
    yourReference: null,
  };
  applyHeader(company, record, header, custom);
  if (purchaseOrderLines !== undefined) {
    if (!Array.isArray(purchaseOrderLines)) {
      throw new BcError(400, 'BadRequest', 'purchaseOrderLines must be an array (deep insert).');
    }
    purchaseOrderLines.forEach((line, index) => addLine(store, company, record, bodyObject(line), index));
  }
  recalculate(company, record);
  record.header['@odata.etag'] = store.nextEtag();
  company.purchaseOrders.set(id, record);
  return record;
}

function applyHeader(
  company: BcCompany,
  record: PurchaseOrderRecord,
  body: Record<string, unknown>,
  custom: boolean,
): void {
  if (body.vendorNumber !== undefined || body.vendorId !== undefined || record.header.vendorId === '') {
    const vendor = vendorOf(company, body);
    Object.assign(record.header, {
      vendorId: vendor.id,
      vendorNumber: vendor.number,
      vendorName: vendor.displayName,
      payToVendorId: vendor.id,
      payToVendorNumber: vendor.number,
      payToName: vendor.displayName,
    });
  }
  for (const name of ['orderDate', 'postingDate', 'requestedReceiptDate']) {
    const value = dateField(body, name);
    if (value !== undefined) record.header[name] = value;
  }
  const currency = stringField(body, 'currencyCode', 10, 'purchaseOrder');
  if (currency !== undefined) record.header.currencyCode = currency === company.currency ? '' : currency;
  for (const name of ['shortcutDimension1Code', 'shortcutDimension2Code', 'purchaser']) {
    const value = stringField(body, name, 20, 'purchaseOrder');
    if (value !== undefined) record.header[name] = value;
  }
  if (custom) {
    const reference = stringField(body, 'yourReference', 35, 'purchaseOrder');
    if (reference !== undefined) record.yourReference = reference;
  }
}

function addLine(
  store: BcStore,
  company: BcCompany,
  record: PurchaseOrderRecord,
  body: Record<string, unknown>,
  index: number,
): Entity {
  const { dimensionSetLines, ...fields } = body;
  checkProperties(fields, PO_LINE_WRITABLE, 'purchaseOrderLine');
  const lineType = fields.lineType ?? 'Item';
  if (lineType !== 'Account' && lineType !== 'Comment') {
    throw new BcError(
      400,
      'Application_InvalidArgument',
      `The simulator books lines of type Account or Comment, not ${String(lineType)}.`,
    );
  }
  const accountNumber = stringField(fields, 'lineObjectNumber', 20, 'purchaseOrderLine');
  const account = (company.master.get('accounts') ?? []).find((a) => a.number === accountNumber);
  if (lineType === 'Account' && !account) {
    throw new BcError(
      400,
      'Application_RecordNotFound',
      `The G/L Account does not exist. Identification fields and values: No.='${accountNumber}'`,
    );
  }
  // BC numbers a new line after the last one (Line No. + 10000), so a line added after a delete takes no
  // number a line already has.
  const last = record.lines.reduce((max, each) => Math.max(max, Number(each.sequence)), 0);
  const sequence = typeof fields.sequence === 'number' ? fields.sequence : Math.max(last, index * 10000) + 10000;
  const id = guidOf('purchaseOrderLine', record.header.id, String(sequence), String(store.etagSequence));
  const line: Entity = {
    id,
    documentId: record.header.id,
    sequence,
    accountId: account?.id ?? '00000000-0000-0000-0000-000000000000',
    lineType,
    lineObjectNumber: accountNumber ?? '',
    description: stringField(fields, 'description', 100, 'purchaseOrderLine') ?? '',
    description2: stringField(fields, 'description2', 50, 'purchaseOrderLine') ?? '',
    unitOfMeasureCode: stringField(fields, 'unitOfMeasureCode', 10, 'purchaseOrderLine') ?? '',
    quantity: numberField(fields, 'quantity') ?? 0,
    directUnitCost: numberField(fields, 'directUnitCost') ?? 0,
    taxCode: taxCodeField(company, fields, 'purchaseOrderLine', 50),
    expectedReceiptDate: dateField(fields, 'expectedReceiptDate') ?? record.header.orderDate,
    receivedQuantity: 0,
    invoicedQuantity: 0,
    '@odata.etag': store.nextEtag(),
  };
  // Refused before the line is kept: a line the order cannot total must not stay on it.
  lineAmount(
    line.directUnitCost,
    line.quantity,
    currencyOf(company, record.header.currencyCode as string),
    'Direct Unit Cost',
  );
  record.lines.push(line);
  record.lineDimensions.set(
    id,
    dimensionLines(company, dimensionSetLines, id, 'Purchase_x0020_Order_x0020_Line', 'purchaseOrderLines'),
  );
  return line;
}

/** Line amounts from quantity x direct unit cost in the document currency, totals from the lines. */
function recalculate(company: BcCompany, record: PurchaseOrderRecord): void {
  const currency = currencyOf(company, record.header.currencyCode as string);
  let total = 0n;
  for (const line of record.lines) {
    const amount = lineAmount(line.directUnitCost, line.quantity, currency, 'Direct Unit Cost');
    total += amount;
    Object.assign(line, {
      amountExcludingTax: toNumber(amount, currency),
      netAmount: toNumber(amount, currency),
      totalTaxAmount: 0,
      amountIncludingTax: toNumber(amount, currency),
    });
  }
  Object.assign(record.header, {
    totalAmountExcludingTax: toNumber(total, currency),
    totalTaxAmount: 0,
    totalAmountIncludingTax: toNumber(total, currency),
  });
}

function touch(store: BcStore, record: PurchaseOrderRecord, now: string): void {
  record.header['@odata.etag'] = store.nextEtag();
  record.header.lastModifiedDateTime = now;
}

function lineView(
  record: PurchaseOrderRecord,
  line: Entity,
  request: BcRequest,
  expand = parseExpand(request.query.get('$expand')),
): Entity {
  return expand.dimensionSetLines ? { ...line, dimensionSetLines: record.lineDimensions.get(line.id) ?? [] } : line;
}

function purchaseOrderView(record: PurchaseOrderRecord, request: BcRequest, custom: boolean): Entity {
  const expand = parseExpand(request.query.get('$expand'));
  const view: Entity = { ...record.header, currencyCode: record.header.currencyCode || '' };
  if (custom) view.yourReference = record.yourReference ?? '';
  if (expand.purchaseOrderLines) {
    view.purchaseOrderLines = record.lines.map((line) =>
      lineView(record, line, request, expand.purchaseOrderLines as Record<string, Record<string, unknown>>),
    );
  }
  return view;
}

// ---- journals and general ledger entries ----------------------------------------------------------

const JOURNAL_LINE_WRITABLE = [
  'lineNumber',
  'accountType',
  'accountId',
  'accountNumber',
  'postingDate',
  'documentNumber',
  'externalDocumentNumber',
  'amount',
  'description',
  'comment',
  'taxCode',
  'balanceAccountType',
  'balancingAccountNumber',
];

const JOURNAL_WRITABLE = ['code', 'displayName', 'balancingAccountId'];

/**
 * General journal batches: the seeded EXPENSES and any created with `POST journals` [D dynamics_journal_create;
 * metadata: journals insertable and deletable]. Lines belong to one batch; the post action posts only the lines
 * of its batch, and deleting a batch deletes its lines (Gen. Journal Batch OnDelete) [D].
 */
function journals(
  store: BcStore,
  request: BcRequest,
  company: BcCompany,
  key: string | undefined,
  sub: PathSegment | undefined,
): SandboxResponse {
  if (key === undefined) {
    if (request.method === 'GET') return collection(request, [...company.journals.values()], 'journals');
    if (request.method !== 'POST') throw methodNotAllowed(request.method, 'journals');
    return single(createJournal(store, company, bodyObject(request.body), request.state.timestamp()), 201);
  }
  const journal = company.journals.get(key.toLowerCase());
  if (!journal) throw notFound(`The journal ${key} does not exist.`);
  if (sub === undefined) {
    if (request.method === 'GET') return single(journal);
    if (request.method !== 'DELETE') throw methodNotAllowed(request.method, 'journals');
    requireIfMatch(request, String(journal['@odata.etag']));
    deleteJournal(company, journal.id);
    return { status: 204 };
  }
  if (sub.name === 'Microsoft.NAV.post' && request.method === 'POST') {
    postJournal(store, company, journal.id, request.state.timestamp());
    return { status: 204 };
  }
  if (sub.name !== 'journalLines') throw notFound(`journals has no ${sub.name}.`);
  const lines = company.journalLines.filter((line) => line.journalId === journal.id);
  const lineKey = sub.keys?.[''];
  if (lineKey !== undefined) {
    // One line of the batch: read, or deleted by hand (journalLines are Deletable [S metadata]), with If-Match.
    const line = lines.find((candidate) => candidate.id === lineKey.toLowerCase());
    if (!line) throw notFound(`The journalLine ${lineKey} does not exist.`);
    if (request.method === 'GET') return single(withDimensions(line, company.journalLineDimensions, request));
    if (request.method !== 'DELETE') throw methodNotAllowed(request.method, 'journalLines');
    requireIfMatch(request, String(line['@odata.etag']));
    company.journalLines.splice(company.journalLines.indexOf(line), 1);
    company.journalLineDimensions.delete(String(line.id));
    return { status: 204 };
  }
  if (request.method === 'GET') {
    return collection(
      request,
      lines.map((line) => withDimensions(line, company.journalLineDimensions, request)),
      'journalLines',
    );
  }
  if (request.method !== 'POST') throw methodNotAllowed(request.method, 'journalLines');
  const line = createJournalLine(store, company, journal, lines.length, request);
  return single(withDimensions(line, company.journalLineDimensions, request), 201);
}

function createJournal(store: BcStore, company: BcCompany, body: Record<string, unknown>, now: string): Entity {
  checkProperties(body, JOURNAL_WRITABLE, 'journal');
  const code = stringField(body, 'code', 10, 'journal');
  if (!code) throw new BcError(400, 'BadRequest', 'The journal needs a code.');
  const upper = code.toUpperCase();
  if ([...company.journals.values()].some((journal) => journal.code === upper)) {
    throw new BcError(
      400,
      'Internal_EntityWithSameKeyExists',
      `The Gen. Journal Batch already exists. Identification fields and values: Journal Template Name='GENERAL',Name='${upper}'`,
    );
  }
  const balancing = balancingAccount(company, body.balancingAccountId);
  const id = guidOf('journal', company.name, upper);
  const journal: Entity = {
    id,
    code: upper,
    displayName: stringField(body, 'displayName', 100, 'journal') ?? '',
    templateDisplayName: 'GENERAL',
    balancingAccountId: balancing?.id ?? '00000000-0000-0000-0000-000000000000',
    balancingAccountNumber: balancing?.number ?? '',
    lastModifiedDateTime: now,
    '@odata.etag': store.nextEtag(),
  };
  company.journals.set(id, journal);
  return journal;
}

/**
 * The G/L account a new batch balances on, by id: one of the accounts, or the balancing account of an existing
 * batch (the payables account 2910 of EXPENSES is not among the sandbox's expense accounts).
 */
function balancingAccount(company: BcCompany, value: unknown): { id: string; number: string } | undefined {
  if (value === undefined) return undefined;
  const id = typeof value === 'string' ? value.toLowerCase() : '';
  const known = [
    ...(company.master.get('accounts') ?? []).map((a) => ({ id: a.id, number: String(a.number) })),
    ...[...company.journals.values()].map((j) => ({
      id: String(j.balancingAccountId),
      number: String(j.balancingAccountNumber),
    })),
  ];
  const found = known.find((account) => account.id === id && account.number !== '');
  if (!found)
    throw new BcError(400, 'Application_RecordNotFound', `The G/L Account with id ${String(value)} does not exist.`);
  return found;
}

function deleteJournal(company: BcCompany, journalId: string): void {
  company.journals.delete(journalId);
  for (let i = company.journalLines.length - 1; i >= 0; i -= 1) {
    const line = company.journalLines[i];
    if (line.journalId !== journalId) continue;
    company.journalLines.splice(i, 1);
    company.journalLineDimensions.delete(line.id);
  }
}

function createJournalLine(
  store: BcStore,
  company: BcCompany,
  journal: Entity,
  linesInBatch: number,
  request: BcRequest,
): Entity {
  const { dimensionSetLines, ...fields } = bodyObject(request.body);
  checkProperties(fields, JOURNAL_LINE_WRITABLE, 'journalLine');
  const accountNumber = stringField(fields, 'accountNumber', 20, 'journalLine');
  const account = (company.master.get('accounts') ?? []).find((a) => a.number === accountNumber);
  if (!account) {
    throw new BcError(
      400,
      'Application_RecordNotFound',
      `The G/L Account does not exist. Identification fields and values: No.='${accountNumber}'`,
    );
  }
  const amount = numberField(fields, 'amount') ?? 0;
  toMoney(amount, company.currency, 'Amount'); // refuses more decimals than the currency has (400)
  const lineNumber = typeof fields.lineNumber === 'number' ? fields.lineNumber : (linesInBatch + 1) * 10000;
  const id = guidOf(
    'journalLine',
    company.name,
    String(store.etagSequence),
    String(company.journalLines.length),
    String(Date.now()),
  );
  const line: Entity = {
    id,
    journalId: journal.id,
    journalDisplayName: String(journal.code),
    lineNumber,
    accountType: 'G_x002F_L_x0020_Account',
    accountId: account.id,
    accountNumber: account.number,
    postingDate: dateField(fields, 'postingDate') ?? request.state.timestamp().slice(0, 10),
    // Code[20] and Code[35]: BC keeps Code values in upper case, whatever case was sent [D].
    documentNumber: codeField(fields, 'documentNumber', 20, 'journalLine'),
    externalDocumentNumber: codeField(fields, 'externalDocumentNumber', 35, 'journalLine'),
    amount,
    description: stringField(fields, 'description', 100, 'journalLine') ?? '',
    comment: stringField(fields, 'comment', 250, 'journalLine') ?? '',
    // The page's taxCode is a Code[20] variable [S APIV2JournalLines.Page.al].
    taxCode: taxCodeField(company, fields, 'journalLine', 20),
    balanceAccountType: 'G_x002F_L_x0020_Account',
    // A line takes its batch's balancing account unless it names one [D Gen. Journal Line defaults].
    balancingAccountNumber:
      stringField(fields, 'balancingAccountNumber', 20, 'journalLine') ?? String(journal.balancingAccountNumber ?? ''),
    lastModifiedDateTime: request.state.timestamp(),
    '@odata.etag': store.nextEtag(),
  };
  company.journalLines.push(line);
  company.journalLineDimensions.set(
    id,
    dimensionLines(company, dimensionSetLines, id, 'Journal_x0020_Line', 'journalLines'),
  );
  return line;
}

function addLedgerEntry(
  company: BcCompany,
  fields: {
    postingDate: string;
    documentNumber: string;
    documentType: string;
    accountNumber: string;
    description: string;
    amount: bigint;
  },
  dimensions: Entity[],
  now: string,
): void {
  const account = (company.master.get('accounts') ?? []).find((a) => a.number === fields.accountNumber);
  const entryNumber = Number(company.nextNumber('GL'));
  const id = guidOf('glEntry', company.name, String(entryNumber));
  const debit = fields.amount > 0n ? fields.amount : 0n;
  const credit = fields.amount < 0n ? -fields.amount : 0n;
  company.generalLedgerEntries.push({
    id,
    entryNumber,
    postingDate: fields.postingDate,
    documentNumber: fields.documentNumber,
    documentType: fields.documentType,
    accountId: account?.id ?? '00000000-0000-0000-0000-000000000000',
    accountNumber: fields.accountNumber,
    description: fields.description.slice(0, 100),
    debitAmount: toNumber(debit, company.currency),
    creditAmount: toNumber(credit, company.currency),
    lastModifiedDateTime: now,
  });
  company.generalLedgerEntryDimensions.set(
    id,
    dimensions.map((line) => ({
      ...line,
      id: guidOf('dimensionSetLine', id, String(line.code)),
      parentId: id,
      parentType: 'General_x0020_Ledger_x0020_Entry',
    })),
  );
}

/**
 * Posts every line of one batch (only that batch): an entry on the account and one on the balancing account,
 * both with the line's dimension set; the lines go. A line without a balancing account must balance with the others of its document, like BC.
 */
function postJournal(store: BcStore, company: BcCompany, journalId: string, now: string): void {
  const lines = company.journalLines.filter((line) => line.journalId === journalId);
  const unbalanced = new Map<string, bigint>();
  for (const line of lines) {
    if (line.documentNumber === '') {
      throw new BcError(
        400,
        'Application_DialogException',
        `Document No. must have a value in Gen. Journal Line: Line No.=${String(line.lineNumber)}`,
      );
    }
    requireAllowedPostingDate(
      company,
      String(line.postingDate),
      `Gen. Journal Line: Journal Batch Name=${String(line.journalDisplayName)}, Line No.=${String(line.lineNumber)}`,
    );
    if (line.balancingAccountNumber) continue;
    const key = `${String(line.postingDate)}|${String(line.documentNumber)}`;
    unbalanced.set(key, (unbalanced.get(key) ?? 0n) + toMoney(line.amount as number, company.currency));
  }
  // Lines without a balancing account must balance each other per document and date; BC posts nothing else.
  for (const [key, sum] of unbalanced) {
    if (sum === 0n) continue;
    const [postingDate, documentNumber] = key.split('|');
    throw new BcError(
      400,
      'Application_DialogException',
      `Document No. ${documentNumber} is out of balance by ${String(toNumber(sum, company.currency))}. Please check that Posting Date (${postingDate}), Document Type, Document No. and amounts are correct for each line.`,
    );
  }
  for (const line of lines) {
    company.journalLines.splice(company.journalLines.indexOf(line), 1);
    const amount = toMoney(line.amount as number, company.currency);
    const common = {
      postingDate: String(line.postingDate),
      documentNumber: String(line.documentNumber),
      documentType: '_x0020_',
      description: String(line.description),
    };
    addLedgerEntry(
      company,
      { ...common, accountNumber: String(line.accountNumber), amount },
      company.journalLineDimensions.get(line.id) ?? [],
      now,
    );
    if (line.balancingAccountNumber) {
      addLedgerEntry(
        company,
        { ...common, accountNumber: String(line.balancingAccountNumber), amount: -amount },
        // BC books the balancing entry with the journal line's dimension set, like the line's own entry.
        company.journalLineDimensions.get(line.id) ?? [],
        now,
      );
    }
    company.journalLineDimensions.delete(line.id);
  }
  store.nextEtag();
}

// ---- purchase invoices (payables) ----------------------------------------------------------------

const INVOICE_WRITABLE = [
  'vendorId',
  'vendorNumber',
  'vendorInvoiceNumber',
  'invoiceDate',
  'postingDate',
  'dueDate',
  'currencyCode',
  'pricesIncludeTax',
];
const INVOICE_LINE_WRITABLE = [
  'sequence',
  'lineType',
  'lineObjectNumber',
  'description',
  'quantity',
  'unitCost',
  'taxCode',
];

function purchaseInvoices(
  store: BcStore,
  request: BcRequest,
  company: BcCompany,
  key: string | undefined,
  sub: PathSegment | undefined,
): SandboxResponse {
  const expand = parseExpand(request.query.get('$expand'));
  const view = (invoice: { header: Entity; lines: Entity[] }): Entity =>
    expand.purchaseInvoiceLines ? { ...invoice.header, purchaseInvoiceLines: invoice.lines } : invoice.header;
  if (key === undefined) {
    if (request.method === 'GET')
      return collection(request, [...company.purchaseInvoices.values()].map(view), 'purchaseInvoices');
    if (request.method !== 'POST') throw methodNotAllowed(request.method, 'purchaseInvoices');
    return single(view(createInvoice(store, company, bodyObject(request.body), request.state.timestamp())), 201);
  }
  const invoice = company.purchaseInvoices.get(key.toLowerCase());
  if (!invoice) throw notFound(`The purchaseInvoice ${key} does not exist.`);
  if (sub === undefined && request.method === 'GET') return single(view(invoice));
  if (sub?.name === 'Microsoft.NAV.post' && request.method === 'POST') {
    if (invoice.header.status !== 'Draft') {
      throw new BcError(
        400,
        'Application_DialogException',
        `The purchase invoice ${String(invoice.header.number)} is posted already.`,
      );
    }
    requireAllowedPostingDate(
      company,
      String(invoice.header.postingDate),
      `Purchase Header: Document Type=Invoice, No.=${String(invoice.header.number)}`,
    );
    const now = request.state.timestamp();
    for (const line of invoice.lines) {
      addLedgerEntry(
        company,
        {
          postingDate: String(invoice.header.postingDate),
          documentNumber: String(invoice.header.number),
          documentType: 'Invoice',
          accountNumber: String(line.lineObjectNumber),
          description: String(line.description),
          amount: toMoney(line.amountExcludingTax as number, company.currency),
        },
        (line.dimensionSetLines as Entity[] | undefined) ?? [],
        now,
      );
    }
    addLedgerEntry(
      company,
      {
        postingDate: String(invoice.header.postingDate),
        documentNumber: String(invoice.header.number),
        documentType: 'Invoice',
        accountNumber: PAYABLES_ACCOUNT,
        description: String(invoice.header.vendorName),
        amount: -toMoney(invoice.header.totalAmountExcludingTax as number, company.currency),
      },
      [],
      now,
    );
    invoice.header.status = 'Open';
    invoice.header['@odata.etag'] = store.nextEtag();
    return { status: 204 };
  }
  throw methodNotAllowed(request.method, 'purchaseInvoices');
}

function createInvoice(store: BcStore, company: BcCompany, body: Record<string, unknown>, now: string) {
  const { purchaseInvoiceLines, ...header } = body;
  checkProperties(header, INVOICE_WRITABLE, 'purchaseInvoice');
  const vendor = vendorOf(company, header);
  const vendorInvoiceNumber = codeField(header, 'vendorInvoiceNumber', 35, 'purchaseInvoice');
  for (const existing of company.purchaseInvoices.values()) {
    if (
      existing.header.vendorId === vendor.id &&
      existing.header.vendorInvoiceNumber === vendorInvoiceNumber &&
      vendorInvoiceNumber !== ''
    ) {
      throw new BcError(
        400,
        'Application_DialogException',
        `Purchase Invoice ${String(existing.header.number)} already exists for this vendor with Vendor Invoice No. ${vendorInvoiceNumber}.`,
      );
    }
  }
  const currency = currencyOf(company, stringField(header, 'currencyCode', 10, 'purchaseInvoice'));
  if (currency !== company.currency) {
    // Posting books the invoice in the company currency; without exchange rates it would be booked 1:1.
    throw new BcError(
      400,
      'Application_RecordNotFound',
      `The Currency Exchange Rate does not exist. Identification fields and values: Currency Code='${currency}'. The simulator keeps no exchange rates: it books purchase invoices in the company currency ${company.currency} only.`,
    );
  }
  const id = guidOf('purchaseInvoice', company.name, String(company.purchaseInvoices.size), String(store.etagSequence));
  const lines = (Array.isArray(purchaseInvoiceLines) ? purchaseInvoiceLines : []).map((raw, index) => {
    const { dimensionSetLines, ...fields } = bodyObject(raw);
    checkProperties(fields, INVOICE_LINE_WRITABLE, 'purchaseInvoiceLine');
    const accountNumber = stringField(fields, 'lineObjectNumber', 20, 'purchaseInvoiceLine');
    if (!(company.master.get('accounts') ?? []).some((a) => a.number === accountNumber)) {
      throw new BcError(
        400,
        'Application_RecordNotFound',
        `The G/L Account does not exist. Identification fields and values: No.='${accountNumber}'`,
      );
    }
    const unit = amountIn(numberField(fields, 'unitCost') ?? 0, currency, 'Unit Cost');
    const quantity = numberField(fields, 'quantity') ?? 1;
    const amount = lineAmount(unit.amount, quantity, currency, 'Unit Cost');
    const lineId = guidOf('purchaseInvoiceLine', id, String(index));
    return {
      id: lineId,
      documentId: id,
      sequence: (index + 1) * 10000,
      lineType: 'Account',
      lineObjectNumber: accountNumber ?? '',
      description: stringField(fields, 'description', 100, 'purchaseInvoiceLine') ?? '',
      unitCost: Number(unit.amount),
      quantity,
      taxCode: taxCodeField(company, fields, 'purchaseInvoiceLine', 50),
      amountExcludingTax: toNumber(amount, currency),
      amountIncludingTax: toNumber(amount, currency),
      dimensionSetLines: dimensionLines(
        company,
        dimensionSetLines,
        lineId,
        'Purchase_x0020_Invoice_x0020_Line',
        'purchaseInvoiceLines',
      ),
    } as Entity;
  });
  const total = lines.reduce((sum, line) => sum + toMoney(line.amountExcludingTax as number, currency), 0n);
  const invoice = {
    header: {
      id,
      number: company.nextNumber('PI'),
      invoiceDate: dateField(header, 'invoiceDate') ?? now.slice(0, 10),
      postingDate: dateField(header, 'postingDate') ?? now.slice(0, 10),
      dueDate: dateField(header, 'dueDate') ?? now.slice(0, 10),
      vendorInvoiceNumber,
      vendorId: vendor.id,
      vendorNumber: vendor.number,
      vendorName: vendor.displayName,
      currencyCode: currency === company.currency ? '' : currency,
      pricesIncludeTax: header.pricesIncludeTax === true,
      totalAmountExcludingTax: toNumber(total, currency),
      totalTaxAmount: 0,
      totalAmountIncludingTax: toNumber(total, currency),
      status: 'Draft',
      lastModifiedDateTime: now,
      '@odata.etag': store.nextEtag(),
    } as Entity,
    lines: lines.map(({ dimensionSetLines, ...line }) => ({ ...line, dimensionSetLines })),
  };
  company.purchaseInvoices.set(id, invoice);
  return invoice;
}

// ---- the Analytics API -------------------------------------------------------------------------------

function analytics(request: BcRequest, company: BcCompany, resource: PathSegment[]): SandboxResponse {
  if (request.method !== 'GET' || resource.length !== 1) throw methodNotAllowed(request.method, 'analytics');
  if (resource[0].name === 'generalLedgerBudgetEntries') {
    return collection(request, company.budgetEntries, 'generalLedgerBudgetEntries');
  }
  if (resource[0].name === 'dimensionSetEntries') {
    return collection(
      request,
      company.dimensionSetEntries.map((entry) => ({ id: `${entry.dimensionSetID}-${entry.dimensionCode}`, ...entry })),
      'dimensionSetEntries',
    );
  }
  throw notFound(`The analytics entity ${resource[0].name} is not simulated.`);
}
