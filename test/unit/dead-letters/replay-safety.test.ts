/** Replays that must not happen twice: replay commands racing on the same letters. */
import { replayLetters, type DeadLetterQueue } from '../../../lib/reliability/dead-letter-commands';
import { ReplayQueue } from '../../../lib/reliability/dead-letter-replay';
import { DeadLetters } from '../../../lib/reliability/dead-letters';
import { inboxKey, type FinanceStore } from '../../../lib/reliability/store';
import { catchMessage, FakeTimers, manualTime, storeFolder } from './fixture';

/** A store whose letter writes wait while the gate is closed: the time a disk sync takes, made visible. */
function gated(store: FinanceStore) {
  let open = true;
  let waiting: Array<() => void> = [];
  const wrapped = Object.create(store) as FinanceStore;
  wrapped.kvPut = async (namespace, key, value, ttlMs) => {
    if (!open && key.includes('/L/')) await new Promise<void>((resolve) => waiting.push(resolve));
    return store.kvPut(namespace, key, value, ttlMs);
  };
  return {
    store: wrapped,
    close: () => {
      open = false;
    },
    open: () => {
      open = true;
      const release = waiting;
      waiting = [];
      release.forEach((resolve) => resolve());
    },
  };
}

describe('dead-letter replay safety', () => {
  const folder = storeFolder('replay-safety');
  afterAll(() => folder.cleanup());

  function setup() {
    const clock = manualTime();
    const store = folder.open(folder.newPath(), clock.now);
    const gate = gated(store);
    const letters = new DeadLetters({ store: gate.store, queue: 'q', now: clock.now });
    const timers = new FakeTimers();
    const emitted: string[] = [];
    const errors: Array<{ id: string; message: string }> = [];
    const replays = new ReplayQueue({
      letters,
      ratePerSecond: 1,
      emit: (msg) => emitted.push((msg.replay as { deadLetterId: string }).deadLetterId),
      onError: (err, id) => errors.push({ id, message: (err as Error).message }),
      clock: timers,
    });
    const queue: DeadLetterQueue = { letters, replays };
    /**
     * Moves the replay rate's clock on until every queued letter is replayed (or refused): each replay waits for
     * a store write, which takes longer on a busy machine, so the rounds are not counted in advance.
     */
    const release = async () => {
      for (let round = 0; round < 1000 && replays.unfinished > 0; round += 1) {
        timers.advance(1000);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      expect(replays.unfinished).toBe(0);
    };
    return { store, gate, letters, queue, emitted, errors, release };
  }

  it('two replay commands racing on one filter replay a letter once', async () => {
    const { gate, letters, queue, emitted, release } = setup();
    const { letter } = await letters.add(catchMessage({ msgId: 'a', code: 'ERP_REJECTED' }));
    try {
      gate.close();
      const first = await replayLetters(queue, { code: 'ERP_REJECTED' });
      expect(first.ids).toEqual([letter.id]);
      // The first replay has taken the letter off the queue and is marking it replayed (the write is not
      // committed yet) when a second operator, or a second click, asks for the same filter.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const second = await replayLetters(queue, { code: 'ERP_REJECTED' });
      gate.open();
      await release();
      expect(emitted).toEqual([letter.id]);
      expect(second.queued).toBe(0);
      expect((await letters.get(letter.id))?.replayCount).toBe(1);
    } finally {
      gate.open();
      queue.replays.close();
    }
  });

  it('a filter selection that saw the letter open is not sent again once another replay has sent it', async () => {
    const { letters, queue, emitted, release } = setup();
    const { letter } = await letters.add(catchMessage({ msgId: 'c', code: 'ERP_TIMEOUT' }));
    try {
      // A second command selected the open letters (a long scan) before the first command's replay went out...
      const selected = await letters.select({ filter: { code: 'ERP_TIMEOUT' } }, ['open']);
      await replayLetters(queue, { code: 'ERP_TIMEOUT' });
      await release();
      expect(emitted).toEqual([letter.id]);
      // ...and queues them only now: the letter is no longer open, so it is not sent again.
      queue.replays.enqueue(selected, ['open']);
      await release();
      expect(emitted).toEqual([letter.id]);
      expect((await letters.get(letter.id))?.replayCount).toBe(1);
      // Asked for by id, a replayed letter is replayed again (a person asks again, see replayLetters).
      await replayLetters(queue, { ids: [letter.id] });
      await release();
      expect(emitted).toEqual([letter.id, letter.id]);
    } finally {
      queue.replays.close();
    }
  });

  it('still replays a letter whose event was finished as dead-lettered (by this letter)', async () => {
    const { store, letters, queue, emitted, release } = setup();
    const key = inboxKey('https://concur.example.com', 'evt-2');
    await store.accept({ key, envelope: { id: 'evt-2' }, payload: {} });
    const { letter } = await letters.add(catchMessage({ msgId: 'b', code: 'ERP_REJECTED', eventId: 'evt-2' }));
    expect((await store.get(key))?.outcome?.status).toBe('dead-lettered');
    try {
      await replayLetters(queue, { ids: [letter.id] });
      await release();
      expect(emitted).toEqual([letter.id]);
    } finally {
      queue.replays.close();
    }
  });
});
