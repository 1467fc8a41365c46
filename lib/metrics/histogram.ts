/** A fixed-bucket histogram (Prometheus style: cumulative buckets, sum and count). */
export class Histogram {
  readonly bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = bounds;
    this.#counts = bounds.map(() => 0);
  }

  observe(value: number): void {
    if (!Number.isFinite(value) || value < 0) return;
    this.#sum += value;
    this.#count += 1;
    for (let i = 0; i < this.bounds.length; i++) if (value <= this.bounds[i]!) this.#counts[i]! += 1;
  }

  snapshot(): HistogramSnapshot {
    return {
      count: this.#count,
      sum: this.#sum,
      average: this.#count === 0 ? null : this.#sum / this.#count,
      buckets: this.bounds.map((le, i) => ({ le, count: this.#counts[i]! })),
    };
  }
}

export interface HistogramSnapshot {
  count: number;
  sum: number;
  average: number | null;
  /** Cumulative: how many observations were at most `le`. */
  buckets: Array<{ le: number; count: number }>;
}
