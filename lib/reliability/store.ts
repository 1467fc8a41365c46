/**
 * The durable store of a host (DESIGN 7): the inbox that holds every accepted event until it reaches a final
 * outcome, the idempotency ledger of ERP writes, and a namespaced key-value space with expiry for the other
 * nodes (retry schedules, approval timers, master data cache, polling cursors).
 *
 * `FinanceStore` is the contract; `LmdbStore` (store-lmdb.ts) is the implementation a single host gets by
 * default, and `PostgresStore` (store-postgres.ts) the one several hosts share. Every method is asynchronous
 * for that reason, even where LMDB could answer synchronously.
 *
 * Every write resolves only after it is committed and synced to disk, so a caller may acknowledge a source
 * as soon as `accept()` resolves. Storage failures reject with FinanceError `STORE_UNAVAILABLE`; bad
 * arguments with `SCHEMA_INVALID`; a full inbox with `STORE_FULL`.
 */
import { LmdbStore } from './store-lmdb';
import { PostgresStore, type PostgresConnection } from './store-postgres';

export { inboxKey, ledgerKey, nodeIdOfOwner, type LedgerKeyParts } from './store-keys';
export { DEFAULT_LEASE_MS } from './store-lmdb';
export { LmdbStore, PostgresStore, type PostgresConnection };

export interface InboxOutcome {
  /** posted | synced | refused | dead-lettered | ... */
  status: string;
  detail?: unknown;
  /** When the outcome was recorded (ms since the epoch, from the store's clock). */
  at: number;
}

export interface InboxEntry {
  /** The de-duplication key (see inboxKey()). */
  key: string;
  envelope: Record<string, unknown>;
  payload: unknown;
  receivedAt: number;
  state: 'open' | 'final';
  /** Set while a worker holds the entry: it is not handed out again before this instant. */
  leaseUntil?: number;
  leaseOwner?: string;
  /** How many times the entry has been leased, i.e. handed to a worker. */
  attempts: number;
  /** How long its last lease was granted for (ms); holdLease() gives the entry this long again after a hold. */
  leaseMs?: number;
  outcome?: InboxOutcome;
}

export interface AcceptInput {
  key: string;
  envelope: object;
  payload: unknown;
  /** Defaults to the store's clock. */
  receivedAt?: number;
  /**
   * Leases the new entry to `owner` for `ms` in the same transaction (its first attempt), so no accepted event
   * is ever without an owner, not even after a crash right after the commit. A duplicate is not leased.
   * `ms` 0 accepts the event as waiting for its turn: owned by `owner` but due at once (expiredLeases() lists
   * it), not handed out and no attempt counted; the owner hands it out later with leaseIfExpired().
   */
  lease?: { owner: string; ms: number };
}

export type AcceptResult = { status: 'accepted'; entry: InboxEntry } | { status: 'duplicate'; entry: InboxEntry };

/**
 * `held`: another owner holds a lease that has not expired (for renewLease: the caller does not hold the
 * lease any more). `final`: the entry already has its outcome. `missing`: no such entry.
 */
export type LeaseResult =
  | { leased: true; entry: InboxEntry }
  | { leased: false; reason: 'held' | 'final'; entry: InboxEntry }
  | { leased: false; reason: 'missing' };

export type LedgerRecord =
  { state: 'in-flight'; owner: string; since: number } | { state: 'done'; ref: unknown; at: number };

export type LedgerBeginResult =
  { state: 'started' } | { state: 'in-flight'; since: number; owner: string } | { state: 'done'; ref: unknown };

export type LedgerTakeOverResult =
  LedgerBeginResult | { state: 'taken-over'; previousOwner: string; previousSince: number };

export interface LedgerDoneOptions {
  /**
   * How long this done record is kept (ms), in place of the store's ledgerRetentionMs; purgeExpired() removes
   * it after that. Only for ledger records that are not ERP writes, such as the retry scheduler's claims (which
   * would otherwise be kept for ever, one per retry run): an ERP write's record keeps the store's retention.
   */
  retainMs?: number;
}

