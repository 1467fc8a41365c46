/**
 * The route tables of the sandbox: which method and path reach which operation. Matching is by path segments
 * (`:name` captures one), first match wins, so literal routes are listed before the generic master-data ones.
 */
import type { IncomingHttpHeaders } from 'node:http';
import type { AuthGate } from './auth';
import { checkAvailability, listBudgets } from './budgets';
import type { CompanyState } from './company-state';
import { COUPA_ROUTES, coupaSnapshot, resetCoupa } from './coupa';
import { parseFaultConfig } from './faults';
import { stateSnapshot } from './inspection';
import {
  getMasterRecord,
  isMasterDataKind,
  listMasterData,
  patchMasterRecord,
  removeMasterRecord,
} from './master-data';
import { createPosting, findPostings, getPosting, setPostingPeriods } from './postings';
import { SandboxProblem } from './problem';
import { spendByCostCenter } from './spend';
import {
  cancelPurchaseOrder,
  changePurchaseOrder,
  createPurchaseOrder,
  findPurchaseOrders,
  getPurchaseOrder,
} from './purchase-orders';
import type { SandboxState } from './state';
import { MASTER_DATA_KINDS, type SandboxResponse } from './types';
import { receiveWriteback } from './writebacks';
import { resetVendors, vendorSnapshot } from './vendors';

export interface RouteRequest {
  state: SandboxState;
  auth: AuthGate;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body (routes with `body: 'json'`). */
  body: unknown;
  rawBody: Buffer;
}

export interface Route {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT';
  segments: readonly string[];
  /** How the body is read: parsed as JSON, or left raw (form-encoded token requests, bodies that are ignored). */
  body: 'json' | 'raw';
  handle(request: RouteRequest): SandboxResponse;
}

function route(method: Route['method'], path: string, handle: Route['handle'], body: Route['body'] = 'json'): Route {
  return { method, segments: path.split('/').filter(Boolean), body, handle };
}

function companyOf(request: RouteRequest): CompanyState {
  const id = request.params.company;
  const company = request.state.companies.get(id);
  if (!company) {
    const known = [...request.state.companies.keys()].join(', ');
    throw new SandboxProblem(404, 'UNKNOWN_COMPANY', `Company "${id}" does not exist; the companies are ${known}.`);
  }
  return company;
}

function masterKind(request: RouteRequest) {
  const kind = request.params.kind;
  if (!isMasterDataKind(kind)) {
    throw new SandboxProblem(
      404,
      'NOT_FOUND',
      `"${kind}" is not a collection of this ERP; master data kinds are ${MASTER_DATA_KINDS.join(', ')}.`,
    );
  }
  return kind;
}

const COMPANY = '/api/v1/companies/:company';

export const API_ROUTES: readonly Route[] = [
  route('GET', '/api/v1/companies', ({ state }) => ({
    status: 200,
    body: { items: [...state.companies.values()].map((company) => company.company) },
  })),
  route('GET', `${COMPANY}/budgets`, (request) => listBudgets(companyOf(request))),
  route('POST', `${COMPANY}/budget-availability`, (request) => checkAvailability(companyOf(request), request.body)),
  route('GET', `${COMPANY}/purchaseOrders`, (request) =>
    findPurchaseOrders(companyOf(request), request.query.get('externalReference')),
  ),
  route('POST', `${COMPANY}/purchaseOrders`, (request) =>
    createPurchaseOrder(request.state, companyOf(request), request.body),
  ),
  route('GET', `${COMPANY}/purchaseOrders/:id`, (request) => getPurchaseOrder(companyOf(request), request.params.id)),
  route('PATCH', `${COMPANY}/purchaseOrders/:id`, (request) =>
    changePurchaseOrder(request.state, companyOf(request), request.params.id, ifMatch(request), request.body),
  ),
  route(
    'POST',
    `${COMPANY}/purchaseOrders/:id/cancel`,
    (request) => cancelPurchaseOrder(request.state, companyOf(request), request.params.id, ifMatch(request)),
    'raw',
  ),
  route('GET', `${COMPANY}/postings`, (request) =>
    findPostings(companyOf(request), request.query.get('externalReference')),
  ),
  route('POST', `${COMPANY}/postings`, (request) => createPosting(request.state, companyOf(request), request.body)),
  route('GET', `${COMPANY}/postings/:id`, (request) => getPosting(companyOf(request), request.params.id)),
  route('GET', `${COMPANY}/spend`, (request) => spendByCostCenter(companyOf(request), request.query)),
  route('GET', `${COMPANY}/:kind`, (request) => listMasterData(companyOf(request), masterKind(request), request.query)),
  route('GET', `${COMPANY}/:kind/:id`, (request) =>
    getMasterRecord(companyOf(request), masterKind(request), request.params.id),
  ),
  route('PATCH', `${COMPANY}/:kind/:id`, (request) =>
    patchMasterRecord(request.state, companyOf(request), masterKind(request), request.params.id, request.body),
  ),
  route('POST', '/api/v1/writebacks', (request) => receiveWriteback(request.state, request.body)),
];

