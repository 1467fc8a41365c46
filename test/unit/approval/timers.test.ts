import { compileMatrix } from '../../../lib/approval/matrix';
import { decide, escalate, start, type ApprovalRecord } from '../../../lib/approval/process';
import { planApproval } from '../../../lib/approval/route';
import {
  MemoryTimerRepository,
  SlaScheduler,
  timerIdOf,
  type DueTimer,
  type TimerRepository,
} from '../../../lib/approval/timers';
import { directory, matrixConfig, report } from './fixtures';

const matrix = compileMatrix(matrixConfig());
const T0 = new Date('2025-03-12T09:00:00.000Z');
const later = (hours: number, ms = 0): Date => new Date(T0.getTime() + hours * 3_600_000 + ms);

/** A pending approval of document `id`, due 24 h after `startedAt`. */
function pending(id = 'RPT-1', startedAt = T0): ApprovalRecord {
  const expense = { ...report({ amount: '500.00' }), sourceRef: { system: 'concur', id } };
  return start(planApproval({ report: expense, directory: directory() }, matrix), startedAt);
}

/** The same repository behind promises, as a disk store would answer. */
function asyncRepository(inner: MemoryTimerRepository<ApprovalRecord>): TimerRepository<ApprovalRecord> {
  return {
    put: async (id, dueAt, data) => inner.put(id, dueAt, data),
    delete: async (id) => inner.delete(id),
    due: async (now, limit): Promise<DueTimer<ApprovalRecord>[]> => inner.due(now, limit),
  };
}

describe('SlaScheduler', () => {
  let repository: MemoryTimerRepository<ApprovalRecord>;
  beforeEach(() => {
    repository = new MemoryTimerRepository<ApprovalRecord>();
  });

  it('returns a record when its stage is due, not before, and only once', async () => {
    const scheduler = new SlaScheduler({ repository });
    const record = pending();
    await scheduler.schedule(record);

    expect(await scheduler.tick(later(24, -1))).toEqual([]);
    expect(await scheduler.tick(later(24))).toEqual([record]);
    expect(await scheduler.tick(later(24, 1))).toEqual([]);
  });

  it('uses the injected clock when tick is called without a time', async () => {
    let now = T0;
    const scheduler = new SlaScheduler({ repository, clock: () => now });
    await scheduler.schedule(pending());
    expect(await scheduler.tick()).toHaveLength(0);
    now = later(25);
    expect(await scheduler.tick()).toHaveLength(1);
  });

  it('fires timers set before a restart, once, from a new scheduler over the same repository', async () => {
    const before = new SlaScheduler({ repository: asyncRepository(repository) });
    const record = pending();
    await before.schedule(record);

    const afterRestart = new SlaScheduler({ repository: asyncRepository(repository) });
    const fired = await afterRestart.tick(later(30));
    expect(fired).toEqual([record]);
    expect(fired[0]).not.toBe(record);

    const anotherRestart = new SlaScheduler({ repository: asyncRepository(repository) });
    expect(await anotherRestart.tick(later(30, 1))).toEqual([]);
    expect(await before.tick(later(30, 1))).toEqual([]);
  });

  it('fires again after the lease when the caller died before rescheduling, so no escalation is lost', async () => {
    const scheduler = new SlaScheduler({ repository, leaseMs: 60_000 });
    await scheduler.schedule(pending());
    expect(await scheduler.tick(later(24))).toHaveLength(1);
    expect(await scheduler.tick(later(24, 59_999))).toHaveLength(0);
    expect(await scheduler.tick(later(24, 60_000))).toHaveLength(1);
  });

  it('moves the timer to the escalated due time when the escalated record is scheduled', async () => {
    const scheduler = new SlaScheduler({ repository });
    await scheduler.schedule(pending());
    const [due] = await scheduler.tick(later(24));
    const { record: escalated } = escalate(due, later(24), matrix, directory());
    await scheduler.schedule(escalated);

    expect(await scheduler.tick(later(47))).toEqual([]);
    expect(await scheduler.tick(later(48))).toEqual([escalated]);
  });

  it('removes the timer of a decided approval, and on cancel', async () => {
    const scheduler = new SlaScheduler({ repository });
    const first = pending('RPT-1');
    const second = pending('RPT-2');
    await scheduler.schedule(first);
    await scheduler.schedule(second);
    expect(repository.size).toBe(2);

    await scheduler.schedule(
      decide(first, { decision: 'approve', approver: 'E200', decidedAt: later(1).toISOString() }, [], later(1)).record,
    );
    await scheduler.cancel(timerIdOf(second));
    expect(repository.size).toBe(0);
    expect(await scheduler.tick(later(100))).toEqual([]);
  });

  it('returns at most a batch per tick, earliest first', async () => {
    const scheduler = new SlaScheduler({ repository, batchSize: 2 });
    await scheduler.schedule(pending('RPT-C', later(2)));
    await scheduler.schedule(pending('RPT-A', T0));
    await scheduler.schedule(pending('RPT-B', later(1)));

    const firstBatch = await scheduler.tick(later(30));
    expect(firstBatch.map((record) => record.sourceRef.id)).toEqual(['RPT-A', 'RPT-B']);
    const secondBatch = await scheduler.tick(later(30));
    expect(secondBatch.map((record) => record.sourceRef.id)).toEqual(['RPT-C']);
  });

  it('never hands the same timer to two overlapping ticks', async () => {
    const scheduler = new SlaScheduler({ repository: asyncRepository(repository) });
    await scheduler.schedule(pending());
    const [a, b] = await Promise.all([scheduler.tick(later(30)), scheduler.tick(later(30))]);
    expect(a.length + b.length).toBe(1);
  });

  it('keeps ticking after a failing repository call', async () => {
    let failNext = true;
    const flaky: TimerRepository<ApprovalRecord> = {
      put: (id, dueAt, data) => repository.put(id, dueAt, data),
      delete: (id) => repository.delete(id),
      due: (now, limit) => {
        if (failNext) {
          failNext = false;
          throw new Error('store unavailable');
        }
        return repository.due(now, limit);
      },
    };
    const scheduler = new SlaScheduler({ repository: flaky });
    await scheduler.schedule(pending());
    await expect(scheduler.tick(later(30))).rejects.toThrow('store unavailable');
    expect(await scheduler.tick(later(30))).toHaveLength(1);
  });
});
