/**
 * What has been spent against budgets: actuals (posted postings) and commitments (open purchase orders), kept
 * as running totals in minor units per period and dimension combination. Budget availability then sums a few
 * dozen totals instead of scanning every document, which keeps budget checks cheap under benchmark load.
 */
import type { Dimensions } from '../model/types';
import type { BudgetDimensions } from './types';

export interface Usage {
  actuals: bigint;
  commitments: bigint;
}

interface UsageEntry extends Usage {
  dimensions: BudgetDimensions;
}

/** One amount charged to one combination of dimensions in one period. */
export interface Charge {
  period: string;
  dimensions: Dimensions;
  minor: bigint;
}

/** True when the budget-relevant dimensions of `candidate` equal every dimension `wanted` names. */
export function matchesDimensions(candidate: BudgetDimensions, wanted: BudgetDimensions): boolean {
  return (
    (wanted.costCenter === undefined || candidate.costCenter === wanted.costCenter) &&
    (wanted.project === undefined || candidate.project === wanted.project) &&
    (wanted.glAccount === undefined || candidate.glAccount === wanted.glAccount)
  );
}

export class BudgetLedger {
  private readonly periods = new Map<string, Map<string, UsageEntry>>();

  /** Adds (sign 1) or removes (sign -1) charges as actuals or commitments. */
  book(charges: readonly Charge[], kind: keyof Usage, sign: 1n | -1n): void {
    for (const charge of charges) {
      const entry = this.entry(charge.period, charge.dimensions);
      entry[kind] += sign * charge.minor;
    }
  }

  usage(period: string, wanted: BudgetDimensions): Usage {
    const total: Usage = { actuals: 0n, commitments: 0n };
    const entries = this.periods.get(period);
    if (!entries) return total;
    for (const entry of entries.values()) {
      if (!matchesDimensions(entry.dimensions, wanted)) continue;
      total.actuals += entry.actuals;
      total.commitments += entry.commitments;
    }
    return total;
  }

  /** Actuals and commitments per cost center, in one period or (without one) in all; charges without a cost center are left out. */
  byCostCenter(period?: string): Map<string, Usage> {
    const totals = new Map<string, Usage>();
    const periods = period === undefined ? [...this.periods.values()] : [this.periods.get(period) ?? new Map()];
    for (const entries of periods) {
      for (const entry of entries.values()) {
        const costCenter = entry.dimensions.costCenter;
        if (costCenter === undefined) continue;
        const total = totals.get(costCenter) ?? { actuals: 0n, commitments: 0n };
        total.actuals += entry.actuals;
        total.commitments += entry.commitments;
        totals.set(costCenter, total);
      }
    }
    return totals;
  }

  private entry(period: string, dimensions: Dimensions): UsageEntry {
    let entries = this.periods.get(period);
    if (!entries) {
      entries = new Map();
      this.periods.set(period, entries);
    }
    const { costCenter, project, glAccount } = dimensions;
    const key = `${costCenter ?? ''}\u0000${project ?? ''}\u0000${glAccount ?? ''}`;
    let entry = entries.get(key);
    if (!entry) {
      entry = { dimensions: { costCenter, project, glAccount }, actuals: 0n, commitments: 0n };
      entries.set(key, entry);
    }
    return entry;
  }
}
