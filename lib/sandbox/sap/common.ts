/**
 * What the SAP simulator's services share (see API.md): the request, Gateway's error body, v2 JSON values
 * (`/Date(ms)/`, decimals as strings), property checks, and the company codes (FS01 = FS-DEMO, FS02 = FS-JP).
 */
import { randomBytes } from 'node:crypto';
import type { AuthGate } from '../auth';
import type { CompanyState } from '../company-state';
import type { SandboxState } from '../state';
import type { SandboxResponse } from '../types';

/** Where SAP Gateway publishes OData v2 services; each service below it by its technical name. */
export const SAP_ODATA_ROOT = '/sap/opu/odata/sap';
export const COMPANY_CODES: Readonly<Record<string, string>> = { FS01: 'FS-DEMO', FS02: 'FS-JP' };

export type Entity = Record<string, unknown>;

export interface SapRequest {
  state: SandboxState;
  auth: AuthGate;
  method: string;
  /** Path segments after the service root. */
  segments: string[];
  query: URLSearchParams;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** The service's technical name, e.g. API_PURCHASEORDER_PROCESS_SRV. */
  service: string;
  /** Absolute URL of the service root, for __metadata.uri and __next. */
  serviceRoot: string;
}

/** The application component in innererror.application, per service [U: as Gateway error logs show them]. */
const COMPONENTS: Readonly<Record<string, string>> = {
  API_PURCHASEORDER_PROCESS_SRV: 'MM-PUR-PO',
  API_SUPPLIERINVOICE_PROCESS_SRV: 'MM-IV-LIV',
  API_BUSINESS_PARTNER: 'LO-MD-BP',
  API_COSTCENTER_SRV: 'CO-OM-CCA',
  API_GLACCOUNTINCHARTOFACCOUNTS_SRV: 'FI-GL-GL',
};

export class SapError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: Array<{ code: string; message: string; severity: string; target?: string }> = [],
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

export function header(headers: SapRequest['headers'], name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join('; ') : value;
}

export function errorResponse(error: SapError, service: string): SandboxResponse {
  const transactionid = randomBytes(16).toString('hex').toUpperCase();
  return {
    status: error.status,
    headers: { ...error.headers, 'Content-Type': 'application/json' },
    body: {
      error: {
        code: error.code,
        message: { lang: 'en', value: error.message },
        innererror: {
          application: {
            component_id: COMPONENTS[service] ?? 'OPU-GW-COR',
            service_namespace: '/SAP/',
            service_id: service,
            service_version: '0001',
          },
          transactionid,
          timestamp: '',
          Error_Resolution: {
            SAP_Transaction: `For backend administrators: use ADT feed reader "SAP Gateway Error Log" or run transaction /IWFND/ERROR_LOG on SAP Gateway hub system and search for entries with the timestamp above for more details`,
          },
          errordetails: error.details.map((detail) => ({ target: '', ...detail })),
        },
      },
    },
  };
}

// ---- values ----------------------------------------------------------------------------------------

export function sapDate(isoDate: string): string {
  return `/Date(${Date.parse(`${isoDate}T00:00:00Z`)})/`;
}

export function isoDate(value: unknown): string | undefined {
  const match = typeof value === 'string' ? /^\/Date\((-?\d+)\)\/$/.exec(value) : null;
  return match ? new Date(Number(match[1])).toISOString().slice(0, 10) : undefined;
}

export function companyOf(request: SapRequest, code: unknown): CompanyState {
  const id = typeof code === 'string' ? COMPANY_CODES[code] : undefined;
  const company = id ? request.state.companies.get(id) : undefined;
  if (!company)
    throw new SapError(400, 'ME/082', `Company code ${String(code)} does not exist`, [
      {
        code: 'ME/082',
        message: `Company code ${String(code)} does not exist`,
        severity: 'error',
        target: 'CompanyCode',
      },
    ]);
  return company;
}

export function text(body: Entity, name: string, max: number, required = false): string | undefined {
  const value = body[name];
  if (value === undefined || value === null) {
    if (required) throw fieldError(name, `Enter a value for ${name}`);
    return undefined;
  }
  if (typeof value !== 'string') throw new SapError(400, '/IWBEP/CM_MGW_RT/022', `Property ${name} has invalid value`);
  if (value.length > max)
    throw new SapError(
      400,
      '/IWBEP/CM_MGW_RT/022',
      `Property ${name} has invalid value '${value}': more than ${max} characters`,
    );
  return value;
}

export function decimal(body: Entity, name: string): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || !/^-?\d+(\.\d+)?$/.test(value)) {
    throw new SapError(
      400,
      '/IWBEP/CM_MGW_RT/022',
      `Property ${name} has invalid value; Edm.Decimal is sent as a string`,
    );
  }
  return value;
}

export function fieldError(target: string, message: string): SapError {
  return new SapError(400, 'MEPO/000', message, [{ code: 'MEPO/000', message, severity: 'error', target }]);
}

/** OData v2 refuses a property the type does not have, and Gateway one that is not creatable / updatable. */
export function checkProperties(body: Entity, allowed: readonly string[], type: string): void {
  for (const name of Object.keys(body)) {
    if (name === '__metadata' || name.startsWith('to_')) continue;
    if (!allowed.includes(name)) {
      throw new SapError(400, '/IWBEP/CM_MGW_RT/020', `Property '${name}' is invalid or not changeable for ${type}`);
    }
  }
}

export function objectBody(body: unknown): Entity {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new SapError(400, '/IWBEP/CM_MGW_RT/022', 'The request body must be a JSON object');
  }
  return body as Entity;
}

export function single(entity: Entity, status = 200): SandboxResponse {
  const metadata = entity.__metadata as { etag?: string } | undefined;
  return {
    status,
    headers: { 'Content-Type': 'application/json', ...(metadata?.etag ? { ETag: metadata.etag } : {}) },
    body: { d: entity },
  };
}
