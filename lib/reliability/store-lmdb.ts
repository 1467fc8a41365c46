/**
 * The LMDB implementation of FinanceStore (contract and semantics in store.ts).
 *
 * Layout: one LMDB environment per directory with these named databases (a "database" in LMDB terms is a
 * sorted key space inside the one file; all of them change together in one transaction):
 *   inbox      dedup key -> StoredInboxRecord (open and final entries)
 *   inbox-open dedup key -> null, for open entries only: listOpen() in key order
 *   inbox-due  [UNLEASED, receivedAt, key] or [LEASED, leaseUntil, key] -> null, for open entries only:
 *              expiredLeases() reads only what is due instead of scanning the inbox
 *   ledger     ledger key -> StoredLedgerRecord
 *   kv         [namespace, key] -> StoredKvRecord (a tuple key, so namespaces can never collide)
 *   expiry     [expiresAt, 'inbox' | 'ledger', key] or [expiresAt, 'kv', namespace, key] -> null:
 *              purgeExpired() reads only what has expired
 *   leases     lease name -> { holder, until }: claimLease(), one holder per name across processes
 *   meta       the open-entry counter (countOpen() in O(1)) and the layout version
 *
 * Every write runs in its own child transaction inside LMDB's batched write transaction: it sees all writes
 * before it (so insert-if-absent and the counter are exact under any concurrency), it is rolled back alone if
 * it throws, and thousands of them share one commit and one disk sync.
 */
import * as path from 'node:path';
import { open, type Database, type DatabaseOptions, type RootDatabase } from 'lmdb';
import { FinanceError } from '../errors';
import { fromStoredValue, toStoredValue, type StoredValue } from './store-codec';
import { inboxEncoderOptions } from './store-structures';
import type {
  AcceptInput,
  AcceptResult,
  ExpiredLeasesOptions,
  FinanceStore,
  InboxEntry,
  KvEntry,
  KvWrite,
  LeaseResult,
  LedgerBeginResult,
  LedgerDoneOptions,
  LedgerRecord,
  LedgerTakeOverResult,
  PurgeResult,
} from './store';
import {
  describe,
  invalid,
  requireKey,
  requireKvKey,
  requireKvPrefix,
  requireOwner,
  ownedByNode,
  requirePositive,
  requireTime,
  requireZeroOrPositive,
} from './store-arguments';

export interface LmdbStoreSettings {
  path: string;
  maxInboxEntries: number;
  dedupRetentionMs: number;
  /** Undefined: done records are kept for ever (see OpenStoreOptions.ledgerRetentionMs). */
  ledgerRetentionMs?: number;
  now: () => number;
}

/**
 * Raise when the key layout or the record shapes change, so an old build refuses a newer store. Layout 2 writes
 * inbox records with the shared structures of store-structures.ts; it reads layout 1 records as they are, so a
 * layout 1 store is taken over (and marked 2, after which a layout 1 build refuses it).
 */
const LAYOUT_VERSION = 2;
const READABLE_LAYOUTS: readonly number[] = [1, 2];
/** Expired records removed per transaction, so a large purge never holds the write lock for long. */
const PURGE_BATCH = 1000;
const DEFAULT_LIST_LIMIT = 100;

/** The lease holdLease() adds for an entry that never had one (five minutes, the intake's default lease). */
export const DEFAULT_LEASE_MS = 5 * 60 * 1000;

const META_LAYOUT = 'layout';
const META_OPEN_COUNT = 'inbox-open-count';

/** First element of an inbox-due key: never leased (or released) entries sort before leased ones. */
const UNLEASED = 0;
const LEASED = 1;

type DueKey = [number, number, string];
type ExpiryKey = [number, 'inbox' | 'ledger', string] | [number, 'kv', string, string];

interface StoredInboxRecord {
  envelope: StoredValue;
  payload: StoredValue;
  receivedAt: number;
  state: 'open' | 'final';
  leaseUntil?: number;
  leaseOwner?: string;
  attempts: number;
  /** Duration of the last lease; absent in records written before holdLease() existed. */
  leaseMs?: number;
  /** Set by holdLease() (a step parked the event on purpose); cleared when the entry is leased again. */
  held?: true;
  outcome?: { status: string; detail?: StoredValue; at: number };
  /** Final entries only: when purgeExpired() may remove the entry. */
  expiresAt?: number;
}

type StoredLedgerRecord =
  | { state: 'in-flight'; owner: string; since: number }
  | { state: 'done'; ref: StoredValue; at: number; expiresAt?: number };

interface StoredKvRecord {
  value: StoredValue;
  expiresAt?: number;
}

interface StoredLease {
  holder: string;
  until: number;
}

