import { InFlightWindow } from '../../../lib/intake/in-flight';
import {
  InboxRecovery,
  isEarlierProcessOf,
  leaseOwnerFor,
  nodeIdOfOwner,
  recoveryVerdict,
  type RecoveryVerdict,
} from '../../../lib/intake/recovery';
import { inboxKey, type FinanceStore, type InboxEntry } from '../../../lib/reliability/store';
import { BACKENDS, manualClock, storeSandbox, type Clock } from '../store/store-fixture';

const LEASE_MS = 1000;

describe('InboxRecovery', () => {
  const sandbox = storeSandbox('recovery');
  let clock: Clock;
  let store: FinanceStore;

  beforeEach(() => {
    clock = manualClock();
    store = sandbox.open({ path: sandbox.newPath(), now: clock.now });
  });
  afterEach(() => store.close());
  afterAll(() => sandbox.cleanup());

  const key = (id: string) => inboxKey('concur', id);
  function accept(id: string, owner?: string) {
    return store.accept({
      key: key(id),
      envelope: { id, source: 'concur', attempt: 1 },
      payload: { reportId: id },
      ...(owner && { lease: { owner, ms: LEASE_MS } }),
    });
  }

  function runner(owner: string, verdict: (entry: InboxEntry) => RecoveryVerdict = () => 'recover', batchSize = 100) {
    const emitted: InboxEntry[] = [];
    const recovery = new InboxRecovery({
      store: () => store,
      owner,
      leaseMs: LEASE_MS,
      intervalMs: 60_000,
      verdict,
      emit: (entry) => emitted.push(entry),
      onError: (error) => {
        throw error;
      },
      batchSize,
    });
    return { recovery, emitted };
  }

  it('emits an event whose lease ran out once, leased again, with the stored payload and one more attempt', async () => {
    await accept('e1', 'in-1');
    const { recovery, emitted } = runner('in-1');
    expect((await recovery.runOnce()).emitted).toEqual([]);

    clock.advance(LEASE_MS);
    const pass = await recovery.runOnce();
    expect(pass.emitted).toHaveLength(1);
    expect(emitted).toEqual(pass.emitted);
    expect(emitted[0]).toMatchObject({
      key: key('e1'),
      payload: { reportId: 'e1' },
      envelope: { id: 'e1', source: 'concur' },
      attempts: 2,
      leaseOwner: 'in-1',
      leaseUntil: clock.now() + LEASE_MS,
    });
    expect((await recovery.runOnce()).emitted).toEqual([]);
  });

  it('leaves finished, held and still leased events alone', async () => {
    await accept('finished', 'in-1');
    await accept('held', 'in-1');
    await store.finish(key('finished'), { status: 'posted' });
    await store.holdLease(key('held'), 10_000);
    clock.advance(LEASE_MS);
    await accept('young', 'in-1');
    const { recovery } = runner('in-1');
    expect((await recovery.runOnce()).emitted).toEqual([]);
    clock.advance(10_000);
    expect((await recovery.runOnce()).emitted.map((entry) => entry.key).sort()).toEqual([key('held'), key('young')]);
  });

  it('takes a never-leased entry only after the grace of one lease', async () => {
    await accept('legacy');
    const { recovery } = runner('in-1');
    clock.advance(LEASE_MS - 1);
    expect((await recovery.runOnce()).emitted).toEqual([]);
    clock.advance(1);
    expect((await recovery.runOnce()).emitted.map((entry) => entry.key)).toEqual([key('legacy')]);
  });

  it('two runners that both may take an entry emit it once: the lease decides', async () => {
    await accept('orphan');
    clock.advance(LEASE_MS);
    const first = runner('in-1');
    const second = runner('in-2');
    const passes = await Promise.all([first.recovery.runOnce(), second.recovery.runOnce()]);
    expect(passes.flatMap((pass) => pass.emitted)).toHaveLength(1);
    expect(first.emitted.length + second.emitted.length).toBe(1);
  });

  it('does not emit what the verdict gives to another intake, and counts the orphans it may not take', async () => {
    await accept('mine', 'in-1');
    await accept('theirs', 'in-2');
    await accept('orphan');
    clock.advance(LEASE_MS);
    const verdicts: Record<string, RecoveryVerdict> = { mine: 'recover', theirs: 'another-intake', orphan: 'orphan' };
    const { recovery, emitted } = runner('in-1', (entry) => verdicts[entry.envelope.id as string]);
    const pass = await recovery.runOnce();
    expect(emitted.map((entry) => entry.envelope.id)).toEqual(['mine']);
    expect(pass.orphans).toBe(1);
    expect(await store.get(key('theirs'))).toMatchObject({ leaseOwner: 'in-2', attempts: 1 });
  });

  it('recovers at most one batch per pass', async () => {
    for (const id of ['a', 'b', 'c']) await accept(id, 'in-1');
    clock.advance(LEASE_MS);
    const { recovery } = runner('in-1', () => 'recover', 2);
    expect((await recovery.runOnce()).emitted).toHaveLength(2);
    expect((await recovery.runOnce()).emitted).toHaveLength(1);
  });

  it('runs a pass at start and on its interval, reports store failures to onError and goes on, until stopped', async () => {
    await accept('e1', 'in-1');
    clock.advance(LEASE_MS);
    const errors: unknown[] = [];
    const emitted: InboxEntry[] = [];
    let broken = true;
    const passes: number[] = [];
    const recovery = new InboxRecovery({
      store: () => {
        if (broken) throw new Error('store closed');
        return store;
      },
      owner: 'in-1',
      leaseMs: LEASE_MS,
      intervalMs: 5,
      verdict: () => 'recover',
      emit: (entry) => emitted.push(entry),
      onPass: (pass) => passes.push(pass.emitted.length),
      onError: (error) => errors.push(error),
    });
    recovery.start();
    await waitFor(() => errors.length > 0);
    expect(errors[0]).toMatchObject({ message: 'store closed' });
    broken = false;
    await waitFor(() => emitted.length === 1);
    await recovery.stop();
    const seen = passes.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(passes.length).toBe(seen);
    expect(emitted).toHaveLength(1);
  });
});

