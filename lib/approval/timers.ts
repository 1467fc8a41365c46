/**
 * Durable SLA timers. A pending approval's due time is written to a repository (the node backs it with the
 * durable store, so timers outlive a restart); `tick` asks the repository what is due. Nothing here waits on
 * its own: the caller passes the time in (ApprovalWorkflow.startSla polls).
 *
 * Firing once: `tick` does not delete a due timer, it leases it by moving its due time `leaseMs` ahead.
 * Another tick, or a new scheduler after a restart, does not see it again during the lease. The caller then
 * `schedule`s the escalated record (a new due time) or `cancel`s it; if the process dies before that, the
 * timer fires again when the lease runs out, so an escalation is never lost to a crash.
 */
import { currentEntry, type ApprovalRecord } from './process';

type Awaitable<T> = T | Promise<T>;

export interface DueTimer<T> {
  id: string;
  /** Epoch milliseconds. */
  dueAt: number;
  data: T;
}

export interface TimerRepository<T> {
  /** Creates or replaces the timer `id`. */
  put(id: string, dueAt: number, data: T): Awaitable<void>;
  /** Removes the timer `id`; removing one that does not exist is not an error. */
  delete(id: string): Awaitable<void>;
  /** Up to `limit` timers with dueAt <= now, earliest first. */
  due(now: number, limit: number): Awaitable<DueTimer<T>[]>;
}

/** A repository in memory, for tests and for hosts without a store. Data is copied in and out, as a store would. */
export class MemoryTimerRepository<T> implements TimerRepository<T> {
  private readonly timers = new Map<string, DueTimer<T>>();

  put(id: string, dueAt: number, data: T): void {
    this.timers.set(id, { id, dueAt, data: structuredClone(data) });
  }

  delete(id: string): void {
    this.timers.delete(id);
  }

  due(now: number, limit: number): DueTimer<T>[] {
    return [...this.timers.values()]
      .filter((timer) => timer.dueAt <= now)
      .sort((a, b) => a.dueAt - b.dueAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .slice(0, limit)
      .map((timer) => structuredClone(timer));
  }

  get size(): number {
    return this.timers.size;
  }
}

export interface SlaSchedulerOptions {
  repository: TimerRepository<ApprovalRecord>;
  clock?: () => Date;
  /** How long a fired timer stays claimed before it fires again unless rescheduled or cancelled. Default 5 min. */
  leaseMs?: number;
  /** Most timers returned by one tick. Default 100. */
  batchSize?: number;
  /**
   * Asked before each tick claims due timers; false skips the tick. Several hosts sharing one store pass a
   * SingleRunner's mayRun, so one host fires the timers and another takes over when it dies.
   */
  mayRun?: () => Promise<boolean>;
}

export const DEFAULT_LEASE_MS = 5 * 60 * 1000;
export const DEFAULT_BATCH_SIZE = 100;

/** The timer id of an approval: one timer per source document. */
export function timerIdOf(record: ApprovalRecord): string {
  return `approval:${record.sourceRef.system}:${record.sourceRef.id}`;
}

export class SlaScheduler {
  private readonly repository: TimerRepository<ApprovalRecord>;
  private readonly clock: () => Date;
  private readonly leaseMs: number;
  private readonly batchSize: number;
  private readonly mayRun?: () => Promise<boolean>;
  /** Ticks run one after another so two of them never claim the same timer. */
  private ticking: Promise<unknown> = Promise.resolve();

  constructor(options: SlaSchedulerOptions) {
    this.repository = options.repository;
    this.clock = options.clock ?? (() => new Date());
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    this.mayRun = options.mayRun;
  }

  /** Sets the timer to the current stage's due time; a decided approval has no timer, so its timer is removed. */
  async schedule(record: ApprovalRecord): Promise<void> {
    const dueAt = currentEntry(record)?.dueAt;
    if (dueAt === undefined) {
      await this.repository.delete(timerIdOf(record));
      return;
    }
    await this.repository.put(timerIdOf(record), Date.parse(dueAt), record);
  }

  async cancel(id: string): Promise<void> {
    await this.repository.delete(id);
  }

  /** The records whose SLA ran out by `now`, each claimed for the lease so it is returned once. */
  tick(now: Date = this.clock()): Promise<ApprovalRecord[]> {
    const run = this.ticking.then(() => this.claimDue(now.getTime()));
    this.ticking = run.catch(() => undefined);
    return run;
  }

  private async claimDue(now: number): Promise<ApprovalRecord[]> {
    if (this.mayRun && !(await this.mayRun())) return [];
    const due = await this.repository.due(now, this.batchSize);
    for (const timer of due) {
      await this.repository.put(timer.id, now + this.leaseMs, timer.data);
    }
    return due.map((timer) => timer.data);
  }
}