interface Databases {
  inbox: Database<StoredInboxRecord, string>;
  inboxOpen: Database<null, string>;
  inboxDue: Database<null, DueKey>;
  ledger: Database<StoredLedgerRecord, string>;
  kv: Database<StoredKvRecord, [string, string]>;
  expiry: Database<null, ExpiryKey>;
  leases: Database<StoredLease, string>;
  meta: Database<number, string>;
}

interface Environment {
  directory: string;
  root: RootDatabase;
  dbs: Databases;
  /** Open LmdbStore handles on this directory in this process. */
  handles: number;
  /** watchInbox() listeners of every handle: an entry finished or held through any handle concerns them all. */
  inboxWatchers: Set<(key: string) => void>;
}

/**
 * Open environments by directory. Node-RED may start a redeployed config node before the old one has
 * closed, so two handles on one directory must share one environment and only the last close() closes it.
 */
const environments = new Map<string, Environment>();

export class LmdbStore implements FinanceStore {
  private environment: Environment | undefined;

  private constructor(
    environment: Environment,
    private readonly settings: LmdbStoreSettings,
  ) {
    this.environment = environment;
  }

  get dedupRetentionMs(): number {
    return this.settings.dedupRetentionMs;
  }

  static open(settings: LmdbStoreSettings): LmdbStore {
    if (typeof settings.path !== 'string' || settings.path.trim() === '') {
      throw new FinanceError('CONFIG_INVALID', 'The store needs a directory path; set one in the finance-store node.');
    }
    requirePositive(settings.maxInboxEntries, 'maxInboxEntries', 'CONFIG_INVALID');
    requirePositive(settings.dedupRetentionMs, 'dedupRetentionMs', 'CONFIG_INVALID');
    if (settings.ledgerRetentionMs !== undefined) {
      requirePositive(settings.ledgerRetentionMs, 'ledgerRetentionMs', 'CONFIG_INVALID');
    }
    return new LmdbStore(acquireEnvironment(path.resolve(settings.path)), settings);
  }

  // ---- inbox -------------------------------------------------------------------------------------

  async accept(input: AcceptInput): Promise<AcceptResult> {
    const key = requireKey(input.key, 'inbox key');
    if (typeof input.envelope !== 'object' || input.envelope === null || Array.isArray(input.envelope)) {
      throw invalid('The event envelope must be an object (msg.finance).');
    }
    if (input.receivedAt !== undefined) requireTime(input.receivedAt, 'receivedAt');
    if (input.lease !== undefined) {
      requireOwner(input.lease.owner);
      if (input.lease.ms !== 0) requirePositive(input.lease.ms, 'lease duration (ms)');
    }
    const now = this.settings.now();
    const lease = input.lease;
    const record: StoredInboxRecord = {
      envelope: storable(input.envelope, 'event envelope'),
      payload: storable(input.payload, 'event payload'),
      receivedAt: input.receivedAt ?? now,
      state: 'open',
      attempts: 0,
      // A lease of 0 ms: owned, but due at once and not handed out yet (waiting for its turn, no attempt).
      ...(lease && { leaseOwner: lease.owner, leaseUntil: now + lease.ms }),
      ...(lease && lease.ms > 0 && { leaseMs: lease.ms, attempts: 1 }),
    };
    const max = this.settings.maxInboxEntries;
    const result = await this.write('store an accepted event', (dbs) => {
      const existing = dbs.inbox.get(key);
      if (existing) return { duplicate: existing };
      const openCount = readOpenCount(dbs);
      if (openCount >= max) return { full: openCount };
      putRecord(dbs.inbox, key, record, 'event');
      dbs.inboxOpen.put(key, null);
      dbs.inboxDue.put(dueKey(key, record), null);
      dbs.meta.put(META_OPEN_COUNT, openCount + 1);
      return {};
    });
    if (result.duplicate) return { status: 'duplicate', entry: toEntry(key, result.duplicate) };
    if (result.full !== undefined) {
      throw new FinanceError(
        'STORE_FULL',
        `The inbox holds ${result.full} unfinished events, its high-water mark (${max}); new events are refused ` +
          'until some finish. The sender should retry later; raise the high-water mark if the ERP keeps up.',
        { retryable: true, details: { openEntries: result.full, maxInboxEntries: max } },
      );
    }
    return { status: 'accepted', entry: toEntry(key, record) };
  }

  async lease(key: string, owner: string, ms: number): Promise<LeaseResult> {
    requireKey(key, 'inbox key');
    requireOwner(owner);
    requirePositive(ms, 'lease duration (ms)');
    const now = this.settings.now();
    return this.write('lease an event', (dbs): LeaseResult => {
      const record = dbs.inbox.get(key);
      if (!record) return { leased: false, reason: 'missing' };
      if (record.state === 'final') return { leased: false, reason: 'final', entry: toEntry(key, record) };
      if (record.leaseOwner !== undefined && record.leaseOwner !== owner && (record.leaseUntil ?? 0) > now) {
        return { leased: false, reason: 'held', entry: toEntry(key, record) };
      }
      return leaseTo(dbs, key, record, owner, now, ms);
    });
  }

