import { ReplayQueue, replayMessage } from '../../../lib/reliability/dead-letter-replay';
import type { DeadLetter } from '../../../lib/reliability/dead-letters';
import { FakeTimers } from './fixture';

function letter(id: string, replayCount = 1): DeadLetter {
  return {
    id,
    createdAt: '2025-03-01T09:00:00.000Z',
    lastFailedAt: '2025-03-01T09:00:00.000Z',
    attempts: 4,
    error: { code: 'ERP_TIMEOUT', message: 'timed out' },
    original: { payload: { id: `doc-${id}` }, finance: { id: `evt-${id}`, attempt: 4 }, topic: 't' },
    status: 'replayed',
    replayCount,
  };
}

/** Lets the queue's awaited store calls (here: resolved promises) run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 10; i += 1) await Promise.resolve();
}

function setup(ratePerSecond: number, markReplayed?: (id: string) => Promise<DeadLetter | undefined>) {
  const clock = new FakeTimers();
  const emitted: { at: number; msg: Record<string, unknown> }[] = [];
  const errors: string[] = [];
  const marked: string[] = [];
  const queue = new ReplayQueue({
    letters: {
      markReplayed:
        markReplayed ??
        (async (id: string) => {
          marked.push(id);
          return letter(id);
        }),
      settleReplay: async () => undefined,
      markReplaysCut: async () => undefined,
      replaysToResend: async () => [],
    },
    ratePerSecond,
    emit: (msg) => emitted.push({ at: clock.now(), msg }),
    onError: (_err, id) => errors.push(id),
    clock,
  });
  return { clock, queue, emitted, errors, marked };
}

describe('replay queue', () => {
  it('sends first in first out, no faster than the rate', async () => {
    const { clock, queue, emitted } = setup(2);

    expect(queue.enqueue(['a', 'b', 'c', 'd'])).toBe(4);
    await settle();
    expect(emitted.map((e) => e.at)).toEqual([0]);

    clock.advance(499);
    await settle();
    expect(emitted).toHaveLength(1);

    for (let step = 0; step < 3; step += 1) {
      clock.advance(500);
      await settle();
    }
    expect(emitted.map((e) => (e.msg.replay as { deadLetterId: string }).deadLetterId)).toEqual(['a', 'b', 'c', 'd']);
    const gaps = emitted.slice(1).map((e, i) => e.at - emitted[i].at);
    expect(gaps.every((gap) => gap >= 500)).toBe(true);
    expect(queue.pending).toBe(0);
  });

  it('queues a letter once even when asked twice', async () => {
    const { clock, queue, marked } = setup(10);
    expect(queue.enqueue(['a', 'b'])).toBe(2);
    expect(queue.enqueue(['b', 'c'])).toBe(1);
    for (let step = 0; step < 5; step += 1) {
      clock.advance(100);
      await settle();
    }
    expect(marked).toEqual(['a', 'b', 'c']);
  });

  it('skips letters that are gone and reports store failures, then carries on', async () => {
    const { clock, queue, emitted, errors } = setup(10, async (id) => {
      if (id === 'gone') return undefined;
      if (id === 'broken') throw new Error('store closed');
      return letter(id);
    });
    queue.enqueue(['gone', 'broken', 'ok']);
    for (let step = 0; step < 5; step += 1) {
      clock.advance(100);
      await settle();
    }
    expect(errors).toEqual(['broken']);
    expect(emitted.map((e) => (e.msg.replay as { deadLetterId: string }).deadLetterId)).toEqual(['ok']);
  });

  it('stops on close: nothing more is sent and no timer is left', async () => {
    const { clock, queue, emitted } = setup(1);
    queue.enqueue(['a', 'b', 'c']);
    await settle();
    queue.close();
    clock.advance(10_000);
    await settle();
    expect(emitted).toHaveLength(1);
    expect(clock.timers).toBe(0);
    expect(queue.enqueue(['d'])).toBe(0);
  });

  it('refuses a rate that is not positive', () => {
    expect(() => setup(0)).toThrow(/positive number of messages per second/);
  });
});

describe('replayMessage', () => {
  it('copies the original as on its first attempt and marks it as a replay', () => {
    const source = letter('x', 2);
    const msg = replayMessage(source);
    expect(msg).toEqual({
      payload: { id: 'doc-x' },
      finance: { id: 'evt-x', attempt: 1 },
      topic: 't',
      replay: { deadLetterId: 'x', replayCount: 2 },
    });
    (msg.payload as Record<string, unknown>).id = 'changed';
    expect(source.original?.payload).toEqual({ id: 'doc-x' });
    expect((source.original?.finance as { attempt: number }).attempt).toBe(4);
  });
});