describe.each(BACKENDS)(
  'InboxRecovery with a window: bounded in flight, immediate recovery at start (%s)',
  (backend) => {
    const sandbox = storeSandbox('dispatch', backend);
    let store: FinanceStore;
    const LEASE = 60_000;
    const me = leaseOwnerFor('in-1', 'host-a/new');

    beforeEach(() => {
      store = sandbox.open({ path: sandbox.newPath() });
    });
    afterEach(() => store.close());
    afterAll(() => sandbox.cleanup());

    const key = (id: string) => inboxKey('concur', id);

    function dispatcher(max: number, batchSize = 100) {
      const emitted: InboxEntry[] = [];
      const errors: unknown[] = [];
      const window = new InFlightWindow(max);
      const recovery = new InboxRecovery({
        store: () => store,
        owner: me,
        leaseMs: LEASE,
        intervalMs: 60_000,
        verdict: () => 'recover',
        emit: (entry) => emitted.push(entry),
        onError: (error) => errors.push(error),
        batchSize,
        window,
      });
      return { recovery, emitted, errors, window };
    }

    /** What the intake does per event: admitted ones are committed leased and emitted by the caller. */
    async function accept(recovery: InboxRecovery, id: string, emitted: InboxEntry[]) {
      const now = recovery.admit();
      const result = await store.accept({
        key: key(id),
        envelope: { id, source: 'concur', attempt: 1 },
        payload: { reportId: id },
        lease: { owner: me, ms: now ? LEASE : 0 },
      });
      if (now) {
        recovery.admitted(key(id), result.entry.leaseUntil);
        emitted.push(result.entry);
      } else {
        recovery.waiting();
      }
    }

    it('emits at most `max` events at a time, hands out the waiting ones in order as others finish or park, each once', async () => {
      const { recovery, emitted, errors, window } = dispatcher(3);
      recovery.start();
      await waitFor(() => window.free === 3);
      for (let i = 0; i < 10; i += 1) await accept(recovery, `e${i}`, emitted);
      await settle();
      expect(emitted.map((entry) => entry.envelope.id)).toEqual(['e0', 'e1', 'e2']);
      expect(await store.countOpen()).toBe(10);

      // A finish and a park (a retry waiting, an approval waiting for a person) each free a slot.
      await store.finish(key('e0'), { status: 'posted' });
      await store.holdLease(key('e1'), 30_000);
      await waitFor(() => emitted.length === 5);
      expect(emitted.map((entry) => entry.envelope.id)).toEqual(['e0', 'e1', 'e2', 'e3', 'e4']);

      // Finishing everything in flight drains the rest; nothing is emitted twice and every delivery is a first.
      while (emitted.length < 10 || (await store.countOpen()) > 1) {
        const open = emitted.filter((entry) => entry.envelope.id !== 'e1');
        await Promise.all(open.map((entry) => store.finish(entry.key, { status: 'posted' })));
        await settle();
      }
      await recovery.stop();
      const ids = emitted.map((entry) => entry.envelope.id);
      expect(ids).toEqual(['e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9']);
      expect(emitted.every((entry) => entry.attempts === 1)).toBe(true);
      expect(errors).toEqual([]);
    });

    it('keeps the order: while events wait, a new one waits too even when a slot is free', async () => {
      const { recovery, emitted } = dispatcher(1);
      recovery.start();
      await settle();
      await accept(recovery, 'first', emitted);
      await accept(recovery, 'second', emitted);
      expect(emitted.map((entry) => entry.envelope.id)).toEqual(['first']);
      await store.finish(key('first'), { status: 'posted' });
      // The slot is free, but 'second' waits for it: a newcomer must not overtake.
      expect(recovery.admit()).toBe(false);
      // Waiting for the pass, not for a fixed time: a pass on PostgreSQL takes a few round trips.
      await waitFor(() => emitted.length === 2);
      expect(emitted.map((entry) => entry.envelope.id)).toEqual(['first', 'second']);
      await store.finish(key('second'), { status: 'posted' });
      await waitFor(() => recovery.admit());
      await recovery.stop();
    });

    it('at start ends the leases of an earlier process of its own on this host and emits those events at once', async () => {
      const killed = leaseOwnerFor('in-1', 'host-a/old');
      const otherHost = leaseOwnerFor('in-1', 'host-b/live');
      for (const id of ['a', 'b', 'c', 'parked']) {
        await store.accept({ key: key(id), envelope: { id }, payload: { id }, lease: { owner: killed, ms: LEASE } });
      }
      await store.holdLease(key('parked'), 30_000);
      await store.accept({
        key: key('legacy'),
        envelope: { id: 'legacy' },
        payload: {},
        lease: { owner: 'in-1', ms: LEASE },
      });
      await store.accept({
        key: key('remote'),
        envelope: { id: 'remote' },
        payload: {},
        lease: { owner: otherHost, ms: LEASE },
      });
      await store.accept({
        key: key('waiting'),
        envelope: { id: 'waiting' },
        payload: {},
        lease: { owner: killed, ms: 0 },
      });

      const { recovery, emitted } = dispatcher(100, 2);
      recovery.start();
      await waitFor(() => emitted.length === 5);
      await settle();
      await recovery.stop();
      expect(emitted.map((entry) => entry.envelope.id).sort()).toEqual(['a', 'b', 'c', 'legacy', 'waiting']);
      expect(emitted.find((entry) => entry.envelope.id === 'a')).toMatchObject({ attempts: 2, leaseOwner: me });
      expect(emitted.find((entry) => entry.envelope.id === 'waiting')).toMatchObject({ attempts: 1 });
      // The parked one and the other host's stay as they were.
      expect(await store.get(key('parked'))).toMatchObject({ leaseOwner: killed, attempts: 1 });
      expect(await store.get(key('remote'))).toMatchObject({ leaseOwner: otherHost, attempts: 1 });
    });

    it('hands out what an earlier process left beyond the window as slots free, without waiting for a pass', async () => {
      const killed = leaseOwnerFor('in-1', 'host-a/old');
      for (let i = 0; i < 5; i += 1) {
        const id = `left${i}`;
        await store.accept({
          key: key(id),
          envelope: { id },
          payload: {},
          lease: { owner: killed, ms: i < 2 ? LEASE : 0 },
        });
      }
      const { recovery, emitted } = dispatcher(2);
      recovery.start();
      await waitFor(() => emitted.length === 2);
      // Each round of finishes frees the window for more (waitFor gives up if one does not).
      while (emitted.length < 5) {
        const before = emitted.length;
        await Promise.all(emitted.map((entry) => store.finish(entry.key, { status: 'posted' })));
        await waitFor(() => emitted.length > before);
      }
      await recovery.stop();
      expect(emitted.map((entry) => entry.envelope.id).sort()).toEqual(['left0', 'left1', 'left2', 'left3', 'left4']);
      expect(await store.countOpen()).toBe(1);
    });

    it('does not emit again what a restart of the same process (a redeploy) still has in flight', async () => {
      await store.accept({ key: key('a'), envelope: { id: 'a' }, payload: {}, lease: { owner: me, ms: LEASE } });
      const { recovery, emitted } = dispatcher(10);
      recovery.start();
      await settle();
      await recovery.stop();
      expect(emitted).toEqual([]);
    });
  },
);