  async leaseIfExpired(key: string, owner: string, ms: number): Promise<LeaseResult> {
    requireKey(key, 'inbox key');
    requireOwner(owner);
    requirePositive(ms, 'lease duration (ms)');
    const now = this.settings.now();
    return this.write('lease an expired event', (dbs): LeaseResult => {
      const record = dbs.inbox.get(key);
      if (!record) return { leased: false, reason: 'missing' };
      if (record.state === 'final') return { leased: false, reason: 'final', entry: toEntry(key, record) };
      if (record.leaseUntil !== undefined && record.leaseUntil > now) {
        return { leased: false, reason: 'held', entry: toEntry(key, record) };
      }
      return leaseTo(dbs, key, record, owner, now, ms);
    });
  }

  async holdLease(key: string, ms: number): Promise<LeaseResult> {
    requireKey(key, 'inbox key');
    requireZeroOrPositive(ms, 'The hold (ms)');
    const now = this.settings.now();
    return this.write('hold an event', (dbs): LeaseResult => {
      const record = dbs.inbox.get(key);
      if (!record) return { leased: false, reason: 'missing' };
      if (record.state === 'final') return { leased: false, reason: 'final', entry: toEntry(key, record) };
      const held: StoredInboxRecord = { ...record, leaseUntil: now + ms + (record.leaseMs ?? DEFAULT_LEASE_MS) };
      // A hold of 0 ms gives back an ordinary lease: the step has resumed.
      if (ms > 0) held.held = true;
      else delete held.held;
      replaceOpenRecord(dbs, key, record, held);
      return { leased: true, entry: toEntry(key, held) };
    }).then((result) => this.notifyInbox(key, result.leased && ms > 0, result));
  }

  async expireLease(key: string, owner: string): Promise<boolean> {
    requireKey(key, 'inbox key');
    requireOwner(owner);
    const now = this.settings.now();
    return this.write('end a lease early', (dbs) => {
      const record = dbs.inbox.get(key);
      if (!record || record.state === 'final' || record.leaseOwner !== owner || record.held) return false;
      if (record.leaseUntil === undefined || record.leaseUntil <= now) return false;
      replaceOpenRecord(dbs, key, record, { ...record, leaseUntil: now });
      return true;
    });
  }

  async renewLease(key: string, owner: string, ms: number): Promise<LeaseResult> {
    requireKey(key, 'inbox key');
    requireOwner(owner);
    requirePositive(ms, 'lease duration (ms)');
    const now = this.settings.now();
    return this.write('renew a lease', (dbs): LeaseResult => {
      const record = dbs.inbox.get(key);
      if (!record) return { leased: false, reason: 'missing' };
      if (record.state === 'final') return { leased: false, reason: 'final', entry: toEntry(key, record) };
      if (record.leaseOwner !== owner) return { leased: false, reason: 'held', entry: toEntry(key, record) };
      const renewed = { ...record, leaseUntil: now + ms };
      replaceOpenRecord(dbs, key, record, renewed);
      return { leased: true, entry: toEntry(key, renewed) };
    });
  }

  async releaseLease(key: string, owner: string): Promise<boolean> {
    requireKey(key, 'inbox key');
    requireOwner(owner);
    return this.write('release a lease', (dbs) => {
      const record = dbs.inbox.get(key);
      if (!record || record.state === 'final' || record.leaseOwner !== owner) return false;
      replaceOpenRecord(dbs, key, record, withoutLease(record));
      return true;
    });
  }

  async expiredLeases(limit: number, graceMs: number, options: ExpiredLeasesOptions = {}): Promise<InboxEntry[]> {
    requirePositive(limit, 'limit');
    requireZeroOrPositive(graceMs, 'graceMs');
    const { ownedBy } = options;
    const now = this.settings.now();
    return this.read('list expired leases', (dbs) => {
      const keys: string[] = [];
      // Expired leases first: their worker is gone, and they are the oldest work.
      for (const [kind, time, key] of dbs.inboxDue.getKeys({ start: [LEASED] })) {
        if (kind !== LEASED || time > now || keys.length >= limit) break;
        // Another node's entries are read past, not counted: they must not fill the batch.
        if (ownedBy !== undefined && !ownedByNode(dbs.inbox.get(key)?.leaseOwner, ownedBy)) continue;
        keys.push(key);
      }
      // Never leased (or released): no owner, so never one node's own.
      if (ownedBy !== undefined) return entriesFor(dbs, keys);
      for (const [kind, time, key] of dbs.inboxDue.getKeys({ start: [UNLEASED] })) {
        if (kind !== UNLEASED || time > now - graceMs || keys.length >= limit) break;
        keys.push(key);
      }
      return entriesFor(dbs, keys);
    });
  }

