/**
 * The commands of a dead-letter queue, the same whether they arrive as a message (msg.topic) or through the
 * admin HTTP API: list, replay, purge, stats; and, as a message only, adopt (dead-letter-adoption.ts). Each
 * checks its input and answers plain JSON.
 */
import { FinanceError } from '../errors';
import { adoptLetters, type AdoptionContext } from './dead-letter-adoption';
import { parseListQuery, parseSelection } from './dead-letter-filter';
import type { DeadLetterStatus } from './dead-letter-record';
import type { ReplayQueue } from './dead-letter-replay';
import type { DeadLetters, LetterPage, PurgeResult } from './dead-letters';

export const COMMANDS = ['list', 'replay', 'purge', 'stats', 'adopt'] as const;
export type Command = (typeof COMMANDS)[number];

export interface DeadLetterQueue {
  letters: DeadLetters;
  replays: ReplayQueue;
  /** What `adopt` needs from the runtime (which nodes are deployed, the parked retries); absent, it is refused. */
  adoption?: AdoptionContext;
}

export interface ReplayAnswer {
  /** Letters selected for replay, oldest first (including any that were waiting already). */
  ids: string[];
  /** Letters newly queued by this request. */
  queued: number;
  /** Ids asked for that are unknown or purged. */
  skipped: string[];
  /** Letters waiting to be sent, at the configured rate. */
  pending: number;
}

export interface Stats {
  open: number;
  replayed: number;
  purged: number;
  total: number;
  /** Letters waiting in the replay queue. */
  replaying: number;
}

export function isCommand(topic: unknown): topic is Command {
  return COMMANDS.includes(topic as Command);
}

export async function runCommand(queue: DeadLetterQueue, command: Command, input: unknown): Promise<unknown> {
  switch (command) {
    case 'list':
      return listLetters(queue, input);
    case 'replay':
      return replayLetters(queue, input);
    case 'purge':
      return purgeLetters(queue, input);
    case 'stats':
      return stats(queue);
    case 'adopt':
      if (!queue.adoption) {
        throw new FinanceError('CONFIG_INVALID', 'adopt is a message command of a deployed finance-dead-letter node.');
      }
      return adoptLetters(queue.letters, queue.adoption, input);
  }
}

export async function listLetters(queue: DeadLetterQueue, input: unknown): Promise<LetterPage> {
  return queue.letters.list(parseListQuery(input));
}

/**
 * Queues letters for replay. Named ids may be open or replayed already (a person asks again); a filter
 * without a status, and "all", take the open letters only.
 */
export async function replayLetters(queue: DeadLetterQueue, input: unknown): Promise<ReplayAnswer> {
  const selection = parseSelection(input, 'replay');
  let statuses: DeadLetterStatus[];
  if ('ids' in selection) {
    statuses = ['open', 'replayed'];
  } else if (selection.filter.status === 'purged') {
    throw new FinanceError('SCHEMA_INVALID', 'Purged letters no longer hold their message and cannot be replayed.');
  } else {
    statuses = [selection.filter.status ?? 'open'];
  }
  const ids = await queue.letters.select(selection, statuses);
  const selected = new Set(ids);
  const skipped = 'ids' in selection ? selection.ids.filter((id) => !selected.has(id)) : [];
  const queued = queue.replays.enqueue(ids, statuses);
  return { ids, queued, skipped, pending: queue.replays.pending };
}

export async function purgeLetters(queue: DeadLetterQueue, input: unknown): Promise<PurgeResult> {
  return queue.letters.purge(parseSelection(input, 'purge'));
}

export async function stats(queue: DeadLetterQueue): Promise<Stats> {
  const [open, replayed, purged] = await Promise.all([
    queue.letters.count({ status: 'open' }),
    queue.letters.count({ status: 'replayed' }),
    queue.letters.count({ status: 'purged' }),
  ]);
  return { open, replayed, purged, total: open + replayed + purged, replaying: queue.replays.pending };
}
