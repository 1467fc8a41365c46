/**
 * Master data from ERPNext (employees, suppliers, cost centers, projects, G/L accounts), paged by name.
 */
import { FinanceError } from '../../errors';
import type { MasterDataKind } from '../../model/types';
import type { CallContext, MasterDataPage, MasterDataQuery, MasterRecord } from '../dialect';
import type { ErpnextContext } from './context';
import type { FrappeClient } from './frappe-client';
import type { Doc, Filter } from './shared';

export class ErpnextMasterData {
  readonly #erp: ErpnextContext;
  readonly #api: FrappeClient;

  constructor(erp: ErpnextContext) {
    this.#erp = erp;
    this.#api = erp.api;
  }

  async listMasterData(kind: MasterDataKind, query: MasterDataQuery, ctx: CallContext): Promise<MasterDataPage> {
    const spec = MASTER[kind];
    if (!spec)
      throw new FinanceError(
        'CONFIG_INVALID',
        `ERPNext keeps ${String(kind)} as tax templates without a single rate; sync ${String(kind)} from another source.`,
      );
    const limit = query.limit ?? 100;
    // Paged by name (the key), not by limit_start: a record deleted while the listing runs would shift later
    // rows onto pages already read, and a full sync would remove a record that still exists.
    const after = query.cursor ?? undefined;
    if (after === '')
      throw new FinanceError(
        'CONFIG_INVALID',
        'The paging cursor is not one this dialect handed out; start the sync again.',
      );
    const filters: Filter[] = [
      ...(spec.company ? [['company', '=', this.#erp.company] as Filter] : []),
      ...(spec.filters ?? []),
    ];
    if (query.modifiedSince) filters.push(['modified', '>=', frappeDateTime(query.modifiedSince)]);
    if (after !== undefined) filters.push(['name', '>', after]);
    const rows = await this.#api.list(spec.doctype, { filters, fields: spec.fields, orderBy: 'name asc', limit }, ctx);
    const last = rows.at(-1)?.name;
    if (rows.length === limit && (typeof last !== 'string' || last === ''))
      throw this.#api.unexpected(`the ${spec.doctype} list`, 'a row without name');
    return {
      items: rows.map((row) => spec.map(row, this.#erp.company)),
      nextCursor: rows.length === limit ? String(last) : null,
    };
  }
}

interface MasterSpec {
  doctype: string;
  fields: string[];
  company?: boolean;
  filters?: Filter[];
  map(row: Doc, company: string): MasterRecord;
}

const MASTER: Partial<Record<MasterDataKind, MasterSpec>> = {
  employees: {
    doctype: 'Employee',
    fields: ['name', 'employee_name', 'company_email', 'reports_to', 'status', 'modified'],
    company: true,
    map: (row, company) => ({
      id: String(row.name),
      name: String(row.employee_name),
      modifiedAt: isoDateTime(row.modified),
      company,
      ...(row.company_email ? { email: String(row.company_email) } : {}),
      ...(row.reports_to ? { managerId: String(row.reports_to) } : {}),
      active: row.status === 'Active',
    }),
  },
  suppliers: {
    doctype: 'Supplier',
    fields: ['name', 'supplier_name', 'country', 'default_currency', 'on_hold', 'disabled', 'modified'],
    map: (row) => ({
      id: String(row.name),
      name: String(row.supplier_name),
      modifiedAt: isoDateTime(row.modified),
      country: String(row.country ?? ''),
      ...(row.default_currency ? { currency: String(row.default_currency) } : {}),
      status: row.on_hold || row.disabled ? 'blocked' : 'active',
    }),
  },
  costCenters: {
    doctype: 'Cost Center',
    fields: ['name', 'cost_center_name', 'cost_center_number', 'disabled', 'modified'],
    company: true,
    filters: [['is_group', '=', 0]],
    map: (row, company) => ({
      id: String(row.cost_center_number || row.name),
      name: String(row.cost_center_name),
      modifiedAt: isoDateTime(row.modified),
      company,
      open: !row.disabled,
    }),
  },
  projects: {
    doctype: 'Project',
    fields: ['name', 'project_name', 'status', 'modified'],
    company: true,
    map: (row, company) => ({
      id: String(row.name),
      name: String(row.project_name),
      modifiedAt: isoDateTime(row.modified),
      company,
      status: row.status === 'Open' ? 'open' : 'closed',
    }),
  },
  glAccounts: {
    doctype: 'Account',
    fields: ['name', 'account_name', 'account_number', 'root_type', 'disabled', 'modified'],
    company: true,
    filters: [['is_group', '=', 0]],
    map: (row, company) => ({
      id: String(row.account_number || row.name),
      name: String(row.account_name),
      modifiedAt: isoDateTime(row.modified),
      company,
      type: ROOT_TYPES[String(row.root_type)] ?? 'expense',
      open: !row.disabled,
    }),
  },
};

const ROOT_TYPES: Record<string, 'expense' | 'asset' | 'liability' | 'revenue' | 'equity'> = {
  Expense: 'expense',
  Asset: 'asset',
  Liability: 'liability',
  Income: 'revenue',
  Equity: 'equity',
};

function frappeDateTime(iso: string): string {
  return iso.replace('T', ' ').replace(/Z$|[+-]\d{2}:\d{2}$/, '');
}

function isoDateTime(value: unknown): string {
  const text = String(value ?? '');
  return /^\d{4}-\d{2}-\d{2} /.test(text) ? `${text.slice(0, 19).replace(' ', 'T')}Z` : text;
}
