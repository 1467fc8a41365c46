/**
 * Input handling with the connection's retry policy, for the nodes that call an ERP (DESIGN section 4: "ERP-
 * calling nodes also apply the connection's retry policy themselves, so a simple flow needs no retry
 * wiring"). A drop-in for onInput (node-input.ts), with the same handler:
 *
 *   onInputWithRetry(node, { store: () => storeNode.store(), policy: erpNode.retryPolicy }, handler);
 *
 * - Success: as onInput (status, done()).
 * - A retryable failure with attempts left: the message is parked in the store with
 *   msg.finance.attempt set to the next attempt, due after the policy's backoff (Retry-After honoured);
 *   the node shows a yellow ring "retry N in Xs" and the input is completed with done(): the message is
 *   parked durably, not failed. A loop runs it through the handler again when it is due; its outputs leave
 *   through node.send.
 * - A final failure (not retryable, or the last attempt): done(err), or node.error(err, msg) for a parked
 *   run, so a Catch node (and the dead letters behind it) gets err.code and msg.finance.attempt.
 * - A failure whose call never went out does not use up an attempt: CIRCUIT_OPEN (the message waits for the
 *   breaker instead of heading for the dead letters during a long outage), and any error whose details say
 *   `sent: false`, such as the ledger's ERP_CONFLICT while another attempt at the same write runs or until a
 *   crashed one may be taken over (lib/posting/idempotent-write.ts).
 * - A throttle (429, ERP_RATE_LIMITED) does not use up an attempt either, for up to the policy's
 *   maximumThrottledWaits waits per parked message (counted with the parked retry); later 429s count as
 *   attempts, so an ERP that throttles for ever still ends in the dead letters (retry-policy.ts decideRetry).
 * - A parked message that came through intake (msg.finance.source and id) holds its inbox entry until the
 *   retry is due plus a whole lease (FinanceStore.holdLease), so the intake's recovery does not emit the
 *   event again while it waits here.
 * - The reported message carries the error's facts in msg.failure (attachFailure, node-input.ts).
 *
 * Without a store, failures are reported at once, as with onInput. msg.req / msg.res (core http in) are
 * not parked: answer an HTTP request before its message reaches an ERP-calling node.
 */
import { randomUUID } from 'node:crypto';
import type { Node, NodeMessageInFlow } from 'node-red';
import type { FinanceError } from '../../lib/errors';
import type { CircuitState } from '../../lib/reliability/circuit-breaker';
import { parkableMessage, RetryLoop, RetryScheduler, type ScheduledRetry } from '../../lib/reliability/retry-scheduler';
import { DEFAULT_RETRY_POLICY, decideRetry, type RetryPolicy } from '../../lib/reliability/retry-policy';
import { inboxKey, type FinanceStore } from '../../lib/reliability/store';
import type { FinanceErpNode } from './config-nodes';
import { asFinanceError, attachFailure, statusText, type Send, type Status } from './node-input';
import { clearStatus, showStatus } from './status';
import { observedSend, reportFailure, reportRetry, reportSilent, type NodeFacts } from './observe';

export type InputHandler = (msg: NodeMessageInFlow, send: Send) => Promise<Status | void>;

const DEFAULT_POLL_INTERVAL_MS = 100;
const DEFAULT_MAX_IN_FLIGHT = 32;
const DEFAULT_CLOSE_WAIT_MS = 6000;

export interface RetryingOptions {
  /**
   * Where retries are parked: the store, or a function that returns it (e.g. `() => storeNode.store()`,
   * which throws when the store could not be opened). Without one, failures are not parked.
   */
  store?: FinanceStore | (() => FinanceStore);
  /** Default: DEFAULT_RETRY_POLICY (DESIGN section 7). Usually the ERP connection's `retryPolicy`. */
  policy?: RetryPolicy;
  /** Status while a message is being handled (blue dot). */
  busyText?: string;
  /**
   * Whether a failed message may be parked for a retry; one that may not is reported at once. Default: every
   * message. E.g. a message that must answer an HTTP request (msg.res) now cannot wait in the store.
   */
  parkable?: (msg: NodeMessageInFlow) => boolean;
  /** How often parked retries are looked for. Default 100 ms. */
  pollIntervalMs?: number;
  /**
   * Parked retries run at once. Default 32: after an outage hundreds of messages wait, and they must not trickle
   * out a few per second; the ERP connection's concurrency cap and rate limit still bound the calls themselves.
   */
  maxInFlight?: number;
  /**
   * How long a close waits for runs in progress. Default 6 s: on a redeploy the ERP connection lets calls in
   * flight run for 3 s before it aborts them (finance-erp), so a write it cuts is parked while this node still
   * holds the store (useConfigNodes, config-nodes.ts).
   */
  closeWaitMs?: number;
  /** Random numbers in [0, 1) for the jitter. Default Math.random. */
  random?: () => number;
  /** Facts added to this node's audit records and metrics (nodes/shared/observe.ts). */
  facts?: NodeFacts;
}

