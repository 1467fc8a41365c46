/**
 * One runner for scheduled work that every host of a shared deployment schedules (SLA escalation checks,
 * polling intakes, master data syncs): at each tick every host asks `mayRun()`, and only the holder of the
 * named lease in the shared store gets true. The holder renews the lease with every tick; when it dies, its
 * lease lapses after `ttlMs` and the next host to tick takes it over. With a store of one host (LMDB) the one
 * host always holds it.
 *
 * The lease must outlive the interval between two ticks of the holder (ttlMs is three intervals by
 * default), or the work would wander between hosts at every tick. A store failure answers false: skipping
 * one run is safe, running twice is not.
 */
import * as os from 'node:os';
import type { FinanceStore } from './store';

export interface SingleRunnerOptions {
  store: () => Pick<FinanceStore, 'claimLease'>;
  /** The lease name: the same on every host for the same work, e.g. "finance-approval/<node id>/sla". */
  name: string;
  /** Who this runner is; unique per host and process (default: runnerHolder()). */
  holder?: string;
  ttlMs: number;
  onError?: (err: unknown) => void;
}

/** Host name and process id: a restarted process is a new holder and waits for the old lease to lapse. */
export function runnerHolder(): string {
  return `${os.hostname()}/${process.pid}`;
}

/** Three ticks, at least ten seconds: a holder that misses two ticks in a row loses the work. */
export function runnerTtlMs(intervalMs: number): number {
  return Math.max(3 * intervalMs, 10_000);
}

export class SingleRunner {
  readonly holder: string;

  constructor(private readonly options: SingleRunnerOptions) {
    this.holder = options.holder ?? runnerHolder();
  }

  async mayRun(): Promise<boolean> {
    try {
      return await this.options.store().claimLease(this.options.name, this.holder, this.options.ttlMs);
    } catch (err) {
      this.options.onError?.(err);
      return false;
    }
  }
}
