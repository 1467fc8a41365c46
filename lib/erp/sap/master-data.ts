/**
 * SAP S/4HANA master data for validation and the master data cache, from SAP's own OData v2 services.
 * Documentation only, no EDMX in specs: these services are not in ../shared/specs; their entity and property
 * names come from SAP's API documentation (api.sap.com) and published generated clients [D/3P], and the
 * sandbox simulator (lib/sandbox/sap/master-data.ts) follows the same reading. Check them against your
 * system's $metadata before relying on them.
 *
 * - suppliers: API_BUSINESS_PARTNER A_Supplier (communication scenario SAP_COM_0008). No change timestamp on
 *   A_Supplier, so `modifiedSince` is not sent and every sync reads all; modifiedAt is CreationDate. A_Supplier
 *   has no country (it is on the business partner's address): `country` stays empty, and tax codes (which
 *   SAP does not publish here either) are not checked against it.
 * - costCenters: API_COSTCENTER_SRV A_CostCenter with to_Text (SAP_COM_0179), filtered by company code and to
 *   the rows valid today. A_CostCenter is time-dependent (key ControllingArea, CostCenter, ValidityEndDate): a
 *   cost center comes as one row per validity interval, and only today's row says who owns it and whether it is
 *   blocked now (a planned row for next year must not replace it). A cost center without a row valid today is
 *   not listed (not postable today; a full sync removes it from the cache). open: not blocked for primary
 *   postings. A_CostCenter has no change timestamp: modifiedAt is the start of today's interval, so the next
 *   interval replaces it when it starts, and an edit within the interval is a change with the same modifiedAt.
 * - glAccounts: API_GLACCOUNTINCHARTOFACCOUNTS_SRV A_GLAccountInChartOfAccounts with to_Text (SAP_COM_0087),
 *   filtered by chart of accounts; delta by LastChangeDateTime.
 * - employees, projects, taxCodes: not read from SAP. Projects (WBS elements) and tax codes are checked by SAP
 *   when the purchase order is written, and an unknown one is refused there (ERP_REJECTED with SAP's
 *   message); employees for approval routing come from the HR system. listMasterData refuses these kinds
 *   with CONFIG_INVALID and details.notPublished, which readers take as "left to the ERP at the write".
 * Paging: by key, not by `$skip`: `$orderby=<key> asc` and, after the first page, `<key> gt '<last key read>'`
 * (Supplier; CostCenter within the company code's controlling area and today's rows; GLAccount within the
 * chart of accounts); the cursor is the last key read. Offset paging would shift rows onto pages already read
 * when a record is deleted during the listing, and a full sync would then remove a live record from the cache.
 */
import { FinanceError } from '../../errors';
import { localDate } from '../../model/calendar';
import type { MasterDataKind } from '../../model/types';
import type { CallContext, MasterDataPage, MasterDataQuery, MasterRecord } from '../dialect';
import { isRecord } from '../records';
import { odataString, type SapService } from './service';

export const SAP_MASTER_DATA_SERVICES = {
  suppliers: 'API_BUSINESS_PARTNER',
  costCenters: 'API_COSTCENTER_SRV',
  glAccounts: 'API_GLACCOUNTINCHARTOFACCOUNTS_SRV',
} as const;

type PublishedKind = keyof typeof SAP_MASTER_DATA_SERVICES;

const DEFAULT_PAGE = 500;

export interface SapMasterDataConfig {
  system: string;
  companyCode: string;
  chartOfAccounts: string;
  services: Readonly<Record<PublishedKind, SapService>>;
  now?: () => Date;
  /** An IANA zone to read today in instead of this host's (for tests, as in model/calendar.ts). */
  zone?: string;
}