describe('lease owners', () => {
  it('name the node and the process; the node id is read back, also from an owner without a process', () => {
    const owner = leaseOwnerFor('a1b2.c3', 'host-1/abc');
    expect(owner).toBe('a1b2.c3@host-1/abc');
    expect(nodeIdOfOwner(owner)).toBe('a1b2.c3');
    expect(nodeIdOfOwner('a1b2.c3')).toBe('a1b2.c3');
    expect(leaseOwnerFor('n')).toMatch(/^n@.+\/[0-9a-f]{12}$/);
  });

  it('tell an earlier process of the same node on this host from itself, another host and another node', () => {
    const me = 'in@host-1/new';
    expect(isEarlierProcessOf('in@host-1/old', me)).toBe(true);
    expect(isEarlierProcessOf('in', me)).toBe(true);
    expect(isEarlierProcessOf(me, me)).toBe(false);
    expect(isEarlierProcessOf('in@host-2/old', me)).toBe(false);
    expect(isEarlierProcessOf('other@host-1/old', me)).toBe(false);
  });

  it('give an entry of any process of this node to this intake', () => {
    const entry = { key: 'k', envelope: {}, payload: null, receivedAt: 0, state: 'open', attempts: 1 } as InboxEntry;
    const context = { isDeployedIntake: () => true, onlyIntakeOnStore: () => false };
    expect(recoveryVerdict({ ...entry, leaseOwner: 'in@h/old' }, 'in@h/new', context)).toBe('recover');
    expect(recoveryVerdict({ ...entry, leaseOwner: 'in' }, 'in@h/new', context)).toBe('recover');
    expect(recoveryVerdict({ ...entry, leaseOwner: 'in-2@h/x' }, 'in@h/new', context)).toBe('another-intake');
  });
});

