/**
 * The adopt command: the letters (and, when asked, the parked retries) of a node replaced by a copy with a new id
 * move to the node that runs the command, one letter at a time, on LMDB and on a PostgreSQL store.
 */
import { adoptLetters, type AdoptionContext } from '../../../lib/reliability/dead-letter-adoption';
import { runCommand } from '../../../lib/reliability/dead-letter-commands';
import { ReplayQueue } from '../../../lib/reliability/dead-letter-replay';
import { DeadLetters, DLQ_MESSAGE_NAMESPACE, DLQ_NAMESPACE } from '../../../lib/reliability/dead-letters';
import { RetryScheduler } from '../../../lib/reliability/retry-scheduler';
import type { FinanceStore } from '../../../lib/reliability/store';
import { FinanceError } from '../../../lib/errors';
import { BACKENDS, storeSandbox } from '../store/store-fixture';
import { catchMessage } from './fixture';

const OLD = 'old-dl';
const NEW = 'new-dl';

describe.each(BACKENDS)('adopt (%s store)', (backend) => {
  const sandbox = storeSandbox(`dlq-adopt-${backend}`, backend);
  afterAll(() => sandbox.cleanup());

  function setUp(deployed: string[] = [NEW]) {
    const store = sandbox.open({ path: sandbox.newPath() });
    const context = (on: FinanceStore = store): AdoptionContext => ({
      nodeId: NEW,
      isDeployed: (id) => deployed.includes(id),
      shared: on.sharedAcrossHosts === true,
      parkedRetries: (id) => new RetryScheduler(on, { namespace: `retry:${id}` }).count(),
      moveRetries: (from, to) => new RetryScheduler(on, { namespace: `retry:${to}` }).adopt(`retry:${from}`),
    });
    const force = store.sharedAcrossHosts === true ? { force: true } : {};
    return {
      store,
      old: new DeadLetters({ store, queue: OLD }),
      adopting: new DeadLetters({ store, queue: NEW }),
      context,
      force,
    };
  }

  async function leftIn(store: FinanceStore, queue: string): Promise<number> {
    const letters = await store.kvList(DLQ_NAMESPACE, { prefix: `${queue}/`, limit: 1000 });
    const messages = await store.kvList(DLQ_MESSAGE_NAMESPACE, { prefix: `${queue}/`, limit: 1000 });
    return letters.length + messages.length;
  }

  it('moves every letter with its message, natural key and replay in flight, keeping its id', async () => {
    const { store, old, adopting, context, force } = setUp();
    const first = (await old.add(catchMessage({ msgId: 'm-1', eventId: 'e-1', code: 'ERP_REJECTED' }))).letter;
    const second = (await old.add(catchMessage({ msgId: 'm-2', eventId: 'e-2', docId: 'ER-2' }))).letter;
    await old.markReplayed(second.id, ['open']);
    await old.markReplaysCut([{ id: second.id, replayCount: 1 }]);
    expect(await adopting.count()).toBe(0);

    const answer = await adoptLetters(adopting, context(), { from: OLD, ...force });

    expect(answer).toEqual({
      from: OLD,
      letters: { moved: 2, ids: [first.id, second.id], busy: [] },
      retries: { moved: 0, busy: 0, left: 0 },
    });
    expect(await leftIn(store, OLD)).toBe(0);
    expect(await adopting.count({ status: 'open' })).toBe(1);
    expect(await adopting.count({ status: 'replayed' })).toBe(1);
    expect((await adopting.get(first.id))?.original).toEqual(first.original);
    // The same failure delivered again is known here now.
    const again = await adopting.add(catchMessage({ msgId: 'm-1', eventId: 'e-1', code: 'ERP_REJECTED' }));
    expect(again).toMatchObject({ status: 'duplicate', letter: { id: first.id } });
    // The replay cut off under the old node is sent again by this one; if it fails again it reopens here.
    expect((await adopting.replaysToResend(60_000)).map((marker) => marker.id)).toEqual([second.id]);
    const failedAgain = catchMessage({ msgId: 'm-2b', eventId: 'e-2', docId: 'ER-2' });
    (failedAgain as { replay?: unknown }).replay = { deadLetterId: second.id, replayCount: 1 };
    expect(await adopting.add(failedAgain)).toMatchObject({ status: 'reopened', letter: { id: second.id } });
  });

  it('moves nothing twice when run again, and answers with nothing to move', async () => {
    const { old, adopting, context, force } = setUp();
    await old.add(catchMessage({ msgId: 'm-1' }));
    await adoptLetters(adopting, context(), { from: OLD, ...force });

    const again = await adoptLetters(adopting, context(), { from: OLD, ...force });

    expect(again.letters).toEqual({ moved: 0, ids: [], busy: [] });
    expect(await adopting.count()).toBe(1);
  });

  it('finishes a move that a crash cut short, without a second copy', async () => {
    const { store, old, adopting, context, force } = setUp();
    const letter = (await old.add(catchMessage({ msgId: 'm-1' }))).letter;
    // The process dies after the copy here, before the old letter is removed.
    let crash = true;
    const crashing: FinanceStore = Object.create(store, {
      kvDelete: {
        value: async (namespace: string, key: string) => {
          if (crash && key === `${OLD}/L/${letter.id}`) throw new FinanceError('STORE_UNAVAILABLE', 'the process died');
          return store.kvDelete(namespace, key);
        },
      },
    });
    const cutShort = new DeadLetters({ store: crashing, queue: NEW });
    await expect(adoptLetters(cutShort, context(crashing), { from: OLD, ...force })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
    crash = false;

    const answer = await adoptLetters(adopting, context(), { from: OLD, ...force });

    expect(answer.letters.ids).toEqual([letter.id]);
    expect(await adopting.count()).toBe(1);
    expect((await adopting.get(letter.id))?.original).toEqual(letter.original);
    expect(await leftIn(store, OLD)).toBe(0);
  });

  it('refuses to adopt from a node that is deployed, or from itself, and says why', async () => {
    const { old, adopting, context, force } = setUp([NEW, OLD]);
    await old.add(catchMessage({ msgId: 'm-1' }));
    await expect(adoptLetters(adopting, context(), { from: OLD, ...force })).rejects.toThrow(
      /Node old-dl is deployed in this Node-RED/,
    );
    await expect(adoptLetters(adopting, context(), { from: NEW, ...force })).rejects.toThrow(/names this node/);
    await expect(adoptLetters(adopting, context(), { form: OLD })).rejects.toMatchObject({
      code: 'SCHEMA_INVALID',
      message: expect.stringContaining('payload.from is missing'),
    });
    expect(await old.count()).toBe(1);
  });

  it('moves the parked retries of the old node to the node named in payload.to, once', async () => {
    const { store, adopting, context, force } = setUp([NEW, 'new-post']);
    const oldRetries = new RetryScheduler(store, { namespace: 'retry:old-post' });
    const dueAt = Date.now() + 60_000;
    await oldRetries.schedule({ id: 'r-1', dueAt, attempt: 3, throttledWaits: 1, msg: { payload: 1 } });
    await oldRetries.schedule({ id: 'r-2', dueAt: dueAt + 1, attempt: 2, msg: { payload: 2 } });

    const withoutTo = await adoptLetters(adopting, context(), { from: 'old-post', ...force });
    expect(withoutTo.retries).toEqual({ moved: 0, busy: 0, left: 2 });
    await expect(adoptLetters(adopting, context(), { from: 'old-post', to: 'gone', ...force })).rejects.toThrow(
      /payload.to must be the id of the deployed node/,
    );

    const answer = await adoptLetters(adopting, context(), { from: 'old-post', to: 'new-post', ...force });
    expect(answer.retries).toEqual({ to: 'new-post', moved: 2, busy: 0, left: 0 });
    const newRetries = new RetryScheduler(store, { namespace: 'retry:new-post' });
    const due = await newRetries.due(dueAt + 1, 10);
    expect(due).toEqual([
      { id: 'r-1', dueAt, attempt: 3, throttledWaits: 1, msg: { payload: 1 } },
      { id: 'r-2', dueAt: dueAt + 1, attempt: 2, msg: { payload: 2 } },
    ]);
    for (const retry of due) await newRetries.complete(retry.id);

    const again = await adoptLetters(adopting, context(), { from: 'old-post', to: 'new-post', ...force });
    expect(again.retries).toEqual({ to: 'new-post', moved: 0, busy: 0, left: 0 });
    expect(await newRetries.count()).toBe(0);
  });

  it('leaves a retry that is being run under the old id (another host), and says so', async () => {
    const { store, adopting, context, force } = setUp([NEW, 'new-post']);
    const oldRetries = new RetryScheduler(store, { namespace: 'retry:old-post' });
    await oldRetries.schedule({ id: 'r-1', dueAt: Date.now() - 1, attempt: 2, msg: { payload: 1 } });
    expect(await oldRetries.due(Date.now(), 10)).toHaveLength(1);

    const answer = await adoptLetters(adopting, context(), { from: 'old-post', to: 'new-post', ...force });

    expect(answer.retries).toEqual({ to: 'new-post', moved: 0, busy: 1, left: 1 });
  });

  it('is a command of the queue, refused where the runtime is not known', async () => {
    const { old, adopting, context, force } = setUp();
    await old.add(catchMessage({ msgId: 'm-1' }));
    const replays = new ReplayQueue({ letters: adopting, ratePerSecond: 1, emit: () => undefined, onError: () => {} });
    try {
      await expect(runCommand({ letters: adopting, replays }, 'adopt', { from: OLD })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
      });
      const answer = await runCommand({ letters: adopting, replays, adoption: context() }, 'adopt', {
        from: OLD,
        ...force,
      });
      expect(answer).toMatchObject({ letters: { moved: 1 } });
    } finally {
      await replays.close();
    }
  });
});

