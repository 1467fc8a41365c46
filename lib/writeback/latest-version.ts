/**
 * Keeps write-backs of a versioned document in version order: once version N has been written back, an older
 * version's write-back (a retry that was parked while N went through, a late duplicate) is not sent, so the
 * source ends with the latest version's outcome. A later version supersedes an earlier one: an "ordered" of
 * version 1 retried after the "cancelled" of version 2 must not undo it.
 *
 * Within one version, the statuses are kept in lifecycle order the same way: with the version the guard keeps
 * the rank of the status last written (outcome.ts, WRITEBACK_STATUS_RANKS), and a write-back of the same
 * version with a lower rank (an `approved` parked while the report was posted) is not sent either. A document
 * without a version is kept in rank order alone; a status without a rank (a custom one) in version order alone.
 *
 * The last version and rank written per document and destination are kept in the store (kv namespace
 * `writeback-versions`: `{ version, rank, status }`, or the plain version number, as earlier versions of the
 * pack wrote it, when the status has no rank).
 * Checking it, writing and recording the new version must be one step per document, everywhere the store is
 * shared: several hosts on one PostgreSQL store, or two write-back nodes on one store, each with its own guard.
 * In one process every guard, whatever node or store handle it serves, queues a document's write-backs one
 * after the other (KeyedQueue): that is all a store of one host (LMDB) needs. On a store several hosts share
 * (FinanceStore.sharedAcrossHosts) the step also runs under a lease per document and target (claimLease, one
 * holder per name across every process on the store). A guard that finds another holder's lease sends nothing
 * and fails with a retryable ERP_CONFLICT (details.sent false), so the node's retry or finance-retry brings the
 * write-back back once the other one is done, and it is then checked against that one's version. The lease
 * costs two store writes per write-back, which is why a store of one host goes without it.
 *
 * The lease is given back after the record. A host that dies holding it blocks the document until the lease
 * lapses, so its TTL is the longest a write should take and not much more (lockTtlMs). A write can take longer
 * all the same (stuck in the rate limit's queue), so while it runs the guard claims the lease again every third
 * of its TTL (claimLease by the same holder extends it): another host's guard cannot take the lease from a live
 * holder, only from a dead one. Should the lease be lost anyway (a renewal that failed or came too late, while
 * another host took it), the write is already on its way and goes on; the record still never goes back: it is
 * the larger of this version and the one stored, read again just before it is written.
 */
import { randomUUID } from 'node:crypto';
import { DEFAULT_TIMEOUT_MS } from '../erp/config';
import { FinanceError } from '../errors';
import { KeyedQueue } from '../purchasing/keyed-queue';
import { whileKeepingLease } from '../reliability/kept-lease';
import { runnerHolder } from '../reliability/single-runner';
import type { FinanceStore } from '../reliability/store';

export const WRITEBACK_VERSIONS_NAMESPACE = 'writeback-versions';

/** Prefix of the lease names (FinanceStore.claimLease) that lock one document and target. */
export const WRITEBACK_LOCK_PREFIX = 'writeback-version/';

/** Time a write may spend waiting for a connection slot and the rate limit before its request goes out. */
const QUEUEING_ALLOWANCE_MS = 60_000;

export type LatestVersionStore = Pick<FinanceStore, 'kvGet' | 'kvPut' | 'claimLease' | 'sharedAcrossHosts'>;

/** Where a write-back stands: the document's version (when it has one) and its status's rank (when it has one). */
export interface WritebackMark {
  version?: number;
  rank?: number;
  /** The status, kept for whoever reads the store; the order goes by version and rank. */
  status?: string;
}

export interface GuardRunOptions {
  /**
   * The key an earlier version of the pack kept this document's version under (without the destination). Read
   * only while `key` has no record yet, so a parked older version is not sent after a newer one written back
   * before the upgrade; never written.
   */
  legacyKey?: string;
}

/** The write-backs of this process, one at a time per document and target, across all guards. */
const writebacksInProcess = new KeyedQueue();