export interface KvEntry {
  key: string;
  value: unknown;
  expiresAt?: number;
}

/** How many expired records purgeExpired() removed, per part of the store. */
/**
 * One change of a kvWrite: a value to store under (namespace, key), with `ttlMs` as kvPut's, or a removal
 * (`remove: true`, as kvDelete).
 */
export type KvWrite =
  { namespace: string; key: string; value: unknown; ttlMs?: number } | { namespace: string; key: string; remove: true };

export interface PurgeResult {
  inbox: number;
  ledger: number;
  kv: number;
  leases: number;
}

export interface ExpiredLeasesOptions {
  /**
   * Only entries leased to this node id (any process of it, see nodeIdOfOwner); entries without an owner are
   * left out. Recovery in a store several intakes share asks for its own, so other intakes' entries can never
   * fill its batch (and starve it).
   */
  ownedBy?: string;
}

/**
 * The durable store's contract, kept by both backends alike. Values are plain JSON-like data (objects, arrays,
 * strings, numbers, booleans, null, plus Dates, Buffers and bigints); Maps and Sets are not supported
 * (PostgreSQL gives a Map back as a plain object).
 */
export interface FinanceStore {
  /**
   * True for a store several hosts share (PostgreSQL): what one process holds in memory does not stop another,
   * so mutual exclusion needs a lease in the store (claimLease). Absent for LMDB, a store of one host.
   */
  readonly sharedAcrossHosts?: boolean;

  // ---- inbox -------------------------------------------------------------------------------------

  /** How long a finished event's key is remembered to answer duplicates (ms). */
  readonly dedupRetentionMs: number;

  /**
   * Stores an event unless its key is already known (atomic insert-if-absent). A duplicate answers the
   * first entry, with its outcome when it has one, even when the inbox is full. Rejects with STORE_FULL
   * when the inbox already holds `maxInboxEntries` open entries.
   */
  accept(input: AcceptInput): Promise<AcceptResult>;
  /** Hands an open entry to `owner` until now + `ms` and counts an attempt. The same owner may lease again. */
  lease(key: string, owner: string, ms: number): Promise<LeaseResult>;
  /** Extends the caller's own lease to now + `ms` (no new attempt); refused as `held` if it lost the lease. */
  renewLease(key: string, owner: string, ms: number): Promise<LeaseResult>;
  /** Gives the caller's lease back so the entry is handed out again; false if the caller did not hold it. */
  releaseLease(key: string, owner: string): Promise<boolean>;
  /**
   * Leases an entry to `owner` only if no lease runs on it, the caller's own included: for recovery, which
   * re-emits what expiredLeases() listed. An entry leased, renewed or held since it was listed is refused as
   * `held`, so it is not emitted twice. Counts an attempt.
   */
  leaseIfExpired(key: string, owner: string, ms: number): Promise<LeaseResult>;
  /**
   * Keeps an open entry from being handed out again while a step has parked its event on purpose (a retry
   * waiting for its turn, an approval waiting for a person): its lease now ends `ms` from now plus the duration
   * of its last lease (DEFAULT_LEASE_MS if it never had one), so the event has a whole lease again once the step
   * resumes. Whoever holds the lease keeps it; no attempt is counted; an earlier end is replaced either way
   * (the parking step knows best, and `ms` 0 gives back an ordinary lease after a long hold).
   */
  holdLease(key: string, ms: number): Promise<LeaseResult>;
  /**
   * Ends `owner`'s lease now, for an intake that takes over the work of an earlier process of its own that ended
   * (a crash, a kill -9) instead of waiting for those leases to run out: only when the entry is open, leased to
   * `owner` until later than now and not held (holdLease with more than 0 ms). The owner and the attempts stay;
   * expiredLeases() lists the entry from now on. False when nothing changed.
   */
  expireLease(key: string, owner: string): Promise<boolean>;
  /**
   * Open entries that need to be emitted again: those whose lease has expired, then those never leased
   * (or released) whose `receivedAt` is at least `graceMs` old. The grace covers the normal path, in which
   * the intake emits the event right after accepting it and the first worker leases it moments later.
   */
  expiredLeases(limit: number, graceMs: number, options?: ExpiredLeasesOptions): Promise<InboxEntry[]>;
  /**
   * Takes an open entry over from the node `fromNodeId` (any process of it: the lease owner's node id, see
   * nodeIdOfOwner) and leases it to `owner` for `ms`, whether or not that lease still runs: for the MQTT
   * consumer that claims an event an intake committed and then published (scale-out). Refused as `held` when
   * the entry is leased to anyone else (another consumer claimed it first) or held by a parked step; `final`
   * when it has its outcome. `ms` 0 takes it over waiting (owned, due at once, no attempt counted, like accept
   * with 0 ms); otherwise an attempt is counted.
   */
  takeOverLease(key: string, fromNodeId: string, owner: string, ms: number): Promise<LeaseResult>;
  /**
   * Records the final outcome. The entry stays (for de-duplication) until the retention period has passed.
   * The first outcome wins: finishing a final entry returns it unchanged. Undefined for an unknown key.
   */
  finish(key: string, outcome: { status: string; detail?: unknown }): Promise<InboxEntry | undefined>;
  get(key: string): Promise<InboxEntry | undefined>;
  /** Number of open entries (a stored counter, not a scan). */
  countOpen(): Promise<number>;
  /** Open entries in key order, starting after the key `after` (default limit 100). */
  listOpen(options?: { limit?: number; after?: string }): Promise<InboxEntry[]>;
  /**
   * Calls `listener(key)` after each committed finish() and holdLease() of more than 0 ms, made through any
   * handle on this store in this process: the intake counts its events in flight with it. Returns the function
   * that removes the listener. A listener must not throw (what it throws is ignored).
   */
  watchInbox(listener: (key: string) => void): () => void;

