/**
 * Durable scheduled retries (DESIGN section 7: "scheduled retries survive restarts"). A message whose
 * attempt failed is parked in the store with the time it may run again; a loop claims the due ones and runs
 * them. Parked retries survive a crash, a restart and a redeploy, and each runs once:
 *
 * - One kv record per parked retry, in the caller's namespace (e.g. `retry:<nodeId>`), keyed
 *   `<dueAt, 15 digits>:<random token>`. Keys sort by due time, so finding what is due reads only the front
 *   of the namespace, however many retries wait behind it (a long ERP outage can park thousands).
 * - Claim before run. A claim is a marker in the store's ledger: the ledger's insert-if-absent and
 *   take-over-if-older-than are atomic, which a kv read-then-write is not, so two schedulers on one store
 *   (an old and a new deploy, or two nodes of a shared store) can never both claim one retry. A claim that is
 *   not finished within `leaseMs` (the process died, or a close gave up waiting for the run) may be taken
 *   over: the retry then runs once more, later.
 * - Complete after run: the claim is marked done before the record is deleted, so a record whose deletion
 *   was cut short is recognised as already run and dropped, never run again. A done claim is kept for
 *   DONE_CLAIM_RETENTION_MS, then housekeeping purges it (unlike the ERP writes' records, kept for ever).
 * - One waiting retry per id. Parking writes the record, then a park marker `<namespace>:<id>` in the ledger
 *   that names the record (insert-if-absent, atomic on both backends, so it holds across the hosts of a shared
 *   store). A second park under an id whose retry still waits is refused and its record removed: two Catch
 *   messages for one failure park one retry. The marker is replaced when the retry it names is gone or has
 *   been claimed (a run that fails parks its next attempt), and removed when that retry completes, before its
 *   record is deleted: a marker never outlives its retry.
 * - Only a retry whose park is complete runs: due() claims a record only while the park marker names it. A
 *   record whose park is still going on (written, marker not yet) is stepped over, so a scan between the two
 *   writes cannot run a retry that schedule() is about to refuse (the retry already waiting under that id
 *   runs as well: one failure, two runs). A record with no marker at all (its park was cut short by a crash)
 *   gets one from the scan, with the same insert-if-absent, so it still runs, once.
 * - Every scheduler notes its namespace under RETRY_NAMESPACES, so a parked retry whose node is no longer
 *   deployed can be found (parkedRetries()).
 *
 * Messages must be plain data the store can keep: see parkableMessage().
 */
import { randomUUID } from 'node:crypto';
import { ledgerKey, type FinanceStore } from './store';

export interface ScheduledRetry {
  /** The caller's id of the retry (a message id, a UUID); one parked retry per id at a time. */
  id: string;
  /** When it may run, in ms since the epoch (the caller's clock, the same one due() is given). */
  dueAt: number;
  /** The number of the attempt it will be (2 = the first retry). */
  attempt: number;
  /** Waits on a 429 the message has had that used no attempt (retry-policy.ts decideRetry); 0 when absent. */
  throttledWaits?: number;
  /** The message to run again. */
  msg: Record<string, unknown>;
}

export interface RetrySchedulerOptions {
  /** The kv namespace of this scheduler's retries, e.g. `retry:<nodeId>`. */
  namespace: string;
  /** How long a claim holds before another scheduler may take the retry over. Default 60 s. */
  leaseMs?: number;
}

interface StoredRetry {
  id: string;
  attempt: number;
  throttledWaits?: number;
  msg: Record<string, unknown>;
}

export const DEFAULT_CLAIM_LEASE_MS = 60_000;

