/**
 * Node status, at a rate an open editor can follow. Nodes set a status for every message (busy, then the
 * outcome), 12 changes per event in the pipeline example, thousands per second under load. Node-RED's editor
 * connection forwards at most 50 messages every 50 ms and queues the rest in memory without a bound, so an
 * editor left open during a burst fell minutes behind while the queue grew (measured: about 186,000 changes,
 * 17 MB, still queued when the last of 20,000 events was done).
 *
 * Each node therefore shows at most STATUS_RATE.perSecond changes per second, with up to STATUS_RATE.burst at
 * once, so a single message still shows its busy and its final status immediately. When changes come faster,
 * only the latest one waiting is shown, as soon as the rate allows: the status always ends on the node's
 * latest state. A change to the status already shown costs nothing.
 */
import type { Node, NodeStatus } from 'node-red';

export const STATUS_RATE = { perSecond: 4, burst: 4 } as const;

function sameStatus(a: NodeStatus | undefined, b: NodeStatus): boolean {
  return a !== undefined && a.fill === b.fill && a.shape === b.shape && a.text === b.text;
}

/** One node's status: a token bucket of STATUS_RATE and the latest change that waits for a token. */
class StatusLight {
  readonly #node: Node;
  #shown: NodeStatus | undefined;
  #waiting: NodeStatus | undefined;
  #tokens: number = STATUS_RATE.burst;
  #refilledAt = Date.now();
  #timer: NodeJS.Timeout | undefined;

  constructor(node: Node) {
    this.#node = node;
  }

  show(status: NodeStatus): void {
    if (sameStatus(this.#shown, status)) {
      // Back to what is shown: a change still waiting would now be stale.
      this.#waiting = undefined;
      return;
    }
    this.#waiting = status;
    if (this.#timer !== undefined) return;
    this.#refill();
    if (this.#tokens >= 1) {
      this.#showWaiting();
      return;
    }
    const msUntilToken = Math.ceil(((1 - this.#tokens) * 1000) / STATUS_RATE.perSecond);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#refill();
      this.#showWaiting();
    }, msUntilToken);
    // A status never keeps the process alive.
    this.#timer.unref();
  }

  /** Drops the change still waiting, if any: a closed node must not show it over its redeployed successor. */
  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#waiting = undefined;
  }

  /** Clears the status at once; nothing waiting is shown afterwards. */
  clear(): void {
    this.stop();
    this.#shown = undefined;
    this.#node.status({});
  }

  #refill(): void {
    const now = Date.now();
    this.#tokens = Math.min(
      STATUS_RATE.burst,
      this.#tokens + ((now - this.#refilledAt) * STATUS_RATE.perSecond) / 1000,
    );
    this.#refilledAt = now;
  }

  #showWaiting(): void {
    const status = this.#waiting;
    if (status === undefined) return;
    this.#waiting = undefined;
    this.#tokens -= 1;
    this.#shown = status;
    this.#node.status(status);
  }
}

const lights = new WeakMap<Node, StatusLight>();

function lightOf(node: Node): StatusLight {
  const known = lights.get(node);
  if (known !== undefined) return known;
  const light = new StatusLight(node);
  node.on('close', () => light.stop());
  lights.set(node, light);
  return light;
}

/** Shows `status` on the node now, or as soon as the node's status rate allows if nothing newer comes first. */
export function showStatus(node: Node, status: NodeStatus): void {
  lightOf(node).show(status);
}

/** Clears the node's status now and drops any change still waiting (call it when the node closes). */
export function clearStatus(node: Node): void {
  lightOf(node).clear();
}
