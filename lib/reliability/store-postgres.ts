/**
 * The PostgreSQL implementation of FinanceStore (contract and semantics in store.ts), for several Node-RED
 * hosts that share one inbox, one idempotency ledger, one kv space and one set of named leases.
 *
 * Tables (in `schema`, each name starting with `tablePrefix`):
 *   inbox   one row per accepted event (open and final); partial indexes on open rows by lease end and by
 *           arrival, so expiredLeases() reads only what is due; `held` marks a lease a step extended on
 *           purpose with holdLease() (added after the first layout: createTables() adds it to older tables)
 *   ledger  one row per ERP write key: the primary key is the eager idempotent-consumer marker
 *           (INSERT ... ON CONFLICT DO NOTHING before the ERP call, DELETE after a failure that did not write)
 *   kv      (namespace, key) -> value with an optional expiry
 *   leases  lease name -> holder and end: claimLease()
 *   meta    the layout version and the open-entry count as two counters: accepted (one row, so the high-water
 *           mark is exact: the increment is conditional on the count) minus finished (FINISH_SHARDS rows, so
 *           finishing hosts do not queue for one row lock; reading them stale only makes accept more careful)
 *
 * Every operation is one statement or one short transaction, and every lease change is a conditional UPDATE
 * (its WHERE clause is evaluated again after a row lock wait, so two hosts can never both win). Values are
 * stored as MessagePack (the encoder LMDB uses) so JSON-like data round-trips exactly as with the LMDB store;
 * Maps and Sets are not supported (a Map comes back as a plain object). Times come from the host's clock like in the LMDB store: hosts sharing a database must keep their clocks in step (NTP);
 * a skew of a few seconds is harmless against leases of minutes.
 *
 * watchInbox() listeners are kept per database, schema and table prefix in this process (see inboxWatchers), as
 * the LMDB store keeps them per directory.
 *
 * The `pg` driver is an optional peer dependency, required only when this backend is opened.
 */
import * as path from 'node:path';
import type { Pool, PoolClient, PoolConfig, QueryResultRow } from 'pg';
import { redactText } from '../erp/redact';
import { FinanceError } from '../errors';
import { fromStoredValue, toStoredValue, type StoredValue } from './store-codec';
import { DEFAULT_LEASE_MS } from './store-lmdb';
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
  requirePositive,
  requireTime,
  requireZeroOrPositive,
} from './store-arguments';

export interface PostgresConnection {
  host?: string;
  port?: number;
  database?: string;
  user?: string;
  password?: string;
  /** TLS to the server; `true` verifies the certificate against the system's CAs. */
  ssl?: boolean;
  /** Connections this host keeps open (default 10). */
  poolSize?: number;
}

export interface PostgresStoreSettings {
  connection: PostgresConnection;
  /** The schema that holds the tables; created when missing. */
  schema: string;
  /** Put in front of every table name, so several stores can share one schema. */
  tablePrefix: string;
  maxInboxEntries: number;
  dedupRetentionMs: number;
  /** Undefined: done records are kept for ever (see OpenStoreOptions.ledgerRetentionMs). */
  ledgerRetentionMs?: number;
  now: () => number;
  /**
   * How long one statement may wait for the server's answer, and a call for its connection (a new one, or a
   * free one of the pool): default QUERY_TIMEOUT_MS.
   */
  queryTimeoutMs?: number;
}

const LAYOUT_VERSION = 1;
/**
 * Every statement here takes milliseconds; one that has no answer after this long is on a connection the
 * network lost without a word (no RST: a partition, a dead NAT entry). It fails as STORE_UNAVAILABLE, which
 * the caller retries, instead of hanging the flow for ever. A new connection is given as long (Pool options).
 */
const QUERY_TIMEOUT_MS = 30_000;
/** The server ends a transaction that waits this long for its next statement (its host froze or vanished). */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000;
const PURGE_BATCH = 1000;
const DEFAULT_LIST_LIMIT = 100;
/** Rows of the finished-entry counter; the count is their sum. */
const FINISH_SHARDS = 16;
const ACCEPTED = 'inbox-accepted';
const FINISHED = 'inbox-finished-';
const IDENTIFIER = /^[a-z_][a-z0-9_]{0,39}$/;

interface MsgPack {
  pack(value: unknown): Buffer;
  unpack(buffer: Buffer): unknown;
}

interface PgModule {
  Pool: new (config: PoolConfig) => Pool;
}

interface InboxRow {
  key: Buffer;
  envelope: Buffer;
  payload: Buffer;
  received_at: string;
  state: 'open' | 'final';
  lease_until: string | null;
  lease_owner: string | null;
  attempts: number;
  lease_ms: string | null;
  held: boolean;
  outcome_status: string | null;
  outcome_detail: Buffer | null;
  outcome_at: string | null;
}

interface LedgerRow {
  state: 'in-flight' | 'done';
  owner: string | null;
  since: string | null;
  ref: Buffer | null;
  at: string | null;
}

/**
 * The watchInbox() listeners of every open handle on one store (database, schema and table prefix) in this
 * process, so a finish or hold made through any handle reaches them all. Only this process: the listeners count
 * the events their own intake has in flight, and those are finished or parked by this process's flows, so
 * another host's finish or hold only frees windows on that host. An event of ours that another host finished
 * anyway (it took it over after our lease ran out) left our window when that lease ran out.
 */
interface InboxWatchers {
  listeners: Set<(key: string) => void>;
  /** Open handles that share this set; the entry goes when the last one closes. */
  handles: number;
}

const inboxWatchers = new Map<string, InboxWatchers>();

/**
 * SQL: the inbox row's lease owner is the node id in `param` (bare, or `<node id>@<process>`: nodeIdOfOwner).
 * Node ids and the process part never contain '@', so the prefix test is exact.
 */
const OWNED_BY_NODE = (param: string): string =>
  `(lease_owner = ${param} OR left(lease_owner, length(${param}) + 1) = ${param} || '@')`;

