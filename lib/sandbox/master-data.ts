/**
 * Master data: paged listing ordered by (modifiedAt, id) with an opaque cursor and `modifiedSince` for delta
 * syncs, single records, and PATCH so demos and tests can change a record in the middle of a sync.
 */
import type { MasterDataKind } from '../model/types';
import type { CompanyState } from './company-state';
import { SandboxProblem, notFound } from './problem';
import type { SandboxState } from './state';
import { MASTER_DATA_KINDS, type MasterRecord, type SandboxResponse } from './types';
import {
  FieldErrors,
  bodyObject,
  readBoolean,
  readCurrency,
  readEnum,
  readMoney,
  readString,
  rejectUnknownKeys,
  type JsonObject,
} from './validate';

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 500;

export function isMasterDataKind(kind: string): kind is MasterDataKind {
  return (MASTER_DATA_KINDS as readonly string[]).includes(kind);
}

interface Position {
  modifiedMs: number;
  id: string;
}

function positionOf(record: MasterRecord): Position {
  return { modifiedMs: Date.parse(record.modifiedAt), id: record.id };
}

function isAfter(a: Position, b: Position): boolean {
  return a.modifiedMs > b.modifiedMs || (a.modifiedMs === b.modifiedMs && a.id > b.id);
}

function encodeCursor(position: Position): string {
  return Buffer.from(JSON.stringify([position.modifiedMs, position.id])).toString('base64url');
}

function decodeCursor(cursor: string): Position {
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (Array.isArray(value) && typeof value[0] === 'number' && typeof value[1] === 'string') {
      return { modifiedMs: value[0], id: value[1] };
    }
  } catch {
    // Falls through to the problem below: any cursor we did not hand out is refused the same way.
  }
  throw new SandboxProblem(
    400,
    'INVALID_CURSOR',
    'The cursor is not one this sandbox handed out; pass nextCursor from the previous page unchanged.',
  );
}

function readLimit(value: string | null): number {
  if (value === null) return DEFAULT_LIMIT;
  const limit = /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  if (!(limit >= 1 && limit <= MAX_LIMIT)) {
    throw new SandboxProblem(
      400,
      'INVALID_QUERY',
      `limit must be a whole number from 1 to ${MAX_LIMIT}, not "${value}".`,
    );
  }
  return limit;
}

function readModifiedSince(value: string | null): number | undefined {
  if (value === null) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(value) ? Date.parse(value) : NaN;
  if (Number.isNaN(ms)) {
    throw new SandboxProblem(
      400,
      'INVALID_QUERY',
      `modifiedSince must be an ISO date-time such as 2025-03-01T00:00:00Z, not "${value}".`,
    );
  }
  return ms;
}

/**
 * One page of records. `modifiedSince` is inclusive, so a client may pass the newest modifiedAt it has seen
 * and lose nothing changed in the same millisecond (it sees that record once more).
 */
export function listMasterData(company: CompanyState, kind: MasterDataKind, query: URLSearchParams): SandboxResponse {
  const limit = readLimit(query.get('limit'));
  const sinceMs = readModifiedSince(query.get('modifiedSince'));
  const cursorValue = query.get('cursor');
  const after = cursorValue === null ? undefined : decodeCursor(cursorValue);
  const candidates: Array<{ record: MasterRecord; position: Position }> = [];
  for (const record of company.records(kind).values()) {
    const position = positionOf(record);
    if (sinceMs !== undefined && position.modifiedMs < sinceMs) continue;
    if (after !== undefined && !isAfter(position, after)) continue;
    candidates.push({ record, position });
  }
  candidates.sort((a, b) => (isAfter(a.position, b.position) ? 1 : isAfter(b.position, a.position) ? -1 : 0));
  const page = candidates.slice(0, limit);
  const nextCursor = candidates.length > limit ? encodeCursor(page[page.length - 1].position) : null;
  return { status: 200, body: { items: page.map((entry) => entry.record), nextCursor } };
}

export function getMasterRecord(company: CompanyState, kind: MasterDataKind, id: string): SandboxResponse {
  const record = company.records(kind).get(id);
  if (!record) throw notFound(`${kind} record "${id}" in ${company.company.id}`);
  return { status: 200, body: record };
}

