/**
 * Replays dead letters at a set rate, first in first out (DESIGN 7: replay is rate-limited and goes through
 * the same idempotency). Each letter is marked replayed, then its original message is handed to `emit` with
 * `msg.finance.attempt` back at 1 and `msg.replay = {deadLetterId, replayCount}`: the ledger downstream makes
 * a replayed ERP write happen once, and a replay that fails again reopens the same letter.
 *
 * A replay is durable: the letter is marked with the replay in flight (ReplayInFlight, dead-letters.ts) until
 * the flow has run for `settleAfterMs` after sending it, long enough to take it to an outcome, a parked retry
 * or its letter reopened. A replay cut off before that, by a redeploy or a restart (close() marks it cut) or a
 * crash (nobody settled it for twice that long), is sent again by resendCutReplays(), which the node runs when
 * it starts and then every little while. Sending a replay twice posts nothing twice: the copy carries the same
 * document, so the ERP writes downstream find their ledger record (lib/posting/idempotent-write.ts).
 *
 * The queue holds ids only, so replaying 100,000 letters costs a few megabytes. It lives in memory: a restart
 * forgets what had not been sent yet, and those letters are still open in the store, ready to replay again.
 */
import { systemClock, type Clock } from '../erp/clock';
import { Fifo } from '../erp/fifo';
import { RateLimiter } from '../erp/rate-limiter';
import type { DeadLetter, DeadLetterStatus } from './dead-letter-record';
import type { DeadLetters } from './dead-letters';

/** How long the flow must run after a replay before the replay counts as delivered (no longer in flight). */
export const DEFAULT_REPLAY_SETTLE_MS = 60_000;

export interface ReplayQueueOptions {
  letters: Pick<DeadLetters, 'markReplayed' | 'settleReplay' | 'markReplaysCut' | 'replaysToResend'>;
  /** Replayed messages per second. */
  ratePerSecond: number;
  /** Sends one replayed message. */
  emit(msg: Record<string, unknown>, letter: DeadLetter): void;
  /** A letter could not be replayed (the store failed); the letter stays as it was. */
  onError(err: unknown, id: string): void;
  /** Default DEFAULT_REPLAY_SETTLE_MS. */
  settleAfterMs?: number;
  clock?: Clock;
}

interface Queued {
  /** The statuses the letter may still have when its turn comes. */
  statuses: readonly DeadLetterStatus[];
  /** For a replay sent again: the replayCount of the one that was cut off. */
  resending?: number;
}

export class ReplayQueue {
  readonly #options: ReplayQueueOptions;
  readonly #limiter: RateLimiter;
  readonly #waiting = new Fifo<string>();
  /**
   * Ids waiting or being replayed, with the statuses the letter may still have when its turn comes: a letter
   * asked for twice, even while its replay is being recorded, is replayed once.
   */
  readonly #queued = new Map<string, Queued>();
  /** Replays sent and not settled yet, by letter id, with the timer that settles them. */
  readonly #inFlight = new Map<string, { replayCount: number; timer: unknown }>();
  readonly #clock: Clock;
  readonly #settleAfterMs: number;
  /** The replay being recorded now, which close() waits for. */
  #current: Promise<void> | undefined;
  #draining = false;
  #closed = false;

  constructor(options: ReplayQueueOptions) {
    if (!Number.isFinite(options.ratePerSecond) || options.ratePerSecond <= 0) {
      throw new RangeError('The replay rate must be a positive number of messages per second');
    }
    this.#options = options;
    this.#clock = options.clock ?? systemClock;
    this.#settleAfterMs = options.settleAfterMs ?? DEFAULT_REPLAY_SETTLE_MS;
    // One message per interval, never a burst: a replay after an outage must not become the next overload.
    this.#limiter = new RateLimiter({ requests: 1, perMs: 1000 / options.ratePerSecond }, this.#clock);
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
    for (const id of ids) added += this.#add(id, { statuses }) ? 1 : 0;
    void this.#drain();
    return added;
  }

  /**
   * Queues again the replays that were cut off (their node closed or crashed before they settled); answers how
   * many. Each is sent only if its letter is still replayed and nobody replayed it since.
   */
  async resendCutReplays(): Promise<number> {
    if (this.#closed) return 0;
    // Twice the settle time: a replay this long unsettled was sent by a node that is gone (another host's
    // replays settle within settleAfterMs while it runs).
    const cut = await this.#options.letters.replaysToResend(2 * this.#settleAfterMs);
    let added = 0;
    for (const replay of cut) {
      if (this.#closed || this.#inFlight.has(replay.id)) continue;
      added += this.#add(replay.id, { statuses: ['replayed'], resending: replay.replayCount }) ? 1 : 0;
    }
    void this.#drain();
    return added;
  }

  /**
   * Stops replaying; letters not sent yet stay open in the store. Replays sent and not settled yet are marked
   * cut, so that the node's next start sends them again.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#limiter.close(new Error('The replay queue is closed.'));
    this.#waiting.drain();
    this.#queued.clear();
    await this.#current;
    const unsettled = [...this.#inFlight].map(([id, { replayCount, timer }]) => {
      this.#clock.clearTimeout(timer);
      return { id, replayCount };
    });
    this.#inFlight.clear();
    if (unsettled.length === 0) return;
    try {
      await this.#options.letters.markReplaysCut(unsettled);
    } catch (err) {
      // Not lost: a replay nobody settles is sent again once twice the settle time has passed.
      for (const { id } of unsettled) this.#options.onError(err, id);
    }
  }

  #add(id: string, queued: Queued): boolean {
    if (this.#queued.has(id)) return false;
    this.#queued.set(id, queued);
    this.#waiting.push(id);
    return true;
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      while (this.#waiting.length > 0 && !this.#closed) {
        await this.#limiter.acquire();
        const id = this.#waiting.shift() as string;
        try {
          this.#current = this.#replay(id, this.#queued.get(id));
          await this.#current;
        } finally {
          // Only now: until the letter is marked replayed, a selection of open letters still finds it.
          this.#queued.delete(id);
          this.#current = undefined;
        }
      }
    } catch {
      // acquire() rejects only once the queue is closed: nothing is left to send.
    } finally {
      this.#draining = false;
    }
  }

  async #replay(id: string, queued: Queued | undefined): Promise<void> {
    try {
      const letter = await this.#options.letters.markReplayed(id, queued?.statuses, queued?.resending);
      if (!letter) return;
      this.#settleLater(letter);
      // Closed while the replay was being recorded: not sent now, close() marks it cut, the next start sends it.
      if (!this.#closed) this.#options.emit(replayMessage(letter), letter);
    } catch (err) {
      this.#options.onError(err, id);
    }
  }

  #settleLater(letter: DeadLetter): void {
    const { id, replayCount } = letter;
    const earlier = this.#inFlight.get(id);
    if (earlier) this.#clock.clearTimeout(earlier.timer);
    const timer = this.#clock.setTimeout(() => {
      this.#inFlight.delete(id);
      this.#options.letters.settleReplay(id, replayCount).catch((err: unknown) => this.#options.onError(err, id));
    }, this.#settleAfterMs);
    this.#inFlight.set(id, { replayCount, timer });
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
