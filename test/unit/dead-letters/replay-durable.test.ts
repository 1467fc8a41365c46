/**
 * A replay cut off on its way through the flow (a redeploy, a restart, a crash) is sent again: its letter is not
 * left looking replayed while its document was never posted.
 */
import { ReplayQueue } from '../../../lib/reliability/dead-letter-replay';
import { DeadLetters, DLQ_NAMESPACE } from '../../../lib/reliability/dead-letters';
import { catchMessage, FakeTimers, manualTime, storeFolder } from './fixture';

const SETTLE_MS = 60_000;

describe('durable replays', () => {
  const folder = storeFolder('replay-durable');
  afterAll(() => folder.cleanup());

  function setup() {
    const clock = manualTime();
    const store = folder.open(folder.newPath(), clock.now);
    const letters = new DeadLetters({ store, queue: 'q', now: clock.now });
    const emitted: Array<{ id: string; replayCount: number }> = [];
    const errors: string[] = [];
    /** A replay queue as a dead-letter node makes one when it starts (one per deploy). */
    const start = () => {
      const timers = new FakeTimers();
      const replays = new ReplayQueue({
        letters,
        ratePerSecond: 1000,
        settleAfterMs: SETTLE_MS,
        emit: (msg) => emitted.push(msg.replay as { id: string; replayCount: number } & Record<string, never>),
        onError: (err, id) => errors.push(`${id}: ${(err as Error).message}`),
        clock: timers,
      });
      const run = async () => {
        for (let round = 0; round < 200 && replays.unfinished > 0; round += 1) {
          timers.advance(10);
          await new Promise((resolve) => setTimeout(resolve, 2));
        }
        expect(replays.unfinished).toBe(0);
      };
      return { replays, timers, run };
    };
    const markers = async () => (await store.kvList(DLQ_NAMESPACE, { prefix: 'q/R/' })).map((entry) => entry.value);
    return { clock, store, letters, emitted, errors, start, markers };
  }

  const replayed = (emitted: Array<Record<string, unknown>>) =>
    emitted.map((replay) => [replay.deadLetterId, replay.replayCount]);

  it('a replay the node closes on before it settled is sent again when the node starts again', async () => {
    const { letters, emitted, errors, start, markers } = setup();
    const { letter } = await letters.add(catchMessage({ code: 'ERP_UNAVAILABLE' }));

    const first = start();
    first.replays.enqueue([letter.id]);
    await first.run();
    expect(replayed(emitted)).toEqual([[letter.id, 1]]);
    expect(await markers()).toEqual([expect.objectContaining({ id: letter.id, replayCount: 1 })]);

    await first.replays.close(); // a redeploy while the replay is on its way
    expect(await markers()).toEqual([expect.objectContaining({ id: letter.id, replayCount: 1, cut: true })]);

    const second = start();
    expect(await second.replays.resendCutReplays()).toBe(1);
    await second.run();
    expect(replayed(emitted)).toEqual([
      [letter.id, 1],
      [letter.id, 2],
    ]);
    expect((await letters.get(letter.id))?.replayCount).toBe(2);
    // Once the flow has run long enough after it, the replay is settled: nothing more is sent.
    second.timers.advance(SETTLE_MS);
    for (let round = 0; round < 200 && (await markers()).length > 0; round += 1) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(await markers()).toEqual([]);
    await second.replays.close();
    expect(await start().replays.resendCutReplays()).toBe(0);
    expect(errors).toEqual([]);
  });

  it('a replay whose node crashed (nobody settled or cut it) is sent again after twice the settle time', async () => {
    const { clock, letters, emitted, start } = setup();
    const { letter } = await letters.add(catchMessage({ code: 'ERP_UNAVAILABLE' }));
    const crashed = start();
    crashed.replays.enqueue([letter.id]);
    await crashed.run();
    // No close: the process died. Another start (or another host) finds the replay unsettled.
    const next = start();
    clock.advance(2 * SETTLE_MS - 1);
    expect(await next.replays.resendCutReplays()).toBe(0);
    clock.advance(1);
    expect(await next.replays.resendCutReplays()).toBe(1);
    await next.run();
    expect(replayed(emitted)).toEqual([
      [letter.id, 1],
      [letter.id, 2],
    ]);
    await next.replays.close();
  });

  it('a replay that failed again (letter reopened) or a purged letter is not sent again', async () => {
    const { letters, emitted, start, markers } = setup();
    const a = (await letters.add(catchMessage({ msgId: 'm-a', eventId: 'evt-a', docId: 'A' }))).letter;
    const b = (await letters.add(catchMessage({ msgId: 'm-b', eventId: 'evt-b', docId: 'B' }))).letter;
    const first = start();
    first.replays.enqueue([a.id, b.id]);
    await first.run();
    // The replay of A fails again: the Catch message carries msg.replay, the letter reopens.
    const reopened = await letters.add(
      catchMessage({
        msgId: 'm-a2',
        eventId: 'evt-a',
        docId: 'A',
        extra: { replay: { deadLetterId: a.id, replayCount: 1 } },
      }),
    );
    expect(reopened.status).toBe('reopened');
    await letters.purge({ ids: [b.id] });
    expect(await markers()).toEqual([]);
    await first.replays.close();
    expect(await start().replays.resendCutReplays()).toBe(0);
    expect(emitted).toHaveLength(2);
  });

  it('two nodes sending the same cut replay again send it once', async () => {
    const { letters, emitted, start } = setup();
    const { letter } = await letters.add(catchMessage({ code: 'ERP_UNAVAILABLE' }));
    const first = start();
    first.replays.enqueue([letter.id]);
    await first.run();
    await first.replays.close();

    const one = start();
    const two = start();
    await Promise.all([one.replays.resendCutReplays(), two.replays.resendCutReplays()]);
    await Promise.all([one.run(), two.run()]);
    expect(replayed(emitted)).toEqual([
      [letter.id, 1],
      [letter.id, 2],
    ]);
    await Promise.all([one.replays.close(), two.replays.close()]);
  });
});
