/**
 * The polling pattern of `finance-event-in` (mode "poll"): a loop that runs one round of a poller every
 * interval, one round at a time, with what must survive a restart kept in the store (kv namespace
 * `intake-poll`, one record per intake node and resource):
 * - what the poller saves between rounds: its cursor (Coupa `updated_at[gt]`) and the export marks it must
 *   take back first thing next round (a mark that may hide a revision not committed; see CoupaPollState);
 * - when the next round is due, so a restart or a redeploy does not poll again before the interval is up,
 *   and a round that a 429 interrupted waits as long as Retry-After asked;
 * - the figures of the last round (pages read, documents fetched and exported, what was left behind), for
 *   the status and for a person asking why a document did not come.
 *
 * Paging inside a round is not resumed from the store, on purpose: the `exported=false` set shrinks while a
 * round marks documents, so a saved offset would skip documents after a restart. A round always starts at
 * offset 0 and ends when a page comes back short (lib/sources/coupa-poller.ts).
 *
 * The same flows may run on several hosts with one shared store (PostgreSQL): every host then runs this loop for
 * the same record, and each round reads and writes it whole. So a round runs only under the record's lease
 * (RoundLease, claimed in the shared store): one host polls a node's resource at a time, the others skip the
 * round, and a holder that dies is replaced once its lease lapses.
 */
import type { FinanceStore } from '../reliability/store';
import { SingleRunner } from '../reliability/single-runner';
import type { CoupaPollReport, CoupaPollState, CoupaPollStateStore } from '../sources/coupa-poller';

export const POLL_STATE_NAMESPACE = 'intake-poll';

/** How long closing waits for the round in progress (Node-RED gives a close 15 s in all). */
const STOP_WAIT_MS = 2_000;

/**
 * The longest wait setTimeout keeps (2^31-1 ms, 24.8 days): Node fires a longer one after 1 ms, which would
 * turn an absurd Retry-After into polling nonstop.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** What the store keeps per polling intake. */
export interface PollRecord {
  /** The poller's state (cursor and marks to take back); named for the cursor it first held. */
  cursor?: CoupaPollState;
  /** Epoch ms at which the next round is due. */
  nextRoundAt?: number;
  lastRound?: {
    at: string;
    pages: number;
    fetched: number;
    exported: number;
    leftBehind: number;
    /** The code of the failure that ended the round early, if one did. */
    interrupted?: string;
  };
}

/** The store record of one polling intake; it is also the poller's cursor store. */
export class PollState implements CoupaPollStateStore {
  readonly #store: () => Pick<FinanceStore, 'kvGet' | 'kvPut'>;
  readonly #key: string;

  constructor(store: () => Pick<FinanceStore, 'kvGet' | 'kvPut'>, key: string) {
    this.#store = store;
    this.#key = key;
  }

  async read(): Promise<PollRecord> {
    const value = await this.#store().kvGet(POLL_STATE_NAMESPACE, this.#key);
    // An unreadable record is dropped: without a cursor more is polled, never less; without a due time, now.
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as PollRecord) : {};
  }

  async load(): Promise<unknown> {
    return (await this.read()).cursor;
  }

  async save(cursor: CoupaPollState): Promise<void> {
    await this.#write({ ...(await this.read()), cursor });
  }

  async recordRound(report: CoupaPollReport, at: Date, nextRoundAt: number): Promise<void> {
    await this.#write({
      ...(await this.read()),
      nextRoundAt,
      lastRound: {
        at: at.toISOString(),
        pages: report.pages,
        fetched: report.fetched,
        exported: report.exported,
        leftBehind: report.leftBehind.length,
        ...(report.interrupted === undefined ? {} : { interrupted: report.interrupted.code }),
      },
    });
  }

  #write(record: PollRecord): Promise<void> {
    return this.#store().kvPut(POLL_STATE_NAMESPACE, this.#key, record);
  }
}

/** Prefix of the lease names (FinanceStore.claimLease) of polling rounds; the rest is the record's key. */
export const POLL_LEASE_PREFIX = 'intake-poll/';

export interface RoundLeaseOptions {
  store: () => Pick<FinanceStore, 'claimLease'>;
  /** The lease name, the same on every host: POLL_LEASE_PREFIX + the poll record's key. */
  name: string;
  /** This host and process (runnerHolder()). */
  holder: string;
  /** How long a claim holds: it must outlast the interval, so the holder keeps the polling (runnerTtlMs). */
  ttlMs: number;
  now?: () => number;
  onError?: (error: unknown) => void;
}

/**
 * The lease a polling round runs under (see the note at the top). claim() at the start of a round; keep() before
 * every page and document, which claims again once a third of the TTL has passed since the last claim, so a round
 * of any length keeps the lease while it makes progress. A round whose keep() says false stops at once: another
 * host may hold the lease by now (this one stalled longer than the TTL, or the store could not be reached).
 */
