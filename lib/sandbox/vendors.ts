/**
 * The vendor API simulators inside the sandbox, reached by their own URL shapes (not /api/v1): Business
 * Central below /v2.0/{tenant}/{environment}/ with Entra ID's token path /{tenant}/oauth2/v2.0/token, SAP
 * S/4HANA below /sap/opu/odata/sap/<service>/ (purchase orders, supplier invoices, master data), ERPNext (Frappe) below /api/resource/. Each
 * applies the sandbox's injected faults and bearer token itself and answers in its vendor's error shape.
 */
import type { IncomingMessage } from 'node:http';
import type { AuthGate } from './auth';
import { handleBusinessCentral } from './business-central/api';
import { bcStoreOf } from './business-central/store';
import { parseJsonBody } from './http-body';
import { FRAPPE_METHOD_PREFIX, erpnextStoreOf, handleFrappe } from './erpnext/api';
import { SAP_ODATA_ROOT, SAP_SERVICE_NAMES, handleSap, sapStoreOf } from './sap/api';
import type { SandboxState } from './state';
import type { SandboxResponse } from './types';

export interface VendorRequest {
  state: SandboxState;
  auth: AuthGate;
  req: IncomingMessage;
  path: string;
  query: URLSearchParams;
  rawBody: Buffer;
}

/** Whether a path belongs to a vendor simulator; the body is read only for those. */
export function isVendorPath(path: string): boolean {
  return (
    /^\/v2\.0\/[^/]+\/[^/]+\//.test(path) ||
    /^\/[^/]+\/oauth2\/v2\.0\/token$/.test(path) ||
    path.startsWith('/api/resource/') ||
    path.startsWith(FRAPPE_METHOD_PREFIX) ||
    sapService(path) !== undefined
  );
}

/** The SAP service a path is below (`/sap/opu/odata/sap/<name>[/...]`), when the simulator serves it. */
function sapService(path: string): string | undefined {
  if (!path.startsWith(`${SAP_ODATA_ROOT}/`)) return undefined;
  const name = path.slice(SAP_ODATA_ROOT.length + 1).split('/')[0];
  return SAP_SERVICE_NAMES.includes(name) ? name : undefined;
}

export function handleVendor(request: VendorRequest): SandboxResponse {
  const { req, path } = request;
  if (/^\/[^/]+\/oauth2\/v2\.0\/token$/.test(path) && req.method === 'POST') {
    return request.auth.issueToken(req.headers, request.rawBody);
  }
  const host = req.headers.host ?? '127.0.0.1';
  let body: unknown;
  if (request.rawBody.length > 0) body = parseJsonBody(request.rawBody);
  if (path.startsWith('/api/resource/')) {
    return handleFrappe({
      state: request.state,
      auth: request.auth,
      method: req.method ?? 'GET',
      segments: path.slice('/api/resource/'.length).split('/').filter(Boolean).map(decodeURIComponent),
      query: request.query,
      headers: req.headers,
      body,
    });
  }
  if (path.startsWith(FRAPPE_METHOD_PREFIX)) {
    // Frappe's whitelisted methods (update_child_qty_rate), answered by the same simulator.
    return handleFrappe({
      state: request.state,
      auth: request.auth,
      method: req.method ?? 'GET',
      kind: 'method',
      segments: [decodeURIComponent(path.slice(FRAPPE_METHOD_PREFIX.length))],
      query: request.query,
      headers: req.headers,
      body,
    });
  }
  const service = sapService(path);
  if (service !== undefined) {
    const root = `${SAP_ODATA_ROOT}/${service}`;
    return handleSap({
      service,
      state: request.state,
      auth: request.auth,
      method: req.method ?? 'GET',
      segments: path.slice(root.length).split('/').filter(Boolean).map(decodeURIComponent),
      query: request.query,
      headers: req.headers,
      body,
      serviceRoot: `http://${host}${root}`,
    });
  }
  const segments = path.split('/').filter(Boolean).map(decodeURIComponent);
  const [, tenant, environment, ...rest] = segments;
  return handleBusinessCentral({
    state: request.state,
    auth: request.auth,
    method: req.method ?? 'GET',
    segments: rest,
    query: request.query,
    headers: req.headers,
    body,
    serviceRoot: `http://${host}/v2.0/${encodeURIComponent(tenant)}/${encodeURIComponent(environment)}`,
  });
}

export function vendorSnapshot(state: SandboxState): Record<string, unknown> {
  return {
    businessCentral: bcStoreOf(state).snapshot(),
    sap: sapStoreOf(state).snapshot(),
    erpnext: erpnextStoreOf(state).snapshot(),
  };
}

export function resetVendors(state: SandboxState): void {
  bcStoreOf(state).reset();
  sapStoreOf(state).reset();
  erpnextStoreOf(state).reset();
}
