/**
 * SLA timers kept in the durable store's key-value space, so an approval's due time outlives a restart.
 *
 * The store lists keys in order but cannot query by value, so each timer is written twice in one namespace:
 *   `at:<dueAt, 15 digits>:<id>` -> { id, dueAt, data }   (sorted by due time: `due` reads from the front)
 *   `id:<id>`                    -> dueAt                  (which `at:` entry is current)
 * The two writes are not one transaction. The `id:` entry is the truth: an `at:` entry it does not point to
 * is left over from a move interrupted by a crash, and `due` removes it instead of firing it.
 */
import type { FinanceStore } from '../reliability/store';
import type { DueTimer, TimerRepository } from './timers';

/** The part of the store timers need. */
export type TimerStore = Pick<FinanceStore, 'kvPut' | 'kvGet' | 'kvDelete' | 'kvList'>;

interface StoredTimer<T> {
  id: string;
  dueAt: number;
  data: T;
}

/** Epoch milliseconds stay below 10^15 for the next 30,000 years, so 15 digits keep the keys in time order. */
const DUE_DIGITS = 15;

export class StoreTimerRepository<T> implements TimerRepository<T> {
  constructor(
    private readonly store: TimerStore,
    private readonly namespace: string,
  ) {}

  async put(id: string, dueAt: number, data: T): Promise<void> {
    if (!Number.isSafeInteger(dueAt) || dueAt < 0) {
      throw new RangeError(`A timer's due time must be epoch milliseconds, not ${String(dueAt)}.`);
    }
    const previous = await this.currentDueAt(id);
    // New entry first, then the pointer, then the old entry: a crash at any step leaves the timer findable.
    await this.store.kvPut(this.namespace, dueKey(dueAt, id), { id, dueAt, data } satisfies StoredTimer<T>);
    await this.store.kvPut(this.namespace, idKey(id), dueAt);
    if (previous !== undefined && previous !== dueAt) await this.store.kvDelete(this.namespace, dueKey(previous, id));
  }

  async delete(id: string): Promise<void> {
    const previous = await this.currentDueAt(id);
    await this.store.kvDelete(this.namespace, idKey(id));
    if (previous !== undefined) await this.store.kvDelete(this.namespace, dueKey(previous, id));
  }

  async due(now: number, limit: number): Promise<DueTimer<T>[]> {
    const entries = await this.store.kvList(this.namespace, { prefix: 'at:', limit });
    const due: DueTimer<T>[] = [];
    for (const entry of entries) {
      const timer = entry.value as StoredTimer<T>;
      if (timer.dueAt > now) break;
      if ((await this.currentDueAt(timer.id)) === timer.dueAt) {
        due.push({ id: timer.id, dueAt: timer.dueAt, data: timer.data });
      } else {
        await this.store.kvDelete(this.namespace, entry.key);
      }
    }
    return due;
  }

  private async currentDueAt(id: string): Promise<number | undefined> {
    const value = await this.store.kvGet(this.namespace, idKey(id));
    return typeof value === 'number' ? value : undefined;
  }
}

function dueKey(dueAt: number, id: string): string {
  return `at:${String(dueAt).padStart(DUE_DIGITS, '0')}:${id}`;
}

function idKey(id: string): string {
  return `id:${id}`;
}