export class PostgresStore implements FinanceStore {
  /** Several hosts share this store: exclusion between them needs a lease in it (FinanceStore.sharedAcrossHosts). */
  readonly sharedAcrossHosts = true;
  private pool: Pool | undefined;
  private watchers: InboxWatchers | undefined;
  private readonly storeId: string;
  /** Creating the tables; started again by the next call when it failed (e.g. PostgreSQL was down at start). */
  private ready: Promise<void>;
  private readonly t: Record<'inbox' | 'ledger' | 'kv' | 'leases' | 'meta', string>;
  private readonly where: string;
  /** Removed from every error text: the driver's errors name the host, which may be a URL with a password. */
  private readonly secrets: string[];

  get dedupRetentionMs(): number {
    return this.settings.dedupRetentionMs;
  }

  private constructor(
    pool: Pool,
    private readonly codec: MsgPack,
    private readonly settings: PostgresStoreSettings,
  ) {
    this.pool = pool;
    const schema = quoteIdentifier(settings.schema);
    const table = (name: string) => `${schema}.${quoteIdentifier(settings.tablePrefix + name)}`;
    this.t = {
      inbox: table('inbox'),
      ledger: table('ledger'),
      kv: table('kv'),
      leases: table('leases'),
      meta: table('meta'),
    };
    this.secrets = settings.connection.password ? [settings.connection.password] : [];
    // A server written as a URL ("postgres://user:password@host/db") must not show its password.
    this.where = redactText(
      `PostgreSQL ${settings.connection.host ?? 'localhost'}:${settings.connection.port ?? 5432}/${
        settings.connection.database ?? '(default database)'
      } schema ${settings.schema}`,
      this.secrets,
    );
    this.storeId = storeIdentity(settings);
    this.watchers = acquireWatchers(this.storeId);
    // Started at once so the first call does not pay for it; a failure is reported by every call until it works.
    this.ready = this.createTables();
    this.ready.catch(() => undefined);
  }

  /** Opens a pool (connections are made on first use) and starts creating the tables when missing. */
  static open(settings: PostgresStoreSettings): PostgresStore {
    if (!IDENTIFIER.test(settings.schema)) {
      throw new FinanceError(
        'CONFIG_INVALID',
        `The PostgreSQL schema "${settings.schema}" must be lower-case letters, digits and _ (at most 40), starting with a letter.`,
      );
    }
    if (settings.tablePrefix !== '' && !IDENTIFIER.test(settings.tablePrefix)) {
      throw new FinanceError(
        'CONFIG_INVALID',
        `The table prefix "${settings.tablePrefix}" must be lower-case letters, digits and _ (at most 40).`,
      );
    }
    requirePositive(settings.maxInboxEntries, 'maxInboxEntries', 'CONFIG_INVALID');
    requirePositive(settings.dedupRetentionMs, 'dedupRetentionMs', 'CONFIG_INVALID');
    if (settings.ledgerRetentionMs !== undefined) {
      requirePositive(settings.ledgerRetentionMs, 'ledgerRetentionMs', 'CONFIG_INVALID');
    }
    const pg = loadDriver();
    const { poolSize, ssl, ...connection } = settings.connection;
    const timeoutMs = settings.queryTimeoutMs ?? QUERY_TIMEOUT_MS;
    const pool = new pg.Pool({
      ...connection,
      max: poolSize ?? 10,
      ssl: ssl ? { rejectUnauthorized: true } : undefined,
      application_name: 'finance-sync',
      // How long a new connection may take (a server behind a silent network never answers the SYN) and a
      // call may wait for a free connection of the pool. The same bound as a statement's, so a caller waits
      // one documented time for either; statements take milliseconds, so a burst queued behind `max`
      // connections is served long before. A server that refuses connections fails at once anyway.
      connectionTimeoutMillis: timeoutMs,
      query_timeout: timeoutMs,
      // TCP keep-alive finds a dead peer of an idle connection; the server side ends the abandoned transaction
      // (releasing its row locks) of a host it no longer hears from.
      keepAlive: true,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
    });
    // An idle connection that breaks (server restart, network) is reported here; without a listener the
    // error would end the Node-RED process. The pool drops it and the next query opens a new one.
    pool.on('error', ignoreError);
    return new PostgresStore(pool, loadMsgPack(), settings);
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
    const envelope = this.encode(input.envelope, 'event envelope');
    const payload = this.encode(input.payload, 'event payload');
    const lease = input.lease;
    // A lease of 0 ms: owned, but due at once and not handed out yet (waiting for its turn, no attempt).
    const handedOut = lease !== undefined && lease.ms > 0;
    const max = this.settings.maxInboxEntries;
    const result = await this.transaction('store an accepted event', async (client) => {
      const stored = await this.insertUnlessKnown(client, [
        bytes(key),
        envelope,
        payload,
        input.receivedAt ?? now,
        lease?.owner ?? null,
        lease ? now + lease.ms : null,
        handedOut ? lease.ms : null,
        handedOut ? 1 : 0,
      ]);
      if ('existing' in stored) return { duplicate: stored.existing };
      // The row lock on the accepted counter orders concurrent accepts, and its WHERE is evaluated again on
      // the latest count after a wait, so no two of them can pass the mark together.
      const counted = await client.query(
        `UPDATE ${this.t.meta} SET value = value + 1 WHERE name = '${ACCEPTED}'
           AND value - (SELECT COALESCE(sum(value), 0) FROM ${this.t.meta} WHERE name LIKE '${FINISHED}%') < $1`,
        [max],
      );
      if ((counted.rowCount ?? 0) === 0) {
        await client.query('ROLLBACK');
        return { full: await this.openCount(client), rolledBack: true };
      }
      return { entry: stored.inserted };
    });
    if (result.duplicate) return { status: 'duplicate', entry: this.toEntry(result.duplicate) };
    if (result.full !== undefined) {
      throw new FinanceError(
        'STORE_FULL',
        `The inbox holds ${result.full} unfinished events, its high-water mark (${max}); new events are refused ` +
          'until some finish. The sender should retry later; raise the high-water mark if the ERP keeps up.',
        { retryable: true, details: { openEntries: result.full, maxInboxEntries: max } },
      );
    }
    return { status: 'accepted', entry: this.toEntry(result.entry as InboxRow) };
  }

