/**
 * The `adopt` command of a dead-letter queue: takes up the letters (and, when asked, the parked retries) that a
 * node replaced by a copy with a new id left behind (a flow imported as a copy, a cut and paste). Dead letters
 * are kept under the id of their dead-letter node and parked retries under `retry:<node id>`, so the copy sees
 * none of them; nodes/finance-dead-letter/orphans.ts warns about them, and this command moves them.
 *
 *   msg.topic = "adopt", msg.payload = { from: "<old dead-letter node id>" }
 *   msg.payload = { from: "<old node id>", to: "<id of the node that replaced it>" } also moves its retries
 *
 * Refused while a node with the old id runs in this Node-RED (its letters are not orphans, and moving them
 * would take them from under it). On a store several hosts share, another host may run that node where this
 * one cannot see it, so the command also needs `force: true`, the operator's word that none does.
 */
import { FinanceError } from '../errors';
import { isRecord } from '../erp/records';
import type { DeadLetters } from './dead-letters';

export interface AdoptionContext {
  /** The id of the dead-letter node that runs the command (its queue). */
  nodeId: string;
  /** Whether a node with this id is deployed in this Node-RED (RED.nodes.getNode). */
  isDeployed(nodeId: string): boolean;
  /** True for a store several hosts share: the flows of the other hosts cannot be seen from here. */
  shared: boolean;
  /** How many retries node `nodeId` has parked. */
  parkedRetries(nodeId: string): Promise<number>;
  /** Moves the parked retries of node `from` to node `to` (RetryScheduler.adopt). */
  moveRetries(from: string, to: string): Promise<{ moved: number; busy: number }>;
}

export interface AdoptAnswer {
  from: string;
  letters: {
    /** Letters now in this queue (a second run of the command moves none). */
    moved: number;
    ids: string[];
    /** Letters another host was changing: left in the old queue, adopt again to move them. */
    busy: string[];
  };
  retries: {
    /** The node the retries went to; absent when payload.to was not given. */
    to?: string;
    moved: number;
    /** Retries being run or moved elsewhere: left, adopt again to move them. */
    busy: number;
    /** Retries of the old node still parked (not moved without payload.to). */
    left: number;
  };
}

const NODE_ID = /^[\w.-]{1,100}$/;

export async function adoptLetters(
  letters: DeadLetters,
  context: AdoptionContext,
  input: unknown,
): Promise<AdoptAnswer> {
  const { from, to, force } = parseAdoption(input);
  if (from === context.nodeId) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `payload.from names this node (${from}): its letters are its own already.`,
    );
  }
  if (context.isDeployed(from)) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `Node ${from} is deployed in this Node-RED: its letters and retries are in use, so they are not moved. Adopt ` +
        'only from a node that was deleted or replaced by a copy (deploy without it first).',
    );
  }
  if (context.shared && force !== true) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `The finance store is shared by several hosts, and this Node-RED cannot see whether another host still runs ` +
        `node ${from}. Make sure none does, then send the command again with payload.force = true.`,
    );
  }
  if (to !== undefined && (to === from || !context.isDeployed(to))) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      `payload.to must be the id of the deployed node that replaced ${from} (it takes up its parked retries); ` +
        `${to} is ${to === from ? 'the old node itself' : 'not deployed here'}.`,
    );
  }
  const moved = await letters.adoptFrom(from);
  const retries = to === undefined ? { moved: 0, busy: 0 } : await context.moveRetries(from, to);
  return {
    from,
    letters: { moved: moved.ids.length, ids: moved.ids, busy: moved.busy },
    retries: {
      ...(to === undefined ? {} : { to }),
      moved: retries.moved,
      busy: retries.busy,
      left: await context.parkedRetries(from),
    },
  };
}

function parseAdoption(input: unknown): { from: string; to?: string; force?: unknown } {
  const usage =
    'adopt needs msg.payload = { from: "<id of the replaced node>" }, with to: "<id of the node that replaced ' +
    'it>" to move its parked retries too';
  if (!isRecord(input)) throw new FinanceError('SCHEMA_INVALID', `${usage}.`);
  const { from, to, force } = input;
  if (typeof from !== 'string' || !NODE_ID.test(from)) {
    throw new FinanceError('SCHEMA_INVALID', `payload.from is missing or not a node id: ${usage}.`);
  }
  if (to !== undefined && (typeof to !== 'string' || !NODE_ID.test(to))) {
    throw new FinanceError('SCHEMA_INVALID', `payload.to is not a node id: ${usage}.`);
  }
  return { from, ...(to === undefined ? {} : { to }), force };
}
