/**
 * The sandbox's whole in-memory state: the companies, the write-backs received, the counters, the
 * Idempotency-Key store and the fault settings. `reset()` returns all of it to the seed.
 */
import { randomUUID } from 'node:crypto';
import { CompanyState } from './company-state';
import { FaultInjector } from './faults';
import { IdempotencyStore } from './idempotency';
import { demoSeed } from './seed';
import type { Counters, Writeback } from './types';

function zeroCounters(): Counters {
  return { requests: 0, writes: 0, duplicateWritesPrevented: 0, faultsInjected: 0, rateLimited: 0 };
}

export class SandboxState {
  readonly companies = new Map<string, CompanyState>();
  readonly writebacks: Writeback[] = [];
  readonly faults: FaultInjector;
  idempotency = new IdempotencyStore();
  counters: Counters = zeroCounters();
  /** ETags come from one sequence that survives resets, so an ETag is never valid for two versions. */
  private etagSequence = 0;

  constructor(
    readonly now: () => Date,
    random: () => number,
  ) {
    this.faults = new FaultInjector(random, now);
    this.reset();
  }

  reset(): void {
    this.companies.clear();
    for (const seed of demoSeed(this.now())) this.companies.set(seed.company.id, new CompanyState(seed));
    this.writebacks.length = 0;
    this.idempotency = new IdempotencyStore();
    this.counters = zeroCounters();
    this.faults.configure({});
  }

  nextEtag(): string {
    this.etagSequence += 1;
    return `"${this.etagSequence}"`;
  }

  newId(): string {
    return randomUUID();
  }

  timestamp(): string {
    return this.now().toISOString();
  }
}