  /**
   * Inserts a new inbox row (`values` in column order, the key first), or reads the row its key already has.
   * Between the two, another host's purge may remove that row (an expired final entry): the key is free
   * again, so the insert is tried once more rather than a duplicate of nothing answered.
   */
  private async insertUnlessKnown(
    client: PoolClient,
    values: unknown[],
  ): Promise<{ inserted: InboxRow } | { existing: InboxRow }> {
    for (;;) {
      const inserted = await client.query<InboxRow>(
        `INSERT INTO ${this.t.inbox} (key, envelope, payload, received_at, state, lease_owner, lease_until, lease_ms, attempts)
         VALUES ($1, $2, $3, $4, 'open', $5, $6, $7, $8)
         ON CONFLICT (key) DO NOTHING RETURNING *`,
        values,
      );
      if (inserted.rows[0]) return { inserted: inserted.rows[0] };
      const existing = await client.query<InboxRow>(`SELECT * FROM ${this.t.inbox} WHERE key = $1`, [values[0]]);
      if (existing.rows[0]) return { existing: existing.rows[0] };
    }
  }

  async lease(key: string, owner: string, ms: number): Promise<LeaseResult> {
    requireKey(key, 'inbox key');
    requireOwner(owner);
    requirePositive(ms, 'lease duration (ms)');
    const now = this.settings.now();
    return this.changeOpen(
      'lease an event',
      key,
      `lease_owner = $2, lease_until = $3::bigint + $4::bigint, lease_ms = $4, attempts = attempts + 1, held = FALSE`,
      `(lease_owner IS NULL OR lease_owner = $2 OR COALESCE(lease_until, 0) <= $3)`,
      [bytes(key), owner, now, ms],
    );
  }

  async leaseIfExpired(key: string, owner: string, ms: number): Promise<LeaseResult> {
    requireKey(key, 'inbox key');
    requireOwner(owner);
    requirePositive(ms, 'lease duration (ms)');
    const now = this.settings.now();
    return this.changeOpen(
      'lease an expired event',
      key,
      `lease_owner = $2, lease_until = $3::bigint + $4::bigint, lease_ms = $4, attempts = attempts + 1, held = FALSE`,
      `(lease_until IS NULL OR lease_until <= $3)`,
      [bytes(key), owner, now, ms],
    );
  }

  async holdLease(key: string, ms: number): Promise<LeaseResult> {
    requireKey(key, 'inbox key');
    requireZeroOrPositive(ms, 'The hold (ms)');
    const now = this.settings.now();
    // A hold of 0 ms gives back an ordinary lease: the step has resumed.
    const result = await this.changeOpen(
      'hold an event',
      key,
      `lease_until = $2::bigint + $3::bigint + COALESCE(lease_ms, $4::bigint), held = $3::bigint > 0`,
      'TRUE',
      [bytes(key), now, ms, DEFAULT_LEASE_MS],
    );
    if (result.leased && ms > 0) this.notifyInbox(key);
    return result;
  }