  // ---- ledger ------------------------------------------------------------------------------------

  /**
   * Marks an ERP write as in flight unless the key is already known (atomic insert-if-absent): `started`
   * means the caller may write; otherwise the caller must not write and gets the in-flight marker or the
   * reference of the finished write.
   */
  ledgerBegin(key: string, owner: string): Promise<LedgerBeginResult>;
  /**
   * Records that the write happened, with the ERP's reference. A write already done keeps its first reference
   * (and its retention).
   */
  ledgerDone(key: string, ref: unknown, options?: LedgerDoneOptions): Promise<LedgerRecord>;
  /**
   * Removes the in-flight marker after a failure that certainly did not write to the ERP (so the write may be
   * tried again). With `owner`, only that owner's marker is removed. A done record is never removed.
   */
  ledgerAbort(key: string, owner?: string): Promise<boolean>;
  ledgerGet(key: string): Promise<LedgerRecord | undefined>;
  /**
   * Takes over an in-flight marker that is at least `olderThanMs` old (its owner crashed or hung), or starts
   * one if there is none. After `taken-over`, the earlier attempt MAY HAVE WRITTEN to the ERP: the caller
   * must look the document up in the ERP by its external reference before any create, and finish with
   * ledgerDone() when it is found there.
   */
  ledgerTakeOver(key: string, owner: string, olderThanMs: number): Promise<LedgerTakeOverResult>;

  // ---- namespaced key-value ----------------------------------------------------------------------

  /** Stores a value under (namespace, key); with `ttlMs` it disappears after that long. */
  kvPut(namespace: string, key: string, value: unknown, ttlMs?: number): Promise<void>;
  kvGet(namespace: string, key: string): Promise<unknown>;
  /** True when a live value was removed. */
  kvDelete(namespace: string, key: string): Promise<boolean>;
  /**
   * Makes several kvPut and kvDelete changes in one transaction, in order: all of them or none (a value that
   * cannot be stored fails the whole write). One commit instead of one per change, for work that changes
   * several records together.
   */
  kvWrite(writes: readonly KvWrite[]): Promise<void>;
  /**
   * Live entries of a namespace in key order, optionally only keys starting with `prefix` (default limit 100).
   * With `after`, the listing starts after that key, so a caller can page through a namespace.
   */
  kvList(namespace: string, options?: { prefix?: string; after?: string; limit?: number }): Promise<KvEntry[]>;