/** "/Date(1767225600000)/" or "/Date(1767225600000+0000)/" -> ISO date-time; undefined when not a date. */
function isoOf(value: unknown): string | undefined {
  const match = typeof value === 'string' ? /^\/Date\((-?\d+)/.exec(value) : null;
  return match ? new Date(Number(match[1])).toISOString() : undefined;
}

function textOf(entity: Record<string, unknown>, field: string): string | undefined {
  const texts = isRecord(entity.to_Text) && Array.isArray(entity.to_Text.results) ? entity.to_Text.results : [];
  const english = texts.filter(isRecord).find((text) => text.Language === 'EN') ?? texts.find(isRecord);
  return english && typeof english[field] === 'string' ? (english[field] as string) : undefined;
}

const EPOCH = new Date(0).toISOString();

export function isPublishedKind(kind: MasterDataKind): kind is PublishedKind {
  return Object.prototype.hasOwnProperty.call(SAP_MASTER_DATA_SERVICES, kind);
}

export async function listSapMasterData(
  config: SapMasterDataConfig,
  kind: MasterDataKind,
  query: MasterDataQuery,
  ctx: CallContext,
): Promise<MasterDataPage> {
  if (!isPublishedKind(kind)) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `ERP "${config.system}" (SAP S/4HANA): ${kind} are not read from SAP; ${
        kind === 'employees'
          ? 'approval routing needs them from another source (the HR system)'
          : 'SAP checks them itself when the purchase order is written'
      }.`,
      { details: { kind, notPublished: true } },
    );
  }
  const service = config.services[kind];
  const top = query.limit ?? DEFAULT_PAGE;
  let after: string | undefined;
  if (query.cursor) {
    if (!query.cursor.startsWith(CURSOR_PREFIX) || query.cursor.length === CURSOR_PREFIX.length) {
      throw new FinanceError('CONFIG_INVALID', `"${String(query.cursor)}" is not a cursor of the SAP dialect.`);
    }
    after = query.cursor.slice(CURSOR_PREFIX.length);
  }
  const now = (config.now ?? (() => new Date()))();
  // Today on this host's calendar, as every posting and budget date is (model/calendar.ts): a cost center that
  // closes at the turn of the year is closed from local midnight, not from UTC's.
  const today = localDate(now, config.zone);
  const { set, filter, key } = requestOf(config, kind, query, today);
  const { data } = await service.read(
    {
      path: `${service.path}/${set}`,
      query: {
        $filter:
          [filter, after === undefined ? undefined : `${key} gt ${odataString(after)}`]
            .filter((clause) => clause !== undefined)
            .join(' and ') || undefined,
        $orderby: `${key} asc`,
        $top: top,
        ...(kind === 'suppliers' ? {} : { $expand: 'to_Text' }),
      },
    },
    ctx,
  );
  const { results, next } = service.results(data, `the ${kind} list`);
  const last = results.at(-1)?.[key];
  // A page cut by the server's page limit says so with __next; a full page may have more behind it.
  const more = results.length > 0 && (next !== null || results.length >= top);
  if (more && (typeof last !== 'string' || last === '')) {
    // Without the key of the last row the next page cannot be asked for (a repeated cursor stops the reader).
    throw new FinanceError(
      'ERP_UNAVAILABLE',
      `ERP "${config.system}" (SAP S/4HANA) answered the ${kind} list without ${key} on its rows; ` +
        'the listing cannot be paged. Check the service against its $metadata.',
      { retryable: false, details: { kind, key } },
    );
  }
  const rows = kind === 'costCenters' ? validToday(results, today) : results;
  return {
    items: rows.map((entity) => recordOf(kind, entity, config)),
    nextCursor: more ? `${CURSOR_PREFIX}${String(last)}` : null,
  };
}

const CURSOR_PREFIX = 'key:';

/** The OData v2 literal of a date (Edm.DateTime with display format Date: midnight UTC). */
function odataDate(day: string): string {
  return `datetime'${day}T00:00:00'`;
}

/**
 * The rows valid today, one per cost center: the filter asks SAP for them already; a server that ignored it
 * (or overlapping intervals) must not let a planned or expired row stand for the cost center.
 */
