/**
 * The dead-letter queue (DESIGN 7): failed messages kept with their reason until a person replays or purges
 * them, in the durable store's key-value space (namespace `dlq`), so they survive restarts.
 *
 * Each queue (one per finance-dead-letter node) owns the keys under `<queue>/` in that namespace:
 *   `<queue>/L/<id>`          the letter without its message (ids sort by time, so this is the queue in arrival
 *                             order), with `originalBytes`, the size of the message as JSON
 *   `<queue>/N/<natural key>` -> id: the same Catch message delivered twice makes one letter
 *   `<queue>/R/<id>`          a replay on its way through the flow (ReplayInFlight, see markReplayed)
 * and the message itself under `<queue>/<id>` in namespace `dlq-message`, so that listing, counting and
 * retention never read the messages (a failed message may be tens of megabytes). Letters stored before that
 * split hold their message inline; both are read alike.
 *
 * Changes go through one at a time (a promise chain). On a store of one host this keeps the per-status counts
 * exact without a counter in the store: they are taken by one scan when first needed and then kept in step.
 * On a store several hosts share (PostgreSQL), another host changes letters too: the counts are taken from the
 * store on each request, and a change of a letter's status holds a lock on that letter in the store (an
 * in-flight marker in the ledger, atomic across hosts), so of two hosts replaying one letter one does, and the
 * other skips it. Every store write is committed to disk before the call resolves.
 */
import { randomUUID } from 'node:crypto';
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
import { inboxKey, ledgerKey, type FinanceStore } from './store';

export type { DeadLetter, DeadLetterError, DeadLetterStatus, ReplayMark } from './dead-letter-record';
export type { DeadLetterFilter, LetterSelection, ListQuery } from './dead-letter-filter';

export const DLQ_NAMESPACE = 'dlq';
/** The messages of the letters, apart from the letters: key `<queue>/<id>`. */
export const DLQ_MESSAGE_NAMESPACE = 'dlq-message';
/** The inbox outcome of an event whose message became a dead letter: recovery does not emit it again. */
export const DEAD_LETTERED = 'dead-lettered';

export type DeadLetterStore = Pick<FinanceStore, 'kvPut' | 'kvGet' | 'kvDelete' | 'kvList' | 'finish'> &
  Partial<Pick<FinanceStore, 'sharedAcrossHosts' | 'ledgerTakeOver' | 'ledgerAbort'>>;

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
  /** The size of the stored message as JSON (bytes). */
  originalBytes: number;
}

/**
 * A replay on its way through the flow. A replayed message has no inbox entry the intake's recovery would send
 * again (the event's entry was finished as dead-lettered when the letter was stored), so until the flow has run
 * long enough to take it to a durable point (an outcome, a parked retry, the letter reopened), this marker is
 * what makes a replay cut off by a redeploy, a restart or a crash be sent again (ReplayQueue, dead-letter-replay.ts).
 */
export interface ReplayInFlight {
  id: string;
  /** The letter's replayCount this replay carries (msg.replay.replayCount). */
  replayCount: number;
  /** When it was sent (ms since the epoch). */
  sentAt: number;
  /** Set when the node that sent it closed before the replay had settled. */
  cut?: boolean;
}

/** A letter as a list shows it: without its message, with the message's size as JSON (in bytes). */
export type ListedLetter = Omit<DeadLetter, 'original'> & { originalBytes?: number };

export interface LetterPage {
  letters: ListedLetter[];
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

/** What adoptFrom() did with the letters of the other queue. */
export interface LetterAdoption {
  /** Letters now in this queue, oldest first (including any a cut-short adoption had copied already). */
  ids: string[];
  /** Letters another host was changing at that moment, left where they are: adopt again to move them. */
  busy: string[];
}

interface StoredLetter {
  /** Without `original` (kept under DLQ_MESSAGE_NAMESPACE) since originalBytes exists; with it before. */
  letter: DeadLetter & { originalBytes?: number };
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
/** The ledger "source" of letter locks; no event source is named like this, so no ERP write shares a key. */
const LOCK_SOURCE = 'urn:finance-sync:dead-letters';
/** A lock older than this is taken over: its holder died during the change (a change takes milliseconds). */
const LOCK_STALE_MS = 60_000;
/** How long a failure that reopens a letter waits for another host's change of it, before writing anyway. */
const REOPEN_WAIT_MS = 3000;
const REOPEN_POLL_MS = 100;

export class DeadLetters {
  readonly #store: DeadLetterStore;
  readonly #queue: string;
  readonly #prefix: string;
  readonly #now: () => number;
  readonly #ids: LetterIds;
  readonly #shared: boolean;
  /** Names this object's locks in a shared store. */
  readonly #owner = `dead-letters:${randomUUID()}`;
  #changes: Promise<unknown> = Promise.resolve();
  #counts: Promise<Counts> | undefined;
  /** Shared store: the count being taken, and the one queued behind it for callers that came meanwhile. */
  #countScan: Promise<Counts> | undefined;
  #nextCountScan: Promise<Counts> | undefined;
  /** The last counts read from a shared store, and when the read began. */
  #lastCounts: { readAt: number; counts: Counts } | undefined;