export class RoundLease {
  readonly #runner: SingleRunner;
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** When the last claim that succeeded was asked for (a claim holds from then, at the latest). */
  #claimedAt: number | undefined;

  constructor(options: RoundLeaseOptions) {
    this.#runner = new SingleRunner({
      store: options.store,
      name: options.name,
      holder: options.holder,
      ttlMs: options.ttlMs,
      ...(options.onError && { onError: options.onError }),
    });
    this.#ttlMs = options.ttlMs;
    this.#now = options.now ?? Date.now;
  }

  /** Claims or renews the lease: true when this holder has it now. A store failure answers false. */
  async claim(): Promise<boolean> {
    const askedAt = this.#now();
    const held = await this.#runner.mayRun();
    this.#claimedAt = held ? askedAt : undefined;
    return held;
  }

  /** During a round: true while the lease is held, renewing it once a third of its TTL has passed. */
  async keep(): Promise<boolean> {
    if (this.#claimedAt !== undefined && this.#now() - this.#claimedAt < this.#ttlMs / 3) return true;
    return this.claim();
  }
}

export interface PollingLoopOptions {
  intervalMs: number;
  state: PollState;
  /**
   * Asked before every round (RoundLease.claim): false skips the round, nothing read or written, and the next
   * tick comes one interval later. Must not throw.
   */
  mayRun?: () => Promise<boolean>;
  /** A round skipped because mayRun said false (another host polls). */
  onSkip?: () => void;
  /** One round of the poller. */
  round: () => Promise<CoupaPollReport>;
  /** After every round, with its report. */
  onRound?: (report: CoupaPollReport) => void;
  /** A round that threw (a store that cannot be read, a non-retryable failure); the loop goes on. */
  onError?: (error: unknown) => void;
  now?: () => number;
}

/**
 * Runs rounds until stopped: the first when the store says the next one is due (at once when it says
 * nothing), then one interval after each round ends; after an interrupted round, no sooner than its
 * Retry-After. Rounds never overlap.
 */
export class PollingLoop {
  readonly #options: PollingLoopOptions;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #stopped = false;

  constructor(options: PollingLoopOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  start(): void {
    this.#running = this.#firstWait().then(
      (waitMs) => this.#schedule(waitMs),
      (error: unknown) => {
        this.#options.onError?.(error);
        this.#schedule(0);
      },
    );
  }

  /**
   * Stops scheduling and resolves once the round in progress has ended, or after `waitMs` (a redeploy or a
   * stop must not hang on a slow source). A round left running is safe to abandon: what it committed but did
   * not mark exported comes again next time and is recognised as a duplicate.
   */
  async stop(waitMs = STOP_WAIT_MS): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    let timer: NodeJS.Timeout | undefined;
    const givingUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
    });
    await Promise.race([this.#running, givingUp]).finally(() => clearTimeout(timer));
  }

  async #firstWait(): Promise<number> {
    const due = (await this.#options.state.read()).nextRoundAt;
    if (typeof due !== 'number' || !Number.isFinite(due)) return 0;
    // A due time further away than an interval (a clock that jumped, a shorter interval now) is not waited for.
    return Math.min(Math.max(0, due - this.#now()), this.#options.intervalMs);
  }

  #schedule(waitMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#round();
    }, timerDelay(waitMs));
  }

  async #round(): Promise<void> {
    let waitMs = timerDelay(this.#options.intervalMs);
    try {
      if (this.#options.mayRun && !(await this.#options.mayRun())) {
        this.#options.onSkip?.();
        this.#schedule(waitMs);
        return;
      }
      const report = await this.#options.round();
      // Capped here too, so the due time kept in the store is the one the timer keeps.
      waitMs = timerDelay(Math.max(waitMs, askedWait(report.retryAfterMs)));
      // A round that lost its lease leaves the record to the host that holds it now.
      if (report.cutShort !== 'lease') {
        await this.#options.state.recordRound(report, new Date(this.#now()), this.#now() + waitMs);
      }
      this.#options.onRound?.(report);
    } catch (error) {
      this.#options.onError?.(error);
    }
    this.#schedule(waitMs);
  }
}

/** A wait setTimeout keeps as it is: from 0 (also for NaN) to MAX_TIMER_MS. */
function timerDelay(waitMs: number): number {
  return Number.isNaN(waitMs) ? 0 : Math.min(Math.max(0, waitMs), MAX_TIMER_MS);
}

/** The Retry-After of a round as a number to compare with the interval (NaN would win Math.max). */
function askedWait(retryAfterMs: number | undefined): number {
  return retryAfterMs === undefined || Number.isNaN(retryAfterMs) ? 0 : retryAfterMs;
}
