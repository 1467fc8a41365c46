/**
 * A scan of due retries that runs between the two writes of a park (the record, then the park marker), made
 * to happen deterministically: the parking scheduler's store runs the scan when the park marker is written.
 * Before the fix the scan claimed the new record, schedule() then refused it (another retry waited under the
 * id), and the one failure ran twice.
 */
import { FinanceError } from '../../../lib/errors';
import { RetryScheduler, type ScheduledRetry } from '../../../lib/reliability/retry-scheduler';
import type { FinanceStore } from '../../../lib/reliability/store';
import { BACKENDS, manualClock, storeSandbox } from '../store/store-fixture';

const T0 = 1_700_000_000_000;
const NAMESPACE = 'retry:race-node';

function retry(id: string, dueAt: number, attempt = 2): ScheduledRetry {
  return { id, dueAt, attempt, msg: { _msgid: id, payload: { dueAt } } };
}

/** `store`, with `beforeMarker` run once, when the first park marker is about to be written. */
function interleaved(store: FinanceStore, beforeMarker: () => Promise<void>): FinanceStore {
  let pending = true;
  return Object.create(store, {
    ledgerBegin: {
      value: async (key: string, owner: string) => {
        if (pending) {
          pending = false;
          await beforeMarker();
        }
        return store.ledgerBegin(key, owner);
      },
    },
  });
}

describe.each(BACKENDS)('RetryScheduler: a scan between the two writes of a park (%s)', (backend) => {
  const sandbox = storeSandbox(`park-race-${backend}`, backend);
  afterAll(() => sandbox.cleanup());

  function setUp() {
    const clock = manualClock(T0);
    const store = sandbox.open({ path: sandbox.newPath(), now: clock.now });
    const scheduler = (on: FinanceStore = store) => new RetryScheduler(on, { namespace: NAMESPACE });
    return { store, scheduler };
  }

  it('does not run a due park that schedule() refuses because a retry already waits under its id', async () => {
    const { store, scheduler } = setUp();
    const scanner = scheduler();
    expect(await scheduler().schedule(retry('twice', T0 + 5000))).toBe(true);

    const claimedMeanwhile: ScheduledRetry[] = [];
    const parking = scheduler(
      interleaved(store, async () => {
        claimedMeanwhile.push(...(await scanner.due(T0, 10)));
      }),
    );
    expect(await parking.schedule(retry('twice', T0, 3))).toBe(false);

    expect(claimedMeanwhile).toEqual([]);
    expect(await scanner.count()).toBe(1);
    // The retry that waited is the one that runs, when it is due: once.
    const runs = await scanner.due(T0 + 5000, 10);
    expect(runs.map((each) => [each.id, each.dueAt])).toEqual([['twice', T0 + 5000]]);
  });

  it('runs a due park caught between its writes once, when no other retry waits under its id', async () => {
    const { store, scheduler } = setUp();
    const scanner = scheduler();
    const claimedMeanwhile: ScheduledRetry[] = [];
    const parking = scheduler(
      interleaved(store, async () => {
        claimedMeanwhile.push(...(await scanner.due(T0, 10)));
      }),
    );
    expect(await parking.schedule(retry('once', T0))).toBe(true);

    expect(claimedMeanwhile.map((each) => each.id)).toEqual(['once']);
    expect(await scheduler().due(T0, 10)).toEqual([]);
    await scanner.complete('once');
    expect(await scanner.count()).toBe(0);
    // Its marker went with it: the next attempt parks.
    expect(await scheduler().schedule(retry('once', T0 + 1000, 3))).toBe(true);
  });

  it('runs a park that a crash cut short after its record was written, once', async () => {
    const { store, scheduler } = setUp();
    const crashing = scheduler(
      interleaved(store, async () => {
        throw new FinanceError('STORE_UNAVAILABLE', 'the process died', { retryable: true });
      }),
    );
    await expect(crashing.schedule(retry('cut', T0))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });

    const scanner = scheduler();
    expect((await scanner.due(T0, 10)).map((each) => each.id)).toEqual(['cut']);
    expect(await scheduler().due(T0, 10)).toEqual([]);
    await scanner.complete('cut');
    expect(await scanner.count()).toBe(0);
  });
});