/**
 * How long a done claim stays in the ledger before housekeeping purges it (ledgerDone's retainMs). Kept for
 * ever, as ERP writes' records are by default, every run of a retry would leave one (about 150 bytes), and a
 * long ERP outage (thousands of retries, several runs each) would grow the store of a small host without bound.
 *
 * A done claim has two jobs, and both end soon after the run:
 * - a scheduler that listed the record just before it was deleted and claims it just after must find the claim
 *   done, or it would start a new claim and run the retry again: a window of milliseconds;
 * - a record whose deletion was cut short (a crash or a store error after ledgerDone) must be dropped, not run:
 *   the next due() of any scheduler on its namespace drops it, moments after the node runs again.
 * A week covers both with a wide margin (a host down for days, a node undeployed and deployed again). Only a
 * record left by a cut-short deletion whose node stays away longer than that would run once more, as a run
 * whose lease ran out does; its ERP writes are still kept from being sent twice by their own ledger records.
 *
 * Why an expiry rather than deleting the done claim right after the record: the scheduler that listed the record
 * before its deletion would then find no claim at all, start one and run the retry a second time (it would
 * have to read the record again after every claim), and a crash between the two deletions would leave that
 * claim for ever. An expiry needs no ordering, holds after any crash, and works alike on LMDB and on a
 * PostgreSQL store several hosts share (whichever host purges removes only what has expired; a week dwarfs
 * any clock skew between them).
 */
export const DONE_CLAIM_RETENTION_MS = 7 * 24 * 60 * 60_000;

/** Claims held by other schedulers (an earlier deploy's abandoned runs) that a due() scan may step over. */
const CLAIMED_ELSEWHERE_ALLOWANCE = 64;
/** The ledger "source" of claim markers; no event source is named like this, so no ERP write shares a key. */
const CLAIM_SOURCE = 'urn:finance-sync:retry-scheduler';
const DUE_DIGITS = 15;
/** Tries to replace a park marker whose retry has gone, before giving up (another park keeps replacing it). */
const MAX_PARK_TRIES = 5;

/** Retries read per store call while adopting another namespace's. */
const ADOPT_PAGE_SIZE = 100;

/** The kv namespace that lists the namespaces of parked retries: key = namespace. */
export const RETRY_NAMESPACES = 'retry-namespaces';

export class RetryScheduler {
  readonly #store: FinanceStore;
  readonly #namespace: string;
  readonly #leaseMs: number;
  /** Identifies this scheduler's claims in the ledger. */
  readonly #owner = `retry-scheduler:${randomUUID()}`;
  /** Retries this scheduler has claimed and not yet completed: id -> kv key. */
  readonly #claims = new Map<string, string>();
  #registered = false;

  constructor(store: FinanceStore, options: RetrySchedulerOptions) {
    if (typeof options.namespace !== 'string' || options.namespace === '') {
      throw new RangeError('A retry scheduler needs a namespace, e.g. "retry:<nodeId>"');
    }
    this.#store = store;
    this.#namespace = options.namespace;
    this.#leaseMs = options.leaseMs ?? DEFAULT_CLAIM_LEASE_MS;
  }