function validToday(rows: Record<string, unknown>[], today: string): Record<string, unknown>[] {
  const byCenter = new Map<string, Record<string, unknown>>();
  for (const row of rows) {
    const from = isoOf(row.ValidityStartDate)?.slice(0, 10) ?? '0000-01-01';
    const to = isoOf(row.ValidityEndDate)?.slice(0, 10) ?? '9999-12-31';
    if (!(from <= today && today <= to)) continue;
    const id = String(row.CostCenter ?? '');
    const kept = byCenter.get(id);
    if (kept === undefined || (isoOf(kept.ValidityStartDate) ?? '') < (isoOf(row.ValidityStartDate) ?? '')) {
      byCenter.set(id, row);
    }
  }
  return [...byCenter.values()];
}

function requestOf(
  config: SapMasterDataConfig,
  kind: PublishedKind,
  query: MasterDataQuery,
  today: string,
): { set: string; filter: string | undefined; key: string } {
  switch (kind) {
    case 'suppliers':
      return { set: 'A_Supplier', filter: undefined, key: 'Supplier' };
    case 'costCenters':
      return {
        set: 'A_CostCenter',
        // A company code belongs to one controlling area, so CostCenter is unique among today's rows.
        filter:
          `CompanyCode eq ${odataString(config.companyCode)} and ValidityStartDate le ${odataDate(today)} and ` +
          `ValidityEndDate ge ${odataDate(today)}`,
        key: 'CostCenter',
      };
    case 'glAccounts': {
      const since = query.modifiedSince ? ` and LastChangeDateTime ge datetimeoffset'${query.modifiedSince}'` : '';
      return {
        set: 'A_GLAccountInChartOfAccounts',
        filter: `ChartOfAccounts eq ${odataString(config.chartOfAccounts)}${since}`,
        key: 'GLAccount',
      };
    }
  }
}

function recordOf(kind: PublishedKind, entity: Record<string, unknown>, config: SapMasterDataConfig): MasterRecord {
  switch (kind) {
    case 'suppliers':
      return {
        id: String(entity.Supplier ?? ''),
        name: String(entity.SupplierName ?? entity.SupplierFullName ?? ''),
        modifiedAt: isoOf(entity.CreationDate) ?? EPOCH,
        country: '',
        status: entity.PurchasingIsBlocked === true || entity.DeletionIndicator === true ? 'blocked' : 'active',
      };
    case 'costCenters':
      // Only today's row (validToday): valid today, so open unless blocked.
      return {
        id: String(entity.CostCenter ?? ''),
        // The description (40) where there is one; the name has 20 characters.
        name:
          textOf(entity, 'CostCenterDescription') ||
          textOf(entity, 'CostCenterName') ||
          String(entity.CostCenter ?? ''),
        modifiedAt: isoOf(entity.ValidityStartDate) ?? EPOCH,
        company: config.companyCode,
        open: entity.IsBlkdForPrimaryCostsPosting !== 'X',
        ...(typeof entity.CostCtrResponsibleUser === 'string' && entity.CostCtrResponsibleUser !== ''
          ? { ownerId: entity.CostCtrResponsibleUser }
          : {}),
      };
    case 'glAccounts':
      return {
        id: String(entity.GLAccount ?? ''),
        name: textOf(entity, 'GLAccountLongName') || textOf(entity, 'GLAccountName') || String(entity.GLAccount ?? ''),
        modifiedAt: isoOf(entity.LastChangeDateTime) ?? EPOCH,
        // X: balance sheet account (asset, liability or equity: SAP does not say which here); P, N, S: costs.
        type: entity.GLAccountType === 'X' || entity.IsBalanceSheetAccount === true ? 'asset' : 'expense',
        open: entity.AccountIsBlockedForPosting !== true && entity.AccountIsMarkedForDeletion !== true,
      };
  }
}
