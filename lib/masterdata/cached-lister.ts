/**
 * The master data cache as a lister, for the nodes that read master data through listMasterData (approval
 * routing: lib/approval/directory-cache.ts; purchase-order validation: lib/purchasing/master-data.ts). A kind
 * the cache holds completely (a full sync has finished) and not out of date (its scheduled syncs keep renewing
 * it) is read from the store; any other kind, or any query the cache cannot answer (modifiedSince), goes to the
 * fallback, normally the ERP. So approvals are not routed to a manager who left, nor purchase orders checked
 * against a supplier's old status, while the sync node fails day after day and the ERP could answer. (When the
 * ERP cannot answer either, the readers' own caches keep serving the last copy they loaded, up to the age they
 * allow: lib/approval/directory-cache.ts maxAgeMs.)
 */
import type { CallContext } from '../erp/dialect';
import type { FinanceStore } from '../reliability/store';
import { MasterDataCache } from './cache';
import type { MasterDataKind, MasterDataLister, MasterDataPage, MasterDataQuery } from './kinds';
import { checkCacheName } from './settings';

const DEFAULT_LIMIT = 500;
const CURSOR_PREFIX = 'cache:';

export function cachedLister(
  cache: MasterDataCache,
  fallback: MasterDataLister,
  now: () => number = Date.now,
): MasterDataLister {
  return {
    async listMasterData(kind: MasterDataKind, query: MasterDataQuery, ctx: CallContext): Promise<MasterDataPage> {
      // A listing stays with the lister that gave its first page: the cache's cursors carry a prefix.
      const cursor = query.cursor ?? null;
      const fromCache =
        cursor === null
          ? query.modifiedSince === undefined && (await cache.readiness(kind, now())) === 'ready'
          : cursor.startsWith(CURSOR_PREFIX);
      if (!fromCache) return fallback.listMasterData(kind, query, ctx);
      // Records are kept in id order; the cursor is the last id of the previous page.
      const limit = query.limit ?? DEFAULT_LIMIT;
      const after = cursor === null ? undefined : cursor.slice(CURSOR_PREFIX.length);
      const items = await cache.page(kind, { ...(after !== undefined && { after }), limit: limit + 1 });
      const more = items.length > limit;
      const page = more ? items.slice(0, limit) : items;
      return { items: page, nextCursor: more ? CURSOR_PREFIX + page[page.length - 1].id : null };
    },
  };
}

/** The "Master data cache" option of the nodes that read master data: empty means the ERP only. */
export function masterDataCacheOption(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? checkCacheName(value, 'Master data cache') : undefined;
}

/** What such a node reads master data through: the named cache (falling back to the ERP), or the ERP. */
export function masterDataListerFor(
  store: FinanceStore,
  cacheName: string | undefined,
  erp: MasterDataLister,
): MasterDataLister {
  return cacheName === undefined ? erp : cachedLister(new MasterDataCache(store, cacheName), erp);
}
