/**
 * The one in-process metrics registry: it counts what the nodes report (lib/observe/hub.ts), per system (the
 * event's source, or the ERP connection) and per process (expense, procurement, ...). The finance-metrics node
 * reads its snapshot and adds what is read at scrape time (dead letters open, spend from the ERP).
 *
 * Memory stays bounded. The system of an event is what its sender wrote (e.g. a CloudEvents `source`), so only
 * the first MAX_SYSTEM_LABELS systems keep their own label, cut to MAX_LABEL_LENGTH characters, and later ones
 * are counted as system="other" (labels.ts); so are the cost centers of the spend figures, past
 * MAX_COST_CENTER_LABELS. Processes come from a fixed list (processOf), ERP names from the configured
 * connections, request statuses are status classes or the pack's error codes. The events already counted as
 * completed are remembered in a bounded set, each by a digest of fixed size.
 */
import { createHash } from 'node:crypto';
import { observations, type ObservationHub } from '../observe/hub';
import type { Observation } from '../observe/observation';
import { COMPLETING_OUTPUTS, FINAL_DECISION_OUTPUTS, REFUSING_OUTPUTS } from '../observe/outputs';
import { Histogram, type HistogramSnapshot } from './histogram';
import { BoundedLabels, MAX_COST_CENTER_LABELS } from './labels';

/** Approval cycle buckets in seconds: a minute, 5 and 15 minutes, an hour, 4 hours, a day, 3 days, a week. */
export const APPROVAL_CYCLE_BUCKETS = [60, 300, 900, 3600, 14_400, 86_400, 259_200, 604_800];
/** ERP latency buckets in seconds. */
export const ERP_LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** How many completed events are remembered so that each counts once (a re-run after recovery finishes twice). */
const COMPLETED_MEMORY = 100_000;

interface ProcessCounters {
  accepted: number;
  duplicatesSuppressed: number;
  completed: number;
  refused: number;
  failed: number;
  retries: number;
  postings: { firstPass: number; afterRetry: number; refused: number; failed: number };
  approvalCycle: Histogram;
}

interface ErpCounters {
  requests: number;
  /** Requests by status class: "2xx", "4xx", "5xx", or the error code when no answer came. */
  byStatus: Map<string, number>;
  latency: Histogram;
  circuit: string;
}

export interface ProcessSnapshot {
  system: string;
  process: string;
  accepted: number;
  duplicatesSuppressed: number;
  completed: number;
  refused: number;
  failed: number;
  retries: number;
  postings: ProcessCounters['postings'];
  /** Posted at the first attempt / all postings that reached an outcome; null before the first. */
  firstPassPostingRate: number | null;
  /** (refused + failed) / (accepted + refused at intake); null before the first event. */
  exceptionRate: number | null;
  approvalCycleSeconds: HistogramSnapshot;
}

export interface ErpSnapshot {
  system: string;
  requests: number;
  byStatus: Record<string, number>;
  latencySeconds: HistogramSnapshot;
  circuit: string;
}

export interface MetricsSnapshot {
  at: string;
  processes: ProcessSnapshot[];
  erp: ErpSnapshot[];
}

export class MetricsRegistry {
  /** Counters by system, then by process: two lookups of strings the observation holds, no key built per call. */
  readonly #processes = new Map<string, Map<string, ProcessCounters>>();
  readonly #erp = new Map<string, ErpCounters>();
  readonly #completed = new Set<string>();
  #intakeRefused = new Map<string, number>();
  readonly #systems = new BoundedLabels();
  readonly #costCenters = new BoundedLabels(MAX_COST_CENTER_LABELS);

  constructor(hub?: ObservationHub) {
    hub?.subscribe((observation) => this.record(observation));
  }

  /**
   * The label a system is counted under: its own (shortened) name, or "other" past the limit. The dead-letter
   * figures use it too, so every family names the same systems.
   */
  readonly systemLabel = (system: string): string => this.#systems.labelOf(system);

