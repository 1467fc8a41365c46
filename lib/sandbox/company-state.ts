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

/** The months (YYYY-MM, both included) open for posting; absent: every month is open. */
export interface OpenPostingPeriods {
  from: string;
  to: string;
}

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
  /**
   * The posting periods open in this company (ERPs close past months at month end). Open for every month by
   * default, so `npm start` and the demos post on any date; tests and demos close periods through
   * openPostingPeriods or POST /_sandbox/companies/{company}/posting-periods. The sandbox's postings and the
   * SAP simulator's supplier invoices (for this company's company code) both refuse a date outside them.
   */
  postingPeriods?: OpenPostingPeriods;
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

  /** Test hook: only the months `from`..`to` (YYYY-MM) are open for posting; no argument opens every month. */
  openPostingPeriods(periods?: OpenPostingPeriods): void {
    if (periods !== undefined && !(isMonth(periods.from) && isMonth(periods.to) && periods.from <= periods.to)) {
      throw new Error('posting periods are { from: "YYYY-MM", to: "YYYY-MM" } with from <= to');
    }
    this.postingPeriods = periods;
  }

  /** Whether a posting dated `date` (YYYY-MM-DD) falls into an open period. */
  isPostingPeriodOpen(date: string): boolean {
    const month = date.slice(0, 7);
    return this.postingPeriods === undefined || (month >= this.postingPeriods.from && month <= this.postingPeriods.to);
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

function isMonth(value: unknown): value is string {
  return typeof value === 'string' && /^\d{4}-(0[1-9]|1[0-2])$/.test(value);
}
