/**
 * Funds reserved by documents that passed the budget check and are not yet counted by the ERP. The ERP counts
 * a commitment only once the document is written there (the purchase order created, the report posted), so
 * two documents checked before either write could each fit what is left and together exceed it. With
 * reservations, a check that passes (or warns) records what it asks of each budget key and period, and every
 * check takes off what other documents hold there before it compares (check.ts, reservedByOthers).
 *
 * Records live in the finance store's kv space, so every node and every host on the store sees them:
 * - namespace RESERVATIONS_NAMESPACE, key "<scope id>/<document id>": one document's hold on one budget
 *   (scope = company, currency and budget key with period; hashed, so any dimension value fits a key);
 * - namespace RESERVATIONS_BY_DOCUMENT, key the document: which records it holds, so a revision replaces
 *   them (never adds to them) and the writing node releases them without knowing the budgets.
 * Both expire after the hold time (kv ttl): a document never written frees its money then, and the store's
 * housekeeping purges the expired records like every other kv value.
 *
 * The check and the reservation it makes are one step per budget key: in this process a queue per key, and on
 * a store several hosts share a lease per key as well (claimLease, as the approval's document lock), taken in
 * key order so two documents with the same keys never wait for each other.
 */
import { createHash, randomUUID } from 'node:crypto';
import { FinanceError } from '../errors';
import type { CallContext } from '../erp/dialect';
import type { ErpMessage, Money } from '../model/types';
import { add, fromMinorUnits, minorOf } from '../model/money';
import type { MappedDocument } from '../mapping/documents';
import { KeyedQueue } from '../purchasing/keyed-queue';
import { whileKeepingLease } from '../reliability/kept-lease';
import { runnerHolder } from '../reliability/single-runner';
import type { FinanceStore, KvWrite } from '../reliability/store';
import { budgetRequestsOf, checkDocumentBudget, checkedAtCreation, type BudgetCheckDialect } from './check';
import type { BudgetCheckOptions } from './check';
import { documentCurrency } from './document';
import type { BudgetOutcome, BudgetRequest } from './types';

export const RESERVATIONS_NAMESPACE = 'budget-reservations';
export const RESERVATIONS_BY_DOCUMENT = 'budget-reservations-by-document';
/**
 * Released reservations, kept a while for checks that asked the ERP before the release, keyed
 * "<scope hash>/<release time>/<document hash>": a check reads only those released after it asked, so released
 * records never make a check read more than the few of the last moments.
 */
export const RELEASED_NAMESPACE = 'budget-reservations-released';
/** Digits of a release time in a key, so keys sort by time. */
const TIME_DIGITS = 15;
/** The prefix of the per-budget leases on a shared store. */
export const RESERVATION_LEASE_PREFIX = 'finance-budget-check/reserve';

export const DEFAULT_RESERVATION_LOCK_TTL_MS = 30_000;
/**
 * How long a released reservation is kept: it still counts for a check that asked the ERP before the release,
 * whose answer may not hold the released document's write yet. Longer than any one check takes.
 */
export const RELEASED_KEEP_MS = 15 * 60_000;
export const DEFAULT_RESERVATION_LOCK_WAIT_MS = 10_000;
const FIRST_PAUSE_MS = 5;
const LONGEST_PAUSE_MS = 100;
const PAGE = 100;

export type ReservationStore = Pick<FinanceStore, 'kvGet' | 'kvWrite' | 'kvList' | 'claimLease' | 'sharedAcrossHosts'>;

export interface ReservationOptions {
  /** How long a reservation lasts unless the writing node releases it earlier. */
  holdMs: number;
  /** How long a check waits for another host's check of the same budget. Default 10 s. */
  lockWaitMs?: number;
  /** How long a per-budget lease lasts unless renewed (a dead host blocks the budget this long). Default 30 s. */
  lockTtlMs?: number;
  /** Told when a running check's lease could not be kept. */
  warn?: (text: string) => void;
  /** The queue per budget of this process; every instance shares one unless given (tests give each "host" its own). */
  queue?: KeyedQueue;
}

/** One document's hold on one budget key and period (the kv value). */
interface ReservationRecord {
  scope: string;
  document: string;
  amount: Money;
}

/** Which reservation records a document holds (the by-document kv value). */
interface DocumentReservations {
  keys: string[];
}

/** The budget a reservation counts against: the same key in another company or currency is another budget. */
export interface ReservationScope {
  company?: string | undefined;
  currency: string;
  /** The budget key with its period, e.g. "costCenter=CC-100,glAccount=6300@2026-11". */
  key: string;
}

