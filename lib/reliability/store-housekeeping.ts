/**
 * Removes from the store what it keeps only for a while (FinanceStore.purgeExpired): finished inbox entries
 * past *Remember duplicates for*, kv values past their lifetime (retry schedules, approval timers, heartbeats,
 * caches) and leases that ran out. Reads treat such records as gone already; without this they would stay on
 * disk for ever, and an LMDB file keeps every page it grew to resident, so the store of a small host would grow
 * by each event it ever took. The idempotency ledger of ERP writes is kept (OpenStoreOptions.ledgerRetentionMs);
 * the retry scheduler's done claims go after a week (retry-scheduler.ts DONE_CLAIM_RETENTION_MS).
 *
 * The first purge runs a few minutes after start (not during the recovery that follows a restart), then one
 * every interval, one at a time. On a store several hosts share, only the holder of the lease
 * `finance-store/purge` purges (SingleRunner): one host's purge covers all of them.
 */
import type { FinanceStore, PurgeResult } from './store';
import { SingleRunner, runnerTtlMs } from './single-runner';

export const PURGE_EVERY_MS = 60 * 60_000;
export const FIRST_PURGE_AFTER_MS = 5 * 60_000;
export const PURGE_LEASE = 'finance-store/purge';

export interface StoreHousekeepingOptions {
  store: Pick<FinanceStore, 'purgeExpired' | 'claimLease' | 'sharedAcrossHosts'>;
  everyMs?: number;
  firstAfterMs?: number;
  /** Told what a purge removed (only when it removed something). */
  onPurged?: (result: PurgeResult) => void;
  /** A purge failed (the store is down): the next one comes at the next interval. */
  onError?: (err: unknown) => void;
  /** The lease holder's name on a shared store (default: this host and process). */
  holder?: string;
}

export class StoreHousekeeping {
  readonly #options: StoreHousekeepingOptions;
  readonly #runner: SingleRunner | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: StoreHousekeepingOptions) {
    this.#options = options;
    this.#runner = options.store.sharedAcrossHosts
      ? new SingleRunner({
          store: () => options.store,
          name: PURGE_LEASE,
          holder: options.holder,
          ttlMs: runnerTtlMs(options.everyMs ?? PURGE_EVERY_MS),
          onError: options.onError,
        })
      : undefined;
  }

  start(): void {
    this.#schedule(this.#options.firstAfterMs ?? FIRST_PURGE_AFTER_MS);
  }

  /** One purge now, unless another host holds the lease: what it removed, or undefined when it did not run. */
  async purgeNow(): Promise<PurgeResult | undefined> {
    if (this.#runner && !(await this.#runner.mayRun())) return undefined;
    const result = await this.#options.store.purgeExpired();
    if (Object.values(result).some((count) => count > 0)) this.#options.onPurged?.(result);
    return result;
  }

  /** No purge starts after this; resolves once a purge under way has finished (the store may close then). */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#running = this.purgeNow()
        .then(
          () => undefined,
          (err: unknown) => this.#options.onError?.(err),
        )
        .finally(() => {
          this.#running = undefined;
          this.#schedule(this.#options.everyMs ?? PURGE_EVERY_MS);
        });
    }, delayMs);
    // Housekeeping never keeps Node-RED from exiting.
    this.#timer.unref();
  }
}