/** Lets the passes that commits and finishes woke run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i += 1) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe('recoveryVerdict', () => {
  const entry = (leaseOwner?: string) =>
    ({ key: 'k', envelope: {}, payload: null, receivedAt: 0, state: 'open', attempts: 1, leaseOwner }) as InboxEntry;
  const context = (deployed: string[], alone: boolean) => ({
    isDeployedIntake: (owner: string) => deployed.includes(owner),
    onlyIntakeOnStore: () => alone,
  });

  it('gives an entry to the intake that leased it', () => {
    expect(recoveryVerdict(entry('in-1'), 'in-1', context(['in-1', 'in-2'], false))).toBe('recover');
    expect(recoveryVerdict(entry('in-2'), 'in-1', context(['in-1', 'in-2'], false))).toBe('another-intake');
  });

  it('lets an intake alone on its store adopt entries without a deployed owner, and no one else', () => {
    for (const owner of [undefined, 'deleted-node']) {
      expect(recoveryVerdict(entry(owner), 'in-1', context(['in-1'], true))).toBe('recover');
      expect(recoveryVerdict(entry(owner), 'in-1', context(['in-1', 'in-2'], false))).toBe('orphan');
    }
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  const giveUpAt = Date.now() + 5000;
  while (!condition()) {
    if (Date.now() > giveUpAt) throw new Error('gave up waiting');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
