/**
 * The PostgreSQL store while the server is unreachable or silent: every call settles with a retryable
 * STORE_UNAVAILABLE, and the store works again as soon as the server answers again.
 */
import { FinanceError } from '../../../lib/errors';
import { PostgresStore, type PostgresConnection } from '../../../lib/reliability/store';
import { pgProxy, type PgProxy } from './pg-proxy';
import { TEST_PG, dropSchemas, manualClock } from './store-fixture';

const run = `t${process.pid}_${Date.now().toString(36)}_pgout`;
const schemas: string[] = [];
const stores: PostgresStore[] = [];

/** A store on a schema of its own, reached with `connection`. */
function openStore(connection: PostgresConnection, queryTimeoutMs?: number): PostgresStore {
  const schema = `${run}_${schemas.length + 1}`;
  schemas.push(schema);
  const store = PostgresStore.open({
    connection,
    schema,
    tablePrefix: '',
    maxInboxEntries: 1000,
    dedupRetentionMs: 60_000,
    ledgerRetentionMs: 60_000,
    now: manualClock().now,
    queryTimeoutMs,
  });
  stores.push(store);
  return store;
}

/** A store that reaches PostgreSQL through `proxy`. */
function storeBehind(proxy: PgProxy, queryTimeoutMs?: number, poolSize = 2): PostgresStore {
  return openStore({ ...TEST_PG, port: proxy.port, poolSize }, queryTimeoutMs);
}

async function failure(call: Promise<unknown>): Promise<FinanceError> {
  const err = await call.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(err).toBeInstanceOf(FinanceError);
  return err as FinanceError;
}

describe('PostgreSQL store when the server is unreachable', () => {
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close().catch(() => undefined)));
    await dropSchemas(schemas);
  });

  it('works on the first call after the server comes back, not failing with the old error', async () => {
    const proxy = pgProxy(43601);
    const store = storeBehind(proxy);
    try {
      expect(await failure(store.accept({ key: 'k1', envelope: {}, payload: 1 }))).toMatchObject({
        code: 'STORE_UNAVAILABLE',
        retryable: true,
      });
      await proxy.up();
      expect(await store.accept({ key: 'k1', envelope: {}, payload: 1 })).toMatchObject({ status: 'accepted' });
    } finally {
      await proxy.down();
    }
  });

  it('reports a failed count of open events as STORE_UNAVAILABLE like every other call', async () => {
    const proxy = pgProxy(43602);
    const store = storeBehind(proxy);
    await proxy.up();
    expect(await store.countOpen()).toBe(0);
    await proxy.down();
    expect(await failure(store.countOpen())).toMatchObject({
      code: 'STORE_UNAVAILABLE',
      retryable: true,
      message: expect.stringContaining('could not count open events'),
    });
  });

  it('gives up on a server that stops answering, in a transaction and in a plain call', async () => {
    const proxy = pgProxy(43603);
    // One connection, open and idle when the network goes silent: a new one would wait for the connect timeout.
    const store = storeBehind(proxy, 300, 1);
    await proxy.up();
    try {
      await store.accept({ key: 'k1', envelope: {}, payload: 1 });
      proxy.silence();
      expect(await failure(store.finish('k1', { status: 'posted' }))).toMatchObject({
        code: 'STORE_UNAVAILABLE',
        retryable: true,
      });
      proxy.speak();
      expect(await store.get('k1')).toMatchObject({ state: 'open' });
      proxy.silence();
      expect(await failure(store.get('k1'))).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true });
    } finally {
      await proxy.down();
    }
  });

  it('gives up on a new connection that gets no answer after the statement timeout', async () => {
    const proxy = pgProxy(43604);
    await proxy.up();
    // Connections are accepted and then hear nothing: a server behind a network that went silent.
    proxy.silence();
    const store = storeBehind(proxy, 300, 1);
    try {
      const started = Date.now();
      expect(await failure(store.countOpen())).toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true });
      // The first call also waits for the table set-up's own failed connect: twice the timeout, and some slack.
      expect(Date.now() - started).toBeLessThan(5000);
    } finally {
      await proxy.down();
    }
  }, 15_000);

  it('has the server end a transaction its host abandoned, and keeps idle connections alive', async () => {
    const store = openStore({ ...TEST_PG, poolSize: 1 });
    await store.countOpen();
    const pool = (store as any).pool;
    expect(pool.options).toMatchObject({ keepAlive: true, query_timeout: 30_000, connectionTimeoutMillis: 30_000 });
    const own = await pool.query('SHOW idle_in_transaction_session_timeout');
    expect(own.rows[0].idle_in_transaction_session_timeout).toBe('1min');
  });
});