  // ---- leases ------------------------------------------------------------------------------------

  /**
   * Claims the lease `name` for `holder` until now + `ttlMs`, atomically (one transaction): true when the
   * lease was free, had expired, or was already this holder's (which renews it); false when another holder's
   * lease is still running. For work one host of several must do alone, e.g. a scheduled master data sync
   * (every host claims at each tick; only the holder runs it; a crashed holder's lease lapses after `ttlMs`).
   * It coordinates exactly the processes that share this store.
   */
  claimLease(name: string, holder: string, ttlMs: number): Promise<boolean>;

  // ---- housekeeping ------------------------------------------------------------------------------

  /**
   * Removes final inbox entries, kv values and leases whose time has passed (reads treat them as gone already),
   * and done ledger records whose retention has passed: those written with `retainMs`, and all of them when a
   * ledger retention was set (by default ERP writes' records are kept). Scheduled by the
   * finance-store node (lib/reliability/store-housekeeping.ts).
   */
  purgeExpired(): Promise<PurgeResult>;
  /** Releases this handle; the underlying database closes when its last handle in the process closes. */
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /**
   * `lmdb` (the default): a directory on this host. `postgres`: a PostgreSQL database that several hosts share
   * (needs the optional `pg` package).
   */
  backend?: 'lmdb' | 'postgres';
  /** LMDB: directory of the environment; created when missing. */
  path?: string;
  /** PostgreSQL: where the tables live; the schema and tables are created when missing. */
  postgres?: PostgresConnection & { schema?: string; tablePrefix?: string };
  /** Inbox high-water mark: accept() answers STORE_FULL at this many open entries. Default 1,000,000. */
  maxInboxEntries?: number;
  /** How long a final inbox entry is remembered for de-duplication. Default 7 days. */
  dedupRetentionMs?: number;
  /**
   * How long a done ledger record is kept. Default: for ever. The ledger is what keeps a write from being sent
   * twice: a write with no record is sent without a lookup first (lib/posting/idempotent-write.ts), and a dead
   * letter may be replayed months later, or an event sent again after its duplicate memory ran out. A record is
   * a key and the ERP's reference, about 150 bytes per write. (Records that are not ERP writes, the retry
   * scheduler's claims, carry their own retention: LedgerDoneOptions.)
   */
  ledgerRetentionMs?: number;
  /** The clock (ms since the epoch); tests inject their own. */
  now?: () => number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Opens the store at `options.path` (synchronously: LMDB opens without I/O waits; the PostgreSQL store connects
 * on first use and reports an unreachable server as STORE_UNAVAILABLE from each call). Throws FinanceError
 * STORE_UNAVAILABLE when the directory cannot be opened, CONFIG_INVALID for a bad option. Opening the same
 * path again in this process shares the open database; each handle must be closed.
 */
export function openStore(options: OpenStoreOptions): FinanceStore {
  const common = {
    maxInboxEntries: options.maxInboxEntries ?? 1_000_000,
    dedupRetentionMs: options.dedupRetentionMs ?? 7 * DAY_MS,
    ledgerRetentionMs: options.ledgerRetentionMs,
    now: options.now ?? Date.now,
  };
  if (options.backend === 'postgres') {
    const { schema, tablePrefix, ...connection } = options.postgres ?? {};
    return PostgresStore.open({
      ...common,
      connection,
      schema: schema ?? 'finance_sync',
      tablePrefix: tablePrefix ?? '',
    });
  }
  return LmdbStore.open({ ...common, path: options.path ?? '' });
}
