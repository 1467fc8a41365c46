/**
 * SAP master data services of the simulator, read-only, from the sandbox's master data. Documentation only,
 * no EDMX in specs: the entity and property names come from SAP's API documentation and generated client
 * code for these services (see API.md), not from a metadata file this project checks against.
 *
 * - API_BUSINESS_PARTNER / A_Supplier: Supplier, SupplierName, PurchasingIsBlocked, PostingIsBlocked,
 *   DeletionIndicator, CreationDate. A_Supplier is client-wide (no company code) and has no change
 *   timestamp, so a delta reads everything. The sandbox's suppliers of all companies, first one per id.
 * - API_COSTCENTER_SRV / A_CostCenter (with `$expand=to_Text`): ControllingArea, CostCenter, ValidityStartDate,
 *   ValidityEndDate, CompanyCode, IsBlkdForPrimaryCostsPosting ('X' or ''), CostCtrResponsibleUser; the
 *   name in to_Text (CostCenterName). No change timestamp is read either. Time-dependent as in SAP: one row
 *   per validity interval, 2000-01-01 to 9999-12-31 unless a test sets intervals in
 *   `sapStoreOf(state).costCenterIntervals` (e.g. a planned change of owner next year).
 * - API_GLACCOUNTINCHARTOFACCOUNTS_SRV / A_GLAccountInChartOfAccounts (with `$expand=to_Text`):
 *   ChartOfAccounts, GLAccount, GLAccountType, IsBalanceSheetAccount, AccountIsBlockedForPosting,
 *   AccountIsMarkedForDeletion, LastChangeDateTime (the delta: `LastChangeDateTime ge datetimeoffset'...'`);
 *   the name in to_Text (GLAccountName). Chart YCOA holds FS-DEMO's accounts, YCJP FS-JP's [U sandbox].
 * Filters: clauses joined by `and`, each `<property> eq|ne|gt|ge|lt|le <literal>` with a string literal
 * `'...'`, `datetime'2026-01-01T00:00:00'` or `datetimeoffset'...Z'` (dates compared as instants, strings in
 * code unit order). `$orderby=<property> [asc|desc], ...`; without it, the sandbox's order. Paging: `$top` /
 * `$skip`, `$inlinecount=allpages` (d.__count), and `__next` when the server's page limit (500 [U]) cuts a
 * larger `$top`.
 */
import type { MasterRecord } from '../types';
import { ODataSyntaxError, parseResourcePath } from '../odata';
import { COMPANY_CODES, SapError, type Entity, type SapRequest } from './common';
import type { SandboxResponse } from '../types';

export const CHARTS_OF_ACCOUNTS: Readonly<Record<string, string>> = { YCOA: 'FS-DEMO', YCJP: 'FS-JP' };
const SERVER_PAGE_LIMIT = 500;
const FAR_FUTURE = '/Date(253402214400000)/'; // 9999-12-31, SAP's "valid until further notice"

interface Clause {
  property: string;
  operator: 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';
  value: string;
  /** A datetime or datetimeoffset literal, in ms. */
  instant?: number;
}

/**
 * `A eq 'x' and LastChangeDateTime ge datetimeoffset'2026-01-01T00:00:00Z' and CostCenter gt 'CC-100'`: the
 * filters these sets accept. A `datetime'...'` literal without an offset is UTC, as SAP reads Edm.DateTime.
 */
function clausesOf(filter: string | null): Clause[] {
  if (filter === null || filter.trim() === '') return [];
  return filter.split(/\s+and\s+/i).map((clause) => {
    const match = /^\s*(\w+)\s+(eq|ne|gt|ge|lt|le)\s+(datetimeoffset|datetime)?'((?:[^']|'')*)'\s*$/.exec(clause);
    if (!match) throw new ODataSyntaxError(`$filter clause "${clause.trim()}" is not supported here`);
    const value = match[4].replace(/''/g, "'");
    let instant: number | undefined;
    if (match[3] !== undefined) {
      instant = Date.parse(/(Z|[+-]\d\d:\d\d)$/.test(value) ? value : `${value}Z`);
      if (Number.isNaN(instant)) throw new ODataSyntaxError(`"${value}" is not a valid ${match[3]} literal`);
    }
    return {
      property: match[1],
      operator: match[2] as Clause['operator'],
      value,
      ...(instant !== undefined && { instant }),
    };
  });
}

interface Ordering {
  property: string;
  descending: boolean;
}

/** `CostCenter asc, ValidityEndDate desc`. */
function orderingsOf(orderby: string | null): Ordering[] {
  if (orderby === null || orderby.trim() === '') return [];
  return orderby.split(',').map((part) => {
    const match = /^\s*(\w+)(?:\s+(asc|desc))?\s*$/i.exec(part);
    if (!match) throw new ODataSyntaxError(`$orderby "${part.trim()}" is not supported here`);
    return { property: match[1], descending: match[2]?.toLowerCase() === 'desc' };
  });
}

