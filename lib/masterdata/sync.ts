/**
 * One sync of master data from its owner into the cache: full (every record; records the owner no longer lists
 * are removed) or delta (`modifiedSince`), page by page, emitting one change per created, updated or removed
 * record.
 *
 * Nothing changed during a sync is lost:
 * - an owner that pages by (modifiedAt, id) cursor, like the sandbox, lists a record changed after its page was
 *   read again behind the cursor, in the same sync;
 * - an owner that pages some other way may have listed the record before the change: the next delta asks from
 *   the high-water mark (the newest modifiedAt seen) minus an overlap, so a change up to `overlapMs` older than
 *   the newest record seen is read again. Re-read records that did not change emit nothing (changes.ts).
 * A delta of a kind that has never completed a full sync runs as a full sync, so the cache is complete.
 *
 * Nothing is removed that the owner still has: a full sync removes a cached record only when a second listing,
 * asked only when the first one missed records, misses it too. An owner that pages by offset (or by anything
 * but a stable key) moves rows onto pages already read when a record is deleted during the listing; the first
 * listing then misses a live record, the second one finds it. The dialects page by key; this is the second line.
 */
import type { CallContext } from '../erp/dialect';
import { FinanceError } from '../errors';
import type { KindSyncState, MasterDataCache } from './cache';
import { compareRecords, type MasterDataChange } from './changes';
import type { MasterDataKind, MasterDataLister, MasterRecord } from './kinds';

export type SyncMode = 'full' | 'delta';

export interface SyncKindOptions {
  lister: MasterDataLister;
  cache: MasterDataCache;
  kind: MasterDataKind;
  mode: SyncMode;
  ctx: CallContext;
  /** Records per page asked of the owner. */
  pageSize: number;
  /** How far before the high-water mark a delta starts reading (ms). */
  overlapMs: number;
  /** Stops an owner whose cursors never end. */
  maxPages: number;
  /** A delta runs as full when the last full sync of the kind is older than this (ms), to find removed records. */
  fullAfterMs?: number;
  /**
   * How long the copy counts as fresh after this sync (ms): a node with a schedule promises the next sync within
   * it (masterDataSettings). Undefined for a cache synced only on demand: never out of date.
   */
  freshForMs?: number;
  now: () => Date;
  /** Called for each change before the cache holds it; a rejection stops the sync (the change is found again). */
  onChange: (change: MasterDataChange) => void | Promise<void>;
}

export interface KindSyncResult {
  kind: MasterDataKind;
  /** What ran: a delta without a completed full sync before it runs as full. */
  mode: SyncMode;
  modifiedSince?: string;
  pages: number;
  read: number;
  created: number;
  updated: number;
  removed: number;
  unchanged: number;
  /** Records older than the cached copy (not applied). */
  stale: number;
  /**
   * Records a full sync's first listing missed but its confirming listing found (so not removed); absent when
   * the confirming listing was not needed or found none.
   */
  relisted?: number;
  /** Records without an id or a valid modifiedAt: not cached, listed in `invalid` (the first ten). */
  skipped: number;
  invalid: Array<{ id?: unknown; reason: string }>;
  highWater?: string;
}

