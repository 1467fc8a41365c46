/**
 * The one place where a flow node's input handling meets Node-RED: it runs the node's async handler and
 * turns the outcome into status and `done`. Business outcomes leave through outputs (the handler sends
 * them); technical failures end in `done(err)` with a stable `err.code`, a red status naming the code, and
 * nothing sent, so a Catch node sees each failure exactly once (unlike core `http request`, which both
 * sends and reports).
 *
 * The reported message carries the error's facts in `msg.failure` (see attachFailure), because a Catch node
 * copies only an error's message and code.
 */
import type { Node, NodeMessage, NodeMessageInFlow } from 'node-red';
import { redactText } from '../../lib/erp/redact';
import { FinanceError } from '../../lib/errors';
import { toRedactedJson } from '../../lib/reliability/redact';
import { InFlight } from './in-flight';
import { observedSend, reportFailure, reportSilent, type NodeFacts } from './observe';
import { clearStatus, showStatus } from './status';

export type Send = (msg: NodeMessage | Array<NodeMessage | NodeMessage[] | null>) => void;

export interface Status {
  fill: 'red' | 'green' | 'yellow' | 'blue' | 'grey';
  shape: 'ring' | 'dot';
  text: string;
}

/** Node status text stays under 20 characters (DESIGN section 10). */
export function statusText(text: string): string {
  return text.length <= 19 ? text : text.slice(0, 18) + '…';
}

/** Most translations a node remembers (approver names make the approval's texts many). */
const MAX_REMEMBERED_TEXTS = 1000;

/**
 * RED._ with its answers remembered: an i18next lookup takes tens of microseconds, and nodes set a status on
 * every message. The language does not change while a deployed node runs.
 */
export function rememberTranslations(
  translate: (key: string, values?: Record<string, string>) => string,
): (key: string, values?: Record<string, string>) => string {
  const known = new Map<string, string>();
  return (key, values) => {
    const id = values === undefined ? key : `${key}\u0000${JSON.stringify(values)}`;
    let text = known.get(id);
    if (text === undefined) {
      text = translate(key, values);
      if (known.size >= MAX_REMEMBERED_TEXTS) known.clear();
      known.set(id, text);
    }
    return text;
  };
}

/**
 * Any thrown value as an Error with a code; unknown failures get a generic code and keep their message without
 * credentials. Such a failure comes from a library or a bug, and its text may echo a connection string or a
 * header ("connect failed: postgres://user:password@db"); Node-RED logs the message and hands it to Catch nodes,
 * so only the redacted text is kept, with the original's stack frames but not the original as `cause`.
 */
export function asFinanceError(err: unknown): FinanceError {
  if (err instanceof FinanceError) return err;
  const error = err instanceof Error ? err : new Error(String(err));
  const code = (error as { code?: unknown }).code;
  // A failure nobody classified is treated as transient: retrying is safe because every ERP write is
  // idempotent, and a wrong "permanent" verdict would lose the event.
  const failure = new FinanceError(
    typeof code === 'string' && code.startsWith('STORE_') ? (code as 'STORE_UNAVAILABLE') : 'ERP_UNAVAILABLE',
    redactText(error.message, []),
    { retryable: true },
  );
  const frames = error.stack?.split('\n').filter((line) => line.trimStart().startsWith('at ')) ?? [];
  if (frames.length > 0) failure.stack = [`${failure.name}: ${failure.message}`, ...frames].join('\n');
  return failure;
}

/**
 * Puts the facts of the failure being reported on the message, as `msg.failure`: the error's toJSON() (code,
 * message, httpStatus, retryable, retryAfterMs, details with the ERP's redacted error body), as redacted plain
 * JSON. Node-RED's Catch message copies only `message` and `code` of an error, so this is how the dead-letter
 * node learns the HTTP status and the ERP's answer. Never a stack or a cause; secret-looking keys and
 * credentials in text are removed. A message that later succeeds keeps it (nodes never change a message they
 * did not fail); the dead-letter record uses it only when code and text match the error it reports.
 */
export function attachFailure(msg: object, error: FinanceError): void {
  (msg as { failure?: unknown }).failure = toRedactedJson(error.toJSON());
}

/**
 * How long a close waits for the messages still being handled. Under finance-store's wait for its users (10 s),
 * so a failure can still be parked or recorded, and under Node-RED's nodeCloseTimeout (15 s), after which
 * Node-RED reports the close as timed out and goes on anyway.
 */
export const INPUT_CLOSE_WAIT_MS = 6000;

export interface InputHandlerOptions {
  /** Status while a message is being handled (blue dot). */
  busyText?: string;
  /** Facts added to this node's audit records and metrics (nodes/shared/observe.ts), e.g. the mapping used. */
  facts?: NodeFacts;
  /** How long a close waits for messages in flight. Default INPUT_CLOSE_WAIT_MS. */
  closeWaitMs?: number;
}

/**
 * Registers the input handler. The handler sends its outputs itself and returns the status to show after
 * success (or nothing to keep the current one). The node's close waits (up to closeWaitMs) for the messages
 * still being handled, so each ends with done() while the node and its flow are still running.
 */
export function onInput(
  node: Node,
  handler: (msg: NodeMessageInFlow, send: Send) => Promise<Status | void>,
  options: InputHandlerOptions = {},
): void {
  const inFlight = new InFlight();
  node.on('input', (msg: NodeMessageInFlow, send: Send, done: (err?: Error) => void) => {
    inFlight.start();
    if (options.busyText) showStatus(node, { fill: 'blue', shape: 'dot', text: statusText(options.busyText) });
    // Every outcome is reported to the audit trail and the metrics from here (nodes/shared/observe.ts).
    const observed = observedSend(node, send, options.facts);
    void handler(msg, observed.send)
      .then(
        (status) => {
          if (!observed.sent()) reportSilent(node, msg, options.facts);
          if (status) showStatus(node, { ...status, text: statusText(status.text) });
          done();
        },
        (err: unknown) => {
          const error = asFinanceError(err);
          showStatus(node, { fill: 'red', shape: 'ring', text: statusText(error.code) });
          attachFailure(msg, error);
          reportFailure(node, msg, error, options.facts);
          done(error);
        },
      )
      // Also when reporting the outcome throws: a close must not wait its whole bound for a message that ended.
      .finally(() => inFlight.end());
  });
  node.on('close', (_removed: boolean, done: () => void) => {
    void inFlight.ended(options.closeWaitMs ?? INPUT_CLOSE_WAIT_MS).then(() => {
      clearStatus(node);
      done();
    });
  });
}