  constructor(options: DeadLettersOptions) {
    if (!isQueueName(options.queue)) {
      throw new FinanceError(
        'CONFIG_INVALID',
        'A dead-letter queue needs a name of letters, digits, "_", "-" or "." (the node id).',
      );
    }
    this.#store = options.store;
    this.#queue = options.queue;
    this.#shared = options.store.sharedAcrossHosts === true;
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
        if (known) return this.#result('duplicate', known.letter);
      }
      const replayed = failed.replay ? await this.#read(failed.replay.deadLetterId) : undefined;
      if (replayed && replayed.letter.status !== 'purged') {
        const reopened = await this.#whenLocked(replayed.letter.id, async () => {
          // Read again under the lock: another host may have changed it meanwhile.
          const current = this.#shared ? await this.#read(replayed.letter.id) : replayed;
          if (!current || current.letter.status === 'purged') return undefined;
          return this.#reopen(current, failed, counts);
        });
        if (reopened) {
          // The replay has its outcome (it failed again): it is no longer in flight.
          await this.#store.kvDelete(DLQ_NAMESPACE, this.#replayKey(reopened.id));
          return this.#result('reopened', reopened);
        }
      }
      const { letter, originalBytes } = await this.#create(failed, counts);
      if (failed.source !== undefined && failed.eventId !== undefined) {
        await this.#store.finish(inboxKey(failed.source, failed.eventId), {
          status: DEAD_LETTERED,
          detail: { deadLetterId: letter.id, code: letter.error.code },
        });
      }
      return { status: 'added', letter, originalBytes };
    });
  }

  /** One page of letters, oldest first. A filtered page may hold fewer than `limit`: follow `nextCursor`. */
  async list(query: ListQuery = {}): Promise<LetterPage> {
    const limit = query.limit ?? DEFAULT_LIST_LIMIT;
    if (query.cursor !== undefined && !isLetterId(query.cursor)) {
      throw new FinanceError('SCHEMA_INVALID', 'cursor must be the nextCursor of a previous page of this queue.');
    }
    const letters: ListedLetter[] = [];
    let scanned = 0;
    let lastId: string | undefined;
    for await (const stored of this.#scan(this.#startAfter(query))) {
      scanned += 1;
      lastId = stored.letter.id;
      if (matchesFilter(stored.letter, query)) letters.push(listed(stored.letter));
      if (letters.length >= limit || scanned >= MAX_SCANNED_PER_PAGE) return { letters, nextCursor: lastId };
    }
    return { letters };
  }

  /** One letter, with its message. */
  async get(id: string): Promise<DeadLetter | undefined> {
    const stored = await this.#read(id);
    return stored ? this.#withOriginal(stored.letter) : undefined;
  }

  /**
   * Records that a letter is being replayed (before its message is sent, so a failure of the replay finds it
   * marked), with the replay's in-flight marker (ReplayInFlight) written first: a crash in between leaves a
   * marker that sends the letter again, never a letter marked replayed that nothing sends. Undefined for an
   * unknown or purged letter, which is not replayed, and for one whose status is no longer one of `statuses`
   * (what the replay was selected from: another command replayed it meanwhile).
   *
   * `resending`: the replayCount of a replay that was cut off (replaysToResend), sent again only if the letter
   * is still `replayed` and no later replay has been sent meanwhile (by another host, say); otherwise its marker
   * is dropped.
   */
  markReplayed(
    id: string,
    statuses: readonly DeadLetterStatus[] = ['open', 'replayed'],
    resending?: number,
  ): Promise<DeadLetter | undefined> {
    return this.#change(async (counts) =>
      // Another host changing this letter now (replaying it too): it is that host's to replay.
      this.#ifUnlocked(id, async () => {
        const stored = await this.#read(id);
        const stale = resending !== undefined && stored !== undefined && stored.letter.replayCount > resending;
        if (!stored || stored.letter.status === 'purged' || !statuses.includes(stored.letter.status) || stale) {
          if (resending !== undefined) await this.#dropReplayMarker(id, resending);
          return undefined;
        }
        const letter: DeadLetter = {
          ...stored.letter,
          status: 'replayed',
          replayedAt: this.#isoNow(),
          replayCount: stored.letter.replayCount + 1,
        };
        const marker: ReplayInFlight = { id, replayCount: letter.replayCount, sentAt: this.#now() };
        await this.#store.kvPut(DLQ_NAMESPACE, this.#replayKey(id), marker);
        await this.#write({ ...stored, letter }, counts, stored.letter.status);
        return this.#withOriginal(letter);
      }),
    );
  }

  /** The flow has run long enough after the replay `replayCount` of letter `id`: it is no longer in flight. */
  settleReplay(id: string, replayCount: number): Promise<void> {
    return this.#change(async () => {
      await this.#ifUnlocked(id, () => this.#dropReplayMarker(id, replayCount));
    });
  }

  /** The node that sent these replays closes before they settled: they are sent again (replaysToResend). */
  markReplaysCut(replays: readonly { id: string; replayCount: number }[]): Promise<void> {
    return this.#change(async () => {
      await inBatches(replays, async ({ id, replayCount }) => {
        const marker = await this.#readReplayMarker(id);
        if (marker?.replayCount === replayCount) {
          await this.#store.kvPut(DLQ_NAMESPACE, this.#replayKey(id), { ...marker, cut: true });
        }
      });
    });
  }

  /**
   * Replays to send again: those cut off (their node closed before they settled), and those sent more than
   * `staleAfterMs` ago that nobody settled (their node crashed), oldest first.
   */
  async replaysToResend(staleAfterMs: number): Promise<ReplayInFlight[]> {
    const due: ReplayInFlight[] = [];
    const prefix = `${this.#prefix}R/`;
    let after: string | undefined;
    for (;;) {
      const page = await this.#store.kvList(DLQ_NAMESPACE, { prefix, after, limit: PAGE_SIZE });
      for (const { value } of page) {
        const marker = value as ReplayInFlight;
        if (marker.cut === true || marker.sentAt <= this.#now() - staleAfterMs) due.push(marker);
      }
      if (page.length < PAGE_SIZE) return due.sort((a, b) => a.sentAt - b.sentAt);
      after = page[page.length - 1].key;
    }
  }

  /**
   * The ids a selection names, oldest first, among the letters in `statuses` (a filter's own status, if it
   * has one, narrows them further). Unknown ids are left out.
   */
  async select(selection: LetterSelection, statuses: readonly DeadLetterStatus[]): Promise<string[]> {
    const ids: string[] = [];
    if ('ids' in selection) {
      for (const id of selection.ids) {
        const letter = (await this.#read(id))?.letter;
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
        // A letter another host is changing now is left to it (it may be replaying it): purge it again after.
        await this.#ifUnlocked(id, async () => {
          const stored = await this.#read(id);
          if (!stored || stored.letter.status === 'purged') return;
          const letter: DeadLetter & { originalBytes?: number } = {
            ...stored.letter,
            error: { ...stored.letter.error },
            status: 'purged',
            purgedAt: this.#isoNow(),
          };
          delete letter.original;
          delete letter.originalBytes;
          delete letter.error.erpBody;
          await this.#write({ ...stored, letter }, counts, stored.letter.status);
          await this.#store.kvDelete(DLQ_MESSAGE_NAMESPACE, this.#messageKey(id));
          await this.#store.kvDelete(DLQ_NAMESPACE, this.#replayKey(id));
          purged.push(id);
        });
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
    return this.#change(async (changing) => {
      const counts = this.#shared ? await this.#freshCounts() : changing;
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
          result.removed -= await this.#removeAll(batch, counts);
          batch = [];
        }
      }
      result.removed -= await this.#removeAll(batch, counts);
      return result;
    });
  }

  /**
   * Moves every letter of the queue `fromQueue` (a dead-letter node that was replaced by a copy with a new id)
   * into this queue, with its message, its natural keys (so a second delivery of the same failure is still
   * recognised) and its replay in flight (so a cut-off replay is still sent again, and a replay that fails again
   * reopens it here). Ids stay the same, so replays already sent find their letter here.
   *
   * Each letter moves on its own, under its lock in the other queue, and in an order that survives a crash: the
   * copy here first (message, letter, natural keys, replay marker), then the other queue's entries, the letter
   * last. A crash in between leaves the letter in both queues under one id, and the next adoption finds the copy
   * here and only removes the other; so running it twice moves nothing twice and loses nothing. The caller makes
   * sure no node still uses `fromQueue` (dead-letter-adoption.ts).
   */
  adoptFrom(fromQueue: string): Promise<LetterAdoption> {
    if (!isQueueName(fromQueue) || fromQueue === this.#queue) {
      throw new FinanceError(
        'SCHEMA_INVALID',
        'The queue to adopt from must be the id of another dead-letter node (letters, digits, "_", "-" or ".").',
      );
    }
    return this.#change(async (counts) => {
      const result: LetterAdoption = { ids: [], busy: [] };
      const from = `${fromQueue}/`;
      let after: string | undefined;
      for (;;) {
        const page = await this.#store.kvList(DLQ_NAMESPACE, { prefix: `${from}L/`, after, limit: PAGE_SIZE });
        for (const { value } of page) {
          const { id } = (value as StoredLetter).letter;
          const moved = await this.#ifUnlocked(id, () => this.#adoptLetter(fromQueue, id, counts), fromQueue);
          (moved ? result.ids : result.busy).push(id);
        }
        if (page.length < PAGE_SIZE) return result;
        after = page[page.length - 1].key;
      }
    });
  }

  /** Moves one letter of `fromQueue` here (see adoptFrom); false when it is no longer there. */
  async #adoptLetter(fromQueue: string, id: string, counts: Counts): Promise<true | undefined> {
    const from = `${fromQueue}/`;
    // Read again under the lock: another host may have changed or moved it since the page was read.
    const stored = (await this.#store.kvGet(DLQ_NAMESPACE, `${from}L/${id}`)) as StoredLetter | undefined;
    if (!stored) return true;
    if ((await this.#read(id)) === undefined) {
      const message = await this.#store.kvGet(DLQ_MESSAGE_NAMESPACE, `${from}${id}`);
      if (message !== undefined) await this.#store.kvPut(DLQ_MESSAGE_NAMESPACE, this.#messageKey(id), message);
      await this.#write(stored, counts, undefined);
    }
    for (const key of stored.naturalKeys) {
      // A natural key this queue knows already names the letter that recorded that failure here: it stays.
      if ((await this.#store.kvGet(DLQ_NAMESPACE, this.#naturalKey(key))) === undefined) {
        await this.#store.kvPut(DLQ_NAMESPACE, this.#naturalKey(key), id);
      }
    }
    const replay = await this.#store.kvGet(DLQ_NAMESPACE, `${from}R/${id}`);
    if (replay !== undefined) await this.#store.kvPut(DLQ_NAMESPACE, this.#replayKey(id), replay);

    for (const key of stored.naturalKeys) await this.#store.kvDelete(DLQ_NAMESPACE, `${from}N/${key}`);
    await this.#store.kvDelete(DLQ_NAMESPACE, `${from}R/${id}`);
    await this.#store.kvDelete(DLQ_MESSAGE_NAMESPACE, `${from}${id}`);
    await this.#store.kvDelete(DLQ_NAMESPACE, `${from}L/${id}`);
    return true;
  }

  /**
   * Letters in a status, or all letters. On a shared store the counts are read from the store (a scan of the
   * queue's letters): `maxAgeMs` lets a caller that asks after every change (the node's status) take counts read
   * that long ago instead, so a burst of failures does not scan a long queue once per failure.
   */
  async count(options: { status?: DeadLetterStatus; maxAgeMs?: number } = {}): Promise<number> {
    const counts = this.#shared ? await this.#sharedCounts(options.maxAgeMs ?? 0) : await this.#countsReady();
    return options.status === undefined ? total(counts) : counts[options.status];
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  /** Runs one change after the previous ones have finished, with the counts it must keep in step. */
  #change<T>(work: (counts: Counts) => Promise<T>): Promise<T> {
    // A shared store's counts are taken from the store when asked for: the change keeps a scratch copy.
    const result = this.#changes.then(async () =>
      work(this.#shared ? { open: 0, replayed: 0, purged: 0 } : await this.#countsReady()),
    );
    this.#changes = result.catch(() => undefined);
    return result;
  }

  #countsReady(): Promise<Counts> {
    if (!this.#counts) {
      this.#counts = this.#scanCounts();
      // A failed scan (store closed) is tried again by the next caller.
      this.#counts.catch(() => {
        this.#counts = undefined;
      });
    }
    return this.#counts;
  }

  async #scanCounts(): Promise<Counts> {
    const counts: Counts = { open: 0, replayed: 0, purged: 0 };
    for await (const { letter } of this.#scan(undefined)) counts[letter.status] += 1;
    return counts;
  }

  async #sharedCounts(maxAgeMs: number): Promise<Counts> {
    const last = this.#lastCounts;
    if (maxAgeMs > 0 && last && this.#now() - last.readAt <= maxAgeMs) return last.counts;
    const readAt = this.#now();
    const counts = await this.#freshCounts();
    this.#lastCounts = { readAt, counts };
    return counts;
  }

  /**
   * Counts taken from the store, begun after the call: callers that come while a count runs share the next one,
   * so a burst of requests costs two scans, and no caller gets counts older than its call.
   */
  #freshCounts(): Promise<Counts> {
    if (!this.#countScan) {
      this.#countScan = this.#scanCounts().finally(() => {
        this.#countScan = undefined;
      });
      return this.#countScan;
    }
    this.#nextCountScan ??= this.#countScan
      .catch(() => undefined)
      .then(() => {
        this.#nextCountScan = undefined;
        return this.#freshCounts();
      });
    return this.#nextCountScan;
  }

  /**
   * Runs `work` holding the lock on letter `id` in a shared store; undefined, without running it, while another
   * host (or another DeadLetters of this queue) holds it. On a store of one host the promise chain is enough.
   */
  async #ifUnlocked<T>(id: string, work: () => Promise<T | undefined>, queue = this.#queue): Promise<T | undefined> {
    if (!this.#shared) return work();
    const { ledgerTakeOver, ledgerAbort } = this.#store;
    if (!ledgerTakeOver || !ledgerAbort) {
      throw new FinanceError('CONFIG_INVALID', 'A shared store must offer ledgerTakeOver and ledgerAbort.');
    }
    const key = this.#lockKey(id, queue);
    const lock = await ledgerTakeOver.call(this.#store, key, this.#owner, LOCK_STALE_MS);
    if (lock.state !== 'started' && lock.state !== 'taken-over') return undefined;
    try {
      return await work();
    } finally {
      await ledgerAbort.call(this.#store, key, this.#owner);
    }
  }

  /** As #ifUnlocked, but waits a while for the lock, then runs `work` without it: a failure is never dropped. */
  async #whenLocked<T>(id: string, work: () => Promise<T | undefined>): Promise<T | undefined> {
    const giveUpAt = Date.now() + REOPEN_WAIT_MS;
    for (;;) {
      let ran = false;
      const result = await this.#ifUnlocked(id, async () => {
        ran = true;
        return work();
      });
      if (ran) return result;
      if (Date.now() >= giveUpAt) return work();
      await new Promise((resolve) => setTimeout(resolve, REOPEN_POLL_MS));
    }
  }

  /** The letter with its message, wherever that is kept. */
  async #withOriginal(letter: StoredLetter['letter']): Promise<DeadLetter> {
    const { originalBytes, ...rest } = letter;
    if (originalBytes === undefined || rest.original !== undefined) return rest;
    const original = (await this.#store.kvGet(DLQ_MESSAGE_NAMESPACE, this.#messageKey(letter.id))) as
      Record<string, unknown> | undefined;
    return original === undefined ? rest : { ...rest, original };
  }

  async #result(status: AddResult['status'], stored: StoredLetter['letter']): Promise<AddResult> {
    const letter = await this.#withOriginal(stored);
    return { status, letter, originalBytes: stored.originalBytes ?? jsonBytes(letter.original) };
  }

  async #create(failed: FailedMessage, counts: Counts): Promise<{ letter: DeadLetter; originalBytes: number }> {
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
    // The message before its letter: a crash in between leaves a message nobody lists, never a letter without it.
    await this.#store.kvPut(DLQ_MESSAGE_NAMESPACE, this.#messageKey(letter.id), failed.original);
    const { original, ...withoutOriginal } = letter;
    const originalBytes = jsonBytes(original);
    await this.#write(
      { letter: { ...withoutOriginal, originalBytes }, naturalKeys },
      counts,
      undefined,
      failed.naturalKey,
    );
    return { letter, originalBytes };
  }

  async #reopen(stored: StoredLetter, failed: FailedMessage, counts: Counts): Promise<StoredLetter['letter']> {
    const letter: StoredLetter['letter'] = {
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

  /** Removes settled letters; answers how many it left (reopened, or being changed by another host). */
  async #removeAll(batch: readonly StoredLetter[], counts: Counts): Promise<number> {
    let kept = 0;
    await inBatches(batch, async (old) => {
      const removed = await this.#ifUnlocked(old.letter.id, async () => {
        // Shared store: read again under the lock, as another host may have reopened it since the scan.
        const current = this.#shared ? await this.#read(old.letter.id) : old;
        if (!current) return true;
        if (current.letter.status === 'open') return undefined;
        await this.#remove(current, counts);
        return true;
      });
      if (removed === undefined) kept += 1;
    });
    return kept;
  }

  async #remove(stored: StoredLetter, counts: Counts): Promise<void> {
    for (const key of stored.naturalKeys) await this.#store.kvDelete(DLQ_NAMESPACE, this.#naturalKey(key));
    await this.#store.kvDelete(DLQ_NAMESPACE, this.#letterKey(stored.letter.id));
    await this.#store.kvDelete(DLQ_MESSAGE_NAMESPACE, this.#messageKey(stored.letter.id));
    await this.#store.kvDelete(DLQ_NAMESPACE, this.#replayKey(stored.letter.id));
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

  #replayKey(id: string): string {
    return `${this.#prefix}R/${id}`;
  }

  async #readReplayMarker(id: string): Promise<ReplayInFlight | undefined> {
    return (await this.#store.kvGet(DLQ_NAMESPACE, this.#replayKey(id))) as ReplayInFlight | undefined;
  }

  /** Removes the in-flight marker of letter `id` if it is still that of replay `replayCount`. */
  async #dropReplayMarker(id: string, replayCount: number): Promise<void> {
    if ((await this.#readReplayMarker(id))?.replayCount === replayCount) {
      await this.#store.kvDelete(DLQ_NAMESPACE, this.#replayKey(id));
    }
  }

  #messageKey(id: string): string {
    return `${this.#prefix}${id}`;
  }

  #lockKey(id: string, queue = this.#queue): string {
    return ledgerKey({ source: LOCK_SOURCE, docType: queue, docId: id, version: 1, operation: 'change' });
  }

  #isoNow(): string {
    return new Date(this.#now()).toISOString();
  }
}

