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
 * - costCenters: API_COSTCENTER_SRV A_CostCenter with to_Text (SAP_COM_0179), filtered by company code; open
 *   while valid today and not blocked for primary postings. No change timestamp is read: full reads.
 * - glAccounts: API_GLACCOUNTINCHARTOFACCOUNTS_SRV A_GLAccountInChartOfAccounts with to_Text (SAP_COM_0087),
 *   filtered by chart of accounts; delta by LastChangeDateTime.
 * - employees, projects, taxCodes: not read from SAP. Projects (WBS elements) and tax codes are checked by SAP
 *   when the purchase order is written, and an unknown one is refused there (ERP_REJECTED with SAP's
 *   message); employees for approval routing come from the HR system. listMasterData refuses these kinds
 *   with CONFIG_INVALID and details.notPublished, which readers take as "left to the ERP at the write".
 * Paging: `$top` / `$skip` with `$inlinecount=allpages`; the cursor is the next `$skip`.
 */
import { FinanceError } from '../../errors';
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
  const skip = query.cursor ? Number(query.cursor) : 0;
  if (!Number.isInteger(skip) || skip < 0) {
    throw new FinanceError('CONFIG_INVALID', `"${String(query.cursor)}" is not a cursor of the SAP dialect.`);
  }
  const { set, filter } = requestOf(config, kind, query);
  const { data } = await service.read(
    {
      path: `${service.path}/${set}`,
      query: {
        $filter: filter,
        $top: top,
        $skip: skip,
        $inlinecount: 'allpages',
        ...(kind === 'suppliers' ? {} : { $expand: 'to_Text' }),
      },
    },
    ctx,
  );
  const { results, next } = service.results(data, `the ${kind} list`);
  const count = isRecord(data) && isRecord(data.d) ? Number(data.d.__count) : Number.NaN;
  const read = skip + results.length;
  const more = Number.isFinite(count) ? read < count : next !== null || results.length === top;
  const today = (config.now ?? (() => new Date()))().toISOString().slice(0, 10);
  return {
    items: results.map((entity) => recordOf(kind, entity, config, today)),
    nextCursor: more && results.length > 0 ? String(read) : null,
  };
}

function requestOf(
  config: SapMasterDataConfig,
  kind: PublishedKind,
  query: MasterDataQuery,
): { set: string; filter: string | undefined } {
  switch (kind) {
    case 'suppliers':
      return { set: 'A_Supplier', filter: undefined };
    case 'costCenters':
      return { set: 'A_CostCenter', filter: `CompanyCode eq ${odataString(config.companyCode)}` };
    case 'glAccounts': {
      const since = query.modifiedSince ? ` and LastChangeDateTime ge datetimeoffset'${query.modifiedSince}'` : '';
      return {
        set: 'A_GLAccountInChartOfAccounts',
        filter: `ChartOfAccounts eq ${odataString(config.chartOfAccounts)}${since}`,
      };
    }
  }
}

function recordOf(
  kind: PublishedKind,
  entity: Record<string, unknown>,
  config: SapMasterDataConfig,
  today: string,
): MasterRecord {
  switch (kind) {
    case 'suppliers':
      return {
        id: String(entity.Supplier ?? ''),
        name: String(entity.SupplierName ?? entity.SupplierFullName ?? ''),
        modifiedAt: isoOf(entity.CreationDate) ?? EPOCH,
        country: '',
        status: entity.PurchasingIsBlocked === true || entity.DeletionIndicator === true ? 'blocked' : 'active',
      };
    case 'costCenters': {
      const validTo = isoOf(entity.ValidityEndDate)?.slice(0, 10) ?? '9999-12-31';
      const validFrom = isoOf(entity.ValidityStartDate)?.slice(0, 10) ?? '0000-01-01';
      return {
        id: String(entity.CostCenter ?? ''),
        // The description (40) where there is one; the name has 20 characters.
        name:
          textOf(entity, 'CostCenterDescription') ||
          textOf(entity, 'CostCenterName') ||
          String(entity.CostCenter ?? ''),
        modifiedAt: isoOf(entity.ValidityStartDate) ?? EPOCH,
        company: config.companyCode,
        open: validFrom <= today && today <= validTo && entity.IsBlkdForPrimaryCostsPosting !== 'X',
        ...(typeof entity.CostCtrResponsibleUser === 'string' && entity.CostCtrResponsibleUser !== ''
          ? { ownerId: entity.CostCtrResponsibleUser }
          : {}),
      };
    }
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
