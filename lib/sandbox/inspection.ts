/**
 * GET /_sandbox/state: everything a test or a demo needs to prove what happened (each document once, the
 * budgets with their consumption, the write-backs, the counters). Heavier than an API call by design; it is
 * not on the hot path.
 */
import { budgetUsage } from './budgets';
import type { SandboxState } from './state';

export function stateSnapshot(state: SandboxState): Record<string, unknown> {
  const companies = [...state.companies.values()];
  return {
    companies: companies.map((company) => company.company),
    purchaseOrders: companies.flatMap((company) => [...company.purchaseOrders.values()]),
    postings: companies.flatMap((company) => [...company.postings.values()]),
    budgets: companies.flatMap((company) => budgetUsage(company)),
    writebacks: state.writebacks,
    faults: state.faults.current,
    counters: state.counters,
  };
}
