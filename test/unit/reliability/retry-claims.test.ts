/**
 * The retry scheduler's markers in the store's ledger (claims and park markers) have a bounded life, on both
 * backends, while a done claim still keeps a retry from running twice: a second scheduler that listed the
 * record before its deletion, and a record whose deletion was cut short.
 */
import type { Database } from 'lmdb';
import { Client } from 'pg';
import { FinanceError } from '../../../lib/errors';
import { DONE_CLAIM_RETENTION_MS, RetryScheduler, type ScheduledRetry } from '../../../lib/reliability/retry-scheduler';
import { ledgerKey, type FinanceStore } from '../../../lib/reliability/store';
import { StoreHousekeeping } from '../../../lib/reliability/store-housekeeping';
import { BACKENDS, manualClock, storeSandbox, TEST_PG, type Backend, type Clock } from '../store/store-fixture';

const HOUR = 60 * 60_000;
const DAY = 24 * HOUR;
const LEASE_MS = 60_000;
const NAMESPACE = 'retry:node-1';
/** Ledger keys of the scheduler's markers start with its source, `urn:finance-sync:retry-scheduler` encoded. */
const MARKER_PREFIX = 'urn%3Afinance-sync%3Aretry-scheduler:';

interface LedgerRow {
  key: string;
  state: string;
}

function retry(id: string, dueAt: number, attempt = 2): ScheduledRetry {
  return { id, dueAt, attempt, msg: { _msgid: id, payload: { id } } };
}

/** The store with one kind of write failing once, as a crash or a lost connection between two writes would. */
function failingOnce(store: FinanceStore, method: 'kvDelete' | 'ledgerAbort'): FinanceStore {
  let failed = false;
  const fail = (...args: unknown[]): Promise<unknown> => {
    if (failed) return (store[method] as (...a: unknown[]) => Promise<unknown>)(...args);
    failed = true;
    return Promise.reject(new FinanceError('STORE_UNAVAILABLE', 'the process died here', { retryable: true }));
  };
  return Object.create(store, { [method]: { value: fail } }) as FinanceStore;
}