  async takeOverLease(key: string, fromNodeId: string, owner: string, ms: number): Promise<LeaseResult> {
    requireKey(key, 'inbox key');
    requireOwner(fromNodeId);
    requireOwner(owner);
    requireZeroOrPositive(ms, 'lease duration (ms)');
    const now = this.settings.now();
    return this.write('take over an event', (dbs): LeaseResult => {
      const record = dbs.inbox.get(key);
      if (!record) return { leased: false, reason: 'missing' };
      if (record.state === 'final') return { leased: false, reason: 'final', entry: toEntry(key, record) };
      if (record.held || !ownedByNode(record.leaseOwner, fromNodeId)) {
        return { leased: false, reason: 'held', entry: toEntry(key, record) };
      }
      if (ms > 0) return leaseTo(dbs, key, record, owner, now, ms);
      const waiting: StoredInboxRecord = { ...record, leaseOwner: owner, leaseUntil: now };
      replaceOpenRecord(dbs, key, record, waiting);
      return { leased: true, entry: toEntry(key, waiting) };
    });
  }

  async finish(key: string, outcome: { status: string; detail?: unknown }): Promise<InboxEntry | undefined> {
    requireKey(key, 'inbox key');
    if (
      typeof outcome !== 'object' ||
      outcome === null ||
      typeof outcome.status !== 'string' ||
      outcome.status === ''
    ) {
      throw invalid('The outcome needs a status, e.g. { status: "posted" }.');
    }
    const detail = outcome.detail === undefined ? undefined : storable(outcome.detail, 'outcome detail');
    const now = this.settings.now();
    const expiresAt = now + this.settings.dedupRetentionMs;
    return this.write('record an outcome', (dbs) => {
      const record = dbs.inbox.get(key);
      if (!record) return undefined;
      if (record.state === 'final') return toEntry(key, record);
      const final: StoredInboxRecord = {
        ...withoutLease(record),
        state: 'final',
        outcome: { status: outcome.status, ...(detail ? { detail } : {}), at: now },
        expiresAt,
      };
      putRecord(dbs.inbox, key, final, 'outcome');
      dbs.inboxOpen.remove(key);
      dbs.inboxDue.remove(dueKey(key, record));
      dbs.meta.put(META_OPEN_COUNT, readOpenCount(dbs) - 1);
      dbs.expiry.put([expiresAt, 'inbox', key], null);
      return toEntry(key, final);
    }).then((entry) => this.notifyInbox(key, entry !== undefined, entry));
  }

  async get(key: string): Promise<InboxEntry | undefined> {
    requireKey(key, 'inbox key');
    return this.read('read an event', (dbs) => {
      const record = dbs.inbox.get(key);
      return record ? toEntry(key, record) : undefined;
    });
  }

  async countOpen(): Promise<number> {
    return this.read('count open events', readOpenCount);
  }

  async listOpen(options: { limit?: number; after?: string } = {}): Promise<InboxEntry[]> {
    const limit = options.limit ?? DEFAULT_LIST_LIMIT;
    requirePositive(limit, 'limit');
    if (options.after !== undefined) requireKey(options.after, 'after key');
    return this.read('list open events', (dbs) => {
      const keys = dbs.inboxOpen.getKeys({ start: options.after, exclusiveStart: options.after !== undefined, limit });
      return entriesFor(dbs, [...keys]);
    });
  }

  // ---- ledger ------------------------------------------------------------------------------------

  async ledgerBegin(key: string, owner: string): Promise<LedgerBeginResult> {
    requireKey(key, 'ledger key');
    requireOwner(owner);
    const now = this.settings.now();
    return this.write('mark an ERP write in flight', (dbs) => {
      const record = dbs.ledger.get(key);
      if (record) return beginAnswer(record);
      dbs.ledger.put(key, { state: 'in-flight', owner, since: now });
      return { state: 'started' };
    });
  }

  async ledgerDone(key: string, ref: unknown, options: LedgerDoneOptions = {}): Promise<LedgerRecord> {
    requireKey(key, 'ledger key');
    if (options.retainMs !== undefined) requirePositive(options.retainMs, 'retainMs');
    const storedRef = storable(ref, 'ERP reference');
    const now = this.settings.now();
    const retention = options.retainMs ?? this.settings.ledgerRetentionMs;
    const expiresAt = retention === undefined ? undefined : now + retention;
    return this.write('record a finished ERP write', (dbs) => {
      const record = dbs.ledger.get(key);
      if (record?.state === 'done') return toLedgerRecord(record);
      const done: StoredLedgerRecord = { state: 'done', ref: storedRef, at: now };
      if (expiresAt !== undefined) done.expiresAt = expiresAt;
      putRecord(dbs.ledger, key, done, 'ERP reference');
      if (expiresAt !== undefined) dbs.expiry.put([expiresAt, 'ledger', key], null);
      return toLedgerRecord(done);
    });
  }

