/** The six kinds of master data and the one call every owner of master data answers (DESIGN 9: listMasterData). */
import type { ErpDialect } from '../erp/dialect';
import type { MasterDataKind } from '../model/types';

export type { MasterDataKind };
export type { MasterDataPage, MasterDataQuery, MasterRecord } from '../erp/dialect';

export const MASTER_DATA_KINDS: readonly MasterDataKind[] = [
  'employees',
  'suppliers',
  'costCenters',
  'projects',
  'glAccounts',
  'taxCodes',
];

/** Whatever lists master data page by page: an ERP dialect, a source's API (source-lister.ts), the cache. */
export type MasterDataLister = Pick<ErpDialect, 'listMasterData'>;

export function isMasterDataKind(value: unknown): value is MasterDataKind {
  return typeof value === 'string' && (MASTER_DATA_KINDS as readonly string[]).includes(value);
}
