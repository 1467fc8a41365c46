/**
 * Recovery of unfinished events (DESIGN section 7, "Inbox with leases"). Every accepted event stays open in the
 * store's inbox until a node records its final outcome, and it is leased to the intake node that accepted it.
 * When the lease runs out first (the process crashed or was killed, a message was dropped on a redeploy, a
 * wire was lost), that intake node emits the event again; the steps after it are idempotent (the ledger, the
 * approval's duplicate handling, the write-back ledger), so the re-run finishes the work without repeating
 * what was done. Steps that park an event on purpose hold its lease meanwhile (FinanceStore.holdLease), so a
 * long wait is not mistaken for a lost event.
 *
 * One pass: list the entries whose lease ran out, keep those this intake may recover (see recoveryVerdict),
 * lease each with leaseIfExpired and emit only those leased. leaseIfExpired refuses an entry that anyone, this
 * intake included, leased or held since it was listed, so two intakes sharing a store, or a pass racing a hold,
 * never emit one event twice. A pass takes at most `batchSize` entries, so a backlog after a crash drains into
 * the flow at a bounded rate instead of all at once.
 */
import type { FinanceStore, InboxEntry } from '../reliability/store';

export const DEFAULT_RECOVERY_BATCH = 100;

/**
 * Whose turn an expired entry is: `recover` (this intake's), `another-intake` (leased to another deployed
 * intake, which recovers it) or `orphan` (no intake can be told: see recoveryVerdict).
 */
export type RecoveryVerdict = 'recover' | 'another-intake' | 'orphan';

export interface InboxRecoveryOptions {
  store: () => FinanceStore;
  /** The lease owner of this intake (its node id): the lease every event it accepted or recovered carries. */
  owner: string;
  /** How long a recovered event is leased; also the grace before an entry that was never leased is recovered. */
  leaseMs: number;
  /** Time between passes. */
  intervalMs: number;
  /** Whose turn the entry is (usually recoveryVerdict). */
  verdict(entry: InboxEntry): RecoveryVerdict;
  /** Sends the recovered event on; `entry.attempts` counts its deliveries, this one included. */
  emit(entry: InboxEntry): void;
  /** What a scheduled pass did. */
  onPass?(pass: RecoveryPass): void;
  /** A pass failed (the store could not be read); the next pass tries again. */
  onError(error: unknown): void;
  /** Most entries one pass looks at. Default DEFAULT_RECOVERY_BATCH. */
  batchSize?: number;
}

export interface RecoveryPass {
  /** The entries emitted again. */
  emitted: InboxEntry[];
  /** Expired entries that no intake may recover (see recoveryVerdict). */
  orphans: number;
}

/**
 * Who recovers an expired entry: the intake that holds its lease. An entry without a lease owner (accepted by an
 * older version, or held before it was ever leased), or whose owner is no longer a deployed intake, is an
 * orphan: it is recovered only by an intake that is the only one on its store, since with several there is no
 * telling which flow the event belongs to, and the wrong flow would map it with the wrong profile.
 */
export function recoveryVerdict(
  entry: InboxEntry,
  owner: string,
  context: { isDeployedIntake(owner: string): boolean; onlyIntakeOnStore(): boolean },
): RecoveryVerdict {
  if (entry.leaseOwner === owner) return 'recover';
  if (entry.leaseOwner !== undefined && context.isDeployedIntake(entry.leaseOwner)) return 'another-intake';
  return context.onlyIntakeOnStore() ? 'recover' : 'orphan';
}

export class InboxRecovery {
  readonly #options: InboxRecoveryOptions;
  #timer: NodeJS.Timeout | undefined;
  #pass: Promise<RecoveryPass> | undefined;
  #stopped = false;

  constructor(options: InboxRecoveryOptions) {
    this.#options = options;
  }

  /** Runs a pass now (what the last process left unfinished) and then every intervalMs; the timer is unref'd. */
  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => this.#scheduledPass(), this.#options.intervalMs);
    this.#timer.unref();
    this.#scheduledPass();
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
    await this.#pass?.catch(() => undefined);
  }

  #scheduledPass(): void {
    if (this.#stopped) return;
    this.runOnce().then(
      (pass) => this.#options.onPass?.(pass),
      (error: unknown) => this.#options.onError(error),
    );
  }

  async #recover(): Promise<RecoveryPass> {
    const { owner, leaseMs } = this.#options;
    const store = this.#options.store();
    const expired = await store.expiredLeases(this.#options.batchSize ?? DEFAULT_RECOVERY_BATCH, leaseMs);
    const pass: RecoveryPass = { emitted: [], orphans: 0 };
    for (const entry of expired) {
      // Closing: what is not leased yet stays for the next deploy, which recovers it at once.
      if (this.#stopped) break;
      const verdict = this.#options.verdict(entry);
      if (verdict === 'orphan') pass.orphans += 1;
      if (verdict !== 'recover') continue;
      const lease = await store.leaseIfExpired(entry.key, owner, leaseMs);
      if (!lease.leased) continue;
      this.#options.emit(lease.entry);
      pass.emitted.push(lease.entry);
    }
    return pass;
  }
}