  async ledgerAbort(key: string, owner?: string): Promise<boolean> {
    requireKey(key, 'ledger key');
    if (owner !== undefined) requireOwner(owner);
    return this.write('remove an in-flight marker', (dbs) => {
      const record = dbs.ledger.get(key);
      if (record?.state !== 'in-flight' || (owner !== undefined && record.owner !== owner)) return false;
      dbs.ledger.remove(key);
      return true;
    });
  }

  async ledgerGet(key: string): Promise<LedgerRecord | undefined> {
    requireKey(key, 'ledger key');
    return this.read('read the ledger', (dbs) => {
      const record = dbs.ledger.get(key);
      return record ? toLedgerRecord(record) : undefined;
    });
  }

  async ledgerTakeOver(key: string, owner: string, olderThanMs: number): Promise<LedgerTakeOverResult> {
    requireKey(key, 'ledger key');
    requireOwner(owner);
    if (!Number.isFinite(olderThanMs) || olderThanMs < 0)
      throw invalid('olderThanMs must be zero or a positive number of ms.');
    const now = this.settings.now();
    return this.write('take over an in-flight ERP write', (dbs): LedgerTakeOverResult => {
      const record = dbs.ledger.get(key);
      if (record?.state === 'done') return beginAnswer(record);
      if (record && record.since > now - olderThanMs) return beginAnswer(record);
      dbs.ledger.put(key, { state: 'in-flight', owner, since: now });
      return record
        ? { state: 'taken-over', previousOwner: record.owner, previousSince: record.since }
        : { state: 'started' };
    });
  }

  // ---- namespaced key-value ----------------------------------------------------------------------

  async kvPut(namespace: string, key: string, value: unknown, ttlMs?: number): Promise<void> {
    const change = this.kvChange({ namespace, key, value, ttlMs });
    await this.write('store a value', (dbs) => applyKvChange(dbs, change));
  }

  async kvGet(namespace: string, key: string): Promise<unknown> {
    const kvKey = requireKvKey(namespace, key);
    const now = this.settings.now();
    return this.read('read a value', (dbs) => {
      const record = dbs.kv.get(kvKey);
      return record && !expired(record, now) ? fromStoredValue(record.value) : undefined;
    });
  }

  async kvDelete(namespace: string, key: string): Promise<boolean> {
    const change = this.kvChange({ namespace, key, remove: true });
    return this.write('delete a value', (dbs) => applyKvChange(dbs, change));
  }

  async kvWrite(writes: readonly KvWrite[]): Promise<void> {
    if (!Array.isArray(writes)) throw invalid('kvWrite takes an array of changes.');
    const changes = writes.map((write) => this.kvChange(write));
    await this.write('store values', (dbs) => {
      for (const change of changes) applyKvChange(dbs, change);
    });
  }

  /** A kv change checked and encoded before its transaction, so a bad one fails the write before it starts. */
  private kvChange(write: KvWrite): KvChange {
    const { namespace, key } = write;
    const kvKey = requireKvKey(namespace, key);
    const now = this.settings.now();
    if ('remove' in write && write.remove === true) return { namespace, key, kvKey, now };
    const { value, ttlMs } = write as { value: unknown; ttlMs?: number };
    if (ttlMs !== undefined) requirePositive(ttlMs, 'ttlMs');
    const record: StoredKvRecord = { value: storable(value, `value of ${namespace}/${key}`) };
    if (ttlMs !== undefined) record.expiresAt = now + ttlMs;
    return { namespace, key, kvKey, now, record };
  }

  async kvList(
    namespace: string,
    options: { prefix?: string; after?: string; limit?: number } = {},
  ): Promise<KvEntry[]> {
    requireKey(namespace, 'namespace');
    const prefix = requireKvPrefix(namespace, options.prefix ?? '');
    const after = options.after === undefined ? undefined : requireKvKey(namespace, options.after)[1];
    const limit = options.limit ?? DEFAULT_LIST_LIMIT;
    requirePositive(limit, 'limit');
    const now = this.settings.now();
    // Keys that start with the prefix are contiguous in LMDB's order, beginning at [namespace, prefix]; a page
    // that continues after a key inside that range starts there instead.
    const resume = after !== undefined && after >= prefix;
    const range = { start: [namespace, resume ? after : prefix] as [string, string], exclusiveStart: resume };
    return this.read('list values', (dbs) => {
      const entries: KvEntry[] = [];
      for (const { key, value: record } of dbs.kv.getRange(range)) {
        if (key[0] !== namespace || !key[1].startsWith(prefix) || entries.length >= limit) break;
        if (expired(record, now)) continue;
        entries.push({
          key: key[1],
          value: fromStoredValue(record.value),
          ...(record.expiresAt !== undefined ? { expiresAt: record.expiresAt } : {}),
        });
      }
      return entries;
    });
  }

