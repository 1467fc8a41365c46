/**
 * The polling loop of finance-event-in's poll mode (lib/intake/polling.ts) and the Coupa intake behind it
 * (lib/intake/coupa-polling.ts): rounds one at a time, the due time, cursor and last round in the store, a
 * restart that does not poll before the interval is up, and polled documents committed through the intake.
 */
import { ErpClient } from '../../../lib/erp/client';
import { startCoupaPolling } from '../../../lib/intake/coupa-polling';
import type { IntakeResult } from '../../../lib/intake/intake';
import { MAX_TIMER_MS, POLL_STATE_NAMESPACE, PollingLoop, PollState, RoundLease } from '../../../lib/intake/polling';
import type { FinanceStore } from '../../../lib/reliability/store';
import { coupaStoreOf } from '../../../lib/sandbox/coupa';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';
import type { CoupaPollReport } from '../../../lib/sources/coupa-poller';
import { getProfile } from '../../../lib/sources/profiles';
import { storeFolder } from '../posting/fixtures';

const report = (overrides: Partial<CoupaPollReport> = {}): CoupaPollReport => ({
  resource: 'requisitions',
  pages: 1,
  fetched: 2,
  exported: 2,
  leftBehind: [],
  ...overrides,
});
const until = async (what: () => boolean) => {
  for (let i = 0; i < 200 && !what(); i += 1) await new Promise((r) => setTimeout(r, 10));
  expect(what()).toBe(true);
};

describe('PollingLoop', () => {
  const folder = storeFolder('polling');
  let store: FinanceStore;
  beforeEach(() => {
    store = folder.open(Date.now);
  });
  afterAll(() => folder.cleanup());

  it('runs a round at once, records it with its due time, and runs rounds one at a time', async () => {
    const state = new PollState(() => store, 'node-1:requisitions');
    let running = 0;
    let overlapped = false;
    let rounds = 0;
    const loop = new PollingLoop({
      intervalMs: 20,
      state,
      round: async () => {
        running += 1;
        overlapped ||= running > 1;
        await new Promise((r) => setTimeout(r, 30));
        running -= 1;
        rounds += 1;
        return report();
      },
    });
    loop.start();
    await until(() => rounds >= 3);
    await loop.stop();
    expect(overlapped).toBe(false);
    const saved = await state.read();
    expect(saved.lastRound).toMatchObject({ pages: 1, fetched: 2, exported: 2, leftBehind: 0 });
    expect(saved.nextRoundAt).toEqual(expect.any(Number));
  });

  it('after a restart waits for the due time kept in the store instead of polling at once', async () => {
    await store.kvPut(POLL_STATE_NAMESPACE, 'node-2:requisitions', { nextRoundAt: Date.now() + 60_000 });
    let rounds = 0;
    const loop = new PollingLoop({
      intervalMs: 60_000,
      state: new PollState(() => store, 'node-2:requisitions'),
      round: async () => {
        rounds += 1;
        return report();
      },
    });
    loop.start();
    await new Promise((r) => setTimeout(r, 150));
    await loop.stop();
    expect(rounds).toBe(0);
  });

  it('waits as long as Retry-After asked after an interrupted round, and reports its code', async () => {
    const now = 1_800_000_000_000;
    const state = new PollState(() => store, 'node-3:requisitions');
    const { FinanceError } = await import('../../../lib/errors');
    let rounds = 0;
    const loop = new PollingLoop({
      intervalMs: 1000,
      state,
      now: () => now,
      round: async () => {
        rounds += 1;
        return report({
          interrupted: new FinanceError('ERP_RATE_LIMITED', 'slow down', { retryable: true }),
          retryAfterMs: 30_000,
        });
      },
    });
    loop.start();
    await until(() => rounds === 1);
    await loop.stop();
    const saved = await state.read();
    expect(saved).toMatchObject({ nextRoundAt: now + 30_000, lastRound: { interrupted: 'ERP_RATE_LIMITED' } });
  });

  it('does not poll nonstop after a Retry-After longer than a timer can wait (Node turns it into 1 ms)', async () => {
    const now = 1_800_000_000_000;
    const state = new PollState(() => store, 'node-6:requisitions');
    let rounds = 0;
    const loop = new PollingLoop({
      intervalMs: 60_000,
      state,
      now: () => now,
      round: async () => {
        rounds += 1;
        // 34 days: what "Retry-After: 3000000" meant before parseRetryAfter capped it, or a source's own value.
        return report({ retryAfterMs: 3_000_000_000 });
      },
    });
    loop.start();
    await until(() => rounds === 1);
    await new Promise((r) => setTimeout(r, 100));
    await loop.stop();
    expect(rounds).toBe(1);
    expect((await state.read()).nextRoundAt).toBe(now + MAX_TIMER_MS);
  });

  it('stops without waiting long for a round that hangs (a source that does not answer)', async () => {
    let started = false;
    const loop = new PollingLoop({
      intervalMs: 10,
      state: new PollState(() => store, 'node-5:requisitions'),
      round: () => {
        started = true;
        return new Promise<CoupaPollReport>(() => undefined);
      },
    });
    loop.start();
    await until(() => started);
    // Without the bound this would never resolve (the round never ends) and the test would time out.
    await expect(loop.stop(50)).resolves.toBeUndefined();
  });

  it('keeps polling after a round that threw, and tells onError', async () => {
    const errors: unknown[] = [];
    let rounds = 0;
    const loop = new PollingLoop({
      intervalMs: 10,
      state: new PollState(() => store, 'node-4:requisitions'),
      round: async () => {
        rounds += 1;
        if (rounds === 1) throw new Error('boom');
        return report();
      },
      onError: (error) => errors.push(error),
    });
    loop.start();
    await until(() => rounds >= 2);
    await loop.stop();
    expect(errors).toHaveLength(1);
  });
});