  async expireLease(key: string, owner: string): Promise<boolean> {
    requireKey(key, 'inbox key');
    requireOwner(owner);
    const now = this.settings.now();
    const result = await this.query(
      'end a lease early',
      `UPDATE ${this.t.inbox} SET lease_until = $3
       WHERE key = $1 AND state = 'open' AND lease_owner = $2 AND NOT held AND lease_until > $3`,
      [bytes(key), owner, now],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async renewLease(key: string, owner: string, ms: number): Promise<LeaseResult> {
    requireKey(key, 'inbox key');
    requireOwner(owner);
    requirePositive(ms, 'lease duration (ms)');
    const now = this.settings.now();
    return this.changeOpen('renew a lease', key, `lease_until = $3::bigint + $4::bigint`, `lease_owner = $2`, [
      bytes(key),
      owner,
      now,
      ms,
    ]);
  }

  async releaseLease(key: string, owner: string): Promise<boolean> {
    requireKey(key, 'inbox key');
    requireOwner(owner);
    const result = await this.query(
      'release a lease',
      `UPDATE ${this.t.inbox} SET lease_owner = NULL, lease_until = NULL, held = FALSE
       WHERE key = $1 AND state = 'open' AND lease_owner = $2`,
      [bytes(key), owner],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async expiredLeases(limit: number, graceMs: number, options: ExpiredLeasesOptions = {}): Promise<InboxEntry[]> {
    requirePositive(limit, 'limit');
    requireZeroOrPositive(graceMs, 'graceMs');
    const { ownedBy } = options;
    const now = this.settings.now();
    // Expired leases first: their worker is gone, and they are the oldest work. Another node's entries are
    // filtered in the query, so they cannot fill the batch.
    const expired = await this.query<InboxRow>(
      'list expired leases',
      `SELECT * FROM ${this.t.inbox} WHERE state = 'open' AND lease_until <= $1
       ${ownedBy === undefined ? '' : `AND ${OWNED_BY_NODE('$3')}`}
       ORDER BY lease_until, key LIMIT $2`,
      ownedBy === undefined ? [now, limit] : [now, limit, ownedBy],
    );
    const rows = expired.rows;
    // Never leased (or released): no owner, so never one node's own.
    if (rows.length < limit && ownedBy === undefined) {
      const unleased = await this.query<InboxRow>(
        'list unleased events',
        `SELECT * FROM ${this.t.inbox} WHERE state = 'open' AND lease_until IS NULL AND received_at <= $1
         ORDER BY received_at, key LIMIT $2`,
        [now - graceMs, limit - rows.length],
      );
      rows.push(...unleased.rows);
    }
    return rows.map((row) => this.toEntry(row));
  }

  async takeOverLease(key: string, fromNodeId: string, owner: string, ms: number): Promise<LeaseResult> {
    requireKey(key, 'inbox key');
    requireOwner(fromNodeId);
    requireOwner(owner);
    requireZeroOrPositive(ms, 'lease duration (ms)');
    const now = this.settings.now();
    // ms 0: taken over waiting (due at once, no attempt), like accept with a 0 ms lease.
    return this.changeOpen(
      'take over an event',
      key,
      `lease_owner = $2, lease_until = $3::bigint + $4::bigint,
       lease_ms = CASE WHEN $4::bigint > 0 THEN $4::bigint ELSE lease_ms END,
       attempts = attempts + CASE WHEN $4::bigint > 0 THEN 1 ELSE 0 END, held = FALSE`,
      `NOT held AND ${OWNED_BY_NODE('$5')}`,
      [bytes(key), owner, now, ms, fromNodeId],
    );
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
    const detail = outcome.detail === undefined ? null : this.encode(outcome.detail, 'outcome detail');
    const now = this.settings.now();
    const expiresAt = now + this.settings.dedupRetentionMs;
    const row = await this.transaction('record an outcome', async (client) => {
      const finished = await client.query<InboxRow>(
        `UPDATE ${this.t.inbox} SET state = 'final', lease_owner = NULL, lease_until = NULL, held = FALSE,
           outcome_status = $2, outcome_detail = $3, outcome_at = $4, expires_at = $5
         WHERE key = $1 AND state = 'open' RETURNING *`,
        [bytes(key), outcome.status, detail, now, expiresAt],
      );
      if (finished.rows.length > 0) {
        const shard = Math.floor(Math.random() * FINISH_SHARDS);
        await client.query(`UPDATE ${this.t.meta} SET value = value + 1 WHERE name = $1`, [`${FINISHED}${shard}`]);
        return finished.rows[0];
      }
      const existing = await client.query<InboxRow>(`SELECT * FROM ${this.t.inbox} WHERE key = $1`, [bytes(key)]);
      return existing.rows[0];
    });
    if (!row) return undefined;
    // Also when the entry was final already (another host finished it): it may still count as in flight here.
    this.notifyInbox(key);
    return this.toEntry(row);
  }

  async get(key: string): Promise<InboxEntry | undefined> {
    requireKey(key, 'inbox key');
    const result = await this.query<InboxRow>('read an event', `SELECT * FROM ${this.t.inbox} WHERE key = $1`, [
      bytes(key),
    ]);
    return result.rows[0] ? this.toEntry(result.rows[0]) : undefined;
  }

  async countOpen(): Promise<number> {
    const pool = this.requireOpen();
    await this.ensureReady('count open events');
    try {
      return await this.openCount(pool);
    } catch (err) {
      throw this.failure('count open events', err);
    }
  }

  async listOpen(options: { limit?: number; after?: string } = {}): Promise<InboxEntry[]> {
    const limit = options.limit ?? DEFAULT_LIST_LIMIT;
    requirePositive(limit, 'limit');
    if (options.after !== undefined) requireKey(options.after, 'after key');
    const result = await this.query<InboxRow>(
      'list open events',
      `SELECT * FROM ${this.t.inbox} WHERE state = 'open' AND ($1::bytea IS NULL OR key > $1)
       ORDER BY key LIMIT $2`,
      [options.after === undefined ? null : bytes(options.after), limit],
    );
    return result.rows.map((row) => this.toEntry(row));
  }

  // ---- ledger ------------------------------------------------------------------------------------

  async ledgerBegin(key: string, owner: string): Promise<LedgerBeginResult> {
    requireKey(key, 'ledger key');
    requireOwner(owner);
    const now = this.settings.now();
    // Insert-if-absent; when the key exists, read it. Between the two a marker may have been aborted, so try
    // again rather than report a record that is gone.
    for (;;) {
      const inserted = await this.query(
        'mark an ERP write in flight',
        `INSERT INTO ${this.t.ledger} (key, state, owner, since) VALUES ($1, 'in-flight', $2, $3)
         ON CONFLICT (key) DO NOTHING`,
        [bytes(key), owner, now],
      );
      if ((inserted.rowCount ?? 0) > 0) return { state: 'started' };
      const record = await this.ledgerRow(key);
      if (record) return this.beginAnswer(record);
    }
  }

  async ledgerDone(key: string, ref: unknown, options: LedgerDoneOptions = {}): Promise<LedgerRecord> {
    requireKey(key, 'ledger key');
    if (options.retainMs !== undefined) requirePositive(options.retainMs, 'retainMs');
    const storedRef = this.encode(ref, 'ERP reference');
    const now = this.settings.now();
    const retention = options.retainMs ?? this.settings.ledgerRetentionMs;
    const expiresAt = retention === undefined ? null : now + retention;
    // Done already: the first reference stands and is read. Another host's purge may remove that expired
    // record before the read sees it; then the key is free again, so write it once more.
    for (;;) {
      const written = await this.query<LedgerRow>(
        'record a finished ERP write',
        `INSERT INTO ${this.t.ledger} AS l (key, state, ref, at, expires_at) VALUES ($1, 'done', $2, $3, $4)
         ON CONFLICT (key) DO UPDATE SET state = 'done', owner = NULL, since = NULL, ref = EXCLUDED.ref,
           at = EXCLUDED.at, expires_at = EXCLUDED.expires_at
         WHERE l.state <> 'done' RETURNING *`,
        [bytes(key), storedRef, now, expiresAt],
      );
      const row = written.rows[0] ?? (await this.ledgerRow(key));
      if (row) return this.toLedgerRecord(row);
    }
  }

  async ledgerAbort(key: string, owner?: string): Promise<boolean> {
    requireKey(key, 'ledger key');
    if (owner !== undefined) requireOwner(owner);
    const result = await this.query(
      'remove an in-flight marker',
      `DELETE FROM ${this.t.ledger} WHERE key = $1 AND state = 'in-flight' AND ($2::text IS NULL OR owner = $2)`,
      [bytes(key), owner ?? null],
    );
    return (result.rowCount ?? 0) > 0;
  }

  async ledgerGet(key: string): Promise<LedgerRecord | undefined> {
    requireKey(key, 'ledger key');
    const row = await this.ledgerRow(key);
    return row ? this.toLedgerRecord(row) : undefined;
  }

  async ledgerTakeOver(key: string, owner: string, olderThanMs: number): Promise<LedgerTakeOverResult> {
    requireKey(key, 'ledger key');
    requireOwner(owner);
    if (!Number.isFinite(olderThanMs) || olderThanMs < 0)
      throw invalid('olderThanMs must be zero or a positive number of ms.');
    const now = this.settings.now();
    // As in ledgerBegin: a marker aborted between the insert and the read is tried again, so `started` is only
    // ever answered with our own marker in the ledger (else another host's begin would start the write too).
    for (;;) {
      const answer = await this.tryLedgerTakeOver(key, owner, now - olderThanMs, now);
      if (answer) return answer;
    }
  }

  /** One try of ledgerTakeOver; undefined when the marker it found was gone by the time it was locked. */
  private async tryLedgerTakeOver(
    key: string,
    owner: string,
    staleBefore: number,
    now: number,
  ): Promise<LedgerTakeOverResult | undefined> {
    return this.transaction('take over an in-flight ERP write', async (client) => {
      const inserted = await client.query(
        `INSERT INTO ${this.t.ledger} (key, state, owner, since) VALUES ($1, 'in-flight', $2, $3)
         ON CONFLICT (key) DO NOTHING`,
        [bytes(key), owner, now],
      );
      if ((inserted.rowCount ?? 0) > 0) return { state: 'started' };
      const locked = await client.query<LedgerRow>(`SELECT * FROM ${this.t.ledger} WHERE key = $1 FOR UPDATE`, [
        bytes(key),
      ]);
      const record = locked.rows[0];
      if (!record) return undefined;
      if (record.state === 'done' || Number(record.since) > staleBefore) return this.beginAnswer(record);
      await client.query(`UPDATE ${this.t.ledger} SET owner = $2, since = $3 WHERE key = $1`, [bytes(key), owner, now]);
      return { state: 'taken-over', previousOwner: record.owner as string, previousSince: Number(record.since) };
    });
  }

  // ---- namespaced key-value ----------------------------------------------------------------------

  async kvPut(namespace: string, key: string, value: unknown, ttlMs?: number): Promise<void> {
    const [sql, values] = this.kvStatement({ namespace, key, value, ttlMs });
    await this.query('store a value', sql, values);
  }

  async kvGet(namespace: string, key: string): Promise<unknown> {
    requireKvKey(namespace, key);
    const result = await this.query<{ value: Buffer }>(
      'read a value',
      `SELECT value FROM ${this.t.kv} WHERE namespace = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3)`,
      [bytes(namespace), bytes(key), this.settings.now()],
    );
    return result.rows[0] ? this.decode(result.rows[0].value) : undefined;
  }

  async kvDelete(namespace: string, key: string): Promise<boolean> {
    const [sql, values] = this.kvStatement({ namespace, key, remove: true });
    const result = await this.query<{ expires_at: string | null }>('delete a value', sql, values);
    const row = result.rows[0];
    return row !== undefined && (row.expires_at === null || Number(row.expires_at) > this.settings.now());
  }

  async kvWrite(writes: readonly KvWrite[]): Promise<void> {
    if (!Array.isArray(writes)) throw invalid('kvWrite takes an array of changes.');
    const statements = writes.map((write) => this.kvStatement(write));
    if (statements.length === 0) return;
    await this.transaction('store values', async (client) => {
      for (const [sql, values] of statements) await client.query(sql, values);
    });
  }

  /** The statement of one kv change, checked and encoded before anything is sent. */
  private kvStatement(write: KvWrite): [string, unknown[]] {
    const { namespace, key } = write;
    requireKvKey(namespace, key);
    if ('remove' in write && write.remove === true) {
      return [
        `DELETE FROM ${this.t.kv} WHERE namespace = $1 AND key = $2 RETURNING expires_at`,
        [bytes(namespace), bytes(key)],
      ];
    }
    const { value, ttlMs } = write as { value: unknown; ttlMs?: number };
    if (ttlMs !== undefined) requirePositive(ttlMs, 'ttlMs');
    const stored = this.encode(value, `value of ${namespace}/${key}`);
    const expiresAt = ttlMs === undefined ? null : this.settings.now() + ttlMs;
    return [
      `INSERT INTO ${this.t.kv} (namespace, key, value, expires_at) VALUES ($1, $2, $3, $4)
       ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at`,
      [bytes(namespace), bytes(key), stored, expiresAt],
    ];
  }

  async kvList(
    namespace: string,
    options: { prefix?: string; after?: string; limit?: number } = {},
  ): Promise<KvEntry[]> {
    requireKey(namespace, 'namespace');
    const prefix = requireKvPrefix(namespace, options.prefix ?? '');
    if (options.after !== undefined) requireKvKey(namespace, options.after);
    const limit = options.limit ?? DEFAULT_LIST_LIMIT;
    requirePositive(limit, 'limit');
    const result = await this.query<{ key: Buffer; value: Buffer; expires_at: string | null }>(
      'list values',
      `SELECT key, value, expires_at FROM ${this.t.kv}
       WHERE namespace = $1 AND key >= $2 AND substring(key from 1 for length($2::bytea)) = $2 AND ($3::bytea IS NULL OR key > $3)
         AND (expires_at IS NULL OR expires_at > $4)
       ORDER BY key LIMIT $5`,
      [
        bytes(namespace),
        bytes(prefix),
        options.after === undefined ? null : bytes(options.after),
        this.settings.now(),
        limit,
      ],
    );
    return result.rows.map((row) => ({
      key: row.key.toString('utf8'),
      value: this.decode(row.value),
      ...(row.expires_at !== null ? { expiresAt: Number(row.expires_at) } : {}),
    }));
  }

  // ---- leases ------------------------------------------------------------------------------------

  async claimLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    requireKey(name, 'lease name');
    requireOwner(holder);
    requirePositive(ttlMs, 'lease duration (ms)');
    const now = this.settings.now();
    // One statement: ON CONFLICT takes the row lock and evaluates the WHERE on the current row, so of two hosts
    // claiming at once exactly one changes the row.
    const result = await this.query(
      'claim a lease',
      `INSERT INTO ${this.t.leases} AS l (name, holder, until) VALUES ($1, $2, $3::bigint + $4::bigint)
       ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, until = EXCLUDED.until
       WHERE l.holder = EXCLUDED.holder OR l.until <= $3`,
      [bytes(name), holder, now, ttlMs],
    );
    return (result.rowCount ?? 0) > 0;
  }

  // ---- housekeeping ------------------------------------------------------------------------------

  /**
   * The hourly purge (store-housekeeping.ts). Only the inbox has an index on its expiry: kv values and leases
   * are read through in batches, as are done ledger records (retry claims, and ERP writes where a retention is
   * set). An index added to an existing deployment's tables would be built inside the start-up transaction that
   * every host waits for.
   */
  async purgeExpired(): Promise<PurgeResult> {
    const now = this.settings.now();
    const purge = async (table: string, keyColumns: string, condition: string): Promise<number> => {
      let removed = 0;
      for (;;) {
        // The condition again outside the sub-select: a row another host rewrote meanwhile (a new kv value)
        // is locked and waited for, and after the wait PostgreSQL checks only this outer WHERE on the new row.
        const result = await this.query(
          'remove expired records',
          `DELETE FROM ${table} WHERE (${keyColumns}) IN (
             SELECT ${keyColumns} FROM ${table} WHERE ${condition} LIMIT ${PURGE_BATCH}) AND ${condition}`,
          [now],
        );
        removed += result.rowCount ?? 0;
        if ((result.rowCount ?? 0) < PURGE_BATCH) return removed;
      }
    };
    return {
      inbox: await purge(this.t.inbox, 'key', `state = 'final' AND expires_at <= $1`),
      ledger: await purge(this.t.ledger, 'key', `state = 'done' AND expires_at <= $1`),
      kv: await purge(this.t.kv, 'namespace, key', `expires_at <= $1`),
      // One per document and target written back on several hosts (lib/writeback/latest-version.ts): these
      // grow with the documents. An expired lease is free to claim, so removing it changes nothing.
      leases: await purge(this.t.leases, 'name', `until <= $1`),
    };
  }

  watchInbox(listener: (key: string) => void): () => void {
    this.requireOpen();
    const listeners = (this.watchers as InboxWatchers).listeners;
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    const watchers = this.watchers;
    this.watchers = undefined;
    if (watchers) releaseWatchers(this.storeId, watchers);
    if (pool) {
      await this.ready.catch(() => undefined);
      await pool.end();
    }
  }

  // ---- plumbing ----------------------------------------------------------------------------------

  /**
   * A conditional UPDATE of an open inbox entry; when it changes nothing, the entry is read to say why
   * (missing, final, or held by someone else).
   */
  private async changeOpen(
    action: string,
    key: string,
    set: string,
    condition: string,
    values: unknown[],
  ): Promise<LeaseResult> {
    const changed = await this.query<InboxRow>(
      action,
      `UPDATE ${this.t.inbox} SET ${set} WHERE key = $1 AND state = 'open' AND ${condition} RETURNING *`,
      values,
    );
    if (changed.rows[0]) return { leased: true, entry: this.toEntry(changed.rows[0]) };
    const current = await this.query<InboxRow>(action, `SELECT * FROM ${this.t.inbox} WHERE key = $1`, [bytes(key)]);
    const row = current.rows[0];
    if (!row) return { leased: false, reason: 'missing' };
    return { leased: false, reason: row.state === 'final' ? 'final' : 'held', entry: this.toEntry(row) };
  }

  /** Tells the watchInbox() listeners that the entry `key` was finished or held (after the commit). */
  private notifyInbox(key: string): void {
    for (const listener of this.watchers?.listeners ?? []) {
      try {
        listener(key);
      } catch {
        // A listener's failure is its own business: the write has committed and its caller gets the result.
      }
    }
  }

  private async openCount(client: Pool | PoolClient): Promise<number> {
    const result = await client.query<{ n: string | null }>(
      `SELECT sum(CASE WHEN name = '${ACCEPTED}' THEN value ELSE -value END) AS n FROM ${this.t.meta}
       WHERE name = '${ACCEPTED}' OR name LIKE '${FINISHED}%'`,
    );
    return Number(result.rows[0]?.n ?? 0);
  }

  private async ledgerRow(key: string): Promise<LedgerRow | undefined> {
    const result = await this.query<LedgerRow>('read the ledger', `SELECT * FROM ${this.t.ledger} WHERE key = $1`, [
      bytes(key),
    ]);
    return result.rows[0];
  }

  private beginAnswer(row: LedgerRow): LedgerBeginResult {
    return row.state === 'in-flight'
      ? { state: 'in-flight', since: Number(row.since), owner: row.owner as string }
      : { state: 'done', ref: this.decode(row.ref as Buffer) };
  }

  private toLedgerRecord(row: LedgerRow): LedgerRecord {
    return row.state === 'in-flight'
      ? { state: 'in-flight', owner: row.owner as string, since: Number(row.since) }
      : { state: 'done', ref: this.decode(row.ref as Buffer), at: Number(row.at) };
  }

  private toEntry(row: InboxRow): InboxEntry {
    const entry: InboxEntry = {
      key: row.key.toString('utf8'),
      envelope: this.decode(row.envelope) as Record<string, unknown>,
      payload: this.decode(row.payload),
      receivedAt: Number(row.received_at),
      state: row.state,
      attempts: row.attempts,
    };
    if (row.lease_until !== null) entry.leaseUntil = Number(row.lease_until);
    if (row.lease_owner !== null) entry.leaseOwner = row.lease_owner;
    if (row.lease_ms !== null) entry.leaseMs = Number(row.lease_ms);
    if (row.outcome_status !== null) {
      const at = Number(row.outcome_at);
      entry.outcome =
        row.outcome_detail === null
          ? { status: row.outcome_status, at }
          : { status: row.outcome_status, detail: this.decode(row.outcome_detail), at };
    }
    return entry;
  }

  private encode(value: unknown, what: string): Buffer {
    try {
      return this.codec.pack(toStoredValue(value));
    } catch (err) {
      throw invalid(`The ${what} cannot be stored (${describe(err)}); it must be JSON-like data.`, err);
    }
  }

  private decode(buffer: Buffer): unknown {
    return fromStoredValue(this.codec.unpack(buffer) as StoredValue);
  }

  private requireOpen(): Pool {
    if (!this.pool) {
      throw new FinanceError(
        'STORE_UNAVAILABLE',
        'The finance store is closed (the flow is being redeployed or stopped); the message can be retried.',
        { retryable: true },
      );
    }
    return this.pool;
  }

  /**
   * Waits for the tables. A failed attempt (PostgreSQL was down) is started again and awaited once, so the
   * first call after the server is back succeeds instead of reporting the old attempt's error.
   */
  private async ensureReady(action: string): Promise<void> {
    const attempt = this.ready;
    try {
      await attempt;
      return;
    } catch {
      if (this.ready === attempt && this.pool) {
        this.ready = this.createTables();
        this.ready.catch(() => undefined);
      }
    }
    try {
      await this.ready;
    } catch (err) {
      throw this.failure(action, err);
    }
  }

  private async query<R extends QueryResultRow = QueryResultRow>(action: string, sql: string, values: unknown[]) {
    const pool = this.requireOpen();
    await this.ensureReady(action);
    try {
      return await pool.query<R>(sql, values);
    } catch (err) {
      throw this.failure(action, err);
    }
  }

  /** Runs `body` in one transaction; a body that rolled back itself says so with `rolledBack`. */
  private async transaction<T>(action: string, body: (client: PoolClient) => Promise<T>): Promise<T> {
    const pool = this.requireOpen();
    await this.ensureReady(action);
    let client: PoolClient | undefined;
    try {
      client = await pool.connect();
      // A checked-out connection that breaks (server restart) emits 'error'; unheard, it would end the process.
      // The query running on it fails as well, and that failure is what this call reports.
      client.on('error', ignoreError);
      await client.query('BEGIN');
      const result = await body(client);
      if (!(result as { rolledBack?: boolean } | undefined)?.rolledBack) await client.query('COMMIT');
      client.off('error', ignoreError);
      client.release();
      return result;
    } catch (err) {
      if (client) {
        // A broken connection is destroyed rather than returned to the pool. One the server did not answer
        // (lost, or silent past the query timeout) is not sent a ROLLBACK, which would only wait as long again:
        // destroying it ends the transaction on the server.
        const broken =
          !answeredByServer(err) ||
          (await client.query('ROLLBACK').then(
            () => false,
            () => true,
          ));
        client.off('error', ignoreError);
        client.release(broken ? (err as Error) : undefined);
      }
      throw this.failure(action, err);
    }
  }

  private failure(action: string, err: unknown): FinanceError {
    if (err instanceof FinanceError) return err;
    // The driver's error is not kept as the cause (Node-RED copies a cause onto the Catch message): its
    // hostname and message may hold a password. A redacted stand-in keeps its text and code.
    const reason = redactText(describe(err), this.secrets);
    const code = (err as { code?: unknown } | null)?.code;
    return new FinanceError(
      'STORE_UNAVAILABLE',
      `The finance store (${this.where}) could not ${action} (${reason}). Check that PostgreSQL is ` +
        'running and reachable and that the user may write to the schema; the message can be retried.',
      { retryable: true, cause: Object.assign(new Error(reason), typeof code === 'string' ? { code } : {}) },
    );
  }

  /**
   * Adds the `held` column to an inbox table created before it existed. Asked first, so a host starting on an
   * up-to-date table does not take ALTER TABLE's exclusive lock, which would queue the other hosts' queries.
   * Entries that an older version held get the mark back where the lease shows it: a lease that ends later
   * than a whole lease from now was extended by a hold (a hold that ends sooner can only be ended early, which
   * emits its event again before its time; the ledger keeps that from writing twice).
   */
  private async addHeldColumn(client: PoolClient): Promise<void> {
    const present = await client.query(
      `SELECT 1 FROM information_schema.columns WHERE table_schema = $1 AND table_name = $2 AND column_name = 'held'`,
      [this.settings.schema, `${this.settings.tablePrefix}inbox`],
    );
    if ((present.rowCount ?? 0) > 0) return;
    await client.query(`ALTER TABLE ${this.t.inbox} ADD COLUMN IF NOT EXISTS held boolean NOT NULL DEFAULT FALSE`);
    await client.query(
      `UPDATE ${this.t.inbox} SET held = TRUE
       WHERE state = 'open' AND lease_until > $1::bigint + COALESCE(lease_ms, $2::bigint)`,
      [this.settings.now(), DEFAULT_LEASE_MS],
    );
  }

  /** Creates the schema and tables when missing; an advisory lock per schema keeps hosts starting at once apart. */
  private async createTables(): Promise<void> {
    const pool = this.requireOpen();
    const client = await pool.connect();
    client.on('error', ignoreError);
    const { inbox, ledger, kv, leases, meta } = this.t;
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`finance-sync:${this.settings.schema}`]);
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdentifier(this.settings.schema)}`);
      // Keys are bytea: they may hold NUL (inboxKey() separates source and id with it), which text cannot, and
      // bytea sorts by bytes, as LMDB does, whatever the database's locale.
      await client.query(`CREATE TABLE IF NOT EXISTS ${inbox} (
        key bytea PRIMARY KEY,
        envelope bytea NOT NULL,
        payload bytea NOT NULL,
        received_at bigint NOT NULL,
        state text NOT NULL,
        lease_owner text,
        lease_until bigint,
        lease_ms bigint,
        attempts integer NOT NULL,
        held boolean NOT NULL DEFAULT FALSE,
        outcome_status text,
        outcome_detail bytea,
        outcome_at bigint,
        expires_at bigint)`);
      await this.addHeldColumn(client);
      await client.query(`CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${this.settings.tablePrefix}inbox_leased`)}
        ON ${inbox} (lease_until, key) WHERE state = 'open' AND lease_until IS NOT NULL`);
      await client.query(`CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${this.settings.tablePrefix}inbox_unleased`)}
        ON ${inbox} (received_at, key) WHERE state = 'open' AND lease_until IS NULL`);
      await client.query(`CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${this.settings.tablePrefix}inbox_open`)}
        ON ${inbox} (key) WHERE state = 'open'`);
      await client.query(`CREATE INDEX IF NOT EXISTS ${quoteIdentifier(`${this.settings.tablePrefix}inbox_expiry`)}
        ON ${inbox} (expires_at) WHERE state = 'final'`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${ledger} (
        key bytea PRIMARY KEY,
        state text NOT NULL,
        owner text,
        since bigint,
        ref bytea,
        at bigint,
        expires_at bigint)`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${kv} (
        namespace bytea NOT NULL,
        key bytea NOT NULL,
        value bytea NOT NULL,
        expires_at bigint,
        PRIMARY KEY (namespace, key))`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${leases} (
        name bytea PRIMARY KEY,
        holder text NOT NULL,
        until bigint NOT NULL)`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${meta} (name text PRIMARY KEY, value bigint NOT NULL)`);
      const counters = [ACCEPTED, ...Array.from({ length: FINISH_SHARDS }, (_, i) => `${FINISHED}${i}`)];
      const shards = counters.map((name) => `('${name}', 0)`).join(', ');
      await client.query(`INSERT INTO ${meta} (name, value) VALUES ${shards} ON CONFLICT (name) DO NOTHING`);
      await client.query(`INSERT INTO ${meta} (name, value) VALUES ('layout', $1) ON CONFLICT (name) DO NOTHING`, [
        LAYOUT_VERSION,
      ]);
      const layout = await client.query<{ value: string }>(`SELECT value FROM ${meta} WHERE name = 'layout'`);
      if (Number(layout.rows[0].value) !== LAYOUT_VERSION) {
        throw new FinanceError(
          'STORE_UNAVAILABLE',
          `The finance store (${this.where}) was written by another version of finance-sync (layout ` +
            `${layout.rows[0].value}; this version reads layout ${LAYOUT_VERSION}). Run the matching version, or ` +
            'use another schema or table prefix.',
        );
      }
      await client.query('COMMIT');
      client.off('error', ignoreError);
      client.release();
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.off('error', ignoreError);
      client.release(true);
      throw err;
    }
  }
}