  // ---- leases ------------------------------------------------------------------------------------

  async claimLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    requireKey(name, 'lease name');
    requireOwner(holder);
    requirePositive(ttlMs, 'lease duration (ms)');
    const now = this.settings.now();
    return this.write('claim a lease', (dbs) => {
      const current = dbs.leases.get(name);
      if (current && current.holder !== holder && current.until > now) return false;
      dbs.leases.put(name, { holder, until: now + ttlMs });
      return true;
    });
  }

  // ---- housekeeping ------------------------------------------------------------------------------

  async purgeExpired(): Promise<PurgeResult> {
    const now = this.settings.now();
    const total: PurgeResult = { inbox: 0, ledger: 0, kv: 0, leases: 0 };
    for (;;) {
      const batch = await this.write('remove expired records', (dbs) => purgeBatch(dbs, now));
      total.inbox += batch.removed.inbox;
      total.ledger += batch.removed.ledger;
      total.kv += batch.removed.kv;
      if (!batch.more) break;
    }
    // A store of one host holds a few named leases (scheduled work), so they are simply read through; an
    // expired lease is free to claim, removed or not.
    total.leases = await this.write('remove expired leases', (dbs) => {
      let removed = 0;
      for (const { key, value } of dbs.leases.getRange()) {
        if (value.until > now) continue;
        dbs.leases.remove(key);
        removed += 1;
      }
      return removed;
    });
    return total;
  }

  watchInbox(listener: (key: string) => void): () => void {
    const watchers = this.requireOpen().inboxWatchers;
    watchers.add(listener);
    return () => {
      watchers.delete(listener);
    };
  }

  async close(): Promise<void> {
    const environment = this.environment;
    this.environment = undefined;
    if (environment) await releaseEnvironment(environment);
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  private requireOpen(): Environment {
    if (!this.environment) {
      throw new FinanceError(
        'STORE_UNAVAILABLE',
        'The finance store is closed (the flow is being redeployed or stopped); the message can be retried.',
        { retryable: true },
      );
    }
    return this.environment;
  }

  /** Runs `body` atomically; resolves after the commit is synced to disk (see acquireEnvironment). */
  private async write<T>(action: string, body: (dbs: Databases) => T): Promise<T> {
    const environment = this.requireOpen();
    try {
      return await environment.root.childTransaction(() => body(environment.dbs));
    } catch (err) {
      throw storageFailure(action, environment.directory, err);
    }
  }

  /** Tells the watchers that the entry `key` was finished or held (when `changed`); passes `result` through. */
  private notifyInbox<T>(key: string, changed: boolean, result: T): T {
    const watchers = this.environment?.inboxWatchers;
    if (changed && watchers) {
      for (const watcher of watchers) {
        try {
          watcher(key);
        } catch {
          // A watcher's failure is its own business: the write has committed and its caller gets the result.
        }
      }
    }
    return result;
  }

  private read<T>(action: string, body: (dbs: Databases) => T): T {
    const environment = this.requireOpen();
    try {
      return body(environment.dbs);
    } catch (err) {
      throw storageFailure(action, environment.directory, err);
    }
  }
}

// ---- environments ----------------------------------------------------------------------------------

function acquireEnvironment(directory: string): Environment {
  const shared = environments.get(directory);
  if (shared) {
    shared.handles += 1;
    return shared;
  }
  let root: RootDatabase | undefined;
  try {
    root = open({
      path: directory,
      // Always a directory, even if its name has a dot in it (LMDB would otherwise take it for a file name).
      noSubdir: false,
      // With overlappingSync (LMDB's default off Windows) a write resolves when committed and is synced to disk
      // later; without it the commit includes the sync, so a resolved write survives a power cut. Acknowledging
      // a source only after that is the promise of DESIGN principle 2; batching keeps the cost to one sync per batch.
      overlappingSync: false,
      ...initialMapSize(),
    });
    const dbs: Databases = {
      // `encoder` holds msgpackr options; lmdb-js passes them on but does not declare them in its types.
      inbox: root.openDB({ name: 'inbox', encoder: inboxEncoderOptions() } as DatabaseOptions & { name: string }),
      inboxOpen: root.openDB({ name: 'inbox-open' }),
      inboxDue: root.openDB({ name: 'inbox-due' }),
      ledger: root.openDB({ name: 'ledger' }),
      kv: root.openDB({ name: 'kv' }),
      expiry: root.openDB({ name: 'expiry' }),
      leases: root.openDB({ name: 'leases' }),
      meta: root.openDB({ name: 'meta' }),
    };
    checkLayout(dbs.meta, directory);
    const environment: Environment = { directory, root, dbs, handles: 1, inboxWatchers: new Set() };
    environments.set(directory, environment);
    return environment;
  } catch (err) {
    root?.close().catch(() => undefined);
    if (err instanceof FinanceError) throw err;
    throw new FinanceError(
      'STORE_UNAVAILABLE',
      `The finance store at ${directory} could not be opened (${describe(err)}). Check that the directory ` +
        'can be created and written by the Node-RED user and that the disk has free space.',
      { retryable: true, cause: err },
    );
  }
}