/** An entity value for comparing: /Date(ms)/ as its instant, anything else as a string. */
function comparable(value: unknown): number | string {
  const ms = /^\/Date\((-?\d+)/.exec(String(value));
  return ms !== null ? Number(ms[1]) : String(value ?? '');
}

function compareValues(a: number | string, b: number | string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function odataTime(iso: string): string {
  return `/Date(${Date.parse(iso)}+0000)/`;
}

function odataDate(iso: string): string {
  return `/Date(${Date.parse(iso.slice(0, 10))})/`;
}

function suppliers(request: SapRequest): Entity[] {
  const seen = new Map<string, Entity>();
  for (const company of request.state.companies.values()) {
    for (const record of company.records('suppliers').values()) {
      if (seen.has(record.id)) continue;
      const blocked = (record as { status?: string }).status === 'blocked';
      seen.set(record.id, {
        __metadata: { type: 'API_BUSINESS_PARTNER.A_SupplierType' },
        Supplier: record.id,
        SupplierName: record.name,
        SupplierFullName: record.name,
        PurchasingIsBlocked: blocked,
        PostingIsBlocked: false,
        DeletionIndicator: false,
        CreationDate: odataDate(record.modifiedAt),
      });
    }
  }
  return [...seen.values()];
}

function companyRecords(request: SapRequest, companyId: string | undefined, kind: 'costCenters' | 'glAccounts') {
  const company = companyId === undefined ? undefined : request.state.companies.get(companyId);
  return company ? [...company.records(kind).values()] : [];
}

/** One validity interval of a time-dependent cost center (SAP's A_CostCenter row), for tests. */
export interface CostCenterInterval {
  /** YYYY-MM-DD, both inclusive. */
  from: string;
  to: string;
  /** CostCtrResponsibleUser in this interval; default the sandbox record's owner. */
  ownerId?: string;
  /** IsBlkdForPrimaryCostsPosting in this interval; default: the sandbox record's closed flag. */
  blocked?: boolean;
}

function costCenters(request: SapRequest, clauses: Clause[], store: SapMasterDataStore): Entity[] {
  const code = clauses.find((c) => c.property === 'CompanyCode' && c.operator === 'eq')?.value;
  if (code === undefined)
    throw new SapError(
      400,
      '/IWBEP/CM_MGW_RT/022',
      'Filter on CompanyCode: this simulator keeps cost centers per company code',
    );
  return companyRecords(request, COMPANY_CODES[code], 'costCenters').flatMap((record: MasterRecord) => {
    const open = (record as { open?: boolean }).open !== false;
    const owner = String((record as { ownerId?: string }).ownerId ?? '');
    const intervals = store.costCenterIntervals.get(record.id) ?? [{ from: '2000-01-01', to: '9999-12-31' }];
    return intervals.map((interval) => ({
      __metadata: { type: 'API_COSTCENTER_SRV.A_CostCenterType' },
      ControllingArea: 'A000',
      CostCenter: record.id,
      ValidityStartDate: odataDate(interval.from),
      ValidityEndDate: interval.to === '9999-12-31' ? FAR_FUTURE : odataDate(interval.to),
      CompanyCode: code,
      IsBlkdForPrimaryCostsPosting: (interval.blocked ?? !open) ? 'X' : '',
      CostCtrResponsibleUser: interval.ownerId ?? owner,
      to_Text: {
        results: [
          {
            ControllingArea: 'A000',
            CostCenter: record.id,
            ValidityEndDate: interval.to === '9999-12-31' ? FAR_FUTURE : odataDate(interval.to),
            Language: 'EN',
            CostCenterName: record.name.slice(0, 20),
            CostCenterDescription: record.name.slice(0, 40),
          },
        ],
      },
    }));
  });
}

const GL_TYPES: Readonly<Record<string, string>> = {
  expense: 'P',
  revenue: 'P',
  asset: 'X',
  liability: 'X',
  equity: 'X',
};

function glAccounts(request: SapRequest, clauses: Clause[]): Entity[] {
  const chart = clauses.find((c) => c.property === 'ChartOfAccounts')?.value;
  if (chart === undefined) throw new SapError(400, '/IWBEP/CM_MGW_RT/022', 'Filter on ChartOfAccounts');
  return companyRecords(request, CHARTS_OF_ACCOUNTS[chart], 'glAccounts').map((record: MasterRecord) => {
    const type = String((record as { type?: string }).type ?? 'expense');
    return {
      __metadata: { type: 'API_GLACCOUNTINCHARTOFACCOUNTS_SRV.A_GLAccountInChartOfAccountsType' },
      ChartOfAccounts: chart,
      GLAccount: record.id,
      GLAccountType: GL_TYPES[type] ?? 'P',
      IsBalanceSheetAccount: GL_TYPES[type] === 'X',
      IsProfitLossAccount: GL_TYPES[type] !== 'X',
      AccountIsBlockedForPosting: (record as { open?: boolean }).open === false,
      AccountIsMarkedForDeletion: false,
      LastChangeDateTime: odataTime(record.modifiedAt),
      to_Text: {
        results: [
          {
            ChartOfAccounts: chart,
            GLAccount: record.id,
            Language: 'EN',
            GLAccountName: record.name.slice(0, 20),
            GLAccountLongName: record.name.slice(0, 50),
          },
        ],
      },
    };
  });
}

/** What the master data services keep besides the sandbox's master data. */
export interface SapMasterDataStore {
  /** Validity intervals per cost center id (all company codes); absent: one interval 2000-01-01..9999-12-31. */
  readonly costCenterIntervals: Map<string, CostCenterInterval[]>;
}

type SetReader = (request: SapRequest, clauses: Clause[], store: SapMasterDataStore) => Entity[];

const SETS: Readonly<Record<string, Record<string, SetReader>>> = {
  API_BUSINESS_PARTNER: { A_Supplier: (request) => suppliers(request) },
  API_COSTCENTER_SRV: { A_CostCenter: costCenters },
  API_GLACCOUNTINCHARTOFACCOUNTS_SRV: { A_GLAccountInChartOfAccounts: glAccounts },
};

function matches(entity: Entity, clause: Clause): boolean {
  const actual = comparable(entity[clause.property]);
  // A date property (/Date(ms)/) against an instant: a datetime literal, or (as before) a plain ISO string.
  const wanted = typeof actual === 'number' ? (clause.instant ?? Date.parse(clause.value)) : clause.value;
  if (typeof actual === 'number' && Number.isNaN(wanted)) return false;
  const order = compareValues(actual, wanted);
  switch (clause.operator) {
    case 'eq':
      return order === 0;
    case 'ne':
      return order !== 0;
    case 'gt':
      return order > 0;
    case 'ge':
      return order >= 0;
    case 'lt':
      return order < 0;
    case 'le':
      return order <= 0;
  }
}

/** GET of a master data set: filtered, ordered by `$orderby`, paged; `$expand=to_Text` keeps the texts inline. */
export function readMasterData(request: SapRequest, store: SapMasterDataStore): SandboxResponse {
  const [first] = parseResourcePath(request.segments);
  if (!first) return { status: 200, body: { d: { EntitySets: Object.keys(SETS[request.service] ?? {}) } } };
  const list = SETS[request.service]?.[first.name];
  if (!list || first.keys !== undefined) {
    throw new SapError(404, '/IWBEP/CM_MGW_RT/021', `Resource not found for segment '${request.segments.join('/')}'`);
  }
  const clauses = clausesOf(request.query.get('$filter'));
  const orderings = orderingsOf(request.query.get('$orderby'));
  const expand = (request.query.get('$expand') ?? '').split(',').map((part) => part.trim());
  const all = list(request, clauses, store)
    .filter((entity) => clauses.every((clause) => matches(entity, clause)))
    .sort((a, b) => {
      for (const { property, descending } of orderings) {
        const order = compareValues(comparable(a[property]), comparable(b[property]));
        if (order !== 0) return descending ? -order : order;
      }
      return 0;
    })
    .map((entity) =>
      expand.includes('to_Text')
        ? entity
        : Object.fromEntries(Object.entries(entity).filter(([name]) => name !== 'to_Text')),
    );
  const skip = Number(request.query.get('$skip') ?? '0');
  const asked = Number(request.query.get('$top') ?? String(SERVER_PAGE_LIMIT));
  if (!Number.isInteger(skip) || skip < 0 || !Number.isInteger(asked) || asked < 0) {
    throw new SapError(400, '/IWBEP/CM_MGW_RT/022', '$skip and $top are whole numbers');
  }
  const top = Math.min(asked, SERVER_PAGE_LIMIT);
  const page = all.slice(skip, skip + top);
  const cut = asked > top && skip + top < all.length;
  const next = new URLSearchParams(request.query);
  next.set('$skip', String(skip + top));
  next.set('$top', String(asked - top));
  return {
    status: 200,
    headers: { 'Content-Type': 'application/json' },
    body: {
      d: {
        ...(request.query.get('$inlinecount') === 'allpages' ? { __count: String(all.length) } : {}),
        results: page,
        ...(cut ? { __next: `${request.serviceRoot}/${first.name}?${next.toString()}` } : {}),
      },
    },
  };
}
