/**
 * Replays dead letters at a set rate, first in first out (DESIGN 7: replay is rate-limited and goes through
 * the same idempotency). Each letter is marked replayed, then its original message is handed to `emit` with
 * `msg.finance.attempt` back at 1 and `msg.replay = {deadLetterId, replayCount}`: the ledger downstream makes
 * a replayed ERP write happen once, and a replay that fails again reopens the same letter.
 *
 * The queue holds ids only, so replaying 100,000 letters costs a few megabytes. It lives in memory: a restart
 * forgets what had not been sent yet, and those letters are still open in the store, ready to replay again.
 */
import { systemClock, type Clock } from '../erp/clock';
import { Fifo } from '../erp/fifo';
import { RateLimiter } from '../erp/rate-limiter';
import type { DeadLetter, DeadLetterStatus } from './dead-letter-record';
import type { DeadLetters } from './dead-letters';

export interface ReplayQueueOptions {
  letters: Pick<DeadLetters, 'markReplayed'>;
  /** Replayed messages per second. */
  ratePerSecond: number;
  /** Sends one replayed message. */
  emit(msg: Record<string, unknown>, letter: DeadLetter): void;
  /** A letter could not be replayed (the store failed); the letter stays as it was. */
  onError(err: unknown, id: string): void;
  clock?: Clock;
}

export class ReplayQueue {
  readonly #options: ReplayQueueOptions;
  readonly #limiter: RateLimiter;
  readonly #waiting = new Fifo<string>();
  /**
   * Ids waiting or being replayed, with the statuses the letter may still have when its turn comes: a letter
   * asked for twice, even while its replay is being recorded, is replayed once.
   */
  readonly #queued = new Map<string, readonly DeadLetterStatus[]>();
  #draining = false;
  #closed = false;

  constructor(options: ReplayQueueOptions) {
    if (!Number.isFinite(options.ratePerSecond) || options.ratePerSecond <= 0) {
      throw new RangeError('The replay rate must be a positive number of messages per second');
    }
    this.#options = options;
    // One message per interval, never a burst: a replay after an outage must not become the next overload.
    this.#limiter = new RateLimiter({ requests: 1, perMs: 1000 / options.ratePerSecond }, options.clock ?? systemClock);
  }

  /** Letters waiting to be replayed. */
  get pending(): number {
    return this.#waiting.length;
  }

  /** Letters waiting or being replayed (the one in progress until its replay is recorded and sent). */
  get unfinished(): number {
    return this.#queued.size;
  }

  /**
   * Queues letters for replay in the given order; answers how many were not queued already. A letter is sent
   * only if, when its turn comes, its status is still one of `statuses` (a selection of open letters does not
   * replay a letter that another command has replayed meanwhile).
   */
  enqueue(ids: readonly string[], statuses: readonly DeadLetterStatus[] = ['open', 'replayed']): number {
    if (this.#closed) return 0;
    let added = 0;
    for (const id of ids) {
      if (this.#queued.has(id)) continue;
      this.#queued.set(id, statuses);
      this.#waiting.push(id);
      added += 1;
    }
    void this.#drain();
    return added;
  }

  /** Stops replaying; letters not sent yet stay open in the store. */
  close(): void {
    this.#closed = true;
    this.#limiter.close(new Error('The replay queue is closed.'));
    this.#waiting.drain();
    this.#queued.clear();
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#waiting.length > 0 && !this.#closed) {
        await this.#limiter.acquire();
        const id = this.#waiting.shift() as string;
        try {
          await this.#replay(id, this.#queued.get(id));
        } finally {
          // Only now: until the letter is marked replayed, a selection of open letters still finds it.
          this.#queued.delete(id);
        }
      }
    } catch {
      // acquire() rejects only once the queue is closed: nothing is left to send.
    } finally {
      this.#draining = false;
    }
  }

  async #replay(id: string, statuses: readonly DeadLetterStatus[] | undefined): Promise<void> {
    try {
      const letter = await this.#options.letters.markReplayed(id, statuses);
      if (letter && !this.#closed) this.#options.emit(replayMessage(letter), letter);
    } catch (err) {
      this.#options.onError(err, id);
    }
  }
}

/** The message a replay sends: a copy of the original, as on its first attempt, marked as a replay. */
export function replayMessage(letter: DeadLetter): Record<string, unknown> {
  const msg = structuredClone(letter.original ?? {});
  if (typeof msg.finance === 'object' && msg.finance !== null && !Array.isArray(msg.finance)) {
    (msg.finance as Record<string, unknown>).attempt = 1;
  }
  msg.replay = { deadLetterId: letter.id, replayCount: letter.replayCount };
  return msg;
}