describe('adopt on a store several hosts share', () => {
  const sandbox = storeSandbox('dlq-adopt-shared', 'postgres');
  afterAll(() => sandbox.cleanup());

  it('needs payload.force, as another host may still run the old node', async () => {
    const store = sandbox.open({ path: sandbox.newPath() });
    await new DeadLetters({ store, queue: OLD }).add(catchMessage({ msgId: 'm-1' }));
    const adopting = new DeadLetters({ store, queue: NEW });
    const context: AdoptionContext = {
      nodeId: NEW,
      isDeployed: (id) => id === NEW,
      shared: true,
      parkedRetries: async () => 0,
      moveRetries: async () => ({ moved: 0, busy: 0 }),
    };
    await expect(adoptLetters(adopting, context, { from: OLD })).rejects.toThrow(/payload.force = true/);
    expect(await adopting.count()).toBe(0);
    expect((await adoptLetters(adopting, context, { from: OLD, force: true })).letters.moved).toBe(1);
  });

  it('moves each letter once when two hosts adopt at the same moment', async () => {
    const location = sandbox.newPath();
    const [one, two] = [sandbox.open({ path: location }), sandbox.open({ path: location })];
    const old = new DeadLetters({ store: one, queue: OLD });
    for (let n = 1; n <= 20; n += 1) await old.add(catchMessage({ msgId: `m-${n}`, eventId: `e-${n}` }));
    const context: AdoptionContext = {
      nodeId: NEW,
      isDeployed: (id) => id === NEW,
      shared: true,
      parkedRetries: async () => 0,
      moveRetries: async () => ({ moved: 0, busy: 0 }),
    };
    const hosts = [one, two].map((store) => new DeadLetters({ store, queue: NEW }));

    await Promise.all(hosts.map((host) => adoptLetters(host, context, { from: OLD, force: true })));
    // Letters the other host held at that moment are picked up by running it again.
    await adoptLetters(hosts[0], context, { from: OLD, force: true });

    expect(await hosts[0].count({ status: 'open' })).toBe(20);
    expect(await new DeadLetters({ store: one, queue: OLD }).count()).toBe(0);
  });
});
