/**
 * The Coupa simulator's routes (lib/sandbox/coupa/API.md). They sit among the sandbox's control routes
 * because their prefix is /coupa/, not /api/, so the sandbox's own fault injection, counters and auth do not
 * apply: each /coupa/api route takes its own injected fault, counts itself and demands the bearer token
 * itself. Errors of the Coupa API are Coupa's `errors` object [D: Coupa answers errors as
 * `<errors><error>...</error></errors>`; [U] its JSON form is assumed to be `{"errors": {"error": [...]}}`].
 */
import { checkJsonContentType } from '../http-body';
import { SandboxProblem } from '../problem';
import type { Route, RouteRequest } from '../router';
import type { SandboxResponse } from '../types';
import {
  COUPA_COLLECTIONS,
  CUSTOM_FIELDS,
  coupaStoreOf,
  isCoupaCollection,
  type CoupaCollection,
  type CoupaRecord,
  type CoupaStore,
} from './store';

/** Coupa returns at most 50 documents per request, also when asked for more [D Arguments]. */
const MAX_LIMIT = 50;

const LIST_PARAMETERS = ['exported', 'status', 'status[in]', 'offset', 'limit'];
/** Coupa writes query attributes with underscores and accepts the hyphenated spelling too [D Querying Options]. */
const UPDATED_AT = /^updated[-_]at\[(gt|gt_or_eq)\]$/;

function coupaError(status: number, message: string, headers?: Record<string, string>): SandboxResponse {
  return { status, headers, body: { errors: { error: [message] } } };
}

function collectionOf(request: RouteRequest): CoupaCollection {
  const collection = request.params.collection;
  if (!isCoupaCollection(collection)) {
    throw new SandboxProblem(
      404,
      'NOT_FOUND',
      `"${collection}" is not a collection of the Coupa simulator; use ${COUPA_COLLECTIONS.join(' or ')}.`,
    );
  }
  return collection;
}

/** What every /coupa/api request goes through first: an injected fault, then the bearer token. */
function coupaApi(handle: (request: RouteRequest, store: CoupaStore) => SandboxResponse): Route['handle'] {
  return (request) => {
    const store = coupaStoreOf(request.state);
    store.counters.requests += 1;
    const fault = store.takeFault();
    if (fault) {
      return coupaError(
        fault.status,
        fault.status === 429 ? 'Rate limit exceeded. Slow down and retry.' : 'Injected fault.',
        fault.retryAfterSeconds === undefined ? undefined : { 'Retry-After': String(fault.retryAfterSeconds) },
      );
    }
    request.auth.checkBearer(request.headers.authorization);
    return handle(request, store);
  };
}

function idOf(request: RouteRequest): number | undefined {
  const id = Number(request.params.id);
  return /^[1-9]\d*$/.test(request.params.id) && Number.isSafeInteger(id) ? id : undefined;
}

function notFound(collection: CoupaCollection, id: string): SandboxResponse {
  return coupaError(404, `There is no ${collection} record with id ${id}.`);
}

function list(request: RouteRequest, store: CoupaStore): SandboxResponse {
  const collection = collectionOf(request);
  const { query } = request;
  let documents = store.all(collection);
  for (const [name, value] of query) {
    const updatedAt = UPDATED_AT.exec(name);
    if (updatedAt) {
      const bound = Date.parse(value);
      if (Number.isNaN(bound))
        return coupaError(400, `${name}: "${value}" is not a date-time such as 2025-03-15T10:00:00+00:00.`);
      const inclusive = updatedAt[1] === 'gt_or_eq';
      documents = documents.filter((document) => {
        const at = Date.parse(String(document['updated-at']));
        return inclusive ? at >= bound : at > bound;
      });
    } else if (!LIST_PARAMETERS.includes(name)) {
      return coupaError(
        400,
        `The simulator does not filter on "${name}"; it supports ${LIST_PARAMETERS.join(', ')} and updated_at[gt|gt_or_eq].`,
      );
    }
  }
  const exported = query.get('exported');
  if (exported !== null) {
    if (exported !== 'true' && exported !== 'false')
      return coupaError(400, `exported must be true or false, got "${exported}".`);
    documents = documents.filter((document) => document.exported === (exported === 'true'));
  }
  const status = query.get('status');
  if (status !== null) documents = documents.filter((document) => document.status === status);
  // `[in]` takes a comma-separated list [D Querying Options: invoices?status[in]=approved,voided].
  const statuses = query.get('status[in]')?.split(',');
  if (statuses !== undefined) documents = documents.filter((document) => statuses.includes(String(document.status)));
  const offset = wholeNumber(query.get('offset'), 0);
  const limit = wholeNumber(query.get('limit'), MAX_LIMIT);
  if (offset === undefined || limit === undefined || limit === 0) {
    return coupaError(400, 'offset must be a whole number from 0 and limit one from 1.');
  }
  const page = documents.slice(offset, offset + Math.min(limit, MAX_LIMIT));
  // Coupa answers a search without results with 404 [D API example calls: "Unsuccessful requests will return
  // HTTP 404 Not Found. The error message will indicate no results matching your search criteria"].
  if (page.length === 0) return coupaError(404, 'No results match your search criteria.');
  return { status: 200, body: page };
}