async function releaseEnvironment(environment: Environment): Promise<void> {
  environment.handles -= 1;
  if (environment.handles > 0) return;
  environments.delete(environment.directory);
  await environment.root.close();
}

/**
 * The address space to map the store file into, reserved once on 64-bit hosts.
 *
 * lmdb-js otherwise starts with a 128 KB map and doubles it as the file grows, and it keeps every earlier map
 * for the life of the environment (so readers still holding one stay valid). Each map keeps the file pages it
 * touched, so the process's resident memory counted the store file about twice: a burst of 30,000 events left
 * a 50 MB file resident as 116 MB. Reserving the space up front keeps one map whose pages are the file's own.
 * It costs address space only: without a write map the file grows with its data, not with the map. Not on
 * Windows, where LMDB sizes the file to the map, nor on 32-bit hosts, whose address space is too small for it
 * (lmdb-js maps in chunks there).
 */
const MAP_SIZE_64_BIT = 8 * 1024 ** 3;

function initialMapSize(): { mapSize?: number } {
  const is64Bit = ['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64'].includes(process.arch);
  return is64Bit && process.platform !== 'win32' ? { mapSize: MAP_SIZE_64_BIT } : {};
}

function checkLayout(meta: Database<number, string>, directory: string): void {
  const layout = meta.get(META_LAYOUT);
  if (layout === LAYOUT_VERSION) return;
  if (layout !== undefined && !READABLE_LAYOUTS.includes(layout)) {
    throw new FinanceError(
      'STORE_UNAVAILABLE',
      `The finance store at ${directory} was written by another version of finance-sync (layout ${layout}; this ` +
        `version reads layouts ${READABLE_LAYOUTS.join(' and ')}). Run the matching version, or point the store at a new directory.`,
    );
  }
  // A new store, or an older layout this version reads: from now on written in this layout.
  meta.putSync(META_LAYOUT, LAYOUT_VERSION);
}

// ---- records ---------------------------------------------------------------------------------------

function readOpenCount(dbs: Databases): number {
  return dbs.meta.get(META_OPEN_COUNT) ?? 0;
}

/** Where an open entry sits in inbox-due: by lease end while leased, by arrival otherwise. */
function dueKey(key: string, record: StoredInboxRecord): DueKey {
  return record.leaseUntil === undefined ? [UNLEASED, record.receivedAt, key] : [LEASED, record.leaseUntil, key];
}

/** Hands an open entry to `owner` until now + `ms` and counts the attempt. */
function leaseTo(
  dbs: Databases,
  key: string,
  record: StoredInboxRecord,
  owner: string,
  now: number,
  ms: number,
): LeaseResult {
  const leased = { ...record, leaseOwner: owner, leaseUntil: now + ms, leaseMs: ms, attempts: record.attempts + 1 };
  delete leased.held;
  replaceOpenRecord(dbs, key, record, leased);
  return { leased: true, entry: toEntry(key, leased) };
}

function withoutLease(record: StoredInboxRecord): StoredInboxRecord {
  const copy = { ...record };
  delete copy.leaseOwner;
  delete copy.leaseUntil;
  delete copy.held;
  return copy;
}

function replaceOpenRecord(dbs: Databases, key: string, previous: StoredInboxRecord, next: StoredInboxRecord): void {
  putRecord(dbs.inbox, key, next, 'event');
  dbs.inboxDue.remove(dueKey(key, previous));
  dbs.inboxDue.put(dueKey(key, next), null);
}

/** One checked kv change: `record` to store, or none to remove the value. */
interface KvChange {
  namespace: string;
  key: string;
  kvKey: [string, string];
  now: number;
  record?: StoredKvRecord;
}

/**
 * Applies a kv change inside a write transaction, keeping the expiry index in step. A removal answers whether a
 * live value went.
 */