export interface Retrying {
  /** The three-argument input handler. */
  input(msg: NodeMessageInFlow, send: Send, done: (err?: Error) => void): void;
  /** Stops looking for retries and waits (up to closeWaitMs) for the runs in progress. */
  close(): Promise<void>;
}

/** Node status text of a parked message. */
export function retryStatus(attempt: number, delayMs: number): Status {
  return { fill: 'yellow', shape: 'ring', text: statusText(`retry ${attempt} in ${Math.ceil(delayMs / 1000)}s`) };
}

/** Node status text of a message waiting out a 429 (no attempt used). */
export function throttledStatus(delayMs: number): Status {
  return { fill: 'yellow', shape: 'ring', text: statusText(`429, wait ${Math.ceil(delayMs / 1000)}s`) };
}

/**
 * Builds the retrying input handling of `node` around `process`, and starts the loop that runs the node's
 * parked retries (including those parked before a restart or redeploy). onInputWithRetry wires it up.
 */
export function createRetrying(node: Node, options: RetryingOptions & { process: InputHandler }): Retrying {
  const policy = options.policy ?? DEFAULT_RETRY_POLICY;
  const random = options.random ?? Math.random;
  const parking = openParking(node, options.store);
  const scheduler = parking?.scheduler;
  const inputs = new Set<Promise<void>>();

  const show = (status: Status) => showStatus(node, { ...status, text: statusText(status.text) });
  const showBusy = () => {
    if (options.busyText) show({ fill: 'blue', shape: 'dot', text: options.busyText });
  };

  /**
   * Parks the message for its next attempt when the failure allows it; answers the error to report when it
   * does not. `parkedId` is the id of the retry being run, for a failure of a parked run.
   */
  async function park(
    msg: NodeMessageInFlow,
    error: FinanceError,
    parked?: { id: string; throttledWaits: number },
  ): Promise<FinanceError | undefined> {
    const attempt = attemptOf(msg);
    if (!scheduler) return error;
    const decision = decideRetry(policy, { attempt, throttledWaits: parked?.throttledWaits ?? 0 }, error, random);
    if (!decision.retry) return error;
    if (options.parkable && !options.parkable(msg)) return error;
    const { next: progress, delayMs } = decision;
    setAttempt(msg, progress.attempt);
    const next: ScheduledRetry = {
      id: parked?.id ?? randomUUID(),
      dueAt: Date.now() + delayMs,
      attempt: progress.attempt,
      ...(progress.throttledWaits > 0 ? { throttledWaits: progress.throttledWaits } : {}),
      msg: parkableMessage(msg),
    };
    try {
      if (parked === undefined) await scheduler.schedule(next);
      else await scheduler.reschedule(next);
    } catch (parkError) {
      setAttempt(msg, attempt);
      node.warn(`could not park the message for a retry (${asFinanceError(parkError).message}); reporting the failure`);
      return error;
    }
    if (parking) await holdInboxEntry(node, parking.store, msg, delayMs);
    reportRetry(node, msg, error, next.dueAt, options.facts);
    show(
      progress.throttledWaits > (parked?.throttledWaits ?? 0)
        ? throttledStatus(delayMs)
        : retryStatus(progress.attempt, delayMs),
    );
    return undefined;
  }

  function input(msg: NodeMessageInFlow, send: Send, done: (err?: Error) => void): void {
    showBusy();
    // Every outcome is reported to the audit trail and the metrics from here (nodes/shared/observe.ts).
    const observed = observedSend(node, send, options.facts);
    const handled = options
      .process(msg, observed.send)
      .then(
        (status) => {
          if (!observed.sent()) reportSilent(node, msg, options.facts);
          if (status) show(status);
          done();
        },
        async (err: unknown) => {
          const failure = await park(msg, asFinanceError(err));
          if (failure === undefined) {
            done();
            return;
          }
          // The report names the attempt that failed (1 for a message that carried none), for the dead letters.
          setAttempt(msg, attemptOf(msg));
          show({ fill: 'red', shape: 'ring', text: failure.code });
          attachFailure(msg, failure);
          reportFailure(node, msg, failure, options.facts);
          done(failure);
        },
      )
      .finally(() => inputs.delete(handled));
    inputs.add(handled);
  }

  async function runParked(retry: ScheduledRetry): Promise<void> {
    if (!scheduler) return;
    const msg = retry.msg as NodeMessageInFlow;
    showBusy();
    let status: Status | void;
    const observed = observedSend(node, (out) => node.send(out), options.facts);
    try {
      status = await options.process(msg, observed.send);
    } catch (err) {
      const failure = await park(msg, asFinanceError(err), {
        id: retry.id,
        throttledWaits: retry.throttledWaits ?? 0,
      });
      if (failure === undefined) return;
      try {
        await scheduler.complete(retry.id);
      } finally {
        show({ fill: 'red', shape: 'ring', text: failure.code });
        attachFailure(msg, failure);
        reportFailure(node, msg, failure, options.facts);
        node.error(failure, msg);
      }
      return;
    }
    if (!observed.sent()) reportSilent(node, msg, options.facts);
    if (status) show(status);
    await scheduler.complete(retry.id);
  }

  const loop = scheduler
    ? startRetryLoop(node, scheduler, runParked, {
        intervalMs: options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
        maxInFlight: options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      })
    : undefined;

  return {
    input,
    async close(): Promise<void> {
      const waitMs = options.closeWaitMs ?? DEFAULT_CLOSE_WAIT_MS;
      await Promise.all([loop?.stop(waitMs), waitAtMost(inputs, waitMs)]);
    },
  };
}

