/**
 * What one audit record holds, made from an observation (lib/observe) or from a message sent to the
 * finance-audit node. This is the one place where secrets are kept out of the trail: every record passes
 * through toRedactedJson (secret-looking keys and credentials in text removed) and, for messages, only named
 * facts are taken, never the whole message.
 */
import { toRedactedJson } from '../reliability/redact';
import { factsOfMessage, type Observation } from '../observe/observation';
import { isRecord } from '../erp/records';

/** The step an observation records, e.g. "finance-post:posted", "finance-erp:erp-call", "intake:duplicate". */
export function stepOf(observation: Observation): string {
  const nodeType = observation.node?.type ?? 'finance';
  switch (observation.kind) {
    case 'outcome':
    case 'intake':
      return `${nodeType}:${observation.output ?? 'done'}`;
    case 'failure':
      return `${nodeType}:failed`;
    case 'retry':
      return `${nodeType}:retry-parked`;
    case 'erp-call':
      return 'erp:call';
    case 'circuit':
      return `erp:circuit-${observation.circuitState ?? 'unknown'}`;
  }
}

export function recordOfObservation(observation: Observation): Record<string, unknown> {
  const { at, kind, ...facts } = observation;
  return redacted({ at, kind, step: stepOf(observation), ...facts });
}

/**
 * A record for a message sent to a finance-audit node: its step (msg.topic, or "note"), the message's
 * envelope, approval and ERP facts, and msg.audit (a plain object of the flow's own facts, e.g. a manual
 * approver action), redacted like everything else.
 */
export function recordOfMessage(
  msg: unknown,
  node: { type: string; id: string; name?: string },
): Record<string, unknown> {
  const message = isRecord(msg) ? msg : {};
  const step = typeof message.topic === 'string' && message.topic.length > 0 ? message.topic : 'note';
  return redacted({
    at: new Date().toISOString(),
    kind: 'note',
    step,
    node,
    ...factsOfMessage(message),
    ...(isRecord(message.audit) ? { details: message.audit } : {}),
  });
}

function redacted(fields: Record<string, unknown>): Record<string, unknown> {
  const copy = toRedactedJson(fields) as Record<string, unknown>;
  return copy;
}
