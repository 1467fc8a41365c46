/**
 * The one in-process place the nodes report to (see observation.ts). Listeners (the audit trail, the metrics
 * registry) subscribe; a listener that throws never disturbs the node that reported nor the other listeners.
 *
 * It is a module-level singleton on purpose: every node of the pack in one Node-RED runtime loads this module
 * once, so a flow needs no wiring for its nodes' work to be audited and counted.
 */
import { compactObservation, type Observation } from './observation';

export type ObservationListener = (observation: Observation) => void;

export class ObservationHub {
  readonly #listeners = new Set<ObservationListener>();

  /** Calls `listener` with every observation from now on; returns the function that stops it. */
  subscribe(listener: ObservationListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  publish(observation: Observation): void {
    if (this.#listeners.size === 0) return;
    const compact = compactObservation(observation);
    for (const listener of this.#listeners) {
      try {
        listener(compact);
      } catch {
        // A broken listener must not fail the node's work; the listeners report their own problems.
      }
    }
  }
}

export const observations = new ObservationHub();
