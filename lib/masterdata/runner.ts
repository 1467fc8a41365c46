/**
 * Runs syncs of several kinds, each from its own owner, one sync at a time per cache in this process; a
 * scheduled sync first claims the cache's lease in the store, so of several hosts sharing a store only the
 * holder syncs (the others read the cache it fills, and take over when its lease lapses).
 */
import { randomUUID } from 'node:crypto';
import { FinanceError } from '../errors';
import type { FinanceStore } from '../reliability/store';
import type { MasterDataCache } from './cache';
import type { MasterDataChange } from './changes';
import { isNotPublished } from './fallback-lister';
import type { MasterDataKind, MasterDataLister } from './kinds';
import { syncKind, type KindSyncResult, type SyncMode } from './sync';

export interface KindOwner {
  kind: MasterDataKind;
  /** 'erp', 'source' or 'erp-or-source': for the summary and the status. */
  owner: string;
  lister: () => Promise<MasterDataLister>;
}

export interface SyncRunnerOptions {
  store: FinanceStore;
  cache: MasterDataCache;
  owners: KindOwner[];
  pageSize: number;
  overlapMs: number;
  maxPages: number;
  fullAfterMs?: number;
  /** How long each synced kind counts as fresh (SyncKindOptions.freshForMs). */
  freshForMs?: number;
  now?: () => Date;
  onChange: (change: MasterDataChange) => void | Promise<void>;
}

export interface SyncSummary {
  mode: SyncMode;
  correlationId: string;
  startedAt: string;
  finishedAt: string;
  kinds: KindSyncResult[];
  /** Kinds whose sync failed; the others completed. */
  failures: Array<{ kind: MasterDataKind; code: string; message: string }>;
  /**
   * Kinds the owner does not publish (SAP: employees, projects, tax codes; its listMasterData says so with
   * details.notPublished): not synced, not a failure. The kind is left to the ERP at the write.
   */
  notPublished?: Array<{ kind: MasterDataKind; message: string }>;
}

export class SyncRunner {
  readonly #options: SyncRunnerOptions;
  readonly #now: () => Date;
  #running: Promise<unknown> = Promise.resolve();

  constructor(options: SyncRunnerOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => new Date());
  }

  /** Syncs the given kinds (default: all configured), after any sync already running. */
  run(mode: SyncMode, kinds?: MasterDataKind[]): Promise<SyncSummary> {
    const next = this.#running.then(() => this.#sync(mode, kinds));
    this.#running = next.catch(() => undefined);
    return next;
  }

  /**
   * The scheduled sync: runs only when `holder` holds (or now claims) the cache's lease; `undefined` when
   * another holder has it. `ttlMs` must outlast the interval between ticks, so the holder renews it in time.
   */
  async runIfHolder(holder: string, ttlMs: number, mode: SyncMode): Promise<SyncSummary | undefined> {
    if (!(await this.#options.store.claimLease(this.#options.cache.leaseName, holder, ttlMs))) return undefined;
    return this.run(mode);
  }

  async #sync(mode: SyncMode, kinds: MasterDataKind[] | undefined): Promise<SyncSummary> {
    const owners = kinds ? this.#options.owners.filter((owner) => kinds.includes(owner.kind)) : this.#options.owners;
    const correlationId = randomUUID();
    const summary: SyncSummary = {
      mode,
      correlationId,
      startedAt: this.#now().toISOString(),
      finishedAt: '',
      kinds: [],
      failures: [],
    };
    for (const owner of owners) {
      try {
        summary.kinds.push(
          await syncKind({
            lister: await owner.lister(),
            cache: this.#options.cache,
            kind: owner.kind,
            mode,
            ctx: { correlationId },
            pageSize: this.#options.pageSize,
            overlapMs: this.#options.overlapMs,
            maxPages: this.#options.maxPages,
            ...(this.#options.fullAfterMs !== undefined && { fullAfterMs: this.#options.fullAfterMs }),
            ...(this.#options.freshForMs !== undefined && { freshForMs: this.#options.freshForMs }),
            now: this.#now,
            onChange: this.#options.onChange,
          }),
        );
      } catch (err) {
        if (isNotPublished(err)) {
          (summary.notPublished ??= []).push({ kind: owner.kind, message: err.message });
          continue;
        }
        const error = err instanceof FinanceError ? err : undefined;
        summary.failures.push({
          kind: owner.kind,
          code: error?.code ?? 'ERP_UNAVAILABLE',
          message: err instanceof Error ? err.message : String(err),
        });
        // A store that fails will fail every kind; the caller reports it once.
        if (error?.code === 'STORE_UNAVAILABLE') throw err;
      }
    }
    summary.finishedAt = this.#now().toISOString();
    return summary;
  }
}
