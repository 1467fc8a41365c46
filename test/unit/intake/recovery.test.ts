import { InboxRecovery, recoveryVerdict, type RecoveryVerdict } from '../../../lib/intake/recovery';
import { inboxKey, type FinanceStore, type InboxEntry } from '../../../lib/reliability/store';
import { manualClock, storeSandbox, type Clock } from '../store/store-fixture';

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
