/**
 * Recovery of unfinished events (DESIGN section 7, "Inbox with leases"), and the hand-out of events that wait
 * in the store for a slot. Every accepted event stays open in the store's inbox until a node records its final
 * outcome, and it is leased to the intake node that accepted it. When the lease runs out first (a message was
 * dropped on a redeploy, a wire was lost), that intake node emits the event again; the steps after it are
 * idempotent (the ledger, the approval's duplicate handling, the write-back ledger), so the re-run finishes the
 * work without repeating what was done. Steps that park an event on purpose hold its lease meanwhile
 * (FinanceStore.holdLease), so a long wait is not mistaken for a lost event.
 *
 * Bounded in flight: with a window (in-flight.ts), an intake emits at most that many events at a time. An event
 * accepted while the window is full is committed waiting (owned by the intake, due at once, not handed out) and
 * a pass hands it out when a slot frees: when an event in flight finishes or is parked (the store tells,
 * FinanceStore.watchInbox). So a burst is buffered on disk, not in memory.
 *
 * A process that ended (a crash, a kill -9) leaves leases that run for minutes. Lease owners name the process
 * (leaseOwnerFor), so at start an intake ends at once the leases of earlier processes of its own on this instance
 * (FinanceStore.expireLease, which leaves held entries alone) and hands those events out again right away.
 *
 * One pass: list the due entries (waiting, lease run out, or never leased), keep those this intake may take (see
 * recoveryVerdict), lease each with leaseIfExpired and emit only those leased. leaseIfExpired refuses an entry
 * that anyone, this intake included, leased or held since it was listed, so two intakes sharing a store, or a
 * pass racing a hold, never emit one event twice. A pass takes at most `batchSize` entries and no more than the
 * window's free slots; passes follow each other while they find a full batch.
 */
import { randomBytes } from 'node:crypto';
import { instanceId } from './instance';
import { nodeIdOfOwner, type FinanceStore, type InboxEntry } from '../reliability/store';

export { nodeIdOfOwner };

export const DEFAULT_RECOVERY_BATCH = 100;
/** Open entries read per page when an intake looks for the leases of an earlier process at start. */
const TAKE_OVER_PAGE = 500;

/** Drawn once per process: a pid repeats in containers. */
const THIS_RUN = randomBytes(6).toString('hex');

/**
 * This process in lease owners: the instance (host name and user directory, instance.ts) and a random id of
 * this run, e.g. "host-1~3fa2b9c0/4f9e0c2d7a11".
 */
export function processIdFor(userDir?: string): string {
  return `${instanceId(userDir)}/${THIS_RUN}`;
}

/** The lease owner an intake node uses: its node id and this process, e.g. "a1b2c3@host-1~3fa2b9c0/4f9e0c2d7a11". */
export function leaseOwnerFor(nodeId: string, processId: string = processIdFor()): string {
  return `${nodeId}@${processId}`;
}

/**
 * Whether `leaseOwner` is an earlier process of the intake `owner` on this instance, so its leases are void: the
 * same node id and instance (host and user directory) with another process id, or the bare node id (written
 * before owners named their process). A lease of another instance is left to run out: that instance may be alive
 * (a store shared by several hosts, or by several Node-RED instances on one host).
 */
export function isEarlierProcessOf(leaseOwner: string, owner: string): boolean {
  if (leaseOwner === owner) return false;
  const nodeId = nodeIdOfOwner(owner);
  if (leaseOwner === nodeId) return true;
  if (nodeIdOfOwner(leaseOwner) !== nodeId) return false;
  const instanceOf = (someOwner: string) => someOwner.slice(nodeId.length + 1).split('/')[0];
  return instanceOf(leaseOwner) === instanceOf(owner);
}

/**
 * Whose turn an expired entry is: `recover` (this intake's), `another-intake` (leased to another deployed
 * intake, which recovers it) or `orphan` (no intake can be told: see recoveryVerdict).
 */
export type RecoveryVerdict = 'recover' | 'another-intake' | 'orphan';

/** The in-flight window as recovery uses it (in-flight.ts). */
export interface RecoveryWindow {
  readonly free: number;
  tryReserve(): boolean;
  cancel(): void;
  take(key: string, leaseUntil: number): void;
  settle(key: string): boolean;
}

