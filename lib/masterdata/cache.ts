/**
 * The master data cache in the finance store (kv): one namespace per cache name and kind holding the records by
 * id, and one holding the sync state of each kind (its high-water mark and when it was last synced in full).
 * finance-master-data fills it; enrichment, approval routing and purchase-order validation read it.
 *
 *   finance-master-data/<cache>/<kind>   id -> record (as the owner sent it)
 *   finance-master-data/<cache>          state/<kind> -> KindSyncState
 */
import type { FinanceStore } from '../reliability/store';
import type { MasterDataKind, MasterRecord } from './kinds';

export interface KindSyncState {
  /** The newest modifiedAt seen from the owner (ISO); the next delta asks from here minus the overlap. */
  highWater?: string;
  /** When the last complete full sync finished (ISO): until then the cache of this kind is not complete. */
  fullSyncAt?: string;
  /** When the last sync of any mode finished (ISO). */
  syncedAt?: string;
  /**
   * After this time (ISO) the copy is out of date: the scheduled syncs that should have renewed it failed or
   * stopped. Set by every sync of a node with a schedule (masterDataSettings: freshForMs); absent for a cache
   * that is synced only on demand, which its flow keeps as fresh as it chooses.
   */
  freshUntil?: string;
}

/** Whether readers may rely on the cache for a kind: complete and, where a schedule promises renewal, renewed. */
export type CacheReadiness = 'ready' | 'incomplete' | 'outdated';

const PAGE = 500;

export class MasterDataCache {
  readonly name: string;
  readonly #store: FinanceStore;

  constructor(store: FinanceStore, name: string) {
    this.#store = store;
    this.name = name;
  }

  /** The lease name a scheduled sync of this cache claims (claimLease), so one host of several runs it. */
  get leaseName(): string {
    return `finance-master-data/${this.name}`;
  }

  async get(kind: MasterDataKind, id: string): Promise<MasterRecord | undefined> {
    return (await this.#store.kvGet(this.#records(kind), id)) as MasterRecord | undefined;
  }

  async put(kind: MasterDataKind, record: MasterRecord): Promise<void> {
    await this.#store.kvPut(this.#records(kind), record.id, record);
  }

  async remove(kind: MasterDataKind, id: string): Promise<boolean> {
    return this.#store.kvDelete(this.#records(kind), id);
  }

  /** Up to `limit` records of a kind in id order, after the id `after`. */
  async page(kind: MasterDataKind, options: { after?: string; limit?: number } = {}): Promise<MasterRecord[]> {
    const entries = await this.#store.kvList(this.#records(kind), {
      ...(options.after !== undefined && { after: options.after }),
      limit: options.limit ?? PAGE,
    });
    return entries.map((entry) => entry.value as MasterRecord);
  }

  /** Every record of a kind, read page by page. */
  async *all(kind: MasterDataKind): AsyncGenerator<MasterRecord> {
    let after: string | undefined;
    for (;;) {
      const page = await this.page(kind, { ...(after !== undefined && { after }), limit: PAGE });
      yield* page;
      if (page.length < PAGE) return;
      after = page[page.length - 1].id;
    }
  }

  async state(kind: MasterDataKind): Promise<KindSyncState> {
    return ((await this.#store.kvGet(this.#states(), `state/${kind}`)) as KindSyncState | undefined) ?? {};
  }

  async saveState(kind: MasterDataKind, state: KindSyncState): Promise<void> {
    await this.#store.kvPut(this.#states(), `state/${kind}`, state);
  }

  /**
   * `ready` when a full sync of the kind has completed and its copy is not out of date at `nowMs`; `incomplete`
   * before the first full sync; `outdated` once the copy's freshUntil has passed without a sync renewing it.
   */
  async readiness(kind: MasterDataKind, nowMs: number = Date.now()): Promise<CacheReadiness> {
    const state = await this.state(kind);
    if (state.fullSyncAt === undefined) return 'incomplete';
    if (state.freshUntil !== undefined && !(nowMs < Date.parse(state.freshUntil))) return 'outdated';
    return 'ready';
  }

  #records(kind: MasterDataKind): string {
    return `finance-master-data/${this.name}/${kind}`;
  }

  #states(): string {
    return `finance-master-data/${this.name}`;
  }
}