/** Deletes a master record (a control route: ERPs rarely allow it, but a full sync must notice it). */
export function removeMasterRecord(company: CompanyState, kind: MasterDataKind, id: string): SandboxResponse {
  if (!company.records(kind).delete(id)) throw notFound(`${kind} record "${id}" in ${company.company.id}`);
  return { status: 200, body: { removed: { kind, id } } };
}

type FieldReader = (body: JsonObject, key: string, errors: FieldErrors, company: CompanyState) => unknown;

const text: FieldReader = (body, key, errors) => readString(body, key, '', errors, { maxLength: 200 });
const flag: FieldReader = (body, key, errors) => readBoolean(body, key, '', errors);
const oneOf =
  (allowed: readonly string[]): FieldReader =>
  (body, key, errors) =>
    readEnum(body, key, '', errors, allowed);
const country: FieldReader = (body, key, errors) => {
  const value = body[key];
  if (typeof value === 'string' && /^[A-Z]{2}$/.test(value)) return value;
  errors.add(`/${key}`, 'must be an ISO 3166-1 alpha-2 country code such as DE');
  return undefined;
};
const rate: FieldReader = (body, key, errors) => {
  const value = body[key];
  if (typeof value === 'string' && /^\d{1,2}\.\d{2}$/.test(value)) return value;
  errors.add(`/${key}`, 'must be a percentage string with two decimals such as "19.00"');
  return undefined;
};
const codes: FieldReader = (body, key, errors) => {
  const value = body[key];
  if (Array.isArray(value) && value.every((code) => typeof code === 'string' && code.length > 0)) return value;
  errors.add(`/${key}`, 'must be a list of tax code ids');
  return undefined;
};
const companyMoney: FieldReader = (body, key, errors, company) => {
  const value = readMoney(body[key], `/${key}`, errors);
  if (value && value.currency !== company.company.currency) {
    errors.add(`/${key}/currency`, `must be the company currency ${company.company.currency}`);
    return undefined;
  }
  return value;
};

/** The fields a PATCH may change, per kind; id, company and modifiedAt are the sandbox's. */
const PATCHABLE: Record<MasterDataKind, Record<string, FieldReader>> = {
  employees: { name: text, email: text, managerId: text, costCenter: text, approvalLimit: companyMoney, active: flag },
  suppliers: {
    name: text,
    country,
    currency: (body, key, errors) => readCurrency(body, key, '', errors),
    status: oneOf(['active', 'blocked']),
    taxCodes: codes,
  },
  costCenters: { name: text, ownerId: text, open: flag },
  projects: { name: text, status: oneOf(['open', 'closed', 'on_hold']), ownerId: text },
  glAccounts: { name: text, type: oneOf(['expense', 'asset', 'liability', 'revenue', 'equity']), open: flag },
  taxCodes: { name: text, country, rate },
};

export function patchMasterRecord(
  state: SandboxState,
  company: CompanyState,
  kind: MasterDataKind,
  id: string,
  rawBody: unknown,
): SandboxResponse {
  const records = company.records(kind);
  const current = records.get(id);
  if (!current) throw notFound(`${kind} record "${id}" in ${company.company.id}`);
  const body = bodyObject(rawBody);
  const fields = PATCHABLE[kind];
  const errors = new FieldErrors();
  rejectUnknownKeys(body, Object.keys(fields), '', errors, `${kind} may change ${Object.keys(fields).join(', ')}`);
  const changes: Record<string, unknown> = {};
  for (const key of Object.keys(body)) {
    const read = Object.hasOwn(fields, key) ? fields[key] : undefined;
    if (!read) continue;
    const value = read(body, key, errors, company);
    if (value !== undefined) changes[key] = value;
  }
  errors.throwIfAny(400);
  const changed = { ...current, ...changes, modifiedAt: company.nextModifiedAt(state.now()) } as MasterRecord;
  records.set(id, changed);
  state.counters.writes += 1;
  return { status: 200, body: changed };
}