describe.each(BACKENDS)('retry claims and park markers in the ledger (%s)', (backend: Backend) => {
  const sandbox = storeSandbox('fixclaims', backend);
  let clock: Clock;
  let location: string;
  let store: FinanceStore;

  beforeEach(() => {
    clock = manualClock();
    location = sandbox.newPath();
    store = open();
  });
  afterAll(() => sandbox.cleanup());

  /** Another handle on the same store: another deploy in this process (LMDB), another host (PostgreSQL). */
  function open(): FinanceStore {
    return sandbox.open({ path: location, now: clock.now });
  }

  const scheduler = (on: FinanceStore = store) => new RetryScheduler(on, { namespace: NAMESPACE, leaseMs: LEASE_MS });

  /** Every ledger record of the store, read beneath the FinanceStore contract (which cannot list the ledger). */
  async function ledgerRows(): Promise<LedgerRow[]> {
    if (backend === 'lmdb') {
      // The store's own environment: a second lmdb-js environment on the same file would break LMDB's locking.
      const ledger = (store as unknown as { environment: { dbs: { ledger: Database<{ state: string }, string> } } })
        .environment.dbs.ledger;
      return [...ledger.getRange()].map(({ key, value }) => ({ key, state: value.state }));
    }
    const schema = sandbox.optionsFor({ path: location }).postgres?.schema as string;
    const client = new Client(TEST_PG);
    await client.connect();
    try {
      const result = await client.query<LedgerRow>(
        `SELECT convert_from(key, 'UTF8') AS key, state FROM "${schema}"."ledger" ORDER BY key`,
      );
      return result.rows;
    } finally {
      await client.end();
    }
  }

  async function markers(): Promise<{ claims: number; doneClaims: number; parks: number }> {
    const rows = (await ledgerRows()).filter((row) => row.key.startsWith(MARKER_PREFIX));
    const claims = rows.filter((row) => row.key.endsWith(':run'));
    return {
      claims: claims.length,
      doneClaims: claims.filter((row) => row.state === 'done').length,
      parks: rows.filter((row) => row.key.endsWith(':park')).length,
    };
  }

  const housekeeping = () => new StoreHousekeeping({ store, holder: 'host-a/1' });

  it('keeps the markers of many completed retries bounded by a week of runs, and the ERP writes for ever', async () => {
    const erpWrite = ledgerKey({ source: 'coupa', docType: 'invoice', docId: 'I-1', version: 1, operation: 'post' });
    await store.ledgerBegin(erpWrite, 'host-a');
    await store.ledgerDone(erpWrite, { documentId: 'JE-1' });

    // A long ERP outage: every day 10 messages fail, each parked and run three times (two reschedules).
    const perDay = 10;
    const runsPerRetry = 3;
    const days = 12;
    const retries = scheduler();
    const purge = housekeeping();
    let highest = 0;
    for (let day = 0; day < days; day += 1) {
      for (let i = 0; i < perDay; i += 1) await retries.schedule(retry(`d${day}-m${i}`, clock.now()));
      for (let run = 1; run <= runsPerRetry; run += 1) {
        const due = await retries.due(clock.now(), 100);
        expect(due).toHaveLength(perDay);
        for (const each of due) {
          if (run < runsPerRetry) await retries.reschedule(retry(each.id, clock.now(), each.attempt + 1));
          else await retries.complete(each.id);
        }
      }
      expect(await retries.count()).toBe(0);
      clock.advance(DAY);
      await purge.purgeNow();
      const now = await markers();
      expect(now.parks).toBe(0);
      highest = Math.max(highest, now.claims);
    }
    // 360 runs over 12 days; a claim lives a week, so the ledger never held more than a week of them. The purge
    // at the end of the last day has just removed those of a week before: six days of runs are left.
    const perDayClaims = perDay * runsPerRetry;
    expect(highest).toBeLessThanOrEqual((DONE_CLAIM_RETENTION_MS / DAY) * perDayClaims);
    expect(await markers()).toEqual({ claims: 6 * perDayClaims, doneClaims: 6 * perDayClaims, parks: 0 });

    clock.advance(DONE_CLAIM_RETENTION_MS);
    await purge.purgeNow();
    expect(await markers()).toEqual({ claims: 0, doneClaims: 0, parks: 0 });
    // The ERP write's record keeps the store's retention (for ever by default).
    expect(await store.ledgerBegin(erpWrite, 'host-b')).toEqual({ state: 'done', ref: { documentId: 'JE-1' } });
  });

  it('does not run a retry twice when a second scheduler listed it just before the first completed it', async () => {
    const other = open();
    let listed!: () => void;
    let resume!: () => void;
    const hasListed = new Promise<void>((resolve) => (listed = resolve));
    const mayGoOn = new Promise<void>((resolve) => (resume = resolve));
    // The second scheduler reads the record, then stalls (a slow host, a long pause) before it claims.
    const stalling: FinanceStore = Object.create(other, {
      kvList: {
        value: async (...args: Parameters<FinanceStore['kvList']>) => {
          const entries = await other.kvList(...args);
          listed();
          await mayGoOn;
          return entries;
        },
      },
    });
    const first = scheduler();
    const second = scheduler(stalling);
    await first.schedule(retry('once', clock.now()));
    const secondDue = second.due(clock.now(), 10);
    await hasListed;

    expect((await first.due(clock.now(), 10)).map((each) => each.id)).toEqual(['once']);
    await first.complete('once');
    // Well past the claim's lease, and a purge runs meanwhile: the done claim stays.
    clock.advance(2 * HOUR);
    await housekeeping().purgeNow();
    resume();
    expect(await secondDue).toEqual([]);
    expect(await markers()).toEqual({ claims: 1, doneClaims: 1, parks: 0 });
    expect(await second.count()).toBe(0);
  });

  it('drops a retry whose deletion was cut short, when the node runs again days later, and then its claim', async () => {
    const crashing = scheduler(failingOnce(store, 'kvDelete'));
    await crashing.schedule(retry('ran', clock.now()));
    await crashing.due(clock.now(), 10);
    await expect(crashing.complete('ran')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(await markers()).toEqual({ claims: 1, doneClaims: 1, parks: 0 });

    // The host stays down for six days; the purges of a shared store's other host go on meanwhile.
    clock.advance(6 * DAY);
    await housekeeping().purgeNow();
    const restarted = scheduler(open());
    expect(await restarted.due(clock.now(), 10)).toEqual([]);
    expect(await restarted.count()).toBe(0);
    expect(await markers()).toEqual({ claims: 1, doneClaims: 1, parks: 0 });

    clock.advance(DAY);
    await housekeeping().purgeNow();
    expect(await markers()).toEqual({ claims: 0, doneClaims: 0, parks: 0 });
  });

  it('leaves no park marker behind when a completion is cut short before the marker was removed', async () => {
    const crashing = scheduler(failingOnce(store, 'ledgerAbort'));
    await crashing.schedule(retry('ran', clock.now()));
    await crashing.due(clock.now(), 10);
    await expect(crashing.complete('ran')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(await markers()).toEqual({ claims: 1, doneClaims: 1, parks: 1 });

    const restarted = scheduler(open());
    expect(await restarted.due(clock.now(), 10)).toEqual([]);
    expect(await restarted.count()).toBe(0);
    expect(await markers()).toEqual({ claims: 1, doneClaims: 1, parks: 0 });
    // The id parks and runs again like any other.
    expect(await restarted.schedule(retry('ran', clock.now(), 3))).toBe(true);
    expect(await restarted.due(clock.now(), 10)).toEqual([expect.objectContaining({ id: 'ran', attempt: 3 })]);
  });
});
