/**
 * `finance-retry`: durable retry with backoff, jitter and Retry-After for any part of a flow. One input
 * takes two kinds of message:
 *
 * - a message without `msg.error` is checkpointed (lib/reliability/flow-retry.ts) and passed straight to
 *   output 1, into the part of the flow that may fail;
 * - a Catch node's message (`msg.error`) reports that such a message failed: the original is parked in the
 *   store and, after the backoff, re-emitted on output 1 with `msg.retry = {attempt, lastError}`; after the
 *   last attempt, or for a failure retrying cannot fix, the original leaves on output 2 with `msg.error`.
 *
 * Parked retries survive restarts and run once after a redeploy (lib/reliability/retry-scheduler.ts). A parked
 * message that came through intake holds its inbox entry until the retry is due plus a whole lease, so the
 * intake's recovery does not emit the event again while it waits here.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { upgradeConfig } from '../../lib/config/migrations';
import { retryPolicyFromDialog, type RetryDialogSettings } from '../../lib/config/retry-settings';
import { integerSetting } from '../../lib/config/settings';
import { FinanceError } from '../../lib/errors';
import { caughtFailure, checkpointKey, MessageCheckpoints, type Checkpoint } from '../../lib/reliability/flow-retry';
import { decideRetry, type RetryPolicy } from '../../lib/reliability/retry-policy';
import { parkableMessage, RetryScheduler, type ScheduledRetry } from '../../lib/reliability/retry-scheduler';
import type { FinanceStore } from '../../lib/reliability/store';
import { useConfigNodes, type FinanceStoreNode } from '../shared/config-nodes';
import { asFinanceError, onInput, statusText, type Send, type Status } from '../shared/node-input';
import { observedSend } from '../shared/observe';
import { holdInboxEntry, retryStatus, startRetryLoop, throttledStatus } from '../shared/retrying';
import { showStatus } from '../shared/status';

interface FinanceRetryDef extends NodeDef, RetryDialogSettings {
  store?: string;
  checkpointHours?: string | number;
}

/** What a node with usable settings works with. */
interface Parts {
  store: FinanceStore;
  policy: RetryPolicy;
  checkpoints: MessageCheckpoints;
  scheduler: RetryScheduler;
}

/** `gaveUp`: the message went to "gave up"; a second report of that failure is not a new first failure. */
type NodeCheckpoint = Checkpoint & { gaveUp?: true };

const HOUR_MS = 60 * 60 * 1000;
/** How long a close waits for re-emissions in progress. */
const CLOSE_WAIT_MS = 3000;