// ---- watchers ------------------------------------------------------------------------------------

/** Which store a handle opens: handles with the same identity reach the same tables. */
function storeIdentity(settings: PostgresStoreSettings): string {
  const { host, port, database, user } = settings.connection;
  return JSON.stringify([
    host ?? 'localhost',
    port ?? 5432,
    database ?? '',
    user ?? '',
    settings.schema,
    settings.tablePrefix,
  ]);
}

function acquireWatchers(storeId: string): InboxWatchers {
  const shared = inboxWatchers.get(storeId) ?? { listeners: new Set(), handles: 0 };
  shared.handles += 1;
  inboxWatchers.set(storeId, shared);
  return shared;
}

function releaseWatchers(storeId: string, watchers: InboxWatchers): void {
  watchers.handles -= 1;
  if (watchers.handles === 0 && inboxWatchers.get(storeId) === watchers) inboxWatchers.delete(storeId);
}

// ---- the optional driver -----------------------------------------------------------------------------

function loadDriver(): PgModule {
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require('pg') as PgModule;
  } catch (err) {
    throw new FinanceError(
      'CONFIG_INVALID',
      'The PostgreSQL store needs the "pg" package, which is not installed. Install it next to this pack ' +
        '(in the Node-RED user directory: npm install pg) and restart Node-RED, or choose the LMDB store.',
      { cause: err },
    );
  }
}

/** MessagePack as LMDB writes it: msgpackr, which lmdb depends on, so it is installed with the pack. */
function loadMsgPack(): MsgPack {
  const lmdbDirectory = path.dirname(require.resolve('lmdb'));
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Packr } = require(require.resolve('msgpackr', { paths: [lmdbDirectory] })) as {
    Packr: new (options: object) => MsgPack;
  };
  return new Packr({ useRecords: false });
}

/** Whether `err` is the server's answer to a statement (a SQL error), so the connection is still in step. */
function answeredByServer(err: unknown): boolean {
  return typeof (err as { severity?: unknown } | null)?.severity === 'string';
}

/** For connection errors that the failing query reports anyway (see transaction and open). */
function ignoreError(): void {}

/** Keys go to PostgreSQL as bytea (see createTables). */
function bytes(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

// ---- arguments and errors --------------------------------------------------------------------------

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
