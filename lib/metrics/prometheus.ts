/**
 * The Prometheus text exposition format (version 0.0.4) of a metrics snapshot. Money is written as the
 * decimal string made from integer minor units, never through a float.
 */
import type { HistogramSnapshot } from './histogram';
import type { MetricsSnapshot } from './registry';
import type { DeadLettersOpen, SpendFigure } from './scrape';

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export interface FullSnapshot extends MetricsSnapshot {
  deadLetters: DeadLettersOpen[];
  spend: SpendFigure[];
  /** What could not be read for this snapshot (e.g. the ERP was down), so a dashboard can say so. */
  problems: string[];
}

type Labels = Record<string, string>;

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabel(value)}"`);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

class Exposition {
  readonly #lines: string[] = [];

  family(
    name: string,
    type: 'counter' | 'gauge' | 'histogram',
    help: string,
    samples: Array<[Labels, string | number]>,
  ): void {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) this.#lines.push(`${name}${labelText(labels)} ${value}`);
  }

  histogram(name: string, help: string, series: Array<[Labels, HistogramSnapshot]>): void {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} histogram`);
    for (const [labels, histogram] of series) {
      for (const bucket of histogram.buckets) {
        this.#lines.push(`${name}_bucket${labelText({ ...labels, le: String(bucket.le) })} ${bucket.count}`);
      }
      this.#lines.push(`${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${histogram.count}`);
      this.#lines.push(`${name}_sum${labelText(labels)} ${histogram.sum}`);
      this.#lines.push(`${name}_count${labelText(labels)} ${histogram.count}`);
    }
  }

  text(): string {
    return this.#lines.join('\n') + '\n';
  }
}

export function toPrometheus(snapshot: FullSnapshot): string {
  const out = new Exposition();
  const per = (pick: (p: MetricsSnapshot['processes'][number]) => number | null) =>
    snapshot.processes
      .map((p) => [{ system: p.system, process: p.process }, pick(p)] as [Labels, number | null])
      .filter((sample): sample is [Labels, number] => sample[1] !== null);
  out.family(
    'finance_events_accepted_total',
    'counter',
    'Events the intake accepted (stored, then acknowledged).',
    per((p) => p.accepted),
  );
  out.family(
    'finance_events_completed_total',
    'counter',
    'Events that reached a successful end (posted, synced, written back), each counted once.',
    per((p) => p.completed),
  );
  out.family(
    'finance_events_refused_total',
    'counter',
    'Events refused: rejected at intake, invalid mapping, or refused by the ERP or the source.',
    per((p) => p.refused),
  );
  out.family(
    'finance_duplicates_suppressed_total',
    'counter',
    'Duplicate deliveries acknowledged and not processed again.',
    per((p) => p.duplicatesSuppressed),
  );
  out.family(
    'finance_failures_total',
    'counter',
    'Technical failures reported to Catch nodes (after the retry policy gave up).',
    per((p) => p.failed),
  );
  out.family(
    'finance_retries_total',
    'counter',
    'Retries scheduled, by the nodes themselves or by finance-retry.',
    per((p) => p.retries),
  );
  out.family(
    'finance_dead_letters_open',
    'gauge',
    'Dead letters waiting for a person.',
    snapshot.deadLetters.map((d) => [{ system: d.system, process: d.process }, d.open]),
  );
  out.family(
    'finance_postings_total',
    'counter',
    'Postings by result: posted at the first attempt, posted after retries, refused, failed.',
    snapshot.processes
      .flatMap(
        (p) =>
          [
            [{ system: p.system, process: p.process, result: 'first_pass' }, p.postings.firstPass],
            [{ system: p.system, process: p.process, result: 'after_retry' }, p.postings.afterRetry],
            [{ system: p.system, process: p.process, result: 'refused' }, p.postings.refused],
            [{ system: p.system, process: p.process, result: 'failed' }, p.postings.failed],
          ] as Array<[Labels, number]>,
      )
      .filter(([, value]) => value > 0),
  );
  out.family(
    'finance_posting_first_pass_ratio',
    'gauge',
    'Share of postings posted at their first attempt.',
    per((p) => p.firstPassPostingRate),
  );
  out.family(
    'finance_exception_ratio',
    'gauge',
    'Refused and failed events per event received.',
    per((p) => p.exceptionRate),
  );
  out.histogram(
    'finance_approval_cycle_seconds',
    'Approval cycle time from submission to the final decision.',
    snapshot.processes
      .filter((p) => p.approvalCycleSeconds.count > 0)
      .map((p) => [{ system: p.system, process: p.process }, p.approvalCycleSeconds]),
  );
  out.histogram(
    'finance_erp_request_duration_seconds',
    'ERP request latency.',
    snapshot.erp.map((e) => [{ erp: e.system }, e.latencySeconds]),
  );
  out.family(
    'finance_erp_requests_total',
    'counter',
    'ERP requests by status class (or the error code when no answer came).',
    snapshot.erp.flatMap((e) =>
      Object.entries(e.byStatus).map(([status, count]) => [{ erp: e.system, status }, count] as [Labels, number]),
    ),
  );
  out.family(
    'finance_erp_circuit_state',
    'gauge',
    "1 for the state the ERP connection's circuit breaker is in (closed, open, half-open), else 0.",
    snapshot.erp.flatMap((e) =>
      ['closed', 'open', 'half-open'].map(
        (state) => [{ erp: e.system, state }, e.circuit === state ? 1 : 0] as [Labels, number],
      ),
    ),
  );
  out.family(
    'finance_spend_committed',
    'gauge',
    'Committed spend (open purchase orders) per cost center, from the ERP, in the currency named.',
    snapshot.spend.map((s) => [{ erp: s.erp, cost_center: s.costCenter, currency: s.currency }, s.committed]),
  );
  out.family(
    'finance_spend_actual',
    'gauge',
    'Actual spend (postings) per cost center, from the ERP, in the currency named.',
    snapshot.spend.map((s) => [{ erp: s.erp, cost_center: s.costCenter, currency: s.currency }, s.actual]),
  );
  out.family(
    'finance_metrics_problems',
    'gauge',
    'Parts of this scrape that could not be read (see the snapshot output).',
    [[{}, snapshot.problems.length]],
  );
  return out.text();
}
