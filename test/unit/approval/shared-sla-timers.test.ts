/**
 * SLA timers of several hosts sharing one store (PostgreSQL, and LMDB for the single-host case): each due
 * timer fires on one host only, the host holding the "sla" lease; when that host dies the lease lapses and
 * another host fires the timers from then on.
 */
import { compileMatrix } from '../../../lib/approval/matrix';
import { start, type ApprovalRecord } from '../../../lib/approval/process';
import { planApproval } from '../../../lib/approval/route';
import { StoreTimerRepository } from '../../../lib/approval/store-timers';
import { SlaScheduler, timerIdOf } from '../../../lib/approval/timers';
import { SingleRunner, runnerTtlMs } from '../../../lib/reliability/single-runner';
import type { FinanceStore } from '../../../lib/reliability/store';
import { BACKENDS, manualClock, storeSandbox } from '../store/store-fixture';
import { directory, matrixConfig, report } from './fixtures';

const T0 = Date.parse('2025-03-12T09:00:00.000Z');
const HOUR = 3_600_000;
const NS = 'finance-approval/n1/timers';
const TICK_MS = 60_000;

describe.each(BACKENDS)('SLA timers shared by hosts (%s)', (backend) => {
  const sandbox = storeSandbox('shared-sla', backend);
  afterAll(() => sandbox.cleanup());

  function pendingRecords(ids: string[]): ApprovalRecord[] {
    const matrix = compileMatrix(matrixConfig());
    return ids.map((id) => {
      const base = report({ amount: '500.00' });
      const document = { ...base, reportId: id, sourceRef: { ...base.sourceRef, id } };
      return start(planApproval({ report: document, directory: directory() }, matrix), new Date(T0));
    });
  }

  it('fires each due timer once across three hosts, and moves to another host when the holder dies', async () => {
    const clock = manualClock(T0);
    const location = sandbox.newPath();
    const stores: FinanceStore[] =
      backend === 'postgres'
        ? [0, 1, 2].map(() => sandbox.open({ path: location, now: clock.now }))
        : [sandbox.open({ path: location, now: clock.now })];
    const hosts = ['host-a', 'host-b', 'host-c'].map((holder, i) => {
      const store = stores[i % stores.length];
      const runner = new SingleRunner({ store: () => store, name: `${NS}/sla`, holder, ttlMs: runnerTtlMs(TICK_MS) });
      return new SlaScheduler({
        repository: new StoreTimerRepository<ApprovalRecord>(store, NS),
        clock: () => new Date(clock.now()),
        mayRun: () => runner.mayRun(),
      });
    });
    const records = pendingRecords(['R-1', 'R-2', 'R-3', 'R-4', 'R-5']);
    for (const record of records) await hosts[0].schedule(record);

    // All hosts tick every minute, a day and a bit later; each record fires once, all on one host.
    clock.advance(24 * HOUR);
    const firedBy: string[][] = [[], [], []];
    for (let minute = 0; minute < 3; minute++) {
      for (const [i, host] of hosts.entries()) {
        for (const record of await host.tick()) {
          firedBy[i].push(record.sourceRef.id);
          await host.cancel(timerIdOf(record)); // escalated: the workflow schedules or cancels the timer
        }
      }
      clock.advance(TICK_MS);
    }
    expect(firedBy.flat().sort()).toEqual(records.map((record) => record.sourceRef.id).sort());
    const holder = firedBy.findIndex((ids) => ids.length > 0);
    expect(firedBy.filter((ids) => ids.length > 0)).toHaveLength(1);

    // The holder dies (stops ticking) and a new timer comes due: the others leave it while the dead holder's
    // lease runs, then one of them takes the lease over and fires it, once.
    const survivors = hosts.filter((_, i) => i !== holder);
    await survivors[0].schedule(pendingRecords(['R-late'])[0]);
    const fired = async () => {
      const ids: string[] = [];
      for (const host of survivors) for (const record of await host.tick()) ids.push(record.sourceRef.id);
      return ids;
    };
    expect(await fired()).toEqual([]);
    clock.advance(runnerTtlMs(TICK_MS));
    expect(await fired()).toEqual(['R-late']);
    clock.advance(TICK_MS);
    expect(await fired()).toEqual([]);
  });
});