  /** True once some system was counted as "other" because MAX_SYSTEM_LABELS systems were already named. */
  get systemsFolded(): boolean {
    return this.#systems.folded;
  }

  /**
   * The label a cost center of the spend figures is shown under: its own (shortened) name, or "other" past
   * MAX_COST_CENTER_LABELS, across the ERPs of this runtime. Kept here so it stays the same from scrape to scrape.
   */
  readonly costCenterLabel = (costCenter: string): string => this.#costCenters.labelOf(costCenter);

  /** True once some cost center was shown as "other" because MAX_COST_CENTER_LABELS were already named. */
  get costCentersFolded(): boolean {
    return this.#costCenters.folded;
  }

  record(observation: Observation): void {
    switch (observation.kind) {
      case 'intake':
        return this.#intake(observation);
      case 'outcome':
        return this.#outcome(observation);
      case 'failure':
        return this.#failure(observation);
      case 'retry':
        this.#counters(observation).retries += 1;
        return;
      case 'erp-call':
        return this.#erpCall(observation);
      case 'circuit':
        this.#erpOf(observation.system).circuit = observation.circuitState ?? 'closed';
        return;
    }
  }

  snapshot(): MetricsSnapshot {
    const all = [...this.#processes].flatMap(([system, byProcess]) =>
      [...byProcess].map(([process, counters]) => ({ system, process, counters })),
    );
    const processes = all.map(({ system, process, counters }) => {
      const p = counters.postings;
      const postings = p.firstPass + p.afterRetry + p.refused + p.failed;
      const handled = counters.accepted + (this.#intakeRefused.get(key(system, process)) ?? 0);
      return {
        system,
        process,
        accepted: counters.accepted,
        duplicatesSuppressed: counters.duplicatesSuppressed,
        completed: counters.completed,
        refused: counters.refused,
        failed: counters.failed,
        retries: counters.retries,
        postings: { ...p },
        firstPassPostingRate: postings === 0 ? null : p.firstPass / postings,
        exceptionRate: handled === 0 ? null : (counters.refused + counters.failed) / handled,
        approvalCycleSeconds: counters.approvalCycle.snapshot(),
      };
    });
    const erp = [...this.#erp.entries()].map(([system, counters]) => ({
      system,
      requests: counters.requests,
      byStatus: Object.fromEntries(counters.byStatus),
      latencySeconds: counters.latency.snapshot(),
      circuit: counters.circuit,
    }));
    const order = (a: { system: string; process?: string }, b: { system: string; process?: string }) =>
      a.system.localeCompare(b.system) || (a.process ?? '').localeCompare(b.process ?? '');
    return { at: new Date().toISOString(), processes: processes.sort(order), erp: erp.sort(order) };
  }

  #intake(observation: Observation): void {
    const system = this.#systemOf(observation);
    const process = processOfObservation(observation);
    const counters = this.#countersOf(system, process);
    if (observation.output === 'accepted') counters.accepted += 1;
    else if (observation.output === 'duplicate') counters.duplicatesSuppressed += 1;
    else if (observation.output === 'rejected') {
      counters.refused += 1;
      const k = key(system, process);
      this.#intakeRefused.set(k, (this.#intakeRefused.get(k) ?? 0) + 1);
    }
    // 'failed' (the store could not take the event): nothing was accepted and the sender tries again.
  }

  #outcome(observation: Observation): void {
    const step = `${observation.node?.type}:${observation.output}`;
    const counters = this.#counters(observation);
    if (REFUSING_OUTPUTS.has(step)) counters.refused += 1;
    // finance-retry's first output also carries first passes; a retry it schedules leaves through no output.
    if (step === 'finance-retry:scheduled') counters.retries += 1;
    if (COMPLETING_OUTPUTS.has(step) && this.#firstCompletion(observation)) counters.completed += 1;
    if (step === 'finance-post:posted') {
      if ((observation.attempt ?? 1) <= 1) counters.postings.firstPass += 1;
      else counters.postings.afterRetry += 1;
    }
    if (step === 'finance-post:refused') counters.postings.refused += 1;
    if (FINAL_DECISION_OUTPUTS.has(step)) {
      const submitted = Date.parse(observation.approval?.submittedAt ?? '');
      const decided = Date.parse(observation.approval?.decidedAt ?? '');
      if (Number.isFinite(submitted) && Number.isFinite(decided)) {
        counters.approvalCycle.observe((decided - submitted) / 1000);
      }
    }
  }

  #failure(observation: Observation): void {
    const counters = this.#counters(observation);
    counters.failed += 1;
    if (observation.node?.type === 'finance-post') counters.postings.failed += 1;
  }

  #erpCall(observation: Observation): void {
    const counters = this.#erpOf(observation.system);
    const request = observation.request;
    if (!request) return;
    counters.requests += 1;
    const status =
      request.status === undefined ? (observation.error?.code ?? 'no answer') : `${Math.floor(request.status / 100)}xx`;
    counters.byStatus.set(status, (counters.byStatus.get(status) ?? 0) + 1);
    counters.latency.observe(request.durationMs / 1000);
  }

  /** True the first time an event completes (events without an id always count). */
  #firstCompletion(observation: Observation): boolean {
    const eventId = observation.sourceIds?.eventId;
    if (eventId === undefined) return true;
    const k = completedEventKey(observation.system ?? '', eventId);
    if (this.#completed.has(k)) return false;
    if (this.#completed.size >= COMPLETED_MEMORY) {
      const oldest = this.#completed.values().next().value as string;
      this.#completed.delete(oldest);
    }
    this.#completed.add(k);
    return true;
  }

  #counters(observation: Observation): ProcessCounters {
    return this.#countersOf(this.#systemOf(observation), processOfObservation(observation));
  }

  #systemOf(observation: Observation): string {
    return this.systemLabel(observation.system ?? 'unknown');
  }

  #countersOf(system: string, process: string): ProcessCounters {
    let byProcess = this.#processes.get(system);
    if (!byProcess) {
      byProcess = new Map();
      this.#processes.set(system, byProcess);
    }
    let counters = byProcess.get(process);
    if (!counters) {
      counters = {
        accepted: 0,
        duplicatesSuppressed: 0,
        completed: 0,
        refused: 0,
        failed: 0,
        retries: 0,
        postings: { firstPass: 0, afterRetry: 0, refused: 0, failed: 0 },
        approvalCycle: new Histogram(APPROVAL_CYCLE_BUCKETS),
      };
      byProcess.set(process, counters);
    }
    return counters;
  }

  #erpOf(system: string | undefined): ErpCounters {
    const name = system ?? 'unknown';
    let counters = this.#erp.get(name);
    if (!counters) {
      counters = { requests: 0, byStatus: new Map(), latency: new Histogram(ERP_LATENCY_BUCKETS), circuit: 'closed' };
      this.#erp.set(name, counters);
    }
    return counters;
  }
}

/**
 * The key a completed event is remembered by: a SHA-256 digest of its source and id (NUL cannot occur in either,
 * see inboxKey), 44 characters whatever their length. A source and an id can each be a kilobyte, and the set
 * holds COMPLETED_MEMORY of them; two events sharing a digest is beyond any real chance.
 */
export function completedEventKey(system: string, eventId: string): string {
  return createHash('sha256').update(`${system}\u0000${eventId}`).digest('base64');
}

function key(system: string, process: string): string {
  return `${system}\u0000${process}`;
}

function processOfObservation(observation: Observation): string {
  return observation.process ?? 'other';
}

/** The registry of this Node-RED runtime: counting starts when the pack loads, whether a metrics node exists or not. */
export const metrics = new MetricsRegistry(observations);
