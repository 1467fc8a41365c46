/**
 * Label values that come from outside the configuration are bounded here: what senders write (an event's
 * CloudEvents `source`, a dead letter's source) and the cost centers an ERP reports. Every distinct value is a
 * series in every family, kept until Node-RED restarts and written on every scrape, so a sender choosing a new
 * source per event, or an ERP with thousands of cost centers, would otherwise grow memory and scrapes without end.
 * The other labels are bounded already: `erp` names a configured connection, `currency` is an ISO 4217 code
 * (spendFigures refuses any other), `process` and `status` come from fixed lists.
 */

/**
 * Distinct systems that keep their own label. A runtime syncs a handful of expense platforms and ERPs; 50 leaves
 * room for per-tenant sources while keeping a scrape at a few thousand series.
 */
export const MAX_SYSTEM_LABELS = 50;
/**
 * Distinct cost centers that keep their own label in the spend figures. A mid-size company has a few hundred
 * cost centers, each worth a line on a dashboard; 500 keeps them all at 1,000 spend series (committed and
 * actual). An ERP that reports thousands (a group with every subsidiary's centers) is counted past that under
 * cost_center="other", instead of adding thousands of series to every scrape.
 */
export const MAX_COST_CENTER_LABELS = 500;
/** Characters a label value keeps: enough for "concur:ACME" or a URL's host and tenant, far below 512-byte sources. */
export const MAX_LABEL_LENGTH = 64;
/** The label the values past the limit are counted under. */
export const OTHER_LABEL = 'other';
/** The label the systems past the limit are counted under. */
export const OTHER_SYSTEM = OTHER_LABEL;

/** The value cut to MAX_LABEL_LENGTH characters, never between the two halves of a surrogate pair. */
export function shortLabel(value: string): string {
  if (value.length <= MAX_LABEL_LENGTH) return value;
  const end = isHighSurrogate(value.charCodeAt(MAX_LABEL_LENGTH - 1)) ? MAX_LABEL_LENGTH - 1 : MAX_LABEL_LENGTH;
  return value.slice(0, end);
}

function isHighSurrogate(code: number): boolean {
  return code >= 0xd800 && code <= 0xdbff;
}

/** The first `limit` distinct values keep their own (shortened) label; later new ones become OTHER_LABEL. */
export class BoundedLabels {
  readonly #admitted = new Set<string>();
  #folded = false;

  constructor(readonly limit: number = MAX_SYSTEM_LABELS) {}

  labelOf(value: string): string {
    const label = shortLabel(value);
    if (this.#admitted.has(label)) return label;
    if (this.#admitted.size < this.limit) {
      this.#admitted.add(label);
      return label;
    }
    this.#folded = true;
    return OTHER_LABEL;
  }

  /** True once a value was counted under OTHER_LABEL because the limit was reached. */
  get folded(): boolean {
    return this.#folded;
  }
}