/** A queue's name (a node id), as it appears in store keys. */
function isQueueName(value: unknown): value is string {
  return typeof value === 'string' && /^[\w.-]{1,100}$/.test(value);
}

/** The letter as lists show it: its message left out, its size given. */
function listed(letter: StoredLetter['letter']): ListedLetter {
  const { original, ...rest } = letter;
  return original === undefined ? rest : { ...rest, originalBytes: jsonBytes(original) };
}

function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '');
}

export interface QueueInStore {
  queue: string;
  open: number;
  total: number;
}

/**
 * The dead-letter queues in a store with their letters, read page by page (for the warning about queues whose
 * node is no longer deployed). Stops after `maxLetters` letters, answering what it counted so far.
 */
export async function queuesInStore(
  store: Pick<FinanceStore, 'kvList'>,
  maxLetters = 200_000,
): Promise<QueueInStore[]> {
  const queues = new Map<string, QueueInStore>();
  let after: string | undefined;
  let scanned = 0;
  for (;;) {
    const page = await store.kvList(DLQ_NAMESPACE, { after, limit: PAGE_SIZE });
    for (const { key, value } of page) {
      const match = /^([\w.-]{1,100})\/L\//.exec(key);
      if (!match) continue;
      scanned += 1;
      const item = queues.get(match[1]) ?? { queue: match[1], open: 0, total: 0 };
      item.total += 1;
      if ((value as Partial<StoredLetter> | undefined)?.letter?.status === 'open') item.open += 1;
      queues.set(match[1], item);
    }
    if (page.length < PAGE_SIZE || scanned >= maxLetters) return [...queues.values()];
    after = page[page.length - 1].key;
    // LMDB reads are synchronous: let timers and requests run between pages.
    await new Promise((resolve) => setImmediate(resolve));
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
