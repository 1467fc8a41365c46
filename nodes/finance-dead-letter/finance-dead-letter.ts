/**
 * `finance-dead-letter`: keeps failed messages with their reason in the durable store until a person replays or
 * purges them (DESIGN 7). A Catch node feeds it; commands (msg.topic list | replay | purge | stats | adopt, on a
 * message without msg.error) and the admin HTTP API (admin-api.ts) look after the letters. Replays leave through output 1
 * at the configured rate; command answers through output 2.
 */
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { FinanceError } from '../../lib/errors';
import { isCommand, runCommand, type DeadLetterQueue } from '../../lib/reliability/dead-letter-commands';
import { ReplayQueue } from '../../lib/reliability/dead-letter-replay';
import { deadLetterSettings, type DeadLetterDialogSettings } from '../../lib/reliability/dead-letter-settings';
import { DeadLetters } from '../../lib/reliability/dead-letters';
import { RetryScheduler } from '../../lib/reliability/retry-scheduler';
import type { FinanceStore } from '../../lib/reliability/store';
import { useConfigNodes, type FinanceStoreNode } from '../shared/config-nodes';
import { asFinanceError, onInput, statusText, type Status } from '../shared/node-input';
import { observedSend } from '../shared/observe';
import { registerAdminApi } from './admin-api';
import { warnAboutOrphans } from './orphans';
import { showStatus } from '../shared/status';

const TYPE = 'finance-dead-letter';
/** Retention also runs after every new letter; the timer covers a queue that receives none for a while. */
const RETENTION_INTERVAL_MS = 60 * 60 * 1000;
/** A letter whose message is larger than this is kept, with a warning: such letters fill a small host's memory. */
const LARGE_LETTER_BYTES = 1024 * 1024;
/**
 * The status after each letter may show counts this old: on a shared store a count scans the queue, and a burst
 * of failures during an outage would otherwise scan it once per failure (the admin API's stats stay exact).
 */
const STATUS_COUNT_MAX_AGE_MS = 5_000;
/** How often replays cut off by a crash (or another host's restart) are looked for and sent again. */
const RESEND_CHECK_INTERVAL_MS = 30_000;

interface FinanceDeadLetterDef extends NodeDef, DeadLetterDialogSettings {
  store?: string;
}

interface FinanceDeadLetterNode extends Node {
  /** The node's queue; throws the reason when the node could not start (no store, bad settings). */
  queue(): DeadLetterQueue;
}

