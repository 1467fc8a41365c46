/**
 * The names of each node's outputs, as the editor labels them, so an observation says "posted" or
 * "refused" instead of an output index. `silent` names the outcome of a message that left through no output
 * (e.g. a dead letter kept). A node type not listed reports "output N".
 */
interface OutputNames {
  outputs: readonly string[];
  silent?: string;
}

const OUTPUTS: Readonly<Record<string, OutputNames>> = {
  'finance-event-in': { outputs: ['accepted', 'rejected'] },
  'finance-map': { outputs: ['valid', 'invalid'] },
  'finance-master-data': { outputs: ['changes', 'not found'] },
  'finance-budget-check': { outputs: ['within', 'exceeded', 'warning'] },
  'finance-approval': { outputs: ['approved', 'rejected', 'escalated', 'request'], silent: 'waiting' },
  'finance-purchase-order': { outputs: ['synced', 'refused'] },
  'finance-post': { outputs: ['posted', 'refused'] },
  'finance-writeback': { outputs: ['done', 'refused'] },
  'finance-retry': { outputs: ['retry', 'exhausted'], silent: 'scheduled' },
  'finance-dead-letter': { outputs: ['replayed', 'result'], silent: 'dead-lettered' },
};

export function outputName(nodeType: string, index: number): string {
  return OUTPUTS[nodeType]?.outputs[index] ?? `output ${index + 1}`;
}

/** The outcome of a message that left through no output, or undefined when that is not worth a record. */
export function silentOutcome(nodeType: string): string | undefined {
  return OUTPUTS[nodeType]?.silent;
}

/** Outputs where an event's journey ended well (counted once per event as completed). */
export const COMPLETING_OUTPUTS: ReadonlySet<string> = new Set([
  'finance-post:posted',
  'finance-purchase-order:synced',
  'finance-writeback:done',
]);

/** Outputs where a system refused the event: invalid input, a validation refusal of the ERP or the source. */
export const REFUSING_OUTPUTS: ReadonlySet<string> = new Set([
  'finance-event-in:rejected',
  'finance-map:invalid',
  'finance-post:refused',
  'finance-purchase-order:refused',
  'finance-writeback:refused',
]);

/** Outputs that carry an approver's final decision. */
export const FINAL_DECISION_OUTPUTS: ReadonlySet<string> = new Set([
  'finance-approval:approved',
  'finance-approval:rejected',
]);

/**
 * Node types whose outcomes the shared hook does not report: the intake reports each verdict itself (whichever
 * way the event came in: webhook, MQTT or message); the audit and metrics nodes are the observers, and a
 * record of every scrape or note would only be noise.
 */
export const SELF_REPORTING_TYPES: ReadonlySet<string> = new Set([
  'finance-event-in',
  'finance-audit',
  'finance-metrics',
]);
