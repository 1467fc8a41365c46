/**
 * The dead-letter queue (DESIGN 7): failed messages kept with their reason until a person replays or purges
 * them, in the durable store's key-value space (namespace `dlq`), so they survive restarts.
 *
 * Each queue (one per finance-dead-letter node) owns the keys under `<queue>/` in that namespace:
 *   `<queue>/L/<id>`          the letter (ids sort by time, so this is the queue in arrival order)
 *   `<queue>/N/<natural key>` -> id: the same Catch message delivered twice makes one letter
 *
 * Changes go through one at a time (a promise chain), which keeps the per-status counts exact without a
 * counter in the store: the counts are taken by one scan when first needed and then kept in step. Every store
 * write is committed to disk before the call resolves.
 */
import { FinanceError } from '../errors';
import { isLetterId, LetterIds, timeKey } from './dead-letter-ids';
import { matchesFilter, DEFAULT_LIST_LIMIT, type LetterSelection, type ListQuery } from './dead-letter-filter';
import {
  readFailedMessage,
  DEAD_LETTER_STATUSES,
  type DeadLetter,
  type DeadLetterStatus,
  type FailedMessage,
} from './dead-letter-record';
import { inboxKey, type FinanceStore } from './store';

export type { DeadLetter, DeadLetterError, DeadLetterStatus, ReplayMark } from './dead-letter-record';
export type { DeadLetterFilter, LetterSelection, ListQuery } from './dead-letter-filter';

export const DLQ_NAMESPACE = 'dlq';
/** The inbox outcome of an event whose message became a dead letter: recovery does not emit it again. */
export const DEAD_LETTERED = 'dead-lettered';

export type DeadLetterStore = Pick<FinanceStore, 'kvPut' | 'kvGet' | 'kvDelete' | 'kvList' | 'finish'>;

export interface DeadLettersOptions {
  store: DeadLetterStore;
  /** Names this queue inside the store (the node id); letters of other queues are never seen. */
  queue: string;
  /** The clock (ms since the epoch); tests inject their own. */
  now?: () => number;
}

/** `added`: a new letter; `reopened`: a replayed letter failed again; `duplicate`: this failure is stored already. */
export interface AddResult {
  status: 'added' | 'reopened' | 'duplicate';
  letter: DeadLetter;
}

export interface LetterPage {
  letters: DeadLetter[];
  /** Present when there may be more: pass it as `cursor` for the next page. */
  nextCursor?: string;
}

export interface RetentionLimits {
  maxAgeDays: number;
  maxEntries: number;
}

export interface RetentionResult {
  /** Replayed and purged letters removed. */
  removed: number;
  /** Open letters, all kept. */
  open: number;
}

export interface PurgeResult {
  purged: number;
  ids: string[];
}

interface StoredLetter {
  letter: DeadLetter;
  /** The natural keys that point at this letter, removed with it. */
  naturalKeys: string[];
}

type Counts = Record<DeadLetterStatus, number>;

/** Letters read per store call while scanning. */
const PAGE_SIZE = 500;
/** A filtered list reads at most this many letters per page, so a rare filter cannot hold a request for long. */
const MAX_SCANNED_PER_PAGE = 5000;
/** Writes issued together: LMDB commits them in one transaction and one disk sync. */
const WRITE_BATCH = 200;
const DAY_MS = 24 * 60 * 60 * 1000;

export class DeadLetters {
  readonly #store: DeadLetterStore;
  readonly #prefix: string;
  readonly #now: () => number;
  readonly #ids: LetterIds;
  #changes: Promise<unknown> = Promise.resolve();
  #counts: Promise<Counts> | undefined;

  constructor(options: DeadLettersOptions) {
    if (typeof options.queue !== 'string' || !/^[\w.-]{1,100}$/.test(options.queue)) {
      throw new FinanceError(
        'CONFIG_INVALID',
        'A dead-letter queue needs a name of letters, digits, "_", "-" or "." (the node id).',
      );
    }
    this.#store = options.store;
    this.#prefix = `${options.queue}/`;
    this.#now = options.now ?? Date.now;
    this.#ids = new LetterIds(this.#now);
  }