/** One amount to reserve: the budget key and what the document asks of it. */
export interface Reservation {
  key: string;
  amount: Money;
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 40);
}

function scopeText(scope: ReservationScope): string {
  return JSON.stringify([scope.company ?? null, scope.currency, scope.key]);
}

function timeKey(ms: number): string {
  return String(Math.max(0, Math.floor(ms))).padStart(TIME_DIGITS, '0');
}

function recordKey(scope: string, document: string): string {
  return `${hash(scope)}/${hash(document)}`;
}

/**
 * The identity of a document across its revisions: its type and its id in the source. Undefined for anything
 * that is not a canonical document with a source reference (a release of such a message has nothing to find).
 */
export function reservationDocumentOf(payload: unknown): string | undefined {
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { docType, sourceRef } = payload as { docType?: unknown; sourceRef?: { system?: unknown; id?: unknown } };
  if (typeof docType !== 'string' || typeof sourceRef !== 'object' || sourceRef === null) return undefined;
  if (typeof sourceRef.system !== 'string' || typeof sourceRef.id !== 'string') return undefined;
  return JSON.stringify([docType, sourceRef.system, sourceRef.id]);
}

/** One process's queue per budget: two checks of one budget in this process run one after the other. */
const LOCAL_QUEUE = new KeyedQueue();

export class BudgetReservations {
  /** Unique per instance, so one lease of a host is never mistaken for another check's. */
  readonly holder = `${RESERVATION_LEASE_PREFIX}/${runnerHolder()}/${randomUUID()}`;

  constructor(
    private readonly store: ReservationStore,
    private readonly options: ReservationOptions,
  ) {}

  /**
   * Runs `work` as the only check of these budgets: in this process, and across the hosts of a shared store.
   * Keys are taken in sorted order, so checks with overlapping keys cannot wait for each other in a circle.
   */
  async exclusively<T>(scopes: readonly ReservationScope[], work: () => Promise<T>): Promise<T> {
    const names = [...new Set(scopes.map((scope) => hash(scopeText(scope))))].sort();
    const step = (index: number): Promise<T> => {
      if (index === names.length) return work();
      const queue = this.options.queue ?? LOCAL_QUEUE;
      return queue.run(names[index], () => this.leased(names[index], () => step(index + 1)));
    };
    return step(0);
  }

  /**
   * What other documents hold on each budget, per budget key (zero where nothing is held), for a check that
   * asked the ERP at `askedAt`: a reservation released since still counts, as the ERP's answer may not hold
   * its document's write. Without `askedAt`, only reservations that hold now.
   */
  async reservedByOthers(
    scopes: readonly ReservationScope[],
    document: string,
    askedAt = Number.POSITIVE_INFINITY,
  ): Promise<Map<string, Money>> {
    const totals = new Map<string, Money>();
    for (const scope of scopes) {
      const text = scopeText(scope);
      let total = fromMinorUnits(0n, scope.currency);
      const counted = new Set<string>([document]);
      const count = (record: ReservationRecord) => {
        // The hash prefix could in theory be shared: the record names its budget, which must be this one.
        if (record.scope !== text || counted.has(record.document)) return;
        if (record.amount.currency !== scope.currency) return;
        counted.add(record.document);
        total = add(total, record.amount);
      };
      for await (const record of this.records(RESERVATIONS_NAMESPACE, `${hash(text)}/`)) count(record);
      if (Number.isFinite(askedAt)) {
        const since = `${hash(text)}/${timeKey(askedAt)}`;
        for await (const record of this.records(RELEASED_NAMESPACE, `${hash(text)}/`, since)) count(record);
      }
      totals.set(scope.key, total);
    }
    return totals;
  }

  /**
   * Records what `document` holds on each budget from now, for the hold time: in place of what it held before
   * (a revision asks again for its whole change, so its earlier reservation is replaced, never added to).
   */
  async reserve(document: string, scopes: readonly ReservationScope[], amounts: readonly Reservation[]): Promise<void> {
    const byKey = new Map(scopes.map((scope) => [scope.key, scope]));
    const { holdMs } = this.options;
    const keys: string[] = [];
    const writes: KvWrite[] = [];
    for (const { key, amount } of amounts) {
      const scope = byKey.get(key);
      if (scope === undefined || minorOf(amount) <= 0n) continue;
      const text = scopeText(scope);
      const kvKey = recordKey(text, document);
      const record: ReservationRecord = { scope: text, document, amount };
      writes.push({ namespace: RESERVATIONS_NAMESPACE, key: kvKey, value: record, ttlMs: holdMs });
      keys.push(kvKey);
    }
    for (const kvKey of await this.heldBy(document)) {
      if (!keys.includes(kvKey)) writes.push({ namespace: RESERVATIONS_NAMESPACE, key: kvKey, remove: true });
    }
    const index: DocumentReservations = { keys };
    writes.push(
      keys.length === 0
        ? { namespace: RESERVATIONS_BY_DOCUMENT, key: hash(document), remove: true }
        : { namespace: RESERVATIONS_BY_DOCUMENT, key: hash(document), value: index, ttlMs: holdMs },
    );
    // One transaction: a check of the same budget waits for this commit, so one commit instead of one per record.
    await this.store.kvWrite(writes);
  }