export interface InboxRecoveryOptions {
  store: () => FinanceStore;
  /** The lease owner of this intake (leaseOwnerFor): the lease every event it accepted or recovered carries. */
  owner: string;
  /** How long a recovered event is leased; also the grace before an entry that was never leased is recovered. */
  leaseMs: number;
  /** Time between passes. */
  intervalMs: number;
  /** Whose turn the entry is (usually recoveryVerdict). */
  verdict(entry: InboxEntry): RecoveryVerdict;
  /**
   * The node id whose entries a pass lists (FinanceStore.expiredLeases ownedBy), or undefined for all: with
   * several intakes on one store, a pass must list only its own, or others' entries it may not recover (e.g.
   * thousands an intake removed from the flows left) fill every batch and nothing is ever recovered.
   */
  ownedBy?(): string | undefined;
  /** Sends the event on; `entry.attempts` counts its deliveries, this one included (1: its first). */
  emit(entry: InboxEntry): void;
  /** What a pass did. */
  onPass?(pass: RecoveryPass): void;
  /** A pass failed (the store could not be read); the next pass tries again. */
  onError(error: unknown): void;
  /** Most entries one pass looks at. Default DEFAULT_RECOVERY_BATCH. */
  batchSize?: number;
  /** Bounds the events in flight (in-flight.ts); without one, every accepted event is emitted at once. */
  window?: RecoveryWindow;
}

export interface RecoveryPass {
  /** The entries emitted (again, when their `attempts` is above 1). */
  emitted: InboxEntry[];
  /** Expired entries that no intake may recover (see recoveryVerdict). */
  orphans: number;
  /** The pass found a whole batch and emitted some of it: more may be due. */
  full: boolean;
  /** The pass found fewer due entries than it asked for: nothing else is due now. */
  exhausted: boolean;
}

/**
 * Who recovers an expired entry: the intake that holds its lease (any process of it). An entry without a lease
 * owner (accepted by an older version, or held before it was ever leased), or whose owner is no longer a deployed
 * intake, is an orphan: it is recovered only by an intake that is the only one on its store, since with several
 * there is no telling which flow the event belongs to, and the wrong flow would map it with the wrong profile.
 */
export function recoveryVerdict(
  entry: InboxEntry,
  owner: string,
  context: { isDeployedIntake(nodeId: string): boolean; onlyIntakeOnStore(): boolean },
): RecoveryVerdict {
  const leaseNode = entry.leaseOwner === undefined ? undefined : nodeIdOfOwner(entry.leaseOwner);
  if (leaseNode === nodeIdOfOwner(owner)) return 'recover';
  if (leaseNode !== undefined && context.isDeployedIntake(leaseNode)) return 'another-intake';
  return context.onlyIntakeOnStore() ? 'recover' : 'orphan';
}

export class InboxRecovery {
  readonly #options: InboxRecoveryOptions;
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<RecoveryPass> | undefined;
  #stopped = false;
  #unwatch: (() => void) | undefined;
  /**
   * Events of this run wait in the store for a slot, so a newcomer waits too. What an earlier run left waiting is
   * handed out by the pass at start; an event that arrives meanwhile need not wait for it.
   */
  #waiting = false;
  /** Counts events committed waiting, so a pass that started before one does not clear `#waiting`. */
  #waitingSeq = 0;
  #draining: Promise<void> | undefined;
  #drainAgain = false;
  #censusAt = -Infinity;

  constructor(options: InboxRecoveryOptions) {
    this.#options = options;
  }