export interface LatestVersionGuardOptions {
  /**
   * How long one request to the target waits for its answer: the source API's timeout, or the MQTT target's
   * wait for the PUBACK. Default: the HTTP client's default timeout.
   */
  writeTimeoutMs?: number;
  /** Names this guard's lease holder, e.g. the node id; the host, the process and a random id are added. */
  holderPrefix?: string;
  /** The queue of this process's write-backs; tests give each simulated host its own. */
  queue?: KeyedQueue;
  /** How often a running write-back's lease is claimed again. Default: a third of the lease's TTL. */
  renewEveryMs?: number;
  /** Told when a running write-back's lease could not be renewed (it goes on all the same). Default: nobody. */
  warn?: (text: string) => void;
}

export class LatestVersionGuard {
  readonly #store: LatestVersionStore;
  readonly #queue: KeyedQueue;
  /**
   * Unique per guard, not per node or process: after a redeploy the new node's guard and its predecessor's
   * last write-back may run side by side in one process, and one holder name would let both through.
   */
  readonly #holder: string;
  readonly #lockTtlMs: number;
  readonly #renewEveryMs: number;
  readonly #warn: (text: string) => void;

  constructor(store: LatestVersionStore, options: LatestVersionGuardOptions = {}) {
    this.#store = store;
    this.#queue = options.queue ?? writebacksInProcess;
    this.#holder = `${options.holderPrefix ?? 'writeback'}/${runnerHolder()}/${randomUUID()}`;
    this.#lockTtlMs = lockTtlMs(options.writeTimeoutMs ?? DEFAULT_TIMEOUT_MS);
    // A third: two renewals may fail or come late (a store hiccup) before the lease lapses under a live write.
    this.#renewEveryMs = options.renewEveryMs ?? Math.floor(this.#lockTtlMs / 3);
    this.#warn = options.warn ?? (() => undefined);
  }

  /**
   * Runs `task` unless a newer version of the document, or a later status of the same version, was written
   * back already (then answers 'superseded' without running it); records `mark` (a number: a version) once
   * `task` resolved with `written` true. On a store several hosts share, rejects with a retryable ERP_CONFLICT,
   * without running `task`, while another host's guard is writing back the same document.
   */
  run<T>(
    key: string,
    mark: number | WritebackMark,
    task: () => Promise<{ value: T; written: boolean }>,
    options: GuardRunOptions = {},
  ): Promise<T | 'superseded'> {
    const checked: Checked = {
      mark: typeof mark === 'number' ? { version: mark } : mark,
      legacyKey: options.legacyKey,
    };
    return this.#queue.run(key, () =>
      this.#store.sharedAcrossHosts ? this.#runLocked(key, checked, task) : this.#runChecked(key, checked, task),
    );
  }

  /** Check, write and record, under the lease that keeps every other host's guard out meanwhile. */
  async #runLocked<T>(
    key: string,
    checked: Checked,
    task: () => Promise<{ value: T; written: boolean }>,
  ): Promise<T | 'superseded'> {
    const lock = `${WRITEBACK_LOCK_PREFIX}${key}`;
    if (!(await this.#store.claimLease(lock, this.#holder, this.#lockTtlMs))) throw lockedError(key, lock);
    const lease = {
      store: this.#store,
      name: lock,
      holder: this.#holder,
      ttlMs: this.#lockTtlMs,
      renewEveryMs: this.#renewEveryMs,
      onLost: () => this.#warn(leaseLostWarning(key)),
      onRenewalFailed: (err: unknown) => this.#warn(renewalFailedWarning(key, err)),
    };
    return whileKeepingLease(lease, () => this.#runChecked(key, checked, task));
  }

  /** Check, write and record; the caller keeps every other write-back of the document out meanwhile. */
  async #runChecked<T>(
    key: string,
    { mark, legacyKey }: Checked,
    task: () => Promise<{ value: T; written: boolean }>,
  ): Promise<T | 'superseded'> {
    let last = await this.#lastWritten(key);
    if (last === undefined && legacyKey !== undefined) last = await this.#lastWritten(legacyKey);
    if (isSuperseded(mark, last)) return 'superseded';
    const { value, written } = await task();
    if (written) await this.#record(key, mark);
    return value;
  }

  /**
   * Records `mark` unless a later one is stored: another guard's, if this write outlasted the lease. Within one
   * version the rank only goes up, and a status without a rank leaves the stored one.
   */
  async #record(key: string, mark: WritebackMark): Promise<void> {
    const last = await this.#lastWritten(key);
    const next = laterOf(mark, last);
    if (next === last || next === undefined) return;
    // A version without a rank is stored as the plain number earlier versions of the pack read and write.
    const value = next.rank === undefined && next.version !== undefined ? next.version : next;
    await this.#store.kvPut(WRITEBACK_VERSIONS_NAMESPACE, key, value);
  }

  async #lastWritten(key: string): Promise<WritebackMark | undefined> {
    return markOf(await this.#store.kvGet(WRITEBACK_VERSIONS_NAMESPACE, key));
  }
}

