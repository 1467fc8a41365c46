/**
 * Races between hosts sharing one PostgreSQL store, each forced into the one interleaving that used to go
 * wrong: a row lock held by a second connection (see pg-interleaving.ts), or a seam on a store's own pool that
 * runs another host's call between two statements of one call.
 */
import type { FinanceStore } from '../../../lib/reliability/store';
import { rowLocker } from './pg-interleaving';
import { manualClock, storeSandbox, type Clock } from './store-fixture';

describe('PostgreSQL store: races between hosts', () => {
  const sandbox = storeSandbox('pg-races', 'postgres');
  afterAll(() => sandbox.cleanup());

  /** Two hosts on one new schema, and the schema-qualified name of one of its tables. */
  function twoHosts(clock: Clock, retention: { dedupRetentionMs?: number; ledgerRetentionMs?: number } = {}) {
    const location = sandbox.newPath();
    const [a, b] = [0, 1].map(() => sandbox.open({ path: location, now: clock.now, ...retention }));
    const schema = sandbox.optionsFor({ path: location }).postgres?.schema as string;
    return { a, b, schema: `"${schema}"`, table: (name: string) => `"${schema}"."${name}"` };
  }

  /**
   * Runs `between` once, right after the first statement on `store`'s pool whose text contains `marker` came
   * back without rows (the statement a call follows with a read of the same key).
   */
  function runBetweenStatements(store: FinanceStore, marker: string, between: () => Promise<unknown>): void {
    const pool = (store as any).pool;
    let pending = true;
    const after = async (text: unknown, result: { rows: unknown[] }) => {
      if (pending && typeof text === 'string' && text.includes(marker) && result.rows.length === 0) {
        pending = false;
        await between();
      }
      return result;
    };
    const query = pool.query.bind(pool);
    pool.query = async (text: unknown, values: unknown[]) => after(text, await query(text, values));
    const connect = pool.connect.bind(pool);
    // pool.query() itself connects with a callback: that one is left alone (its query is wrapped above).
    pool.connect = (callback?: unknown) => (callback ? connect(callback) : wrapClient());
    const wrapClient = async () => {
      const client = await connect();
      const clientQuery = client.query.bind(client);
      client.query = async (text: unknown, values?: unknown[]) => after(text, await clientQuery(text, values));
      const release = client.release.bind(client);
      client.release = (err?: Error) => {
        client.query = clientQuery;
        client.release = release;
        return release(err);
      };
      return client;
    };
  }

  it('answers a take-over "started" only with its own marker when the old one is aborted in between', async () => {
    const clock = manualClock();
    const { a, b, schema, table } = twoHosts(clock);
    const key = 'coupa:purchase-order:PO-1:1:create';
    expect(await a.ledgerBegin(key, 'host-a')).toEqual({ state: 'started' });
    clock.advance(10 * 60_000);
    // Host A is about to abort its stale marker: it holds the row while B's take-over finds the key taken.
    const hostA = await rowLocker();
    await hostA.lock(`SELECT 1 FROM ${table('ledger')} WHERE key = $1 FOR UPDATE`, [Buffer.from(key)]);
    const takeOver = b.ledgerTakeOver(key, 'host-b', 60_000);
    await hostA.waitForWaiters(schema, 1);
    await hostA.query(`DELETE FROM ${table('ledger')} WHERE key = $1 AND owner = 'host-a'`, [Buffer.from(key)]);
    await hostA.commit();
    expect(await takeOver).toEqual({ state: 'started' });
    // B writes to the ERP now; A's retry must see B's marker, not start a second write.
    expect(await a.ledgerGet(key)).toEqual({ state: 'in-flight', owner: 'host-b', since: clock.now() });
    expect(await a.ledgerBegin(key, 'host-a')).toEqual({ state: 'in-flight', owner: 'host-b', since: clock.now() });
  });

  it('keeps a kv value another host rewrote while a purge waited for its row', async () => {
    const clock = manualClock();
    const { a, b, schema, table } = twoHosts(clock);
    await a.kvPut('timers', 'due/1', { v: 'old' }, 1000);
    clock.advance(5000);
    const other = await rowLocker();
    await other.lock(`SELECT 1 FROM ${table('kv')} FOR UPDATE`, []);
    // Queued behind the lock in this order: host A rewrites the expired value (no expiry), host B purges it.
    const put = a.kvPut('timers', 'due/1', { v: 'new' });
    await other.waitForWaiters(schema, 1);
    const purge = b.purgeExpired();
    await other.waitForWaiters(schema, 2);
    await other.commit();
    await put;
    expect(await purge).toEqual({ inbox: 0, ledger: 0, kv: 0, leases: 0 });
    expect(await b.kvGet('timers', 'due/1')).toEqual({ v: 'new' });
  });

  it('accepts a re-sent event whose old final entry is purged between its insert and its read', async () => {
    const clock = manualClock();
    const { a, b } = twoHosts(clock, { dedupRetentionMs: 1000 });
    await a.accept({ key: 'ev', envelope: {}, payload: 1 });
    await a.finish('ev', { status: 'posted' });
    clock.advance(5000);
    // Host B's first call creates or checks its tables (DDL), which would wait for A's open transaction.
    await b.countOpen();
    runBetweenStatements(a, 'ON CONFLICT (key) DO NOTHING RETURNING *', () => b.purgeExpired());
    expect(await a.accept({ key: 'ev', envelope: {}, payload: 2 })).toMatchObject({
      status: 'accepted',
      entry: { state: 'open', payload: 2 },
    });
    expect(await b.countOpen()).toBe(1);
  });

  it('records a finished ERP write whose expired record is purged between its write and its read', async () => {
    const clock = manualClock();
    const { a, b } = twoHosts(clock, { ledgerRetentionMs: 1000 });
    const key = 'coupa:expense-report:ER-1:1:post';
    await a.ledgerBegin(key, 'host-a');
    await a.ledgerDone(key, { documentId: 'JE-1' });
    clock.advance(5000);
    await b.countOpen(); // B's tables ready first, as above
    runBetweenStatements(a, `VALUES ($1, 'done'`, () => b.purgeExpired());
    expect(await a.ledgerDone(key, { documentId: 'JE-2' })).toEqual({
      state: 'done',
      ref: { documentId: 'JE-2' },
      at: clock.now(),
    });
  });
});