  /**
   * Ends the leases an earlier process of this intake left, hands out what is due now (what the last process
   * left unfinished and what waits) and then passes every intervalMs; the timer is unref'd.
   */
  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => this.wake(), this.#options.intervalMs);
    this.#timer.unref();
    this.#takeOverEarlierProcesses().then(
      () => this.wake(),
      (error: unknown) => {
        this.#options.onError(error);
        this.wake();
      },
    );
  }

  /**
   * Whether the event being accepted is emitted at once (true: a slot is reserved for it; commit it leased and
   * call admitted()) or waits in the store (false: commit it with a 0 ms lease and call waiting()). Events wait
   * while others wait before them, so they leave in the order they came.
   */
  admit(): boolean {
    const window = this.#options.window;
    if (!window) return true;
    if (this.#waiting || this.#stopped) return false;
    return window.tryReserve();
  }

  /** After admit() said true: the event `key` was committed leased until `leaseUntil`; undefined: it was not. */
  admitted(key: string | undefined, leaseUntil?: number): void {
    const window = this.#options.window;
    if (!window) return;
    if (key === undefined || leaseUntil === undefined) window.cancel();
    else window.take(key, leaseUntil);
  }

  /** An event was committed waiting: a pass hands it out when a slot is free. */
  waiting(): void {
    this.#waiting = true;
    this.#waitingSeq += 1;
    this.wake();
  }

  /** Runs passes soon, until nothing more is due or the window is full; calls made meanwhile add one more round. */
  wake(): void {
    if (this.#stopped) return;
    if (this.#draining) {
      this.#drainAgain = true;
      return;
    }
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
    });
  }

  /** One pass, unless one is running already (then its result). */
  runOnce(): Promise<RecoveryPass> {
    if (!this.#pass) {
      this.#pass = this.#recover().finally(() => {
        this.#pass = undefined;
      });
    }
    return this.#pass;
  }

  /** Stops the passes; resolves when a pass in progress has ended. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unwatch?.();
    this.#unwatch = undefined;
    await this.#draining;
    await this.#pass?.catch(() => undefined);
  }

  async #drain(): Promise<void> {
    // Yield first, so the wake-ups of one burst of commits share one round.
    await new Promise<void>((resolve) => setImmediate(resolve));
    do {
      this.#drainAgain = false;
      try {
        this.#watch();
        for (;;) {
          if (this.#stopped) return;
          const seq = this.#waitingSeq;
          const pass = await this.runOnce();
          this.#options.onPass?.(pass);
          if (pass.exhausted && seq === this.#waitingSeq) this.#waiting = false;
          // Due entries left behind for want of a slot (e.g. what a killed process left): a free slot takes them.
          if (!pass.exhausted && this.#options.window?.free === 0) this.#waiting = true;
          if (!pass.full) break;
        }
      } catch (error) {
        this.#options.onError(error);
      }
    } while (this.#drainAgain && !this.#stopped);
  }

  /** Learns from the store when an event in flight finished or was parked, which frees its slot. */
  #watch(): void {
    const window = this.#options.window;
    if (!window || this.#unwatch) return;
    this.#unwatch = this.#options.store().watchInbox((key) => {
      if (window.settle(key) && this.#waiting) this.wake();
    });
  }

  async #recover(): Promise<RecoveryPass> {
    const { owner, leaseMs, window } = this.#options;
    const store = this.#options.store();
    const limit = Math.min(this.#options.batchSize ?? DEFAULT_RECOVERY_BATCH, window ? window.free : Infinity);
    const pass: RecoveryPass = { emitted: [], orphans: 0, full: false, exhausted: false };
    if (limit === 0 || this.#stopped) return pass;
    const ownedBy = this.#options.ownedBy?.();
    const due = await store.expiredLeases(limit, leaseMs, ownedBy === undefined ? {} : { ownedBy });
    pass.exhausted = due.length < limit;
    if (ownedBy !== undefined) pass.orphans = await this.#countOrphans(store);
    const mine: InboxEntry[] = [];
    for (const entry of due) {
      const verdict = this.#options.verdict(entry);
      if (verdict === 'orphan') pass.orphans += 1;
      if (verdict !== 'recover') continue;
      if (window && !window.tryReserve()) break;
      mine.push(entry);
    }
    // Closing: what is not leased yet stays for the next deploy, which hands it out at once.
    if (this.#stopped) {
      for (let i = 0; i < mine.length; i += 1) window?.cancel();
      return pass;
    }
    // All at once, so the commits share one transaction and one disk sync.
    const leases = await Promise.all(mine.map((entry) => store.leaseIfExpired(entry.key, owner, leaseMs)));
    for (const lease of leases) {
      if (!lease.leased) {
        window?.cancel();
        continue;
      }
      window?.take(lease.entry.key, lease.entry.leaseUntil ?? 0);
      try {
        this.#options.emit(lease.entry);
      } catch (error) {
        // The entry is leased and in the window: its lease running out frees the slot and emits it again.
        this.#options.onError(error);
        continue;
      }
      pass.emitted.push(lease.entry);
    }
    pass.full = due.length === limit && pass.emitted.length > 0;
    return pass;
  }

  /**
   * With a filtered pass the orphans are not listed: at most once per recovery interval one unfiltered look (one
   * batch) counts them, so the node can still say that some events belong to no deployed intake.
   */
  async #countOrphans(store: FinanceStore): Promise<number> {
    const now = Date.now();
    if (now - this.#censusAt < this.#options.intervalMs) return 0;
    this.#censusAt = now;
    const due = await store.expiredLeases(this.#options.batchSize ?? DEFAULT_RECOVERY_BATCH, this.#options.leaseMs);
    return due.filter((entry) => this.#options.verdict(entry) === 'orphan').length;
  }

  /** Ends the leases of earlier processes of this intake on this host (see isEarlierProcessOf). */
  async #takeOverEarlierProcesses(): Promise<void> {
    const { owner } = this.#options;
    let after: string | undefined;
    for (;;) {
      if (this.#stopped) return;
      const store = this.#options.store();
      const page = await store.listOpen({ limit: TAKE_OVER_PAGE, ...(after === undefined ? {} : { after }) });
      const theirs = page.filter(
        (entry) => entry.leaseOwner !== undefined && isEarlierProcessOf(entry.leaseOwner, owner),
      );
      await Promise.all(theirs.map((entry) => store.expireLease(entry.key, entry.leaseOwner!)));
      if (page.length < TAKE_OVER_PAGE) return;
      after = page[page.length - 1].key;
    }
  }
}
