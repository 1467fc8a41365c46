/**
 * What the PostgreSQL store adds to the contract: several hosts (here: several store handles with their own
 * connection pools) on one schema see the same inbox, ledger, kv and leases, and race each other safely.
 */
import { Client } from 'pg';
import { inboxKey, openStore, type FinanceStore } from '../../../lib/reliability/store';
import { TEST_PG, dropSchemas, manualClock, storeSandbox } from './store-fixture';

describe('PostgreSQL store shared by several hosts', () => {
  const sandbox = storeSandbox('pg-shared', 'postgres');
  afterAll(() => sandbox.cleanup());

  function hosts(count: number, now?: () => number): FinanceStore[] {
    const location = sandbox.newPath();
    return Array.from({ length: count }, () => sandbox.open({ path: location, maxInboxEntries: 100_000, now }));
  }

  it('de-duplicates one event delivered to three hosts at once: one accepts, the others see it', async () => {
    const [a, b, c] = hosts(3);
    const event = { key: inboxKey('ramp', 'e1'), envelope: { id: 'e1' }, payload: { amount: '1.00' } };
    const results = await Promise.all([a.accept(event), b.accept(event), c.accept(event)]);
    expect(results.map((result) => result.status).sort()).toEqual(['accepted', 'duplicate', 'duplicate']);
    expect(await b.countOpen()).toBe(1);
    await a.finish(event.key, { status: 'posted', detail: { documentId: 'JE-1' } });
    expect(await c.get(event.key)).toMatchObject({ state: 'final', outcome: { detail: { documentId: 'JE-1' } } });
    expect(await b.countOpen()).toBe(0);
  });

  it('hands an inbox entry to one host at a time; recovery elsewhere takes it once the lease expires', async () => {
    const clock = manualClock();
    const [a, b] = hosts(2, clock.now);
    const key = inboxKey('ramp', 'e2');
    await a.accept({ key, envelope: {}, payload: null, lease: { owner: 'host-a', ms: 200 } });
    expect(await b.lease(key, 'host-b', 60_000)).toMatchObject({ leased: false, reason: 'held' });
    expect(await b.expiredLeases(10, 0)).toEqual([]);
    clock.advance(200);
    expect((await b.expiredLeases(10, 0)).map((entry) => entry.key)).toEqual([key]);
    expect(await b.leaseIfExpired(key, 'host-b', 60_000)).toMatchObject({ leased: true });
    expect(await a.renewLease(key, 'host-a', 60_000)).toMatchObject({ leased: false, reason: 'held' });
  });

  it('lets exactly one of many hosts begin the same ERP write; a failed write can be begun again', async () => {
    const many = hosts(4);
    const key = 'ramp:expense:R1:1:post';
    const results = await Promise.all(many.map((store, i) => store.ledgerBegin(key, `host-${i}`)));
    const started = results.findIndex((result) => result.state === 'started');
    expect(results.filter((result) => result.state === 'started')).toHaveLength(1);
    expect(results.filter((result) => result.state === 'in-flight')).toHaveLength(3);
    // The ERP call failed without writing: the eager marker is removed and another host may try.
    expect(await many[(started + 1) % 4].ledgerAbort(key, `host-${started}`)).toBe(true);
    expect(await many[1].ledgerBegin(key, 'host-1')).toEqual({ state: 'started' });
    await many[1].ledgerDone(key, { documentId: 'JE-9' });
    expect(await many[3].ledgerBegin(key, 'host-3')).toEqual({ state: 'done', ref: { documentId: 'JE-9' } });
  });

  it('keeps the high-water mark across hosts accepting at once', async () => {
    const location = sandbox.newPath();
    const [a, b] = [0, 1].map(() => sandbox.open({ path: location, maxInboxEntries: 50 }));
    const results = await Promise.allSettled(
      Array.from({ length: 120 }, (_, i) => (i % 2 ? a : b).accept({ key: `k${i}`, envelope: {}, payload: i })),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(50);
    expect(await a.countOpen()).toBe(50);
  });

  it('keeps everything across a close and a reopen (a host restart)', async () => {
    const location = sandbox.newPath();
    const first = sandbox.open({ path: location });
    await first.accept({ key: inboxKey('brex', 'e1'), envelope: { id: 'e1' }, payload: { n: 1 } });
    await first.ledgerBegin('brex:expense:1:1:post', 'host-a');
    await first.kvPut('cursor', 'brex', 'page-7');
    await first.claimLease('poll', 'host-a', 60_000);
    await first.close();
    const second = sandbox.open({ path: location });
    expect(await second.countOpen()).toBe(1);
    expect(await second.ledgerGet('brex:expense:1:1:post')).toMatchObject({ state: 'in-flight', owner: 'host-a' });
    expect(await second.kvGet('cursor', 'brex')).toBe('page-7');
    expect(await second.claimLease('poll', 'host-b', 60_000)).toBe(false);
  });

  it('adds the held flag to an inbox created before it existed, marking the entries a hold extended', async () => {
    const clock = manualClock();
    const location = sandbox.newPath();
    const before = sandbox.open({ path: location, now: clock.now });
    for (const id of ['parked', 'plain']) {
      await before.accept({ key: id, envelope: { id }, payload: null, lease: { owner: 'in@host/old', ms: 60_000 } });
    }
    await before.holdLease('parked', 600_000);
    await before.close();
    // What the previous version of the store created: the same inbox without the column.
    const schema = sandbox.optionsFor({ path: location }).postgres?.schema as string;
    const client = new Client(TEST_PG);
    await client.connect();
    try {
      await client.query(`ALTER TABLE "${schema}".inbox DROP COLUMN held`);
      const after = sandbox.open({ path: location, now: clock.now });
      expect(await after.expireLease('parked', 'in@host/old')).toBe(false);
      expect(await after.expireLease('plain', 'in@host/old')).toBe(true);
      expect((await after.expiredLeases(10, 0)).map((entry) => entry.key)).toEqual(['plain']);
      const held = await client.query(
        `SELECT convert_from(key, 'UTF8') AS key, held FROM "${schema}".inbox ORDER BY 1`,
      );
      expect(held.rows).toEqual([
        { key: 'parked', held: true },
        { key: 'plain', held: false },
      ]);
    } finally {
      await client.end();
    }
  });

  it('tells the watchers of every handle on the same tables in this process, and only those', async () => {
    const schema = `wat_${process.pid}_${Date.now().toString(36)}`;
    const open = (tablePrefix: string) =>
      openStore({ backend: 'postgres', postgres: { ...TEST_PG, schema, tablePrefix } });
    const [hostA, hostB, otherStore] = [open('a_'), open('a_'), open('b_')];
    try {
      const seen: string[] = [];
      hostA.watchInbox((key) => seen.push(`a_ ${key}`));
      otherStore.watchInbox((key) => seen.push(`b_ ${key}`));
      await hostB.accept({ key: 'e1', envelope: {}, payload: null, lease: { owner: 'in', ms: 60_000 } });
      await otherStore.accept({ key: 'e1', envelope: {}, payload: null, lease: { owner: 'in', ms: 60_000 } });
      await hostB.finish('e1', { status: 'posted' });
      // Finishing it again (another host got there first) still tells: it may count as in flight here.
      await hostB.finish('e1', { status: 'posted' });
      await hostB.finish('unknown', { status: 'posted' });
      expect(seen).toEqual(['a_ e1', 'a_ e1']);
      await hostA.close();
      await hostB.close();
      // The last handle on a_ closed: a new one starts with no watchers of the closed ones.
      const reopened = open('a_');
      try {
        await reopened.accept({ key: 'e2', envelope: {}, payload: null });
        await reopened.finish('e2', { status: 'posted' });
        expect(seen).toHaveLength(2);
      } finally {
        await reopened.close();
      }
      await otherStore.finish('e1', { status: 'posted' });
      expect(seen).toEqual(['a_ e1', 'a_ e1', 'b_ e1']);
    } finally {
      await Promise.all([hostA.close(), hostB.close(), otherStore.close()]);
      await dropSchemas([schema]);
    }
  });

  it('creates its tables under a table prefix, so two stores can share one schema', async () => {
    const schema = `pfx_${process.pid}_${Date.now().toString(36)}`;
    const options = (tablePrefix: string) =>
      ({ backend: 'postgres', postgres: { ...TEST_PG, schema, tablePrefix } }) as const;
    const one = openStore(options('one_'));
    const two = openStore(options('two_'));
    try {
      await one.kvPut('ns', 'k', 1);
      expect(await two.kvGet('ns', 'k')).toBeUndefined();
      const client = new Client(TEST_PG);
      await client.connect();
      const tables = await client.query('SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1', [schema]);
      await client.end();
      expect(tables.rows.map((row) => row.tablename)).toEqual(
        expect.arrayContaining(['one_inbox', 'one_ledger', 'one_kv', 'one_leases', 'two_inbox']),
      );
    } finally {
      await Promise.all([one.close(), two.close()]);
      await dropSchemas([schema]);
    }
  });

  it('answers STORE_UNAVAILABLE, retryable, with where and what to check, when PostgreSQL is unreachable', async () => {
    const store = openStore({
      backend: 'postgres',
      postgres: { host: '127.0.0.1', port: 1, user: 'postgres', database: 'test', password: 's3cret-pw' },
    });
    try {
      const failure = store.accept({ key: 'k', envelope: {}, payload: 1 });
      await expect(failure).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE', retryable: true });
      const message = await failure.catch((err: Error) => err.message);
      expect(message).toContain('127.0.0.1:1');
      expect(message).toContain('Check that PostgreSQL is running');
      expect(message).not.toContain('s3cret-pw');
    } finally {
      await store.close();
    }
  });

  it('refuses a schema or table prefix that is not a plain identifier', () => {
    expect(() => openStore({ backend: 'postgres', postgres: { schema: 'x; drop table y' } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(() => openStore({ backend: 'postgres', postgres: { schema: 'ok', tablePrefix: 'A-' } })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
  });
});