export = function register(RED: NodeAPI): void {
  function FinanceRetry(this: Node, def: FinanceRetryDef) {
    def = upgradeConfig(def); // a node saved by an older version of the pack (lib/config/migrations.ts)
    RED.nodes.createNode(this, def);

    // Every setting is checked at deploy; a wrong one is reported once now and again with each message.
    let problem: FinanceError | undefined;
    useConfigNodes(this, RED.nodes.getNode(def.store ?? '') as FinanceStoreNode | null);
    const parts = ((): Parts | undefined => {
      try {
        return setUp(def, RED.nodes.getNode(def.store ?? '') as FinanceStoreNode | null, this.id);
      } catch (err) {
        problem = asFinanceError(err);
        this.error(`finance-retry is not usable: ${problem.message}`);
        return undefined;
      }
    })();

    const cleanCopy = (msg: NodeMessageInFlow): Record<string, unknown> => parkableMessage(RED.util.cloneMessage(msg));

    // What happens to one message (its checkpoint key) happens one step at a time: two Catch messages for one
    // failure (two branches failed), or a Catch message that overtakes the re-emission it reports on, must
    // each see what the one before did to the checkpoint, or the retry is parked twice.
    const steps = new Map<string, Promise<unknown>>();
    const oneAtATime = <T>(key: string, work: () => Promise<T>): Promise<T> => {
      const result = (steps.get(key) ?? Promise.resolve()).then(work);
      const tail = result.catch(() => undefined);
      steps.set(key, tail);
      void tail.then(() => {
        if (steps.get(key) === tail) steps.delete(key);
      });
      return result;
    };

    /** A Catch node reported that the message failed: park its original, or give up. */
    const handleFailure = async (
      setup: Parts,
      key: string,
      msg: NodeMessageInFlow,
      send: Send,
    ): Promise<Status | void> => {
      const now = Date.now();
      const failure = caughtFailure(msg as { error?: unknown; failure?: unknown }, now);
      const checkpoint = (await setup.checkpoints.get(key)) as NodeCheckpoint | undefined;
      // A second report of a failure whose retry is already parked, or whose message has gone to "gave up"
      // (two nodes failed on one message).
      if (checkpoint?.parked || checkpoint?.gaveUp) return undefined;
      const original = checkpoint?.msg ?? withoutError(cleanCopy(msg));
      const attempt = checkpoint?.attempt ?? 1;
      // A 429 waits without using an attempt, up to the policy's throttled waits (retry-policy.ts).
      const decision = decideRetry(setup.policy, { attempt, throttledWaits: checkpoint?.throttledWaits ?? 0 }, failure);
      if (decision.retry) {
        const { next, delayMs } = decision;
        const throttledWaits = next.throttledWaits > 0 ? { throttledWaits: next.throttledWaits } : {};
        const parkedNow = await setup.scheduler.schedule({
          id: key,
          dueAt: now + delayMs,
          attempt: next.attempt,
          ...throttledWaits,
          msg: original,
        });
        // A retry under this key waits already (parked by another report of this failure): it is the one.
        if (!parkedNow) return undefined;
        const parked: Checkpoint = {
          msg: original,
          attempt,
          ...throttledWaits,
          parked: true,
          lastError: failure.error,
        };
        await setup.checkpoints.put(key, parked, delayMs);
        // An event from intake waits here on purpose: recovery must not emit it again before its retry is due.
        await holdInboxEntry(this, setup.store, original, delayMs);
        const waitedOutThrottle = next.throttledWaits > (checkpoint?.throttledWaits ?? 0);
        return waitedOutThrottle ? throttledStatus(delayMs) : retryStatus(next.attempt, delayMs);
      }
      // Kept, marked, so that another report of this failure does not start the retries over.
      const gaveUpMark: NodeCheckpoint = {
        msg: original,
        attempt,
        parked: false,
        lastError: failure.error,
        gaveUp: true,
      };
      await setup.checkpoints.put(key, gaveUpMark);
      // msg.failure goes along: a dead-letter node behind keeps the status and the ERP's answer it describes.
      const facts = (msg as { failure?: unknown }).failure;
      const gaveUp = { ...original, error: failure.error, retry: { attempt, lastError: failure.error } };
      send([null, (facts === undefined ? gaveUp : { ...gaveUp, failure: facts }) as NodeMessage]);
      return { fill: 'red', shape: 'ring', text: `gave up after ${attempt}` };
    };

    // A re-emission leaves outside any input: report it through the shared hook for the audit and metrics.
    const reemitSend = observedSend(this, (out) => this.send(out));
    /** A parked retry is due: send the original again, then forget the retry (in that order: never lose it). */
    const reemit = (setup: Parts, retry: ScheduledRetry): Promise<void> =>
      oneAtATime(retry.id, () => reemitNow(setup, retry));
    const reemitNow = async (setup: Parts, retry: ScheduledRetry): Promise<void> => {
      const lastError = (await setup.checkpoints.get(retry.id))?.lastError;
      const throttledWaits = retry.throttledWaits ? { throttledWaits: retry.throttledWaits } : {};
      await setup.checkpoints.put(retry.id, {
        msg: retry.msg,
        attempt: retry.attempt,
        ...throttledWaits,
        parked: false,
        lastError,
      });
      reemitSend.send([{ ...retry.msg, retry: { attempt: retry.attempt, lastError } } as NodeMessage, null]);
      await setup.scheduler.complete(retry.id);
      showStatus(this, { fill: 'green', shape: 'dot', text: statusText(`attempt ${retry.attempt} sent`) });
    };

    /** A message on its way into the part of the flow that may fail: remember it, then pass it on. */
    const checkpoint = async (setup: Parts, key: string, msg: NodeMessageInFlow, send: Send): Promise<void> => {
      // A message that comes round to this node again keeps counting its attempts.
      // One that went to "gave up" before starts over, as a new message.
      const kept = (await setup.checkpoints.get(key)) as NodeCheckpoint | undefined;
      const previous = kept?.gaveUp ? undefined : kept;
      const throttledWaits = previous?.throttledWaits ? { throttledWaits: previous.throttledWaits } : {};
      await setup.checkpoints.put(key, {
        msg: cleanCopy(msg),
        attempt: previous?.attempt ?? 1,
        ...throttledWaits,
        parked: false,
      });
      send([msg, null]);
    };

    onInput(this, async (msg: NodeMessageInFlow, send: Send): Promise<Status | void> => {
      if (!parts) throw problem;
      const key = checkpointKey(msg);
      if (key === undefined) {
        throw new FinanceError('SCHEMA_INVALID', 'finance-retry needs messages with a _msgid; this one has none.');
      }
      if ((msg as { error?: unknown }).error !== undefined) {
        return oneAtATime(key, () => handleFailure(parts, key, msg, send));
      }
      return oneAtATime(key, () => checkpoint(parts, key, msg, send));
    });

    const loop = parts ? startRetryLoop(this, parts.scheduler, (retry) => reemit(parts, retry)) : undefined;

    this.on('close', (_removed: boolean, done: () => void) => {
      const stopping = loop ? loop.stop(CLOSE_WAIT_MS) : Promise.resolve();
      stopping.then(
        () => done(),
        () => done(),
      );
    });
  }

  RED.nodes.registerType('finance-retry', FinanceRetry);
};

function setUp(def: FinanceRetryDef, storeNode: FinanceStoreNode | null, nodeId: string): Parts {
  const policy = retryPolicyFromDialog(def);
  const ttlMs =
    integerSetting(def.checkpointHours, 'Remember messages for (hours)', { min: 1, max: 720, fallback: 24 }) * HOUR_MS;
  if (!storeNode) {
    throw new FinanceError(
      'CONFIG_INVALID',
      'No store is selected: choose a finance-store node, where checkpoints and parked retries are kept.',
    );
  }
  const store = storeNode.store();
  return {
    store,
    policy,
    checkpoints: new MessageCheckpoints(store, `retry-checkpoint:${nodeId}`, ttlMs),
    scheduler: new RetryScheduler(store, { namespace: `retry:${nodeId}` }),
  };
}

function withoutError(msg: Record<string, unknown>): Record<string, unknown> {
  const copy = { ...msg };
  delete copy.error;
  return copy;
}