export async function syncKind(options: SyncKindOptions): Promise<KindSyncResult> {
  const { cache, kind } = options;
  const state = await cache.state(kind);
  const mode: SyncMode = options.mode === 'delta' && deltaPossible(state, options) ? 'delta' : 'full';
  const modifiedSince =
    mode === 'delta' ? new Date(Date.parse(state.highWater as string) - options.overlapMs).toISOString() : undefined;
  const result: KindSyncResult = {
    kind,
    mode,
    ...(modifiedSince !== undefined && { modifiedSince }),
    pages: 0,
    read: 0,
    created: 0,
    updated: 0,
    removed: 0,
    unchanged: 0,
    stale: 0,
    skipped: 0,
    invalid: [],
  };
  let highWaterMs = state.highWater === undefined ? undefined : Date.parse(state.highWater);
  const seen = new Set<string>();

  for await (const page of pages(options, modifiedSince)) {
    result.pages += 1;
    for (const item of page) {
      result.read += 1;
      const problem = invalidRecord(item);
      if (problem !== undefined) {
        // Listed, so not gone: a full sync must not remove the cached copy of a record it could not read.
        const id = (item as { id?: unknown } | null)?.id;
        if (typeof id === 'string' && id !== '') seen.add(id);
        result.skipped += 1;
        if (result.invalid.length < 10) result.invalid.push({ id: (item as { id?: unknown })?.id, reason: problem });
        continue;
      }
      seen.add(item.id);
      const modifiedMs = Date.parse(item.modifiedAt);
      if (highWaterMs === undefined || modifiedMs > highWaterMs) highWaterMs = modifiedMs;
      const before = await cache.get(kind, item.id);
      const verdict = compareRecords(before, item);
      if (verdict === undefined) {
        result.unchanged += 1;
        continue;
      }
      if (verdict === 'stale') {
        result.stale += 1;
        continue;
      }
      // The change is delivered before the cache holds it: if delivery (e.g. the MQTT publish) fails, the sync
      // stops and the next one finds the same change again. At least once, never lost.
      await options.onChange({ kind, id: item.id, change: verdict, ...(before && { before }), after: item });
      await cache.put(kind, item);
      result[verdict] += 1;
    }
  }

  if (mode === 'full') {
    // Only a complete listing proves a record is gone; a delta cannot tell.
    let gone: MasterRecord[] = [];
    for await (const record of cache.all(kind)) if (!seen.has(record.id)) gone.push(record);
    if (seen.size === 0 && gone.length > 0) {
      // An owner that suddenly lists nothing (a wrong company or filter, lost permissions, an error answered as
      // an empty page) must not empty the cache that routing and validation rely on.
      throw new FinanceError(
        'ERP_REJECTED',
        `The owner listed no ${kind} (${result.read} read, ${result.skipped} without an id) while the cache holds ` +
          `${gone.length}; nothing was removed. Check the owner's ${kind} and the connection's company and ` +
          'permissions; records removed in the owner leave the cache with the next full sync that lists any.',
        { details: { kind, cached: gone.length } },
      );
    }
    if (gone.length > 0) {
      // Confirm before removing: a record the listing missed because rows moved between its pages (a deletion
      // in the owner during the listing) is listed again now. Only ids are read; changes wait for the next sync.
      const listed = new Set<string>();
      for await (const page of pages(options, undefined)) {
        result.pages += 1;
        for (const item of page) {
          const id = (item as { id?: unknown } | null)?.id;
          if (typeof id === 'string' && id !== '') listed.add(id);
        }
      }
      const kept = gone.filter((record) => listed.has(record.id)).length;
      if (kept > 0) {
        result.relisted = kept;
        gone = gone.filter((record) => !listed.has(record.id));
      }
    }
    for (const record of gone) {
      await options.onChange({ kind, id: record.id, change: 'removed', before: record });
      await cache.remove(kind, record.id);
      result.removed += 1;
    }
  }

  const finished = options.now();
  const finishedAt = finished.toISOString();
  if (highWaterMs !== undefined) result.highWater = new Date(highWaterMs).toISOString();
  // A promise of freshness is the last sync's: a node whose schedule was removed no longer promises one.
  const lasting: KindSyncState = { ...state };
  delete lasting.freshUntil;
  await cache.saveState(kind, {
    ...lasting,
    ...(result.highWater !== undefined && { highWater: result.highWater }),
    ...(mode === 'full' && { fullSyncAt: finishedAt }),
    syncedAt: finishedAt,
    ...(options.freshForMs !== undefined && {
      freshUntil: new Date(finished.getTime() + options.freshForMs).toISOString(),
    }),
  });
  return result;
}

function deltaPossible(state: KindSyncState, options: SyncKindOptions): boolean {
  if (state.highWater === undefined || state.fullSyncAt === undefined) return false;
  if (options.fullAfterMs === undefined) return true;
  return options.now().getTime() - Date.parse(state.fullSyncAt) < options.fullAfterMs;
}

async function* pages(options: SyncKindOptions, modifiedSince: string | undefined): AsyncGenerator<MasterRecord[]> {
  const seenCursors = new Set<string>();
  let cursor: string | null = null;
  for (let page = 0; page < options.maxPages; page += 1) {
    const result = await options.lister.listMasterData(
      options.kind,
      { cursor, limit: options.pageSize, ...(modifiedSince !== undefined && { modifiedSince }) },
      options.ctx,
    );
    yield result.items;
    if (result.nextCursor === null) return;
    if (seenCursors.has(result.nextCursor)) break;
    seenCursors.add(result.nextCursor);
    cursor = result.nextCursor;
  }
  throw new FinanceError(
    'ERP_REJECTED',
    `The owner of the ${options.kind} kept returning more pages (a repeated cursor or over ${options.maxPages} ` +
      'pages); check its master data endpoint, or raise the page size.',
    { details: { kind: options.kind } },
  );
}

function invalidRecord(item: unknown): string | undefined {
  if (item === null || typeof item !== 'object' || Array.isArray(item)) return 'not an object';
  const record = item as { id?: unknown; modifiedAt?: unknown };
  if (typeof record.id !== 'string' || record.id === '') return 'no id';
  if (typeof record.modifiedAt !== 'string' || Number.isNaN(Date.parse(record.modifiedAt))) {
    return 'no valid modifiedAt';
  }
  return undefined;
}
