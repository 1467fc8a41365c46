/**
 * What the metrics read at the moment they are asked for, on top of the counters: the dead letters still
 * open (from the store) and committed vs actual spend per cost center (from the ERP). Both are labelled
 * through the registry's bounded labels (labels.ts).
 */
import type { CallContext, CostCenterSpend, ErpDialect } from '../erp/dialect';
import { isRecord } from '../erp/records';
import { FinanceError } from '../errors';
import { minorOf, formatMinorUnits } from '../model/money';
import { processOf } from '../observe/observation';
import { DLQ_NAMESPACE } from '../reliability/dead-letters';
import type { FinanceStore } from '../reliability/store';
import type { FullSnapshot } from './prometheus';
import type { MetricsRegistry } from './registry';

export interface DeadLettersOpen {
  system: string;
  process: string;
  open: number;
}

export interface DeadLetterCount {
  items: DeadLettersOpen[];
  /** More letters than MAX_LETTERS_SCANNED: the items count only the first ones. */
  truncated: boolean;
}

/** Letters read at most per count; a larger queue is reported as at least this many (`truncated`). */
export const MAX_LETTERS_SCANNED = 50_000;
/**
 * Letters read per page, between which the event loop runs. A page of 1,000 letters of about 1 KB held the loop
 * for 60-100 ms in a probe; 200 keeps each turn to a fraction of that.
 */
const PAGE = 200;
/**
 * How long a dead-letter count is served before the store is read again. Counting reads up to 50,000 letters
 * (seconds of the store's synchronous reads), so scrapes and snapshots in this window share one count.
 */
export const DEAD_LETTERS_MAX_AGE_MS = 15_000;

/**
 * Lets timers, I/O and HTTP requests run: LMDB reads are synchronous, and an `await` between pages alone
 * only lets promise callbacks run, so a large queue would stall the runtime for the whole count.
 */
function nextTurnOfEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Open dead letters of every queue in the store, per source system and process. The source is what the sender
 * wrote, so it is named through `systemLabel` (MetricsRegistry.systemLabel), which bounds the distinct labels.
 */
export async function deadLettersOpen(
  store: Pick<FinanceStore, 'kvList'>,
  systemLabel: (system: string) => string,
): Promise<DeadLetterCount> {
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
      const system = systemLabel(typeof letter.source === 'string' ? letter.source : 'unknown');
      const process = processOf(letter.docType);
      const key = `${system}\u0000${process}`;
      const item = counts.get(key) ?? { system, process, open: 0 };
      item.open += 1;
      counts.set(key, item);
    }
    if (page.length < PAGE) return { items: [...counts.values()], truncated: false };
    if (scanned >= MAX_LETTERS_SCANNED) return { items: [...counts.values()], truncated: true };
    after = page[page.length - 1]!.key;
    await nextTurnOfEventLoop();
  }
}

/**
 * Counts the open dead letters of the store at most once per DEAD_LETTERS_MAX_AGE_MS, one count shared by
 * concurrent callers: the public endpoint has no auth, so each scrape must not start a count of its own.
 */
export function cachedDeadLetterCount(
  store: () => Pick<FinanceStore, 'kvList'>,
  systemLabel: (system: string) => string,
  now: () => number = () => Date.now(),
): () => Promise<DeadLetterCount> {
  const cache = new ReadCache(() => deadLettersOpen(store(), systemLabel), DEAD_LETTERS_MAX_AGE_MS, now);
  return () => cache.get();
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

/**
 * Committed vs actual spend per cost center from the ERP; an ERP without the report gives none. The currency
 * of every figure is an ISO 4217 code (minorOf refuses any other with UNKNOWN_CURRENCY), so as a label it is
 * bounded; the cost center is not (boundedSpend).
 */
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

/**
 * The figures with each cost center under its bounded label (MetricsRegistry.costCenterLabel): the cost centers
 * past the limit are added up per ERP and currency under cost_center="other", so every series is one figure.
 * New objects: the figures read are shared by the scrapes of the next minutes (ReadCache).
 */
export function boundedSpend(figures: SpendFigure[], costCenterLabel: (costCenter: string) => string): SpendFigure[] {
  const bySeries = new Map<string, SpendFigure[]>();
  for (const figure of figures) {
    const labelled = { ...figure, costCenter: costCenterLabel(figure.costCenter) };
    const series = `${labelled.erp}\u0000${labelled.costCenter}\u0000${labelled.currency}`;
    const same = bySeries.get(series);
    if (same) same.push(labelled);
    else bySeries.set(series, [labelled]);
  }
  return [...bySeries.values()].map((same) => (same.length === 1 ? same[0]! : addedUp(same)));
}

/** Figures of one ERP, label and currency added up in minor units, each amount read once. */
function addedUp(figures: SpendFigure[]): SpendFigure {
  const first = figures[0]!;
  const currency = first.currency;
  const sum = (amounts: string[]) => amounts.reduce((total, amount) => total + minorOf({ amount, currency }), 0n);
  const committed = sum(figures.map((figure) => figure.committed));
  const actual = sum(figures.map((figure) => figure.actual));
  return {
    ...first,
    committed: formatMinorUnits(committed, currency),
    actual: formatMinorUnits(actual, currency),
    total: formatMinorUnits(committed + actual, currency),
  };
}

export interface CollectOptions {
  registry: Pick<MetricsRegistry, 'snapshot' | 'costCenterLabel'>;
  /** Counts the open dead letters (usually cachedDeadLetterCount); none: no dead-letter figures. */
  deadLetters?: () => Promise<DeadLetterCount>;
  /** Reads the spend figures (usually a ReadCache); none: no spend figures. */
  spend?: () => Promise<SpendFigure[]>;
}

/**
 * The counters plus what is read now. A part that cannot be read (store closed, ERP down) is left out and
 * named in `problems`, so the rest of the figures still arrive.
 */
export async function collectSnapshot(options: CollectOptions): Promise<FullSnapshot> {
  const problems: string[] = [];
  const [deadLetters, spend] = await Promise.all([
    options.deadLetters
      ? options.deadLetters().then(
          (result) => {
            if (result.truncated) problems.push(`dead letters: only the first ${MAX_LETTERS_SCANNED} were counted`);
            // Copies: the count is shared by the scrapes of the next seconds, the snapshot goes to a flow.
            return result.items.map((item) => ({ ...item }));
          },
          (err: Error) => {
            problems.push(`dead letters: ${err.message}`);
            return [];
          },
        )
      : [],
    options.spend
      ? options
          .spend()
          .then((figures) => boundedSpend(figures, options.registry.costCenterLabel))
          .catch((err: Error) => {
            problems.push(`spend: ${err.message}`);
            return [];
          })
      : [],
  ]);
  return { ...options.registry.snapshot(), deadLetters, spend, problems };
}

/**
 * Reads something costly (spend from the ERP, the dead-letter count) at most once per `maxAgeMs`; concurrent
 * scrapes share one read. A failed read is not kept, so the next scrape tries again.
 */
export class ReadCache<T> {
  #kept: { at: number; value: T } | undefined;
  #reading: Promise<T> | undefined;

  constructor(
    private readonly read: () => Promise<T>,
    private readonly maxAgeMs: number,
    private readonly now: () => number = () => Date.now(),
  ) {}

  get(): Promise<T> {
    if (this.#kept && this.now() - this.#kept.at < this.maxAgeMs) return Promise.resolve(this.#kept.value);
    this.#reading ??= this.read()
      .then((value) => {
        this.#kept = { at: this.now(), value };
        return value;
      })
      .finally(() => {
        this.#reading = undefined;
      });
    return this.#reading;
  }
}
