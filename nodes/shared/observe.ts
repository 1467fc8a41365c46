/**
 * The shared hook through which every flow node reports its work (lib/observe): node-input.ts and
 * retrying.ts call it at each outcome, so the audit trail and the metrics see every node without wiring and
 * without code in the nodes themselves.
 */
import type { Node, NodeMessage } from 'node-red';
import type { ErpClient } from '../../lib/erp/client';
import type { FinanceError } from '../../lib/errors';
import { isoNow } from '../../lib/observe/clock';
import { observations } from '../../lib/observe/hub';
import { factsOfMessage, type Observation } from '../../lib/observe/observation';
import { outputName, SELF_REPORTING_TYPES, silentOutcome } from '../../lib/observe/outputs';

/** Facts a node adds to each of its observations, e.g. finance-map's mapping profile and version. */
export type NodeFacts = () => Partial<Observation>;

function nodeOf(node: Node): Observation['node'] {
  return { type: node.type, id: node.id, ...(node.name ? { name: node.name } : {}) };
}

function observe(node: Node, kind: Observation['kind'], msg: unknown, extra: Partial<Observation>, facts?: NodeFacts) {
  if (kind !== 'intake' && SELF_REPORTING_TYPES.has(node.type)) return;
  observations.publish({
    kind,
    at: isoNow(),
    node: nodeOf(node),
    ...factsOfMessage(msg),
    ...facts?.(),
    ...extra,
  });
}

/**
 * The intake's verdict on one event (finance-event-in calls this once per event, whichever way it came in).
 * A rejected event has no envelope yet: it is named by the source system it was sent to.
 */
export function reportIntake(
  node: Node,
  result: { outcome: string; envelope?: unknown; error?: FinanceError },
  system: string,
): void {
  const facts = result.envelope === undefined ? { system } : factsOfMessage({ finance: result.envelope });
  observe(node, 'intake', undefined, {
    ...facts,
    output: result.outcome,
    ...(result.error ? { error: errorFacts(result.error) } : {}),
  });
}

/** Reports each message of a send(...) call with the name of the output it leaves through. */
export function reportSent(
  node: Node,
  out: NodeMessage | Array<NodeMessage | NodeMessage[] | null> | null | undefined,
  facts?: NodeFacts,
): void {
  if (!out) return;
  if (!Array.isArray(out)) {
    observe(node, 'outcome', out, { output: outputName(node.type, 0) }, facts);
    return;
  }
  out.forEach((port, index) => {
    const messages = Array.isArray(port) ? port : port ? [port] : [];
    for (const msg of messages) observe(node, 'outcome', msg, { output: outputName(node.type, index) }, facts);
  });
}

/** A message the node finished without sending it on (e.g. a dead letter kept), when its type names that. */
export function reportSilent(node: Node, msg: unknown, facts?: NodeFacts): void {
  const output = silentOutcome(node.type);
  if (output) observe(node, 'outcome', msg, { output }, facts);
}

/** A technical failure reported with done(err) or node.error(err, msg). */
export function reportFailure(node: Node, msg: unknown, error: FinanceError, facts?: NodeFacts): void {
  observe(node, 'failure', msg, { error: errorFacts(error) }, facts);
}

/** A failure parked for another attempt. */
export function reportRetry(node: Node, msg: unknown, error: FinanceError, dueAt: number, facts?: NodeFacts): void {
  observe(node, 'retry', msg, { error: errorFacts(error), retryDueAt: new Date(dueAt).toISOString() }, facts);
}

function errorFacts(error: FinanceError): Observation['error'] {
  return { code: error.code, ...(error.httpStatus === undefined ? {} : { httpStatus: error.httpStatus }) };
}

type Outgoing = NodeMessage | Array<NodeMessage | NodeMessage[] | null>;

/** Wraps `send` so that what it sends is reported first; `sent()` says whether anything was sent. */
export function observedSend(
  node: Node,
  send: (out: Outgoing) => void,
  facts?: NodeFacts,
): { send: (out: Outgoing) => void; sent: () => boolean } {
  let sent = false;
  return {
    send: (out) => {
      sent = true;
      reportSent(node, out, facts);
      send(out);
    },
    sent: () => sent,
  };
}

/**
 * Reports every request of an ERP connection (method, path, status, duration, correlation id) and every change
 * of its circuit breaker; finance-erp calls this once per connection. The circuit's state at start is
 * reported too, so the metrics know the connection before its first change.
 */
export function observeErpClient(node: Node, client: ErpClient): () => void {
  const base = () => ({ at: isoNow(), node: nodeOf(node), system: client.name });
  observations.publish({ kind: 'circuit', ...base(), circuitState: client.circuitState() });
  const stopCalls = client.onCall((call) => {
    observations.publish({
      kind: 'erp-call',
      ...base(),
      correlationId: call.correlationId,
      request: { method: call.method, path: call.path, status: call.status, durationMs: call.durationMs },
      ...(call.errorCode ? { error: { code: call.errorCode } } : {}),
    });
  });
  const stopCircuit = client.onCircuitState((state) => {
    observations.publish({ kind: 'circuit', ...base(), circuitState: state });
  });
  return () => {
    stopCalls();
    stopCircuit();
  };
}