/**
 * Keeps the intake's recovery from emitting a parked event again while it waits for its retry: holds the inbox
 * entry of a message that came through intake (msg.finance.source and id) for `delayMs` plus a whole lease.
 * Messages that did not come through intake are left alone. If the hold fails, the worst outcome is one more
 * run of the event, which every step downstream absorbs (idempotent writes), so it is only warned about.
 */
export async function holdInboxEntry(node: Node, store: FinanceStore, msg: unknown, delayMs: number): Promise<void> {
  const envelope = (msg as { finance?: { source?: unknown; id?: unknown } } | undefined)?.finance;
  if (typeof envelope?.source !== 'string' || typeof envelope.id !== 'string') return;
  try {
    await store.holdLease(inboxKey(envelope.source, envelope.id), delayMs);
  } catch (holdError) {
    node.warn(`the parked event's inbox entry could not be held (${asFinanceError(holdError).message})`);
  }
}

/** onInput (node-input.ts) with the retry policy: same handler, failures parked and run again when due. */
export function onInputWithRetry(node: Node, options: RetryingOptions, handler: InputHandler): void {
  const retrying = createRetrying(node, { ...options, process: handler });
  node.on('input', retrying.input);
  node.on('close', (_removed: boolean, done: () => void) => {
    retrying.close().then(
      () => {
        clearStatus(node);
        done();
      },
      () => done(),
    );
  });
}

/**
 * Starts the loop that runs `node`'s parked retries with `run`. Failures of the loop itself (the store cannot
 * be read) are logged as warnings, each different one once, not twice a second.
 */
export function startRetryLoop(
  node: Node,
  scheduler: RetryScheduler,
  run: (retry: ScheduledRetry) => Promise<void>,
  pace: { intervalMs?: number; maxInFlight?: number } = {},
): RetryLoop {
  let lastMessage = '';
  const loop = new RetryLoop({
    scheduler,
    run,
    ...pace,
    onError: (error) => {
      const message = asFinanceError(error).message;
      if (message !== lastMessage) node.warn(`parked retries could not be run: ${message}`);
      lastMessage = message;
    },
  });
  loop.start();
  return loop;
}

/**
 * Shows the ERP connection's circuit breaker on `node`: a yellow ring while calls are paused, cleared when
 * the connection works again. Stops listening when the node closes.
 */
export function showCircuitState(node: Node, erp: FinanceErpNode): void {
  const texts: Record<CircuitState, string | undefined> = {
    open: 'circuit open',
    'half-open': 'circuit half-open',
    closed: undefined,
  };
  const stop = erp.onCircuitState((state) => {
    const text = texts[state];
    showStatus(node, text ? { fill: 'yellow', shape: 'ring', text } : {});
  });
  node.on('close', stop);
}

/** Where the node parks its retries: the store and the scheduler on it; undefined without a usable store. */
function openParking(
  node: Node,
  store: RetryingOptions['store'],
): { store: FinanceStore; scheduler: RetryScheduler } | undefined {
  if (store === undefined) return undefined;
  try {
    const opened = typeof store === 'function' ? store() : store;
    return { store: opened, scheduler: new RetryScheduler(opened, { namespace: `retry:${node.id}` }) };
  } catch (err) {
    node.warn(`failures will not be retried: ${asFinanceError(err).message}`);
    return undefined;
  }
}

/** The number of the attempt the message is on: msg.finance.attempt, 1 when it has none. */
function attemptOf(msg: NodeMessageInFlow): number {
  const attempt = (msg as { finance?: { attempt?: unknown } }).finance?.attempt;
  return typeof attempt === 'number' && Number.isInteger(attempt) && attempt >= 1 ? attempt : 1;
}

function setAttempt(msg: NodeMessageInFlow, attempt: number): void {
  const holder = msg as { finance?: unknown };
  if (typeof holder.finance === 'object' && holder.finance !== null) {
    (holder.finance as { attempt?: number }).attempt = attempt;
  } else {
    holder.finance = { attempt };
  }
}

async function waitAtMost(running: Set<Promise<void>>, waitMs: number): Promise<void> {
  if (running.size === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const givingUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, waitMs);
  });
  await Promise.race([Promise.allSettled([...running]), givingUp]);
  clearTimeout(timer);
}
