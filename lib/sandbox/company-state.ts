/**
 * Everything one company of the sandbox holds: master data, budgets, documents and number series. Look-ups
 * the hot paths need (by id, by external reference, budgets by period) are Maps, so a request never scans
 * the document list.
 */
import type { MasterDataKind } from '../model/types';
import { BudgetLedger } from './budget-ledger';
import {
  MASTER_DATA_KINDS,
  type BudgetLine,
  type Company,
  type MasterRecord,
  type PostingDoc,
  type PurchaseOrderDoc,
  type SeedCompany,
} from './types';

export type NumberSeries = 'PO' | 'JNL' | 'PAY';

export class CompanyState {
  readonly company: Company;
  readonly master = new Map<MasterDataKind, Map<string, MasterRecord>>();
  readonly budgets: readonly BudgetLine[];
  readonly budgetsByPeriod = new Map<string, BudgetLine[]>();
  readonly purchaseOrders = new Map<string, PurchaseOrderDoc>();
  readonly purchaseOrderByReference = new Map<string, string>();
  readonly postings = new Map<string, PostingDoc>();
  readonly postingByReference = new Map<string, string>();
  readonly ledger = new BudgetLedger();
  private readonly series: Record<NumberSeries, number> = { PO: 0, JNL: 0, PAY: 0 };
  /** The latest master-data modification time handed out, in epoch milliseconds. */
  private lastModifiedMs = 0;

  constructor(seed: SeedCompany) {
    this.company = seed.company;
    for (const kind of MASTER_DATA_KINDS) {
      const records = new Map<string, MasterRecord>();
      for (const record of seed.master[kind]) {
        records.set(record.id, record);
        this.lastModifiedMs = Math.max(this.lastModifiedMs, Date.parse(record.modifiedAt));
      }
      this.master.set(kind, records);
    }
    this.budgets = seed.budgets;
    for (const line of seed.budgets) {
      const lines = this.budgetsByPeriod.get(line.period) ?? [];
      lines.push(line);
      this.budgetsByPeriod.set(line.period, lines);
    }
  }

  records(kind: MasterDataKind): Map<string, MasterRecord> {
    const records = this.master.get(kind);
    if (!records) throw new Error(`no master data of kind ${kind}`);
    return records;
  }

  /** The next number of a series: PO-000001, JNL-000001, PAY-000001. */
  nextNumber(series: NumberSeries): string {
    this.series[series] += 1;
    return `${series}-${String(this.series[series]).padStart(6, '0')}`;
  }

  /**
   * A modification time for a master record: the clock, but always after the previous one. Paging orders by
   * (modifiedAt, id); a strictly later time guarantees a record changed during a sync sorts behind any cursor
   * handed out before the change, so the sync sees it again.
   */
  nextModifiedAt(now: Date): string {
    this.lastModifiedMs = Math.max(now.getTime(), this.lastModifiedMs + 1);
    return new Date(this.lastModifiedMs).toISOString();
  }
}
