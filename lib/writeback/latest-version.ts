/**
 * Keeps write-backs of a versioned document in version order: once version N has been written back, an older
 * version's write-back (a retry that was parked while N went through, a late duplicate) is not sent, so the
 * source ends with the latest version's outcome. Used for purchase orders, where a later version supersedes an
 * earlier one: an "ordered" of version 1 retried after the "cancelled" of version 2 must not undo it.
 *
 * The last version written per document and target is kept in the store (kv namespace `writeback-versions`);
 * the write-backs of one document run one at a time (KeyedQueue), so the check and the record cannot interleave.
 */
import { KeyedQueue } from '../purchasing/keyed-queue';
import type { FinanceStore } from '../reliability/store';

export const WRITEBACK_VERSIONS_NAMESPACE = 'writeback-versions';

export class LatestVersionGuard {
  readonly #store: Pick<FinanceStore, 'kvGet' | 'kvPut'>;
  readonly #queue = new KeyedQueue();

  constructor(store: Pick<FinanceStore, 'kvGet' | 'kvPut'>) {
    this.#store = store;
  }

  /**
   * Runs `task` unless a newer version of the document was written back already (then answers 'superseded'
   * without running it); records `version` once `task` resolved with `written` true.
   */
  run<T>(key: string, version: number, task: () => Promise<{ value: T; written: boolean }>): Promise<T | 'superseded'> {
    return this.#queue.run(key, async () => {
      const last = await this.#store.kvGet(WRITEBACK_VERSIONS_NAMESPACE, key);
      if (typeof last === 'number' && last > version) return 'superseded';
      const { value, written } = await task();
      if (written && (typeof last !== 'number' || version > last)) {
        await this.#store.kvPut(WRITEBACK_VERSIONS_NAMESPACE, key, version);
      }
      return value;
    });
  }
}