  /**
   * Parks a retry; resolves once it is committed to disk: true when parked, false when a retry under the same
   * id already waits (here or on another host of a shared store), which is then the only one.
   */
  async schedule(retry: ScheduledRetry): Promise<boolean> {
    const stored: StoredRetry = {
      id: retry.id,
      attempt: retry.attempt,
      ...(retry.throttledWaits ? { throttledWaits: retry.throttledWaits } : {}),
      msg: retry.msg,
    };
    await this.#register();
    const key = retryKey(retry.dueAt);
    // The record first: a crash before the marker leaves a retry that runs, never a marker without its retry.
    await this.#store.kvPut(this.#namespace, key, stored);
    const marker = this.#parkKey(retry.id);
    for (let tries = 0; tries < MAX_PARK_TRIES; tries += 1) {
      const begun = await this.#store.ledgerBegin(marker, key);
      if (begun.state !== 'in-flight' || begun.owner === key) return true;
      if (!(await this.#replaceable(begun.owner))) {
        await this.#store.kvDelete(this.#namespace, key);
        return false;
      }
      // Conditional on the owner: of two parks replacing one stale marker, one removes it and wins the next begin.
      await this.#store.ledgerAbort(marker, begun.owner);
    }
    // The marker keeps changing hands: keep this retry rather than lose it.
    return true;
  }

  /**
   * Parks the next attempt of a retry this scheduler has claimed, and completes the claimed one. The new
   * record is written first: a crash in between can run the old one once more, but never loses the retry.
   */
  async reschedule(next: ScheduledRetry): Promise<void> {
    await this.schedule(next);
    await this.complete(next.id);
  }

  /**
   * Claims and answers up to `limit` retries due at `now` (earliest first). Each must end with complete() or
   * reschedule(); until then no scheduler hands it out again, unless the claim expires.
   */
  async due(now: number, limit: number): Promise<ScheduledRetry[]> {
    await this.#register();
    const listed = await this.#store.kvList(this.#namespace, {
      limit: limit + this.#claims.size + CLAIMED_ELSEWHERE_ALLOWANCE,
    });
    const claimed: ScheduledRetry[] = [];
    for (const { key, value } of listed) {
      const dueAt = dueAtOf(key);
      if (claimed.length >= limit || dueAt > now) break;
      const stored = value as StoredRetry;
      // Running here already (or a second retry parked under the same id, which waits for the first).
      if (this.#claims.has(stored.id)) continue;
      if (!(await this.#parkedAs(stored.id, key))) continue;
      const claim = await this.#store.ledgerTakeOver(this.#claimKey(key), this.#owner, this.#leaseMs);
      if (claim.state === 'done') {
        // It ran, but its deletion was cut short.
        await this.#forget(stored.id, key);
        continue;
      }
      if (claim.state === 'in-flight') continue;
      this.#claims.set(stored.id, key);
      claimed.push({
        id: stored.id,
        dueAt,
        attempt: stored.attempt,
        ...(stored.throttledWaits ? { throttledWaits: stored.throttledWaits } : {}),
        msg: stored.msg,
      });
    }
    return claimed;
  }

  /**
   * Ends a retry this scheduler claimed: it will not run again. False when this scheduler holds no claim on
   * `id`. If the store fails here, the claim is forgotten all the same and expires in the store.
   */
  async complete(id: string): Promise<boolean> {
    const key = this.#claims.get(id);
    if (key === undefined) return false;
    try {
      await this.#store.ledgerDone(this.#claimKey(key), { completed: true }, { retainMs: DONE_CLAIM_RETENTION_MS });
      await this.#forget(id, key);
    } finally {
      this.#claims.delete(id);
    }
    return true;
  }

  /**
   * Moves the parked retries of another namespace into this one: those of a node replaced by a copy with a new
   * id, which nothing runs any more. Each keeps its id, due time, attempt and message. Each is claimed in the
   * other namespace first (so a scheduler still running there, on another host, cannot run it meanwhile), parked
   * here, and then completed there: a retry whose id already waits here is the one that stays. Retries claimed
   * by someone else are left (`busy`); so is one whose adoption a crash cut short, until its claim expires
   * (leaseMs), after which adopting again finishes it. Running it twice moves nothing twice.
   */
  async adopt(fromNamespace: string): Promise<{ moved: number; busy: number }> {
    if (fromNamespace === this.#namespace) {
      throw new RangeError('A retry scheduler cannot adopt the retries of its own namespace');
    }
    const from = new RetryScheduler(this.#store, { namespace: fromNamespace, leaseMs: this.#leaseMs });
    const result = { moved: 0, busy: 0 };
    let after: string | undefined;
    for (;;) {
      const page = await this.#store.kvList(fromNamespace, { after, limit: ADOPT_PAGE_SIZE });
      for (const { key, value } of page) {
        const stored = value as StoredRetry;
        const claimKey = from.#claimKey(key);
        const claim = await this.#store.ledgerTakeOver(claimKey, this.#owner, this.#leaseMs);
        if (claim.state === 'in-flight') {
          result.busy += 1;
          continue;
        }
        if (claim.state !== 'done') {
          await this.schedule({
            id: stored.id,
            dueAt: dueAtOf(key),
            attempt: stored.attempt,
            ...(stored.throttledWaits ? { throttledWaits: stored.throttledWaits } : {}),
            msg: stored.msg,
          });
          await this.#store.ledgerDone(claimKey, { adoptedBy: this.#namespace }, { retainMs: DONE_CLAIM_RETENTION_MS });
          result.moved += 1;
        }
        await from.#forget(stored.id, key);
      }
      if (page.length < ADOPT_PAGE_SIZE) return result;
      after = page[page.length - 1].key;
    }
  }

  /** Parked retries, due or not, claimed or not (reads the whole namespace: for status and metrics). */
  async count(): Promise<number> {
    return (await this.#store.kvList(this.#namespace, { limit: Number.MAX_SAFE_INTEGER })).length;
  }

  /** Retries this scheduler has claimed and not completed. */
  get claimed(): number {
    return this.#claims.size;
  }

  #claimKey(key: string): string {
    return ledgerKey({ source: CLAIM_SOURCE, docType: this.#namespace, docId: key, version: 1, operation: 'run' });
  }

  #parkKey(id: string): string {
    return ledgerKey({ source: CLAIM_SOURCE, docType: this.#namespace, docId: id, version: 1, operation: 'park' });
  }

  /**
   * Removes a retry that has run (its claim is done): its park marker, then its record. In that order, so a
   * crash in between leaves a record with a done claim, which the next due() drops, and never a park marker
   * without its record: a marker is an in-flight ledger record, which no purge removes. Only a marker that
   * still names this retry is removed (a next attempt parked meanwhile keeps its own).
   */
  async #forget(id: string, key: string): Promise<void> {
    await this.#store.ledgerAbort(this.#parkKey(id), key);
    await this.#store.kvDelete(this.#namespace, key);
  }

  /**
   * Whether the park of the retry stored under `key` is complete: its id's park marker names it. With no marker
   * (a park between its two writes, or one a crash cut short), this writes it, insert-if-absent as schedule()
   * does, so whichever of the two comes first names the record and the other agrees. A marker naming a record
   * that is gone (left by an older version) is replaced, as schedule() would. Any other marker names a retry
   * that waits or runs under this id: this record is a second park, which schedule() refuses or holds back.
   */
  async #parkedAs(id: string, key: string): Promise<boolean> {
    const marker = this.#parkKey(id);
    const current = await this.#store.ledgerGet(marker);
    if (current?.state === 'in-flight' && current.owner === key) return true;
    if (current?.state === 'in-flight') {
      if ((await this.#store.kvGet(this.#namespace, current.owner)) !== undefined) return false;
      await this.#store.ledgerAbort(marker, current.owner);
    }
    const begun = await this.#store.ledgerBegin(marker, key);
    return begun.state === 'started' || (begun.state === 'in-flight' && begun.owner === key);
  }

  /** Whether the retry a park marker names no longer waits: its record is gone, or it has been claimed. */
  async #replaceable(key: string): Promise<boolean> {
    if ((await this.#store.kvGet(this.#namespace, key)) === undefined) return true;
    return (await this.#store.ledgerGet(this.#claimKey(key))) !== undefined;
  }

  /** Notes this scheduler's namespace once per scheduler, so its retries can be found if its node goes. */
  async #register(): Promise<void> {
    if (this.#registered) return;
    await this.#store.kvPut(RETRY_NAMESPACES, this.#namespace, { namespace: this.#namespace });
    this.#registered = true;
  }
}

export interface ParkedRetries {
  namespace: string;
  /** Parked retries, up to `countLimit`. */
  count: number;
}

/**
 * The namespaces of schedulers (`retry:<nodeId>`) that hold parked retries, with how many (counted up to
 * `countLimit` each). Namespaces noted before RETRY_NAMESPACES existed are not known.
 */
export async function parkedRetries(store: Pick<FinanceStore, 'kvList'>, countLimit = 1000): Promise<ParkedRetries[]> {
  const found: ParkedRetries[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await store.kvList(RETRY_NAMESPACES, { after, limit: 100 });
    for (const { key } of page) {
      const count = (await store.kvList(key, { limit: countLimit })).length;
      if (count > 0) found.push({ namespace: key, count });
    }
    if (page.length < 100) return found;
    after = page[page.length - 1].key;
  }
}

/**
 * A copy of `msg` the store can keep: without `req` and `res`, the live HTTP request and response that
 * core `http in` puts on a message (sockets cannot be stored, and a parked message could not answer the
 * request later anyway: answer an HTTP request before its message reaches a node that may park it).
 * The copy is shallow; the store encodes it when it commits.
 */
export function parkableMessage(msg: object): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...msg };
  delete copy.req;
  delete copy.res;
  return copy;
}

function retryKey(dueAt: number): string {
  if (!Number.isFinite(dueAt) || dueAt < 0) throw new RangeError('dueAt must be a time in ms since the epoch');
  return `${String(Math.ceil(dueAt)).padStart(DUE_DIGITS, '0')}:${randomUUID()}`;
}

function dueAtOf(key: string): number {
  return Number(key.slice(0, DUE_DIGITS));
}

export interface RetryLoopOptions {
  scheduler: RetryScheduler;
  /**
   * Runs one claimed retry and ends it with complete() or reschedule(). A rejection goes to onError and
   * leaves the claim to expire, so the retry runs again after the lease.
   */
  run(retry: ScheduledRetry): Promise<void>;
  /** Failures of the loop itself (the store could not be read); the loop carries on. */
  onError(error: unknown): void;
  /** How often to look for due retries. Default 500 ms. */
  intervalMs?: number;
  /** Retries running at once. Default 8. */
  maxInFlight?: number;
  /** Wall clock in ms since the epoch. Default Date.now. */
  now?: () => number;
}

/**
 * Looks for due retries every `intervalMs` and runs them, at most `maxInFlight` at once. Its timer is
 * unref'd, so it never keeps a process alive by itself.
 */
export class RetryLoop {
  readonly #options: Required<RetryLoopOptions>;
  readonly #running = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #scanning = false;
  #stopped = false;

  constructor(options: RetryLoopOptions) {
    this.#options = {
      ...options,
      intervalMs: options.intervalMs ?? 500,
      maxInFlight: options.maxInFlight ?? 8,
      now: options.now ?? Date.now,
    };
  }

  start(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setInterval(() => this.#scan(), this.#options.intervalMs);
    this.#timer.unref();
    this.#scan();
  }

  /**
   * Stops claiming, then waits up to `waitMs` for the runs in progress. Runs still going after that keep
   * their claims, which expire, so the next deploy runs those retries once more.
   */
  async stop(waitMs: number): Promise<void> {
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#running.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const givingUp = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
    });
    await Promise.race([Promise.allSettled([...this.#running]), givingUp]);
    clearTimeout(timer);
  }

  #scan(): void {
    if (this.#scanning || this.#stopped) return;
    const free = this.#options.maxInFlight - this.#running.size;
    if (free <= 0) return;
    this.#scanning = true;
    this.#options.scheduler
      .due(this.#options.now(), free)
      .then(
        (retries) => {
          // Claimed while stop() came: not started, so the claims expire and the next deploy runs them.
          if (this.#stopped) return;
          for (const retry of retries) this.#start(retry);
        },
        (error: unknown) => this.#options.onError(error),
      )
      .finally(() => {
        this.#scanning = false;
      });
  }

  #start(retry: ScheduledRetry): void {
    const running = this.#options
      .run(retry)
      .catch((error: unknown) => this.#options.onError(error))
      .finally(() => {
        this.#running.delete(running);
      });
    this.#running.add(running);
  }
}
