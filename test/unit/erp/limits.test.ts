import { Fifo } from '../../../lib/erp/fifo';
import { RateLimiter } from '../../../lib/erp/rate-limiter';
import { Semaphore } from '../../../lib/erp/semaphore';
import { FakeClock, tick } from './helpers';

describe('Fifo', () => {
  it('keeps order and length across the compaction of a long queue', () => {
    const queue = new Fifo<number>();
    for (let i = 0; i < 5000; i++) queue.push(i);
    const taken: number[] = [];
    for (let i = 0; i < 3000; i++) taken.push(queue.shift() as number);
    for (let i = 5000; i < 5500; i++) queue.push(i);
    expect(queue.length).toBe(2500);
    expect(taken[2999]).toBe(2999);
    expect(queue.shift()).toBe(3000);
    const rest = queue.drain();
    expect(rest).toHaveLength(2499);
    expect(rest[0]).toBe(3001);
    expect(rest[rest.length - 1]).toBe(5499);
    expect(queue.length).toBe(0);
    expect(queue.shift()).toBeUndefined();
  });
});

describe('Semaphore', () => {
  it('never hands out more permits than it has and serves waiters first-in-first-out', async () => {
    const semaphore = new Semaphore(2);
    const order: number[] = [];
    const releases = new Map<number, () => void>();
    const acquirers = [0, 1, 2, 3, 4].map((index) =>
      semaphore.acquire().then((release) => {
        order.push(index);
        releases.set(index, release);
      }),
    );
    await tick();
    expect(order).toEqual([0, 1]);
    expect(semaphore.inUse).toBe(2);
    expect(semaphore.waiting).toBe(3);

    releases.get(1)?.();
    await tick();
    expect(order).toEqual([0, 1, 2]);
    expect(semaphore.inUse).toBe(2);

    releases.get(0)?.();
    releases.get(2)?.();
    await Promise.all(acquirers);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(semaphore.inUse).toBe(2);
  });

  it('ignores a second call of the same release', async () => {
    const semaphore = new Semaphore(1);
    const first = await semaphore.acquire();
    const second = semaphore.acquire();
    const third = semaphore.acquire();
    first();
    first();
    const releaseSecond = await second;
    await tick();
    // The double release must not have let the third in alongside the second.
    expect(semaphore.inUse).toBe(1);
    expect(semaphore.waiting).toBe(1);
    releaseSecond();
    (await third)();
    expect(semaphore.inUse).toBe(0);
  });

  it('rejects waiters and later acquires once closed', async () => {
    const semaphore = new Semaphore(1);
    await semaphore.acquire();
    const waiting = semaphore.acquire();
    const reason = new Error('closed');
    semaphore.close(reason);
    await expect(waiting).rejects.toBe(reason);
    await expect(semaphore.acquire()).rejects.toBe(reason);
  });

  it('refuses a permit count that is not a positive integer', () => {
    expect(() => new Semaphore(0)).toThrow(RangeError);
    expect(() => new Semaphore(1.5)).toThrow(RangeError);
  });
});

describe('RateLimiter', () => {
  /** Acquires `count` grants, recording the clock time each one is granted at, in grant order. */
  function acquireAll(limiter: RateLimiter, clock: FakeClock, count: number) {
    const grants: { index: number; at: number }[] = [];
    const done = Array.from({ length: count }, (_, index) =>
      limiter.acquire().then(() => {
        grants.push({ index, at: clock.now() });
      }),
    );
    return { grants, done: Promise.all(done) };
  }

  async function runTimers(clock: FakeClock): Promise<void> {
    for (let at = clock.nextTimerAt(); at !== undefined; at = clock.nextTimerAt()) {
      // One timer at a time: the limiter never polls, so there is never more than one.
      expect(clock.pendingTimers).toBe(1);
      clock.advance(at - clock.now());
      await tick();
    }
  }

  it('spreads a burst so that no window holds more than the limit, in FIFO order, losing nothing', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ requests: 3, perMs: 1000 }, clock);
    const { grants, done } = acquireAll(limiter, clock, 10);
    await tick();
    expect(grants.map((grant) => grant.at)).toEqual([0, 0, 0]);

    await runTimers(clock);
    await done;
    expect(grants.map((grant) => grant.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(grants.map((grant) => grant.at)).toEqual([0, 0, 0, 1000, 1000, 1000, 2000, 2000, 2000, 3000]);
    for (let i = 0; i + 3 < grants.length; i++) expect(grants[i + 3].at - grants[i].at).toBeGreaterThanOrEqual(1000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('counts a sliding window: after a burst, one more waits until the first grant is a full window old', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ requests: 3, perMs: 1000 }, clock);
    await Promise.all([limiter.acquire(), limiter.acquire()]);
    clock.advance(400);
    await limiter.acquire();
    clock.advance(599); // t = 999: the grants at 0 are still inside the window
    let granted = false;
    void limiter.acquire().then(() => {
      granted = true;
    });
    await tick();
    expect(granted).toBe(false);
    clock.advance(1); // t = 1000
    await tick();
    expect(granted).toBe(true);
  });

  it('does not let a newcomer overtake queued waiters when the window frees up', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ requests: 1, perMs: 100 }, clock);
    const order: string[] = [];
    await limiter.acquire();
    const queued = limiter.acquire().then(() => order.push('queued'));
    clock.advance(150); // the window has room, but the timer has not been served yet in this turn
    const newcomer = limiter.acquire().then(() => order.push('newcomer'));
    await runTimers(clock);
    await Promise.all([queued, newcomer]);
    expect(order).toEqual(['queued', 'newcomer']);
  });

  it('rejects waiters and clears its timer when closed', async () => {
    const clock = new FakeClock();
    const limiter = new RateLimiter({ requests: 1, perMs: 1000 }, clock);
    await limiter.acquire();
    const waiting = limiter.acquire();
    expect(clock.pendingTimers).toBe(1);
    const reason = new Error('closed');
    limiter.close(reason);
    await expect(waiting).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
    await expect(limiter.acquire()).rejects.toBe(reason);
  });

  it('refuses a limit that is not positive', () => {
    expect(() => new RateLimiter({ requests: 0, perMs: 1000 })).toThrow(RangeError);
    expect(() => new RateLimiter({ requests: 5, perMs: 0 })).toThrow(RangeError);
  });
});
