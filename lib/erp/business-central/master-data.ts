/**
 * Master data from Business Central API v2.0: vendors, employees, accounts, cost centers (dimension values of
 * the cost center dimension) and projects, paged by @odata.nextLink.
 */
import { FinanceError } from '../../errors';
import type { MasterDataKind } from '../../model/types';
import type { ErpRequest } from '../client';
import type { CallContext, MasterDataPage, MasterDataQuery, MasterRecord } from '../dialect';
import { isRecord } from '../records';
import type { Entity } from './odata';
import { asEntities, quote } from './odata';
import type { BcContext } from './context';

export async function listMasterData(
  bc: BcContext,
  kind: MasterDataKind,
  query: MasterDataQuery,
  ctx: CallContext,
): Promise<MasterDataPage> {
  let request: ErpRequest;
  if (query.cursor) {
    request = { method: 'GET', ...bc.pathOfLink(query.cursor) };
  } else {
    const { set, filter } = await masterSet(bc, kind, ctx);
    const filters = [filter, query.modifiedSince ? `lastModifiedDateTime ge ${query.modifiedSince}` : undefined].filter(
      Boolean,
    );
    request = {
      method: 'GET',
      path: `${await bc.standardPath()}/${set}`,
      query: filters.length > 0 ? { $filter: filters.join(' and ') } : undefined,
    };
  }
  if (query.limit !== undefined) request.headers = { Prefer: `odata.maxpagesize=${query.limit}` };
  const { data } = await bc.call(request, ctx);
  if (!isRecord(data) || !Array.isArray(data.value)) throw bc.unexpected(`the ${kind} page`, 'no value list');
  const next = data['@odata.nextLink'];
  return {
    items: asEntities(data.value).map((entity) => masterRecord(bc, kind, entity)),
    nextCursor: typeof next === 'string' ? next : null,
  };
}

async function masterSet(
  bc: BcContext,
  kind: MasterDataKind,
  ctx: CallContext,
): Promise<{ set: string; filter?: string }> {
  switch (kind) {
    case 'employees':
      return { set: 'employees' };
    case 'suppliers':
      return { set: 'vendors' };
    case 'glAccounts':
      return { set: 'accounts' };
    case 'projects':
      return { set: 'projects' };
    case 'costCenters': {
      const dimensions = await bc.all(
        `${await bc.standardPath()}/dimensions`,
        { $filter: `code eq ${quote(bc.costCenterDimension)}` },
        ctx,
      );
      if (!dimensions[0])
        throw new FinanceError(
          'CONFIG_INVALID',
          `ERP "${bc.system}" has no dimension ${bc.costCenterDimension} for cost centers.`,
        );
      return { set: 'dimensionValues', filter: `dimensionId eq ${String(dimensions[0].id)}` };
    }
    default:
      throw new FinanceError(
        'CONFIG_INVALID',
        `Business Central API v2.0 has no ${String(kind)} with rates (tax rates live in VAT posting setup, which the API does not publish); sync ${String(kind)} from another source.`,
      );
  }
}

function masterRecord(bc: BcContext, kind: MasterDataKind, entity: Entity): MasterRecord {
  const base = {
    id: String(entity.number ?? entity.code),
    name: String(entity.displayName ?? ''),
    modifiedAt: String(entity.lastModifiedDateTime),
    company: bc.company,
  };
  switch (kind) {
    case 'employees':
      return {
        ...base,
        email: typeof entity.email === 'string' && entity.email ? entity.email : undefined,
        active: entity.status === 'Active',
      };
    case 'suppliers':
      return {
        ...base,
        country: String(entity.country ?? ''),
        ...(entity.currencyCode ? { currency: String(entity.currencyCode) } : {}),
        status: entity.blocked === 'All' || entity.blocked === 'Payment' ? 'blocked' : 'active',
      };
    case 'glAccounts':
      return { ...base, type: ACCOUNT_TYPES[String(entity.category)] ?? 'expense', open: entity.blocked !== true };
    case 'projects':
      return { ...base, status: 'open' };
    default:
      return { ...base, open: true };
  }
}

const ACCOUNT_TYPES: Record<string, 'expense' | 'asset' | 'liability' | 'revenue' | 'equity'> = {
  Expense: 'expense',
  Cost_x0020_of_x0020_Goods_x0020_Sold: 'expense',
  Assets: 'asset',
  Liabilities: 'liability',
  Income: 'revenue',
  Equity: 'equity',
};