describe('startCoupaPolling', () => {
  const folder = storeFolder('coupa-polling');
  let sandbox: SandboxHandle;
  let api: ErpClient;
  let store: FinanceStore;
  const coupa = getProfile('coupa', {});

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    api = new ErpClient({ name: 'coupa', dialect: 'coupa', baseUrl: `${sandbox.url}/coupa`, auth: { type: 'none' } });
  });
  beforeEach(async () => {
    await fetch(`${sandbox.url}/_sandbox/reset`, { method: 'POST' });
    store = folder.open(Date.now);
  });
  afterAll(async () => {
    api.close();
    await sandbox.close();
    await folder.cleanup();
  });

  const options = (results: Array<{ result: IntakeResult; body: Buffer }>) => ({
    http: api,
    profile: coupa,
    resource: 'requisitions' as const,
    store: () => store,
    key: 'intake-node',
    intervalMs: 60_000,
    maxBytes: 1_000_000,
    lease: { owner: 'intake-node', ms: 60_000 },
    onResult: (result: IntakeResult, body: Buffer) => results.push({ result, body }),
  });

  it('commits each approved requisition through the intake, marks it exported, and keeps its cursor', async () => {
    const results: Array<{ result: IntakeResult; body: Buffer }> = [];
    const polling = startCoupaPolling(options(results));
    await until(() => results.length === 1);
    await polling.stop();
    const [{ result }] = results;
    expect(result).toMatchObject({
      outcome: 'accepted',
      envelope: {
        source: 'coupa',
        docType: 'Requisition',
        docId: '1001',
        id: expect.stringMatching(/^requisition-1001-\d+-[0-9a-f]{16}$/),
      },
      payload: { id: 1001, status: 'approved' },
    });
    // Seed requisition 1002 waits for approval and is left alone.
    expect(coupaStoreOf(sandbox.state).get('requisitions', 1001)?.exported).toBe(true);
    expect(coupaStoreOf(sandbox.state).get('requisitions', 1002)?.exported).toBe(false);
    const saved = (await store.kvGet(POLL_STATE_NAMESPACE, 'intake-node:requisitions')) as Record<string, any>;
    expect(saved.cursor.updatedAfter).toEqual(expect.any(String));
    expect(saved.lastRound).toMatchObject({ fetched: 1, exported: 1 });

    // Delivered again (Coupa's flag reset without a change): the intake sees a duplicate.
    await fetch(`${sandbox.url}/coupa/api/requisitions/1001?exported=false`, { method: 'PUT' });
    await store.kvPut(POLL_STATE_NAMESPACE, 'intake-node:requisitions', {});
    const again = startCoupaPolling(options(results));
    await until(() => results.length === 2);
    await again.stop();
    expect(results[1].result.outcome).toBe('duplicate');
  });

  it('refuses a source that is not Coupa, or one without its API, naming what to fix', () => {
    expect(() => startCoupaPolling({ ...options([]), profile: getProfile('ramp', {}) })).toThrow(
      /profile is "ramp". Choose the Coupa profile/,
    );
    expect(() => startCoupaPolling({ ...options([]), http: undefined })).toThrow(/set the API base URL/);
  });

  it('reports a requisition the profile cannot read once, and leaves it unexported', async () => {
    await fetch(`${sandbox.url}/_sandbox/coupa/requisitions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      // Order lines on a requisition: the profile cannot tell what it is.
      body: JSON.stringify({ id: 2001, status: 'approved', 'order-lines': [] }),
    });
    const results: Array<{ result: IntakeResult; body: Buffer }> = [];
    const polling = startCoupaPolling({ ...options(results), key: 'bad-doc' });
    await until(() => results.some((r) => r.result.outcome === 'rejected'));
    await polling.stop();
    expect(results.filter((r) => r.result.outcome === 'rejected')).toHaveLength(1);
    expect(coupaStoreOf(sandbox.state).get('requisitions', 2001)?.exported).toBe(false);
  });
});

describe('RoundLease', () => {
  /** claimLease as the stores keep it: one holder per name until its time is up; the same holder renews. */
  function leases(now: () => number) {
    const held = new Map<string, { holder: string; until: number }>();
    const claims: string[] = [];
    return {
      claims,
      store: {
        claimLease: async (name: string, holder: string, ttlMs: number) => {
          claims.push(holder);
          const current = held.get(name);
          if (current && current.holder !== holder && current.until > now()) return false;
          held.set(name, { holder, until: now() + ttlMs });
          return true;
        },
      },
    };
  }

  it('keeps the lease through a round longer than its TTL, renewing it as the round goes on', async () => {
    let time = 1_000_000;
    const now = () => time;
    const shared = leases(now);
    const lease = (holder: string) =>
      new RoundLease({ store: () => shared.store, name: 'intake-poll/n:requisitions', holder, ttlMs: 9_000, now });
    const a = lease('host-a');
    const b = lease('host-b');
    expect(await a.claim()).toBe(true);
    expect(await b.claim()).toBe(false);
    // A long round: every page and document asks keep(); a claim goes to the store once a third of the TTL passed.
    for (let step = 0; step < 20; step += 1) {
      time += 1_000;
      expect(await a.keep()).toBe(true);
      expect(await b.claim()).toBe(false);
    }
    expect(shared.claims.filter((holder) => holder === 'host-a').length).toBeLessThanOrEqual(8);
    // A host that stalled longer than the TTL has lost it to the other one, and keep() says so.
    time += 10_000;
    expect(await b.claim()).toBe(true);
    expect(await a.keep()).toBe(false);
  });

  it('answers false when the store cannot be reached', async () => {
    const errors: unknown[] = [];
    const lease = new RoundLease({
      store: () => ({
        claimLease: async () => {
          throw new Error('connection refused');
        },
      }),
      name: 'intake-poll/n:requisitions',
      holder: 'host-a',
      ttlMs: 10_000,
      onError: (error) => errors.push(error),
    });
    expect(await lease.claim()).toBe(false);
    expect(await lease.keep()).toBe(false);
    expect(errors).toHaveLength(2);
  });
});

describe('PollingLoop with mayRun', () => {
  it('skips a round another host runs: no round, nothing recorded, the next tick one interval later', async () => {
    const kv = new Map<string, unknown>();
    const store = {
      kvGet: async (namespace: string, key: string) => kv.get(`${namespace}/${key}`),
      kvPut: async (namespace: string, key: string, value: unknown) => {
        kv.set(`${namespace}/${key}`, value);
      },
    };
    let rounds = 0;
    let skips = 0;
    let allowed = false;
    const loop = new PollingLoop({
      intervalMs: 10,
      state: new PollState(() => store, 'n:requisitions'),
      mayRun: async () => allowed,
      onSkip: () => (skips += 1),
      round: async () => {
        rounds += 1;
        return report();
      },
    });
    loop.start();
    await until(() => skips >= 3);
    expect(rounds).toBe(0);
    expect(kv.size).toBe(0);
    allowed = true;
    await until(() => rounds >= 1);
    await loop.stop();
    expect(kv.get(`${POLL_STATE_NAMESPACE}/n:requisitions`)).toMatchObject({ lastRound: { fetched: 2 } });
  });
});