  /**
   * Ends every reservation of `document` (its ERP write counts it now, or it was refused): how many ended. A
   * released record moves to RELEASED_NAMESPACE for a while, for checks that asked the ERP before the release.
   */
  async release(document: string, now = Date.now()): Promise<number> {
    const keys = await this.heldBy(document);
    const writes: KvWrite[] = [];
    let released = 0;
    for (const kvKey of keys) {
      const record = (await this.store.kvGet(RESERVATIONS_NAMESPACE, kvKey)) as ReservationRecord | undefined;
      if (record === undefined) continue;
      const [scopeHash, documentHash] = kvKey.split('/');
      const releasedKey = `${scopeHash}/${timeKey(now)}/${documentHash}`;
      writes.push({ namespace: RELEASED_NAMESPACE, key: releasedKey, value: record, ttlMs: RELEASED_KEEP_MS });
      writes.push({ namespace: RESERVATIONS_NAMESPACE, key: kvKey, remove: true });
      released += 1;
    }
    writes.push({ namespace: RESERVATIONS_BY_DOCUMENT, key: hash(document), remove: true });
    await this.store.kvWrite(writes);
    return released;
  }

  private async heldBy(document: string): Promise<string[]> {
    const index = (await this.store.kvGet(RESERVATIONS_BY_DOCUMENT, hash(document))) as
      DocumentReservations | undefined;
    return Array.isArray(index?.keys) ? index.keys.filter((key): key is string => typeof key === 'string') : [];
  }

  /** The records of `namespace` under `prefix`, those after the key `from` when given. */
  private async *records(namespace: string, prefix: string, from?: string): AsyncGenerator<ReservationRecord> {
    let after = from;
    for (;;) {
      const page = await this.store.kvList(namespace, {
        prefix,
        limit: PAGE,
        ...(after === undefined ? {} : { after }),
      });
      for (const entry of page) yield entry.value as ReservationRecord;
      if (page.length < PAGE) return;
      after = page[page.length - 1].key;
    }
  }

  /** Runs `work` holding the budget's lease on a shared store (on a store of one host: at once). */
  private async leased<T>(name: string, work: () => Promise<T>): Promise<T> {
    if (this.store.sharedAcrossHosts !== true) return work();
    const lease = `${RESERVATION_LEASE_PREFIX}:${name}`;
    const ttlMs = this.options.lockTtlMs ?? DEFAULT_RESERVATION_LOCK_TTL_MS;
    await this.acquire(lease, ttlMs);
    const warn = this.options.warn ?? (() => undefined);
    return whileKeepingLease(
      {
        store: this.store,
        name: lease,
        holder: this.holder,
        ttlMs,
        onLost: () =>
          warn(
            `A budget check ran longer than its lease (${ttlMs} ms) and another host took it meanwhile; two checks ` +
              'of one budget may have overlapped. Check why the ERP or the store is so slow.',
          ),
        onRenewalFailed: (error: unknown) =>
          warn(`The lease of a running budget check could not be renewed: ${(error as Error).message}`),
      },
      work,
    );
  }

  private async acquire(lease: string, ttlMs: number): Promise<void> {
    const waitMs = this.options.lockWaitMs ?? DEFAULT_RESERVATION_LOCK_WAIT_MS;
    const deadline = Date.now() + waitMs;
    let pause = FIRST_PAUSE_MS;
    for (;;) {
      if (await this.store.claimLease(lease, this.holder, ttlMs)) return;
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new FinanceError(
          'STORE_UNAVAILABLE',
          `Another host sharing the store is checking a budget this document charges (or its lease is left by a ` +
            `host that stopped, and lapses shortly); this check waited ${waitMs} ms and asked the ERP nothing. It ` +
            'is retryable: it runs again against what the other check reserved.',
          { retryable: true, details: { lease, sent: false } },
        );
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(pause, left)));
      pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
    }
  }
}