/**
 * Routes outside /api/: never counted, never faulted, never behind auth (the Coupa simulator's /coupa/api
 * routes do those three themselves, see ./coupa).
 */
export const CONTROL_ROUTES: readonly Route[] = [
  route('POST', '/oauth2/token', (request) => request.auth.issueToken(request.headers, request.rawBody), 'raw'),
  route('GET', '/_sandbox/state', ({ state }) => ({
    status: 200,
    body: { ...stateSnapshot(state), coupa: coupaSnapshot(state), ...vendorSnapshot(state) },
  })),
  route('POST', '/_sandbox/faults', ({ state, body }) => {
    state.faults.configure(parseFaultConfig(body ?? {}));
    return { status: 200, body: { faults: state.faults.current } };
  }),
  route(
    'POST',
    '/_sandbox/reset',
    ({ state }) => {
      state.reset();
      resetCoupa(state);
      resetVendors(state);
      return { status: 200, body: { reset: true } };
    },
    'raw',
  ),
  // Month-end closing, for tests and demos of a posting refused for its date: { from, to } (YYYY-MM) or {}.
  route('POST', '/_sandbox/companies/:company/posting-periods', (request) =>
    setPostingPeriods(companyOf(request), request.body),
  ),
  // A master record deleted in the ERP, for tests and demos of a full sync that finds it gone.
  route(
    'POST',
    '/_sandbox/companies/:company/:kind/:id/remove',
    (request) => removeMasterRecord(companyOf(request), masterKind(request), request.params.id),
    'raw',
  ),
  ...COUPA_ROUTES,
];

function ifMatch(request: RouteRequest): string | undefined {
  const value = request.headers['if-match'];
  return value === undefined ? undefined : value.trim();
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new SandboxProblem(400, 'INVALID_PATH', `The path segment "${segment}" is not valid percent-encoding.`);
  }
}

/** The route for a method and path; 404 when no route has the path, 405 (with Allow) when only the method is wrong. */
export function matchRoute(routes: readonly Route[], method: string, path: string): RouteMatch {
  const segments = path.split('/').filter(Boolean).map(decodeSegment);
  const allowed: string[] = [];
  for (const candidate of routes) {
    const params = matchSegments(candidate.segments, segments);
    if (!params) continue;
    if (candidate.method === method) return { route: candidate, params };
    if (!allowed.includes(candidate.method)) allowed.push(candidate.method);
  }
  if (allowed.length > 0) {
    throw new SandboxProblem(405, 'METHOD_NOT_ALLOWED', `${method} is not allowed here; use ${allowed.join(' or ')}.`, {
      headers: { Allow: allowed.join(', ') },
    });
  }
  throw new SandboxProblem(404, 'NOT_FOUND', `There is no ${path} in this ERP; see lib/sandbox/API.md.`);
}

function matchSegments(pattern: readonly string[], segments: readonly string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (let index = 0; index < pattern.length; index += 1) {
    const expected = pattern[index];
    if (expected.startsWith(':')) params[expected.slice(1)] = segments[index];
    else if (expected !== segments[index]) return undefined;
  }
  return params;
}
