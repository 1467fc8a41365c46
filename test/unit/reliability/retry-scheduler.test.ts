import { FinanceError } from '../../../lib/errors';
import {
  parkableMessage,
  parkedRetries,
  RetryLoop,
  RetryScheduler,
  type ScheduledRetry,
} from '../../../lib/reliability/retry-scheduler';
import type { FinanceStore } from '../../../lib/reliability/store';
import { until } from '../erp/helpers';
import { manualClock, storeSandbox } from '../store/store-fixture';

const sandbox = storeSandbox('retry-scheduler');
afterAll(() => sandbox.cleanup());

const T0 = 1_700_000_000_000;
const LEASE_MS = 60_000;

function retry(id: string, dueAt: number, attempt = 2): ScheduledRetry {
  return { id, dueAt, attempt, msg: { _msgid: id, payload: { id } } };
}

function setUp() {
  const clock = manualClock(T0);
  const path = sandbox.newPath();
  const store = sandbox.open({ path, now: clock.now });
  const scheduler = (onStore: FinanceStore = store) =>
    new RetryScheduler(onStore, { namespace: 'retry:node-1', leaseMs: LEASE_MS });
  return { clock, path, store, scheduler };
}

describe('RetryScheduler', () => {
  it('hands out only what is due, earliest first, with the message as parked', async () => {
    const { store, scheduler } = setUp();
    const retries = scheduler();
    await retries.schedule(retry('late', T0 + 5000));
    await retries.schedule(retry('early', T0 + 1000, 3));
    await retries.schedule(retry('middle', T0 + 2000));
    expect(await retries.due(T0 + 999, 10)).toEqual([]);
    const due = await retries.due(T0 + 2000, 10);
    expect(due.map((each) => each.id)).toEqual(['early', 'middle']);
    expect(due[0]).toEqual({
      id: 'early',
      dueAt: T0 + 1000,
      attempt: 3,
      msg: { _msgid: 'early', payload: { id: 'early' } },
    });
    expect(await retries.count()).toBe(3);
    expect(await store.kvList('retry:node-2')).toEqual([]);
  });

  it('respects the limit and hands out the rest on the next call', async () => {
    const { scheduler } = setUp();
    const retries = scheduler();
    for (const [offset, id] of ['a', 'b', 'c'].entries()) await retries.schedule(retry(id, T0 + offset));
    expect((await retries.due(T0 + 2, 2)).map((each) => each.id)).toEqual(['a', 'b']);
    expect((await retries.due(T0 + 2, 2)).map((each) => each.id)).toEqual(['c']);
    expect(await retries.due(T0 + 2, 2)).toEqual([]);
  });

  it('lets two schedulers on one store claim each retry once, even when they ask at the same moment', async () => {
    const { scheduler } = setUp();
    const first = scheduler();
    const second = scheduler();
    const ids = ['r1', 'r2', 'r3', 'r4', 'r5', 'r6'];
    for (const id of ids) await first.schedule(retry(id, T0));
    const [a, b] = await Promise.all([first.due(T0, 10), second.due(T0, 10)]);
    const claimed = [...a, ...b].map((each) => each.id).sort();
    expect(claimed).toEqual(ids);
    expect(await first.due(T0, 10)).toEqual([]);
    expect(await second.due(T0, 10)).toEqual([]);
  });

  it('does not run a completed retry again, not even from a new scheduler on a reopened store', async () => {
    const { clock, path, store, scheduler } = setUp();
    const old = scheduler();
    await old.schedule(retry('once', T0));
    const [claimed] = await old.due(T0, 10);
    expect(await old.complete(claimed.id)).toBe(true);
    expect(await old.complete(claimed.id)).toBe(false);
    await store.close();

    const reopened = sandbox.open({ path, now: clock.now });
    clock.advance(10 * LEASE_MS);
    const redeployed = scheduler(reopened);
    expect(await redeployed.due(T0 + 10 * LEASE_MS, 10)).toEqual([]);
    expect(await redeployed.count()).toBe(0);
  });

  it('keeps a parked retry across close and reopen, and hands it out once', async () => {
    const { clock, path, store, scheduler } = setUp();
    await scheduler().schedule(retry('parked', T0 + 1000));
    await store.close();

    const reopened = sandbox.open({ path, now: clock.now });
    const afterRestart = scheduler(reopened);
    const due = await afterRestart.due(T0 + 1000, 10);
    expect(due.map((each) => each.id)).toEqual(['parked']);
    expect(await scheduler(reopened).due(T0 + 1000, 10)).toEqual([]);
  });

  it('lets another scheduler take over a claim only after its lease expired (the run was cut short)', async () => {
    const { clock, path, store, scheduler } = setUp();
    const old = scheduler();
    await old.schedule(retry('cut-short', T0));
    expect(await old.due(T0, 10)).toHaveLength(1);
    await store.close();

    const reopened = sandbox.open({ path, now: clock.now });
    const redeployed = scheduler(reopened);
    clock.advance(LEASE_MS - 1);
    expect(await redeployed.due(clock.now(), 10)).toEqual([]);
    clock.advance(1);
    expect((await redeployed.due(clock.now(), 10)).map((each) => each.id)).toEqual(['cut-short']);
    expect(await scheduler(reopened).due(clock.now(), 10)).toEqual([]);
  });

  it('drops a retry whose run completed but whose record could not be deleted, without running it', async () => {
    const { clock, store } = setUp();
    let failDelete = true;
    const flaky: FinanceStore = Object.create(store, {
      kvDelete: {
        value: async (namespace: string, key: string) => {
          if (failDelete) throw new FinanceError('STORE_UNAVAILABLE', 'disk went away', { retryable: true });
          return store.kvDelete(namespace, key);
        },
      },
    });
    const crashing = new RetryScheduler(flaky, { namespace: 'retry:node-1', leaseMs: LEASE_MS });
    await crashing.schedule(retry('ran', T0));
    await crashing.due(T0, 10);
    await expect(crashing.complete('ran')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    failDelete = false;

    clock.advance(2 * LEASE_MS);
    const next = new RetryScheduler(store, { namespace: 'retry:node-1', leaseMs: LEASE_MS });
    expect(await next.due(clock.now(), 10)).toEqual([]);
    expect(await next.count()).toBe(0);
  });

  it('reschedules a claimed retry: the next attempt waits for its time, the claimed one is gone', async () => {
    const { scheduler } = setUp();
    const retries = scheduler();
    await retries.schedule(retry('again', T0));
    await retries.due(T0, 10);
    await retries.reschedule(retry('again', T0 + 4000, 3));
    expect(retries.claimed).toBe(0);
    expect(await retries.count()).toBe(1);
    expect(await retries.due(T0 + 3999, 10)).toEqual([]);
    expect(await retries.due(T0 + 4000, 10)).toEqual([expect.objectContaining({ id: 'again', attempt: 3 })]);
  });

  it('holds back a second retry under an id that is still running here', async () => {
    const { scheduler } = setUp();
    const retries = scheduler();
    await retries.schedule(retry('twin', T0));
    expect(await retries.due(T0, 10)).toHaveLength(1);
    await retries.schedule(retry('twin', T0 + 10));
    expect(await retries.due(T0 + 10, 10)).toEqual([]);
    await retries.complete('twin');
    expect(await retries.due(T0 + 10, 10)).toEqual([expect.objectContaining({ id: 'twin', dueAt: T0 + 10 })]);
  });
});

describe('RetryScheduler: one waiting retry per id', () => {
  it('refuses a second park under an id whose retry still waits, and parks it again once that one ran', async () => {
    const { scheduler } = setUp();
    const retries = scheduler();
    expect(await retries.schedule(retry('twice', T0 + 1000))).toBe(true);
    expect(await retries.schedule(retry('twice', T0 + 1000))).toBe(false);
    expect(await retries.count()).toBe(1);
    const [due] = await retries.due(T0 + 1000, 10);
    expect(due).toMatchObject({ id: 'twice' });
    await retries.complete('twice');
    expect(await retries.count()).toBe(0);
    // Its run failed: the next attempt is parked.
    expect(await retries.schedule(retry('twice', T0 + 2000, 3))).toBe(true);
    expect(await retries.due(T0 + 2000, 10)).toEqual([expect.objectContaining({ id: 'twice', attempt: 3 })]);
  });

  it('refuses it from a second scheduler on the same store too (an old and a new deploy)', async () => {
    const { scheduler } = setUp();
    const [first, second] = [scheduler(), scheduler()];
    const answers = await Promise.all([
      first.schedule(retry('both', T0 + 1000)),
      second.schedule(retry('both', T0 + 1000)),
    ]);
    expect(answers.sort()).toEqual([false, true]);
    expect(await first.count()).toBe(1);
  });

  it('parks again under the id of a retry whose record was lost (a crash after it ran)', async () => {
    const { store, scheduler } = setUp();
    const retries = scheduler();
    await retries.schedule(retry('lost', T0 + 1000));
    const [record] = await store.kvList('retry:node-1');
    await store.kvDelete('retry:node-1', record.key);
    expect(await retries.schedule(retry('lost', T0 + 2000))).toBe(true);
    expect(await retries.count()).toBe(1);
  });

  it('notes its namespace, so parked retries of a node that is gone can be found', async () => {
    const { store, scheduler } = setUp();
    await scheduler().schedule(retry('a', T0 + 1000));
    await scheduler().schedule(retry('b', T0 + 1000));
    await new RetryScheduler(store, { namespace: 'retry:node-2' }).due(T0, 10);
    expect(await parkedRetries(store)).toEqual([{ namespace: 'retry:node-1', count: 2 }]);
  });
});

describe('RetryScheduler on a PostgreSQL store several hosts share', () => {
  const pg = storeSandbox('fd-retry-pg', 'postgres');
  afterAll(() => pg.cleanup());

  it('parks one retry when four hosts park the same id at once', async () => {
    const location = pg.newPath();
    const hosts = Array.from({ length: 4 }, () => pg.open({ path: location }));
    const schedulers = hosts.map((store) => new RetryScheduler(store, { namespace: 'retry:node-1' }));
    const answers = await Promise.all(schedulers.map((each) => each.schedule(retry('shared', Date.now() + 60_000))));
    expect(answers.filter(Boolean)).toHaveLength(1);
    expect(await schedulers[0].count()).toBe(1);
  });
});

describe('parkableMessage', () => {
  it('leaves out the live HTTP request and response and keeps the rest', () => {
    const msg = { _msgid: 'm1', payload: { a: 1 }, req: { socket: {} }, res: { end: () => undefined }, topic: 't' };
    expect(parkableMessage(msg)).toEqual({ _msgid: 'm1', payload: { a: 1 }, topic: 't' });
    expect(msg.req).toBeDefined();
  });
});

describe('RetryLoop', () => {
  it('runs due retries, at most maxInFlight at once, and stop() waits for the runs in progress', async () => {
    const { scheduler } = setUp();
    const retries = scheduler();
    for (const [offset, id] of ['x', 'y', 'z'].entries()) await retries.schedule(retry(id, T0 + offset));
    const started: string[] = [];
    const finish = new Map<string, () => void>();
    const loop = new RetryLoop({
      scheduler: retries,
      intervalMs: 5,
      maxInFlight: 2,
      now: () => T0 + 2,
      onError: (error) => {
        throw error;
      },
      run: async (claimed) => {
        started.push(claimed.id);
        await new Promise<void>((resolve) => finish.set(claimed.id, resolve));
        await retries.complete(claimed.id);
      },
    });
    loop.start();
    try {
      await until(() => started.length === 2, 'two runs');
      await new Promise((resolve) => setTimeout(resolve, 30));
      expect(started).toEqual(['x', 'y']);
      finish.get('x')?.();
      await until(() => started.length === 3, 'the third run');
      finish.get('y')?.();
      const stopping = loop.stop(5000);
      finish.get('z')?.();
      await stopping;
      expect(await retries.count()).toBe(0);
    } finally {
      await loop.stop(0);
    }
  });

  it('reports a failing store to onError and carries on', async () => {
    const { store } = setUp();
    let failures = 0;
    const broken: FinanceStore = Object.create(store, {
      kvList: {
        value: async () => {
          failures += 1;
          throw new FinanceError('STORE_UNAVAILABLE', 'closed', { retryable: true });
        },
      },
    });
    const errors: unknown[] = [];
    const loop = new RetryLoop({
      scheduler: new RetryScheduler(broken, { namespace: 'retry:node-1' }),
      intervalMs: 5,
      onError: (error) => errors.push(error),
      run: async () => undefined,
    });
    loop.start();
    await until(() => failures >= 3, 'three scans');
    await loop.stop(0);
    expect(errors[0]).toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});
