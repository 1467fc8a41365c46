import { compileMatrix } from '../../../lib/approval/matrix';
import { start, type ApprovalRecord } from '../../../lib/approval/process';
import { planApproval } from '../../../lib/approval/route';
import { StoreTimerRepository } from '../../../lib/approval/store-timers';
import { SlaScheduler } from '../../../lib/approval/timers';
import type { FinanceStore } from '../../../lib/reliability/store';
import { storeSandbox } from '../store/store-fixture';
import { directory, matrixConfig, report } from './fixtures';

const T0 = Date.parse('2025-03-12T09:00:00.000Z');
const HOUR = 3_600_000;
const NS = 'finance-approval/n1/timers';

describe('StoreTimerRepository', () => {
  const sandbox = storeSandbox('approval-timers');
  let path: string;
  let store: FinanceStore;
  beforeEach(() => {
    path = sandbox.newPath();
    store = sandbox.open({ path });
  });
  afterAll(() => sandbox.cleanup());

  it('returns due timers earliest first, up to the limit, and not the ones still ahead', async () => {
    const timers = new StoreTimerRepository<string>(store, NS);
    await timers.put('c', T0 + 3 * HOUR, 'third');
    await timers.put('a', T0 + HOUR, 'first');
    await timers.put('b', T0 + 2 * HOUR, 'second');

    expect(await timers.due(T0, 10)).toEqual([]);
    expect((await timers.due(T0 + 2 * HOUR, 10)).map((timer) => timer.data)).toEqual(['first', 'second']);
    expect(await timers.due(T0 + 5 * HOUR, 2)).toEqual([
      { id: 'a', dueAt: T0 + HOUR, data: 'first' },
      { id: 'b', dueAt: T0 + 2 * HOUR, data: 'second' },
    ]);
  });

  it('moves a timer when it is put again, and forgets it on delete', async () => {
    const timers = new StoreTimerRepository<string>(store, NS);
    await timers.put('a', T0 + HOUR, 'v1');
    await timers.put('a', T0 + 4 * HOUR, 'v2');
    expect(await timers.due(T0 + 3 * HOUR, 10)).toEqual([]);
    expect(await timers.due(T0 + 4 * HOUR, 10)).toEqual([{ id: 'a', dueAt: T0 + 4 * HOUR, data: 'v2' }]);

    await timers.delete('a');
    await timers.delete('never-set');
    expect(await timers.due(T0 + 10 * HOUR, 10)).toEqual([]);
    expect(await store.kvList(NS)).toEqual([]);
  });

  it('keeps namespaces apart', async () => {
    await new StoreTimerRepository<string>(store, 'node-a').put('x', T0, 'a');
    await new StoreTimerRepository<string>(store, 'node-b').put('x', T0, 'b');
    expect((await new StoreTimerRepository<string>(store, 'node-a').due(T0, 10)).map((t) => t.data)).toEqual(['a']);
  });

  it('removes an entry left over by a move that a crash interrupted, instead of firing it', async () => {
    const timers = new StoreTimerRepository<string>(store, NS);
    await timers.put('a', T0 + 2 * HOUR, 'current');
    // What a crash between writing the new entry and deleting the old one leaves behind.
    await store.kvPut(NS, `at:${String(T0 + HOUR).padStart(15, '0')}:a`, { id: 'a', dueAt: T0 + HOUR, data: 'old' });

    expect(await timers.due(T0 + HOUR, 10)).toEqual([]);
    expect(await timers.due(T0 + 2 * HOUR, 10)).toEqual([{ id: 'a', dueAt: T0 + 2 * HOUR, data: 'current' }]);
    expect((await store.kvList(NS)).map((entry) => entry.key)).toEqual([
      `at:${String(T0 + 2 * HOUR).padStart(15, '0')}:a`,
      'id:a',
    ]);
  });

  it('refuses a due time that is not epoch milliseconds', async () => {
    const timers = new StoreTimerRepository<string>(store, NS);
    await expect(timers.put('a', Number.NaN, 'x')).rejects.toThrow(RangeError);
    await expect(timers.put('a', 1.5, 'x')).rejects.toThrow(RangeError);
  });

  it('lets an SLA scheduler fire timers set before a restart, once', async () => {
    const matrix = compileMatrix(matrixConfig());
    const record: ApprovalRecord = start(
      planApproval({ report: report({ amount: '500.00' }), directory: directory() }, matrix),
      new Date(T0),
    );
    await new SlaScheduler({ repository: new StoreTimerRepository(store, NS) }).schedule(record);
    await store.close();

    const reopened = sandbox.open({ path });
    const scheduler = new SlaScheduler({ repository: new StoreTimerRepository<ApprovalRecord>(reopened, NS) });
    expect(await scheduler.tick(new Date(T0 + 23 * HOUR))).toEqual([]);
    expect(await scheduler.tick(new Date(T0 + 24 * HOUR))).toEqual([record]);
    expect(await scheduler.tick(new Date(T0 + 24 * HOUR + 1))).toEqual([]);
  });
});
