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
}

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

  /** True once a full sync of the kind has completed, i.e. the cache holds every record of it. */
  async isComplete(kind: MasterDataKind): Promise<boolean> {
    return (await this.state(kind)).fullSyncAt !== undefined;
  }

  #records(kind: MasterDataKind): string {
    return `finance-master-data/${this.name}/${kind}`;
  }

  #states(): string {
    return `finance-master-data/${this.name}`;
  }
}
