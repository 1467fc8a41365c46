/**
 * Dead letters and parked retries are kept under the id of their node (the dead-letter queue `<node id>`, the
 * retries `retry:<node id>`). A node that is replaced by an equal one with a new id (a flow imported as a copy,
 * a cut and paste) leaves them behind: nothing lists, replays or runs them any more. When a dead-letter node
 * starts, it looks for them in its store and warns once, naming them; its adopt command moves them
 * (lib/reliability/dead-letter-adoption.ts).
 */
import type { Node } from 'node-red';
import { queuesInStore } from '../../lib/reliability/dead-letters';
import { parkedRetries } from '../../lib/reliability/retry-scheduler';
import type { FinanceStore } from '../../lib/reliability/store';

/** Dead-letter nodes of one store that start together (one deploy) look once. */
const LOOK_AGAIN_AFTER_MS = 10_000;
const lastLooked = new WeakMap<FinanceStore, number>();

const RETRY_PREFIX = 'retry:';

export interface Orphans {
  /** Dead-letter queues with open letters whose node is not deployed. */
  queues: { queue: string; open: number }[];
  /** Parked retries of nodes that are not deployed. */
  retries: { nodeId: string; count: number }[];
}

/** What the store keeps for nodes that `isDeployed` does not know. */
export async function findOrphans(store: FinanceStore, isDeployed: (nodeId: string) => boolean): Promise<Orphans> {
  const queues = (await queuesInStore(store))
    .filter((item) => item.open > 0 && !isDeployed(item.queue))
    .map(({ queue, open }) => ({ queue, open }));
  const retries = (await parkedRetries(store))
    .filter((item) => item.namespace.startsWith(RETRY_PREFIX))
    .map(({ namespace, count }) => ({ nodeId: namespace.slice(RETRY_PREFIX.length), count }))
    .filter((item) => item.nodeId !== '' && !isDeployed(item.nodeId));
  return { queues, retries };
}

/** The warning about `orphans`; undefined when there are none. */
export function orphanWarning(orphans: Orphans, shared: boolean): string | undefined {
  const parts = [
    ...orphans.queues.map((item) => `dead-letter node ${item.queue}: ${item.open} open letter(s)`),
    ...orphans.retries.map((item) => `node ${item.nodeId}: ${item.count} parked retr${item.count === 1 ? 'y' : 'ies'}`),
  ];
  if (parts.length === 0) return undefined;
  return (
    `The finance store keeps work of nodes that are not deployed (${parts.join('; ')}). Nothing lists, replays or ` +
    'runs it: the nodes were deleted, or replaced by copies with new ids (a flow imported as a copy, or cut and ' +
    'pasted). Send the dead-letter node that replaced one msg.topic "adopt" with msg.payload { from: "<old id>" } ' +
    '(add to: "<new id>" to hand the old node\'s retries to the node that replaced it), or deploy nodes with those ' +
    'ids again (import the flow replacing the existing nodes, not as a copy); nothing is lost meanwhile.' +
    (shared ? ' Ignore this if another host that shares this store runs those nodes.' : '')
  );
}

/** Looks for orphans in `store` and warns once through `node` (not again for the same store within seconds). */
export async function warnAboutOrphans(
  node: Node,
  store: FinanceStore,
  isDeployed: (nodeId: string) => boolean,
  now: () => number = Date.now,
): Promise<void> {
  const last = lastLooked.get(store);
  if (last !== undefined && now() - last < LOOK_AGAIN_AFTER_MS) return;
  lastLooked.set(store, now());
  const warning = orphanWarning(await findOrphans(store, isDeployed), store.sharedAcrossHosts === true);
  if (warning) node.warn(warning);
}