/**
 * The lease's TTL: longer than a write can take. One write is a token fetch and the request, each waiting up
 * to the timeout, twice when the target answers 401 and the token is renewed (lib/erp/client.ts), after a
 * wait for a connection slot and the rate limit.
 */
export function lockTtlMs(writeTimeoutMs: number): number {
  return 4 * writeTimeoutMs + QUEUEING_ALLOWANCE_MS;
}

interface Checked {
  mark: WritebackMark;
  legacyKey: string | undefined;
}

/** A stored record: `{ version, rank, status }`, or a plain version number (earlier versions of the pack). */
function markOf(stored: unknown): WritebackMark | undefined {
  if (typeof stored === 'number') return { version: stored };
  if (typeof stored !== 'object' || stored === null) return undefined;
  const { version, rank, status } = stored as Record<string, unknown>;
  return {
    ...(typeof version === 'number' ? { version } : {}),
    ...(typeof rank === 'number' ? { rank } : {}),
    ...(typeof status === 'string' ? { status } : {}),
  };
}

/**
 * Whether `mark` comes before the one written last: an older version, or the same version (or a document
 * without one) with a lower rank. Ranks are compared only when both statuses have one.
 */
export function isSuperseded(mark: WritebackMark, last: WritebackMark | undefined): boolean {
  if (last === undefined) return false;
  if (mark.version !== undefined && last.version !== undefined && mark.version !== last.version) {
    return mark.version < last.version;
  }
  return mark.rank !== undefined && last.rank !== undefined && mark.rank < last.rank;
}

/** What to keep after `mark` was written: `last` itself when nothing changes (then nothing is stored). */
function laterOf(mark: WritebackMark, last: WritebackMark | undefined): WritebackMark | undefined {
  if (last === undefined) return mark;
  if (mark.version !== undefined && last.version !== undefined && mark.version !== last.version) {
    return mark.version > last.version ? mark : last;
  }
  // The same version, or a document without one: the rank only goes up, and a status without a rank leaves
  // the stored one (of an equal rank, the status written last is kept, for whoever reads the store).
  const version = mark.version ?? last.version;
  const kept = mark.rank !== undefined && (last.rank === undefined || mark.rank >= last.rank) ? mark : last;
  const next: WritebackMark = {
    ...(version === undefined ? {} : { version }),
    ...(kept.rank === undefined ? {} : { rank: kept.rank }),
    ...(kept.status === undefined ? {} : { status: kept.status }),
  };
  return next.version === last.version && next.rank === last.rank && next.status === last.status ? last : next;
}

function leaseLostWarning(key: string): string {
  return (
    `The write-back of ${key} ran longer than its lease, and another write-back of the document took the lease ` +
    'meanwhile. This one is on its way and goes on; the version recorded never goes back. If this recurs, ' +
    'raise the target timeout or check why writes wait so long (rate limit, slow target).'
  );
}

function renewalFailedWarning(key: string, err: unknown): string {
  const reason = err instanceof Error ? err.message : String(err);
  return (
    `The lease of the running write-back of ${key} could not be renewed (${reason}); the write goes on and the ` +
    'renewal is tried again. Check the store connection if this recurs.'
  );
}

function lockedError(key: string, lock: string): FinanceError {
  return new FinanceError(
    'ERP_CONFLICT',
    `Another write-back of ${key} is running right now (on another host, or in another write-back node on the same store), so this one sent nothing: the versions of a document are written back one at a time, in order. The call is retryable: it is retried once that write-back is done.`,
    // sent: false: nothing went out, so a retry policy need not count this attempt (nodes/shared/retrying.ts).
    { retryable: true, details: { lock, sent: false } },
  );
}