export = function register(RED: NodeAPI): void {
  function FinanceDeadLetter(this: FinanceDeadLetterNode, def: FinanceDeadLetterDef) {
    RED.nodes.createNode(this, def);
    let queue: DeadLetterQueue | undefined;
    let failure: FinanceError | undefined;
    const settings = (() => {
      try {
        return deadLetterSettings(def);
      } catch (err) {
        failure = asFinanceError(err);
        return undefined;
      }
    })();

    const showQueueStatus = (): void => {
      if (!queue) return;
      const { letters, replays } = queue;
      letters.count({ status: 'open' }).then(
        (open) => showStatus(this, statusOf(open, replays.pending)),
        (err: unknown) => showStatus(this, { fill: 'red', shape: 'ring', text: statusText(asFinanceError(err).code) }),
      );
    };

    const enforceRetention = async (letters: DeadLetters): Promise<void> => {
      if (!settings) return;
      const { open } = await letters.enforceRetention(settings.retention);
      if (open > settings.retention.maxEntries) {
        this.warn(
          `${open} open dead letters wait, more than "Keep at most" (${settings.retention.maxEntries}). They are ` +
            'kept, as each holds an event nobody has resolved: fix their cause and replay them, or purge them.',
        );
      }
    };

    if (settings) {
      try {
        const storeNode = def.store ? (RED.nodes.getNode(def.store) as FinanceStoreNode | null) : null;
        if (!storeNode) {
          throw new FinanceError(
            'CONFIG_INVALID',
            'Choose a finance store in the dialog: dead letters are kept there.',
          );
        }
        useConfigNodes(this, storeNode);
        const store = storeNode.store();
        const letters = new DeadLetters({ store, queue: this.id });
        const replaySend = observedSend(this, (out) => this.send(out));
        const replays = new ReplayQueue({
          letters,
          ratePerSecond: settings.ratePerSecond,
          emit: (msg) => {
            // A replay leaves outside any input: report it through the shared hook for the audit and metrics.
            replaySend.send([msg, null]);
            showQueueStatus();
          },
          onError: (err, id) => {
            this.error(`Dead letter ${id} was not replayed: ${asFinanceError(err).message}`);
          },
        });
        queue = { letters, replays, adoption: adoptionContext(RED, this.id, store) };
      } catch (err) {
        failure = err instanceof FinanceError ? err : storeFailure(err);
      }
    }
    if (failure) {
      this.error(`This dead-letter node cannot keep letters: ${failure.message}`);
      showStatus(this, { fill: 'red', shape: 'ring', text: statusText(failure.code) });
    }

    this.queue = () => {
      if (queue) return queue;
      throw failure;
    };

    onInput(this, async (msg, send): Promise<Status | void> => {
      const error = (msg as { error?: unknown }).error;
      if ((error as { source?: { id?: unknown } } | null | undefined)?.source?.id === this.id) {
        // Keeping this node's own failure, or running again the command that failed (a Catch message keeps
        // the topic of the message), would loop through the Catch node that reported it.
        this.warn(
          'A Catch node sends this node its own errors; they are not kept. Limit the Catch node to other nodes.',
        );
        return;
      }
      const current = this.queue();
      // A failure is kept whatever its topic: a failed message whose topic is "purge" is a letter, not a command.
      if (error === undefined) {
        if (!isCommand(msg.topic)) {
          throw new FinanceError(
            'SCHEMA_INVALID',
            'Send this node a Catch message (msg.error) to keep, or a command in msg.topic: list, replay, purge, ' +
              'stats or adopt.',
          );
        }
        msg.payload = await runCommand(current, msg.topic, msg.payload);
        send([null, msg]);
        return statusOf(
          await current.letters.count({ status: 'open', maxAgeMs: STATUS_COUNT_MAX_AGE_MS }),
          current.replays.pending,
        );
      }
      // No retention here: it removes only replayed and purged letters, and a new failure adds an open one.
      const kept = await current.letters.add(msg);
      if (kept.status === 'added' && kept.originalBytes > LARGE_LETTER_BYTES) {
        this.warn(
          `Dead letter ${kept.letter.id} holds a message of ${(kept.originalBytes / 1024 / 1024).toFixed(1)} MB. It is ` +
            'kept; lists show its size only, GET .../letters/<id> reads it whole. Large messages fill the memory of a ' +
            'small host: keep bulky data out of messages that may fail (e.g. store it and pass a reference).',
        );
      }
      return statusOf(
        await current.letters.count({ status: 'open', maxAgeMs: STATUS_COUNT_MAX_AGE_MS }),
        current.replays.pending,
      );
    });

    const timer = setInterval(() => {
      if (queue) enforceRetention(queue.letters).then(showQueueStatus, (err: unknown) => this.error(describe(err)));
    }, RETENTION_INTERVAL_MS);
    timer.unref();
    if (queue) enforceRetention(queue.letters).then(showQueueStatus, (err: unknown) => this.error(describe(err)));

    // Replays a redeploy, a restart or a crash cut off before they settled are sent again (dead-letter-replay.ts).
    const resendCutReplays = (): void => {
      queue?.replays.resendCutReplays().then(
        (count) => {
          if (count > 0) this.log(`sending again ${count} replay(s) cut off by a redeploy, a restart or a crash`);
        },
        (err: unknown) => this.warn(`Could not look for replays cut off by a redeploy or a restart: ${describe(err)}`),
      );
    };
    const resendTimer = setInterval(resendCutReplays, RESEND_CHECK_INTERVAL_MS);
    resendTimer.unref();
    // Once every node of the deploy has started, so that what is sent again finds the nodes it is wired to.
    RED.events.once('flows:started', resendCutReplays);

    // Once every node of the deploy has started: letters and retries of nodes that are gone (new ids after an
    // import as a copy or a cut and paste) are reported, as nothing else shows them.
    const storeNode = def.store ? (RED.nodes.getNode(def.store) as FinanceStoreNode | null) : null;
    const lookForOrphans = (): void => {
      if (!queue || !storeNode) return;
      warnAboutOrphans(this, storeNode.store(), (id) => RED.nodes.getNode(id) !== null).catch((err: unknown) =>
        this.warn(`Could not look for dead letters and retries of nodes no longer deployed: ${describe(err)}`),
      );
    };
    RED.events.once('flows:started', lookForOrphans);

    this.on('close', (_removed: boolean, done: () => void) => {
      RED.events.removeListener('flows:started', lookForOrphans);
      RED.events.removeListener('flows:started', resendCutReplays);
      clearInterval(timer);
      clearInterval(resendTimer);
      // Marks the replays not settled yet as cut (the store stays open until this node has closed).
      (queue?.replays.close() ?? Promise.resolve()).then(done, done);
    });
  }

  // Node-RED's typings cannot express a node that adds members of its own; the constructor adds them.
  RED.nodes.registerType(TYPE, FinanceDeadLetter as never);

  registerAdminApi(RED, TYPE, (nodeId) => {
    const node = RED.nodes.getNode(nodeId) as FinanceDeadLetterNode | null;
    return node && node.type === TYPE ? node.queue() : undefined;
  });
};

/**
 * What the adopt command needs: which node ids run in this Node-RED, and the parked retries (kept under
 * `retry:<node id>` by nodes/shared/retrying.ts and finance-retry).
 */
function adoptionContext(RED: NodeAPI, nodeId: string, store: FinanceStore): DeadLetterQueue['adoption'] {
  const retriesOf = (id: string) => new RetryScheduler(store, { namespace: `retry:${id}` });
  return {
    nodeId,
    isDeployed: (id) => RED.nodes.getNode(id) !== null,
    shared: store.sharedAcrossHosts === true,
    parkedRetries: (id) => retriesOf(id).count(),
    moveRetries: (from, to) => retriesOf(to).adopt(`retry:${from}`),
  };
}

/** Blue while replays are being sent; yellow while letters wait for a person; green when none do. */
function statusOf(open: number, replaying: number): Status {
  if (replaying > 0) return { fill: 'blue', shape: 'dot', text: statusText(`replaying ${replaying}`) };
  return { fill: open > 0 ? 'yellow' : 'green', shape: 'dot', text: statusText(`${open} open`) };
}

function storeFailure(err: unknown): FinanceError {
  return new FinanceError(
    'STORE_UNAVAILABLE',
    `The finance store is not available (${describe(err)}); check the finance-store node.`,
    { retryable: true, cause: err },
  );
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