function wholeNumber(value: string | null, fallback: number): number | undefined {
  if (value === null) return fallback;
  return /^\d+$/.test(value) ? Number(value) : undefined;
}

function show(request: RouteRequest, store: CoupaStore): SandboxResponse {
  const collection = collectionOf(request);
  const id = idOf(request);
  const record = id === undefined ? undefined : store.get(collection, id);
  return record ? { status: 200, body: record } : notFound(collection, request.params.id);
}

/**
 * PUT /coupa/api/{collection}/{id}: with `?exported=true|false` it only sets the flag, ignoring any body, as
 * Coupa documents; otherwise it takes `{"custom-fields": {...}}` with the configured custom fields (the ERP
 * write-back). Other fields are refused: an approved requisition or issued order is not edited this way.
 */
function update(request: RouteRequest, store: CoupaStore): SandboxResponse {
  const collection = collectionOf(request);
  const id = idOf(request);
  if (id === undefined || !store.get(collection, id)) return notFound(collection, request.params.id);
  const exported = request.query.get('exported');
  if (exported !== null) {
    if (exported !== 'true' && exported !== 'false')
      return coupaError(400, `exported must be true or false, got "${exported}".`);
    return { status: 200, body: store.setExported(collection, id, exported === 'true') as CoupaRecord };
  }
  checkJsonContentType(request.headers['content-type']);
  const body = request.body;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    return coupaError(400, 'Send {"custom-fields": {...}} or mark the record with ?exported=true.');
  }
  const other = Object.keys(body).filter((key) => key !== 'custom-fields');
  if (other.length > 0) {
    return coupaError(
      422,
      `Only custom-fields can be changed on this record through the simulator, not ${other.join(', ')}.`,
    );
  }
  const fields = (body as Record<string, unknown>)['custom-fields'];
  if (typeof fields !== 'object' || fields === null || Array.isArray(fields)) {
    return coupaError(400, '"custom-fields" must be an object of field name to value.');
  }
  const values: Record<string, string | null> = {};
  for (const [name, value] of Object.entries(fields)) {
    if (!CUSTOM_FIELDS.includes(name)) {
      return coupaError(422, `Unknown custom field "${name}"; this instance has ${CUSTOM_FIELDS.join(', ')}.`);
    }
    if (value !== null && (typeof value !== 'string' || value.length > 255)) {
      return coupaError(422, `Custom field "${name}" takes a string of at most 255 characters or null.`);
    }
    values[name] = value;
  }
  return { status: 200, body: store.writeCustomFields(collection, id, values) as CoupaRecord };
}

/** POST /_sandbox/coupa/{collection}: add a document, or revise the one with the same id. */
function inject(request: RouteRequest): SandboxResponse {
  const collection = collectionOf(request);
  const { record, created } = coupaStoreOf(request.state).upsert(collection, request.body);
  return { status: created ? 201 : 200, body: record };
}

/** POST /_sandbox/coupa/faults {"status": 429, "count": 2, "retryAfterSeconds": 1}; `{}` clears it. */
function configureFault(request: RouteRequest): SandboxResponse {
  const store = coupaStoreOf(request.state);
  const body = request.body ?? {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SandboxProblem(400, 'INVALID_BODY', 'Send {"status": 429, "count": 1, "retryAfterSeconds": 1} or {}.');
  }
  const { status, count = 1, retryAfterSeconds } = body as Record<string, unknown>;
  if (status === undefined) {
    store.fault = undefined;
    return { status: 200, body: { fault: null } };
  }
  const statusOk =
    status === 429 || (typeof status === 'number' && Number.isInteger(status) && status >= 500 && status <= 599);
  const countOk = typeof count === 'number' && Number.isInteger(count) && count >= 1;
  const retryOk =
    retryAfterSeconds === undefined ||
    (typeof retryAfterSeconds === 'number' && Number.isInteger(retryAfterSeconds) && retryAfterSeconds >= 0);
  if (!statusOk || !countOk || !retryOk) {
    throw new SandboxProblem(
      400,
      'INVALID_FAULT',
      'status must be 429 or 500-599, count a whole number from 1, retryAfterSeconds a whole number from 0.',
    );
  }
  store.fault = {
    status: status as number,
    remaining: count as number,
    ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds: retryAfterSeconds as number }),
  };
  return { status: 200, body: { fault: store.fault } };
}

function route(method: Route['method'], path: string, handle: Route['handle'], body: Route['body'] = 'json'): Route {
  return { method, segments: path.split('/').filter(Boolean), body, handle };
}

export const COUPA_ROUTES: readonly Route[] = [
  // Coupa's token endpoint is /oauth2/token on the instance; the sandbox's token service answers it.
  route('POST', '/coupa/oauth2/token', (request) => request.auth.issueToken(request.headers, request.rawBody), 'raw'),
  route('GET', '/coupa/api/:collection', coupaApi(list)),
  route('GET', '/coupa/api/:collection/:id', coupaApi(show)),
  route('PUT', '/coupa/api/:collection/:id', coupaApi(update)),
  route('POST', '/_sandbox/coupa/faults', configureFault),
  route('POST', '/_sandbox/coupa/:collection', inject),
];
