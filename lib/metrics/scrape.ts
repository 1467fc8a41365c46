/**
 * What the metrics read at the moment they are asked for, on top of the counters: the dead letters still
 * open (from the store) and committed vs actual spend per cost center (from the ERP).
 */
import type { CallContext, CostCenterSpend, ErpDialect } from '../erp/dialect';
import { isRecord } from '../erp/records';
import { FinanceError } from '../errors';
import { minorOf, formatMinorUnits } from '../model/money';
import { processOf } from '../observe/observation';
import { DLQ_NAMESPACE } from '../reliability/dead-letters';
import type { FinanceStore } from '../reliability/store';
import type { FullSnapshot } from './prometheus';
import type { MetricsSnapshot } from './registry';

export interface DeadLettersOpen {
  system: string;
  process: string;
  open: number;
}

/** Letters read at most per scrape; a larger queue is reported as at least this many (`truncated`). */
export const MAX_LETTERS_SCANNED = 50_000;
const PAGE = 1000;

/** Open dead letters of every queue in the store, per source system and process. */
export async function deadLettersOpen(
  store: Pick<FinanceStore, 'kvList'>,
): Promise<{ items: DeadLettersOpen[]; truncated: boolean }> {
  const counts = new Map<string, DeadLettersOpen>();
  let after: string | undefined;
  let scanned = 0;
  for (;;) {
    const page = await store.kvList(DLQ_NAMESPACE, { after, limit: PAGE });
    for (const entry of page) {
      scanned += 1;
      // Natural-key entries point at a letter by id (a string); letters are stored as { letter, naturalKeys }.
      const letter = isRecord(entry.value) && isRecord(entry.value.letter) ? entry.value.letter : undefined;
      if (!letter || letter.status !== 'open') continue;
      const system = typeof letter.source === 'string' ? letter.source : 'unknown';
      const process = processOf(letter.docType);
      const key = `${system}\u0000${process}`;
      const item = counts.get(key) ?? { system, process, open: 0 };
      item.open += 1;
      counts.set(key, item);
    }
    if (page.length < PAGE) return { items: [...counts.values()], truncated: false };
    if (scanned >= MAX_LETTERS_SCANNED) return { items: [...counts.values()], truncated: true };
    after = page[page.length - 1]!.key;
  }
}

export interface SpendFigure {
  erp: string;
  costCenter: string;
  currency: string;
  /** Decimal strings in the currency's exponent, made from integer minor units. */
  committed: string;
  actual: string;
  /** actual + committed: what the cost center has used or promised. */
  total: string;
}

/** Committed vs actual spend per cost center from the ERP; an ERP without the report gives none. */
export async function spendFigures(erp: string, dialect: ErpDialect, ctx: CallContext): Promise<SpendFigure[]> {
  if (!dialect.spendByCostCenter) return [];
  const items: CostCenterSpend[] = await dialect.spendByCostCenter({}, ctx);
  return items.map((item) => {
    const currency = item.committed.currency;
    const committed = minorOf(item.committed);
    if (item.actual.currency !== currency) {
      throw new FinanceError(
        'ERP_REJECTED',
        `ERP "${erp}" reported cost center ${item.costCenter} in two currencies (${currency}, ${item.actual.currency}); spend figures are not added across currencies.`,
      );
    }
    const actual = minorOf(item.actual);
    return {
      erp,
      costCenter: item.costCenter,
      currency,
      committed: formatMinorUnits(committed, currency),
      actual: formatMinorUnits(actual, currency),
      total: formatMinorUnits(committed + actual, currency),
    };
  });
}

export interface CollectOptions {
  registry: { snapshot(): MetricsSnapshot };
  /** The store whose dead letters are counted; none: no dead-letter figures. */
  store?: () => Pick<FinanceStore, 'kvList'>;
  /** Reads the spend figures (usually a SpendCache); none: no spend figures. */
  spend?: () => Promise<SpendFigure[]>;
}

/**
 * The counters plus what is read now. A part that cannot be read (store closed, ERP down) is left out and
 * named in `problems`, so the rest of the figures still arrive.
 */
export async function collectSnapshot(options: CollectOptions): Promise<FullSnapshot> {
  const problems: string[] = [];
  const [deadLetters, spend] = await Promise.all([
    options.store
      ? deadLettersOpen(options.store()).then(
          (result) => {
            if (result.truncated) problems.push(`dead letters: only the first ${MAX_LETTERS_SCANNED} were counted`);
            return result.items;
          },
          (err: Error) => {
            problems.push(`dead letters: ${err.message}`);
            return [];
          },
        )
      : [],
    options.spend
      ? options.spend().catch((err: Error) => {
          problems.push(`spend: ${err.message}`);
          return [];
        })
      : [],
  ]);
  return { ...options.registry.snapshot(), deadLetters, spend, problems };
}

/** Reads spend from the ERP at most once per `maxAgeMs`; concurrent scrapes share one read. */
export class SpendCache {
  #value: { at: number; figures: SpendFigure[] } | undefined;
  #reading: Promise<SpendFigure[]> | undefined;

  constructor(
    private readonly read: () => Promise<SpendFigure[]>,
    private readonly maxAgeMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<SpendFigure[]> {
    if (this.#value && this.now() - this.#value.at < this.maxAgeMs) return Promise.resolve(this.#value.figures);
    this.#reading ??= this.read()
      .then((figures) => {
        this.#value = { at: this.now(), figures };
        return figures;
      })
      .finally(() => {
        this.#reading = undefined;
      });
    return this.#reading;
  }
}