function applyKvChange(dbs: Databases, change: KvChange): boolean {
  const { namespace, key, kvKey, record } = change;
  const previous = dbs.kv.get(kvKey);
  if (previous?.expiresAt !== undefined) dbs.expiry.remove([previous.expiresAt, 'kv', namespace, key]);
  if (record === undefined) {
    if (!previous) return false;
    dbs.kv.remove(kvKey);
    return !expired(previous, change.now);
  }
  putRecord(dbs.kv, kvKey, record, `value of ${namespace}/${key}`);
  if (record.expiresAt !== undefined) dbs.expiry.put([record.expiresAt, 'kv', namespace, key], null);
  return true;
}

/**
 * Writes a record holding caller data. MessagePack refuses a few values (e.g. a BigInt beyond 64 bits); that is
 * bad input, not a storage failure, and the child transaction rolls back whatever this operation wrote.
 */
function putRecord<K extends string | [string, string], V>(db: Database<V, K>, key: K, record: V, what: string): void {
  try {
    db.put(key, record);
  } catch (err) {
    throw invalid(`The ${what} cannot be stored (${describe(err)}); it must be JSON-like data.`, err);
  }
}

function toEntry(key: string, record: StoredInboxRecord): InboxEntry {
  const entry: InboxEntry = {
    key,
    envelope: fromStoredValue(record.envelope) as Record<string, unknown>,
    payload: fromStoredValue(record.payload),
    receivedAt: record.receivedAt,
    state: record.state,
    attempts: record.attempts,
  };
  if (record.leaseUntil !== undefined) entry.leaseUntil = record.leaseUntil;
  if (record.leaseOwner !== undefined) entry.leaseOwner = record.leaseOwner;
  if (record.leaseMs !== undefined) entry.leaseMs = record.leaseMs;
  if (record.outcome) {
    const { status, detail, at } = record.outcome;
    entry.outcome = detail === undefined ? { status, at } : { status, detail: fromStoredValue(detail), at };
  }
  return entry;
}

function entriesFor(dbs: Databases, keys: string[]): InboxEntry[] {
  const entries: InboxEntry[] = [];
  for (const key of keys) {
    const record = dbs.inbox.get(key);
    if (record) entries.push(toEntry(key, record));
  }
  return entries;
}

function toLedgerRecord(record: StoredLedgerRecord): LedgerRecord {
  return record.state === 'in-flight'
    ? { state: 'in-flight', owner: record.owner, since: record.since }
    : { state: 'done', ref: fromStoredValue(record.ref), at: record.at };
}

function beginAnswer(record: StoredLedgerRecord): LedgerBeginResult {
  return record.state === 'in-flight'
    ? { state: 'in-flight', since: record.since, owner: record.owner }
    : { state: 'done', ref: fromStoredValue(record.ref) };
}

function expired(record: { expiresAt?: number }, now: number): boolean {
  return record.expiresAt !== undefined && record.expiresAt <= now;
}

/** Removes up to PURGE_BATCH expired records; `more` when there may be others. */
function purgeBatch(dbs: Databases, now: number): { removed: Omit<PurgeResult, 'leases'>; more: boolean } {
  const removed = { inbox: 0, ledger: 0, kv: 0 };
  const due: ExpiryKey[] = [];
  for (const key of dbs.expiry.getKeys()) {
    if (key[0] > now || due.length >= PURGE_BATCH) break;
    due.push(key);
  }
  for (const key of due) {
    dbs.expiry.remove(key);
    // Only remove a record that still carries this expiry: it may have been rewritten since.
    if (key[1] === 'kv') {
      const kvKey: [string, string] = [key[2], key[3]];
      if (dbs.kv.get(kvKey)?.expiresAt !== key[0]) continue;
      dbs.kv.remove(kvKey);
      removed.kv += 1;
    } else if (key[1] === 'ledger') {
      const record = dbs.ledger.get(key[2]);
      if (record?.state !== 'done' || record.expiresAt !== key[0]) continue;
      dbs.ledger.remove(key[2]);
      removed.ledger += 1;
    } else {
      if (dbs.inbox.get(key[2])?.expiresAt !== key[0]) continue;
      dbs.inbox.remove(key[2]);
      removed.inbox += 1;
    }
  }
  return { removed, more: due.length === PURGE_BATCH };
}

// ---- arguments and errors --------------------------------------------------------------------------

function storable(value: unknown, what: string): StoredValue {
  try {
    return toStoredValue(value);
  } catch (err) {
    throw invalid(`The ${what} cannot be stored (${describe(err)}); it must be JSON-like data.`, err);
  }
}

function storageFailure(action: string, directory: string, err: unknown): FinanceError {
  if (err instanceof FinanceError) return err;
  return new FinanceError(
    'STORE_UNAVAILABLE',
    `The finance store at ${directory} could not ${action} (${describe(err)}). Check the disk (space, ` +
      'permissions); the message can be retried.',
    { retryable: true, cause: err },
  );
}