/** msg.budget.erpMessages code: what the check reserved until the document's ERP write (or the hold time). */
export const FUNDS_RESERVED = 'FUNDS_RESERVED';

function reservedMessage(holdMs: number): ErpMessage {
  const minutes = Math.round(holdMs / 60_000);
  const hold = minutes % 60 === 0 ? `${minutes / 60} h` : `${minutes} min`;
  return {
    code: FUNDS_RESERVED,
    severity: 'info',
    text:
      'What this document asks of each budget is reserved until its ERP write counts it (finance-purchase-order ' +
      `or finance-post on the same store releases it), at most ${hold}; checks of other documents count it as used.`,
  };
}

/**
 * The budget check with reservations: the ERP is asked, then, with the document's budgets locked, what other
 * documents reserved on them is taken off what the ERP said is available, and a document that passes (within or
 * warning) reserves what it asks. An exceeded document reserves nothing and keeps what an earlier version of it
 * reserved (that version may still be written). An ERP that checks at the write (deferred) is asked nothing, so
 * nothing is reserved.
 *
 * The ERP is asked before the lock, not under it: a slow or failing ERP would otherwise hold every other check of
 * the budget behind it (with injected ERP faults the pipeline stalled). What the lock covers is store work only:
 * reading the reservations, judging the ERP's answers against them (checkDocumentBudget again, answered from the
 * first pass) and reserving. A reservation released after the ERP was asked still counts (reservedByOthers), so
 * a document written meanwhile is counted once, by the ERP or by its reservation, never by neither.
 */
export async function checkAndReserve(
  dialect: BudgetCheckDialect,
  document: MappedDocument,
  options: BudgetCheckOptions,
  reservations: BudgetReservations,
  holdMs: number,
): Promise<BudgetOutcome> {
  if (checkedAtCreation(dialect)) return checkDocumentBudget(dialect, document, options);
  const identity = reservationDocumentOf(document);
  if (identity === undefined) return checkDocumentBudget(dialect, document, options);
  // One clock reading for the keys locked and the check made: a requisition's period is the check date.
  const nowMs = (options.now ?? Date.now)();
  const fixed: BudgetCheckOptions = { ...options, now: () => nowMs };
  const currency = documentCurrency(document);
  const scopes = budgetRequestsOf(dialect, document, fixed).map((request: BudgetRequest): ReservationScope => ({
    company: document.company,
    currency,
    key: request.key,
  }));
  const askedAt = Date.now();
  const answering = rememberingAnswers(dialect);
  await checkDocumentBudget(answering, document, fixed);
  return reservations.exclusively(scopes, async () => {
    const reservedByOthers = await reservations.reservedByOthers(scopes, identity, askedAt);
    const outcome = await checkDocumentBudget(answering, document, { ...fixed, reservedByOthers });
    if (outcome.status !== 'within' && outcome.status !== 'warning') return outcome;
    const amounts = outcome.checks
      .filter((check) => check.noBudget !== true)
      .map((check) => ({ key: check.key, amount: check.requested }));
    await reservations.reserve(identity, scopes, amounts);
    outcome.erpMessages.push(reservedMessage(holdMs));
    return outcome;
  });
}

/**
 * The dialect with its funds check answers kept per request: the second pass of a check judges the same
 * requests (same document, options and clock) with the first pass's answers, without asking the ERP again.
 */
function rememberingAnswers(dialect: BudgetCheckDialect): BudgetCheckDialect {
  const answers = new Map<string, ReturnType<BudgetCheckDialect['checkBudget']>>();
  return Object.assign(Object.create(dialect) as BudgetCheckDialect, {
    checkBudget: (request: Parameters<BudgetCheckDialect['checkBudget']>[0], ctx: CallContext) => {
      const key = JSON.stringify(request);
      let answer = answers.get(key);
      if (answer === undefined) {
        answer = dialect.checkBudget(request, ctx);
        answers.set(key, answer);
      }
      return answer;
    },
  });
}

/**
 * The writing node's release after the ERP counts the document (or refused it for good). It never fails the
 * write's message: a store that cannot be reached is reported with `warn`, and the reservation ends at its
 * hold time instead.
 */
export async function releaseReservations(
  store: ReservationStore,
  payload: unknown,
  warn: (text: string) => void,
): Promise<void> {
  const identity = reservationDocumentOf(payload);
  if (identity === undefined) return;
  try {
    await new BudgetReservations(store, { holdMs: 1 }).release(identity);
  } catch (error) {
    warn(
      `The budget reserved for this document could not be released (${(error as Error).message}); it ends at ` +
        "the budget check's hold time instead, and until then other documents' checks count it as used.",
    );
  }
}
