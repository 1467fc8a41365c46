/**
 * LatestVersionGuard keeps its per-document lease while a write-back runs longer than the lease's TTL (stuck in
 * a rate-limit queue), and leaves no timer behind. An in-memory store with claimLease's semantics (store.ts)
 * and fake timers, which move Date.now() with them, so the test can let hours pass.
 */
import { KeyedQueue } from '../../../lib/purchasing/keyed-queue';
import {
  LatestVersionGuard,
  lockTtlMs,
  WRITEBACK_LOCK_PREFIX,
  WRITEBACK_VERSIONS_NAMESPACE,
  type LatestVersionStore,
} from '../../../lib/writeback/latest-version';

const KEY = 'coupa:coupa:Requisition:1001';
const LOCK = `${WRITEBACK_LOCK_PREFIX}${KEY}`;
const WRITE_TIMEOUT_MS = 1000;
const TTL_MS = lockTtlMs(WRITE_TIMEOUT_MS);

/** One store several hosts share: kv values and named leases, claimLease as both backends implement it. */
class SharedStore implements LatestVersionStore {
  readonly sharedAcrossHosts = true;
  readonly kv = new Map<string, unknown>();
  readonly leases = new Map<string, { holder: string; until: number }>();
  /** Replaces claimLease's answer for the calls it is set for (a store error, a slow store). */
  interceptClaim: ((name: string, holder: string, ttlMs: number) => Promise<boolean> | undefined) | undefined;

  async kvGet(namespace: string, key: string): Promise<unknown> {
    return this.kv.get(`${namespace}/${key}`);
  }

  async kvPut(namespace: string, key: string, value: unknown): Promise<void> {
    this.kv.set(`${namespace}/${key}`, value);
  }

  claimLease(name: string, holder: string, ttlMs: number): Promise<boolean> {
    return this.interceptClaim?.(name, holder, ttlMs) ?? Promise.resolve(this.claimNow(name, holder, ttlMs));
  }

  claimNow(name: string, holder: string, ttlMs: number): boolean {
    const current = this.leases.get(name);
    if (current && current.holder !== holder && current.until > Date.now()) return false;
    this.leases.set(name, { holder, until: Date.now() + ttlMs });
    return true;
  }
}

/** A write the test finishes when it wants to: `started` resolves once the write runs. */
function heldWrite(status: string, outcome: 'resolve' | 'reject' = 'resolve') {
  let finish!: () => void;
  let started!: () => void;
  const running = new Promise<void>((resolve) => (started = resolve));
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const task = async () => {
    started();
    await finished;
    if (outcome === 'reject') throw new Error('the target answered 503');
    return { value: status, written: true };
  };
  return { task, running, finish };
}

const written = (status: string) => async () => ({ value: status, written: true });