  /**
   * Stores a failed message (from a Catch node, or with a FinanceError in msg.error) and finishes its event
   * in the inbox as `dead-lettered`. A replayed message that fails again reopens its letter.
   */
  async add(msg: unknown): Promise<AddResult> {
    const failed = readFailedMessage(msg);
    return this.#change(async (counts) => {
      if (failed.naturalKey !== undefined) {
        const knownId = await this.#store.kvGet(DLQ_NAMESPACE, this.#naturalKey(failed.naturalKey));
        const known = typeof knownId === 'string' ? await this.#read(knownId) : undefined;
        if (known) return { status: 'duplicate', letter: known.letter };
      }
      const replayed = failed.replay ? await this.#read(failed.replay.deadLetterId) : undefined;
      if (replayed && replayed.letter.status !== 'purged') {
        return { status: 'reopened', letter: await this.#reopen(replayed, failed, counts) };
      }
      const letter = await this.#create(failed, counts);
      if (failed.source !== undefined && failed.eventId !== undefined) {
        await this.#store.finish(inboxKey(failed.source, failed.eventId), {
          status: DEAD_LETTERED,
          detail: { deadLetterId: letter.id, code: letter.error.code },
        });
      }
      return { status: 'added', letter };
    });
  }

  /** One page of letters, oldest first. A filtered page may hold fewer than `limit`: follow `nextCursor`. */
  async list(query: ListQuery = {}): Promise<LetterPage> {
    const limit = query.limit ?? DEFAULT_LIST_LIMIT;
    if (query.cursor !== undefined && !isLetterId(query.cursor)) {
      throw new FinanceError('SCHEMA_INVALID', 'cursor must be the nextCursor of a previous page of this queue.');
    }
    const letters: DeadLetter[] = [];
    let scanned = 0;
    let lastId: string | undefined;
    for await (const stored of this.#scan(this.#startAfter(query))) {
      scanned += 1;
      lastId = stored.letter.id;
      if (matchesFilter(stored.letter, query)) letters.push(stored.letter);
      if (letters.length >= limit || scanned >= MAX_SCANNED_PER_PAGE) return { letters, nextCursor: lastId };
    }
    return { letters };
  }

  async get(id: string): Promise<DeadLetter | undefined> {
    return (await this.#read(id))?.letter;
  }

  /**
   * Records that a letter is being replayed (before its message is sent, so a failure of the replay finds it
   * marked). Undefined for an unknown or purged letter, which is not replayed, and for one whose status is no
   * longer one of `statuses` (what the replay was selected from: another command replayed it meanwhile).
   */
  markReplayed(
    id: string,
    statuses: readonly DeadLetterStatus[] = ['open', 'replayed'],
  ): Promise<DeadLetter | undefined> {
    return this.#change(async (counts) => {
      const stored = await this.#read(id);
      if (!stored || stored.letter.status === 'purged' || !statuses.includes(stored.letter.status)) return undefined;
      const letter: DeadLetter = {
        ...stored.letter,
        status: 'replayed',
        replayedAt: this.#isoNow(),
        replayCount: stored.letter.replayCount + 1,
      };
      await this.#write({ ...stored, letter }, counts, stored.letter.status);
      return letter;
    });
  }

  /**
   * The ids a selection names, oldest first, among the letters in `statuses` (a filter's own status, if it
   * has one, narrows them further). Unknown ids are left out.
   */
  async select(selection: LetterSelection, statuses: readonly DeadLetterStatus[]): Promise<string[]> {
    const ids: string[] = [];
    if ('ids' in selection) {
      for (const id of selection.ids) {
        const letter = await this.get(id);
        if (letter && statuses.includes(letter.status)) ids.push(id);
      }
      return ids;
    }
    for await (const { letter } of this.#scan(this.#startAfter(selection.filter))) {
      if (statuses.includes(letter.status) && matchesFilter(letter, selection.filter)) ids.push(letter.id);
    }
    return ids;
  }

  /**
   * Purges open and replayed letters: each keeps its facts (id, times, error code and message, document)
   * with status `purged`, and loses the message and the ERP's body, so it can no longer be replayed.
   * Retention removes it later.
   */
  async purge(selection: LetterSelection): Promise<PurgeResult> {
    const ids = await this.select(selection, ['open', 'replayed']);
    return this.#change(async (counts) => {
      const purged: string[] = [];
      await inBatches(ids, async (id) => {
        const stored = await this.#read(id);
        if (!stored || stored.letter.status === 'purged') return;
        const letter: DeadLetter = {
          ...stored.letter,
          error: { ...stored.letter.error },
          status: 'purged',
          purgedAt: this.#isoNow(),
        };
        delete letter.original;
        delete letter.error.erpBody;
        await this.#write({ ...stored, letter }, counts, stored.letter.status);
        purged.push(id);
      });
      purged.sort();
      return { purged: purged.length, ids: purged };
    });
  }

  /**
   * Removes replayed and purged letters older than `maxAgeDays`, then the oldest of them beyond `maxEntries`.
   * Open letters are never removed: each holds an accepted event nobody has resolved yet, often its only copy
   * (its inbox entry is finished as dead-lettered), so removing it would lose the expense or the order. They
   * leave when a person replays or purges them; the node warns while there are more than `maxEntries`.
   */
  async enforceRetention(limits: RetentionLimits): Promise<RetentionResult> {
    if (!(limits.maxAgeDays > 0) || !Number.isInteger(limits.maxEntries) || limits.maxEntries < 0) {
      throw new FinanceError(
        'CONFIG_INVALID',
        'Retention needs a positive maximum age and a maximum number of letters.',
      );
    }
    return this.#change(async (counts) => {
      const cutoff = this.#now() - limits.maxAgeDays * DAY_MS;
      const result: RetentionResult = { removed: 0, open: counts.open };
      let settled = counts.replayed + counts.purged;
      let batch: StoredLetter[] = [];
      // Oldest first; the first page is one letter, as the oldest is often young enough and nothing is due.
      for await (const stored of this.#scan(undefined, 1)) {
        if (settled === 0) break;
        if (stored.letter.status === 'open') continue;
        if (Date.parse(stored.letter.createdAt) >= cutoff && settled <= limits.maxEntries) break;
        batch.push(stored);
        settled -= 1;
        result.removed += 1;
        if (batch.length >= WRITE_BATCH) {
          await inBatches(batch, (old) => this.#remove(old, counts));
          batch = [];
        }
      }
      await inBatches(batch, (old) => this.#remove(old, counts));
      return result;
    });
  }

  /** Letters in a status, or all letters. */
  async count(options: { status?: DeadLetterStatus } = {}): Promise<number> {
    const counts = await this.#countsReady();
    return options.status === undefined ? total(counts) : counts[options.status];
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  /** Runs one change after the previous ones have finished, with the counts it must keep in step. */
  #change<T>(work: (counts: Counts) => Promise<T>): Promise<T> {
    const result = this.#changes.then(async () => work(await this.#countsReady()));
    this.#changes = result.catch(() => undefined);
    return result;
  }

  #countsReady(): Promise<Counts> {
    if (!this.#counts) {
      this.#counts = (async () => {
        const counts: Counts = { open: 0, replayed: 0, purged: 0 };
        for await (const { letter } of this.#scan(undefined)) counts[letter.status] += 1;
        return counts;
      })();
      // A failed scan (store closed) is tried again by the next caller.
      this.#counts.catch(() => {
        this.#counts = undefined;
      });
    }
    return this.#counts;
  }

  async #create(failed: FailedMessage, counts: Counts): Promise<DeadLetter> {
    const now = this.#isoNow();
    const letter: DeadLetter = {
      id: this.#ids.next(),
      createdAt: now,
      lastFailedAt: now,
      attempts: failed.attempt,
      ...definedOnly({
        correlationId: failed.correlationId,
        source: failed.source,
        docType: failed.docType,
        docId: failed.docId,
      }),
      error: failed.error,
      original: failed.original,
      status: 'open',
      replayCount: 0,
    };
    const naturalKeys = failed.naturalKey === undefined ? [] : [failed.naturalKey];
    await this.#write({ letter, naturalKeys }, counts, undefined, failed.naturalKey);
    return letter;
  }

  async #reopen(stored: StoredLetter, failed: FailedMessage, counts: Counts): Promise<DeadLetter> {
    const letter: DeadLetter = {
      ...stored.letter,
      status: 'open',
      lastFailedAt: this.#isoNow(),
      attempts: stored.letter.attempts + failed.attempt,
      error: failed.error,
    };
    const naturalKeys =
      failed.naturalKey === undefined ? stored.naturalKeys : [...stored.naturalKeys, failed.naturalKey];
    await this.#write({ letter, naturalKeys }, counts, stored.letter.status, failed.naturalKey);
    return letter;
  }

  /**
   * Writes a letter, then the natural key of the failure it now records: a crash in between leaves a letter
   * that a second delivery of the same failure may duplicate, never a natural key without its letter.
   */
  async #write(
    stored: StoredLetter,
    counts: Counts,
    previousStatus: DeadLetterStatus | undefined,
    newNaturalKey?: string,
  ): Promise<void> {
    await this.#store.kvPut(DLQ_NAMESPACE, this.#letterKey(stored.letter.id), stored);
    if (previousStatus !== undefined) counts[previousStatus] -= 1;
    counts[stored.letter.status] += 1;
    if (newNaturalKey !== undefined) {
      await this.#store.kvPut(DLQ_NAMESPACE, this.#naturalKey(newNaturalKey), stored.letter.id);
    }
  }

  async #remove(stored: StoredLetter, counts: Counts): Promise<void> {
    for (const key of stored.naturalKeys) await this.#store.kvDelete(DLQ_NAMESPACE, this.#naturalKey(key));
    await this.#store.kvDelete(DLQ_NAMESPACE, this.#letterKey(stored.letter.id));
    counts[stored.letter.status] -= 1;
  }

  async #read(id: string): Promise<StoredLetter | undefined> {
    if (!isLetterId(id)) return undefined;
    return (await this.#store.kvGet(DLQ_NAMESPACE, this.#letterKey(id))) as StoredLetter | undefined;
  }

  /** Every letter after the given store key, oldest first, read page by page. */
  async *#scan(afterKey: string | undefined, firstPageSize = PAGE_SIZE): AsyncGenerator<StoredLetter> {
    const prefix = `${this.#prefix}L/`;
    let after = afterKey;
    let limit = firstPageSize;
    for (;;) {
      const page = await this.#store.kvList(DLQ_NAMESPACE, { prefix, after, limit });
      for (const entry of page) yield entry.value as StoredLetter;
      if (page.length < limit) return;
      after = page[page.length - 1].key;
      limit = PAGE_SIZE;
    }
  }

  /** Where a listing starts: after the cursor, or at the first id of `since`, whichever is later. */
  #startAfter(query: ListQuery): string | undefined {
    const keys = [
      query.cursor === undefined ? undefined : this.#letterKey(query.cursor),
      // Ids are never earlier than their letter's creation, so no letter created since then is skipped.
      query.since === undefined ? undefined : this.#letterKey(timeKey(query.since)),
    ].filter((key): key is string => key !== undefined);
    return keys.sort().pop();
  }

  #letterKey(id: string): string {
    return `${this.#prefix}L/${id}`;
  }

  #naturalKey(key: string): string {
    return `${this.#prefix}N/${key}`;
  }

  #isoNow(): string {
    return new Date(this.#now()).toISOString();
  }
}

function total(counts: Counts): number {
  return DEAD_LETTER_STATUSES.reduce((sum, status) => sum + counts[status], 0);
}

async function inBatches<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += WRITE_BATCH) {
    await Promise.all(items.slice(start, start + WRITE_BATCH).map(work));
  }
}

function definedOnly<T extends Record<string, unknown>>(values: T): Partial<T> {
  return Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as Partial<T>;
}