describe('LatestVersionGuard lease renewal during a long write-back', () => {
  let store: SharedStore;
  let warnings: string[];
  let guardA: LatestVersionGuard;
  let guardB: LatestVersionGuard;

  beforeEach(() => {
    jest.useFakeTimers({ now: 1_700_000_000_000 });
    store = new SharedStore();
    warnings = [];
    const options = { writeTimeoutMs: WRITE_TIMEOUT_MS, warn: (text: string) => warnings.push(text) };
    // Two hosts: each its own process queue; only the lease keeps them apart.
    guardA = new LatestVersionGuard(store, { ...options, holderPrefix: 'wb-a', queue: new KeyedQueue() });
    guardB = new LatestVersionGuard(store, { ...options, holderPrefix: 'wb-b', queue: new KeyedQueue() });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('extends the lease while the write runs, so another guard cannot claim it however long it takes', async () => {
    const slow = heldWrite('ordered v1');
    const first = guardA.run(KEY, 1, slow.task);
    await slow.running;
    const claimedUntil = store.leases.get(LOCK)!.until;

    for (let round = 0; round < 5; round++) {
      await jest.advanceTimersByTimeAsync(TTL_MS);
      await expect(guardB.run(KEY, 2, written('cancelled v2'))).rejects.toMatchObject({ code: 'ERP_CONFLICT' });
    }
    expect(store.leases.get(LOCK)!.until).toBeGreaterThan(claimedUntil + 4 * TTL_MS);

    slow.finish();
    expect(await first).toBe('ordered v1');
    await jest.advanceTimersByTimeAsync(1);
    expect(await guardB.run(KEY, 2, written('cancelled v2'))).toBe('cancelled v2');
    expect(warnings).toEqual([]);
  });

  it('renews every third of the TTL by default', async () => {
    const claims: number[] = [];
    store.interceptClaim = (name, holder, ttlMs) => {
      claims.push(ttlMs);
      return undefined;
    };
    const slow = heldWrite('ordered v1');
    const first = guardA.run(KEY, 1, slow.task);
    await slow.running;
    await jest.advanceTimersByTimeAsync(TTL_MS * 0.9);
    expect(claims).toEqual([TTL_MS, TTL_MS, TTL_MS]); // the claim, then renewals at 1/3 and 2/3 of the TTL
    slow.finish();
    await first;
  });

  it.each([
    ['succeeded', 'resolve'],
    ['failed', 'reject'],
  ] as const)('leaves no timer behind once the write-back %s', async (_, outcome) => {
    const write = heldWrite('ordered v1', outcome);
    const first = guardA.run(KEY, 1, write.task);
    await write.running;
    expect(jest.getTimerCount()).toBe(1);
    await jest.advanceTimersByTimeAsync(TTL_MS);
    write.finish();
    await (outcome === 'resolve' ? expect(first).resolves.toBe('ordered v1') : expect(first).rejects.toThrow('503'));
    expect(jest.getTimerCount()).toBe(0);
    // Given back, and no late renewal takes it again.
    await jest.advanceTimersByTimeAsync(TTL_MS);
    expect(await guardB.run(KEY, 2, written('cancelled v2'))).toBe('cancelled v2');
  });

  it('does not let the renewal timer keep the process alive', async () => {
    const setIntervalSpy = jest.spyOn(global, 'setInterval');
    const slow = heldWrite('ordered v1');
    const first = guardA.run(KEY, 1, slow.task);
    await slow.running;
    expect(setIntervalSpy).toHaveBeenCalledTimes(1);
    expect((setIntervalSpy.mock.results[0]!.value as NodeJS.Timeout).hasRef()).toBe(false);
    slow.finish();
    await first;
    setIntervalSpy.mockRestore();
  });

  it('leaves no timer behind when the version is superseded', async () => {
    await store.kvPut(WRITEBACK_VERSIONS_NAMESPACE, KEY, 3);
    expect(await guardA.run(KEY, 1, written('ordered v1'))).toBe('superseded');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('does not fail the write when a renewal fails, and tries again at the next one', async () => {
    let failures = 0;
    store.interceptClaim = (name, holder, ttlMs) => {
      if (ttlMs !== TTL_MS || failures === 2 || !store.leases.has(name)) return undefined;
      failures += 1;
      return Promise.reject(new Error('the store is not reachable'));
    };
    const slow = heldWrite('ordered v1');
    const first = guardA.run(KEY, 1, slow.task);
    await slow.running;
    await jest.advanceTimersByTimeAsync(TTL_MS);
    slow.finish();
    expect(await first).toBe('ordered v1');
    expect(await store.kvGet(WRITEBACK_VERSIONS_NAMESPACE, KEY)).toBe(1);
    expect(warnings).toHaveLength(2);
    expect(warnings[0]).toContain(`lease of the running write-back of ${KEY} could not be renewed`);
    expect(warnings[0]).toContain('the store is not reachable');
    expect(jest.getTimerCount()).toBe(0);
  });

  it('goes on when another holder took the lease meanwhile, and never lowers the recorded version', async () => {
    const slow = heldWrite('ordered v1');
    const first = guardA.run(KEY, 1, slow.task);
    await slow.running;
    // A renewal was lost (say the store was out for a whole TTL) and the other host wrote version 2 meanwhile.
    store.leases.set(LOCK, { holder: 'wb-b/other-host', until: Date.now() + 10 * TTL_MS });
    await store.kvPut(WRITEBACK_VERSIONS_NAMESPACE, KEY, 2);
    await jest.advanceTimersByTimeAsync(TTL_MS);

    slow.finish();
    expect(await first).toBe('ordered v1');
    expect(await store.kvGet(WRITEBACK_VERSIONS_NAMESPACE, KEY)).toBe(2);
    expect(store.leases.get(LOCK)!.holder).toBe('wb-b/other-host'); // neither renewed nor released
    expect(warnings).toHaveLength(1); // renewals stop once the lease is lost
    expect(warnings[0]).toContain(`another write-back of the document took the lease`);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('gives the lease back only after a renewal in flight has landed', async () => {
    let landRenewal!: () => void;
    store.interceptClaim = (name, holder, ttlMs) => {
      if (ttlMs !== TTL_MS || !store.leases.has(name)) return undefined;
      store.interceptClaim = undefined;
      // A slow store: the renewal is applied only when the test says so.
      return new Promise((resolve) => (landRenewal = () => resolve(store.claimNow(name, holder, ttlMs))));
    };
    const slow = heldWrite('ordered v1');
    const first = guardA.run(KEY, 1, slow.task);
    await slow.running;
    await jest.advanceTimersByTimeAsync(Math.ceil(TTL_MS / 3));
    slow.finish();
    await jest.advanceTimersByTimeAsync(0);
    landRenewal();
    expect(await first).toBe('ordered v1');
    await jest.advanceTimersByTimeAsync(1);
    expect(await guardB.run(KEY, 2, written('cancelled v2'))).toBe('cancelled v2');
  });
});
