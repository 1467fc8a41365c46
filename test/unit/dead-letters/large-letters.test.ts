/**
 * A dead letter's message is kept apart from the letter: lists, counts and retention never read it, so a few
 * letters of tens of megabytes cannot fill a small host's memory; one letter read by id has it whole.
 */
import { DeadLetters, DLQ_MESSAGE_NAMESPACE, DLQ_NAMESPACE } from '../../../lib/reliability/dead-letters';
import { catchMessage, manualTime, storeFolder } from './fixture';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('dead letters with large messages', () => {
  const folder = storeFolder('large');
  afterAll(() => folder.cleanup());

  function setUp() {
    const clock = manualTime();
    const store = folder.open(folder.newPath(), clock.now);
    return { clock, store, letters: new DeadLetters({ store, queue: 'dl', now: clock.now }) };
  }

  const bulky = (n: number) =>
    catchMessage({
      msgId: `m-${n}`,
      eventId: `e-${n}`,
      extra: { attachment: 'x'.repeat(2_000_000) },
    });

  it('lists letters without their message, giving its size; one letter read by id has it', async () => {
    const { store, letters } = setUp();
    const added = await letters.add(bulky(1));
    expect(added.originalBytes).toBeGreaterThan(2_000_000);

    const page = await letters.list();
    expect(page.letters).toHaveLength(1);
    expect(page.letters[0]).not.toHaveProperty('original');
    expect(page.letters[0].originalBytes).toBe(added.originalBytes);
    expect(JSON.stringify(page).length).toBeLessThan(10_000);

    const whole = await letters.get(added.letter.id);
    expect(whole?.original?.attachment).toHaveLength(2_000_000);
    expect(whole).not.toHaveProperty('originalBytes');
    // The letters' namespace, which counts, lists and the metrics read, does not hold the message.
    expect(JSON.stringify(await store.kvList(DLQ_NAMESPACE)).length).toBeLessThan(10_000);

    const replayed = await letters.markReplayed(added.letter.id);
    expect(replayed?.original?.attachment).toHaveLength(2_000_000);
  });

  it('drops the message on purge and on removal by retention', async () => {
    const { clock, store, letters } = setUp();
    const first = await letters.add(bulky(1));
    await letters.add(bulky(2));
    expect(await store.kvList(DLQ_MESSAGE_NAMESPACE)).toHaveLength(2);
    await letters.purge({ ids: [first.letter.id] });
    expect((await letters.get(first.letter.id))?.original).toBeUndefined();
    expect(await store.kvList(DLQ_MESSAGE_NAMESPACE)).toHaveLength(1);
    await letters.purge({ filter: {} });
    clock.advance(31 * DAY_MS);
    expect(await letters.enforceRetention({ maxAgeDays: 30, maxEntries: 100 })).toEqual({ removed: 2, open: 0 });
    expect(await store.kvList(DLQ_MESSAGE_NAMESPACE)).toEqual([]);
    expect(await store.kvList(DLQ_NAMESPACE)).toEqual([]);
  });

  it('reads letters stored with their message inline (before the split) as before', async () => {
    const { store, letters } = setUp();
    const added = await letters.add(catchMessage({ msgId: 'm-old' }));
    // Rewrite it the way earlier versions stored letters.
    const key = `dl/L/${added.letter.id}`;
    const stored = (await store.kvGet(DLQ_NAMESPACE, key)) as { letter: Record<string, unknown> };
    delete stored.letter.originalBytes;
    stored.letter.original = added.letter.original;
    await store.kvPut(DLQ_NAMESPACE, key, stored);
    await store.kvDelete(DLQ_MESSAGE_NAMESPACE, `dl/${added.letter.id}`);

    const listed = (await letters.list()).letters[0];
    expect(listed).not.toHaveProperty('original');
    expect(listed.originalBytes).toBe(Buffer.byteLength(JSON.stringify(added.letter.original)));
    expect((await letters.get(added.letter.id))?.original).toEqual(added.letter.original);
    expect((await letters.markReplayed(added.letter.id))?.original).toEqual(added.letter.original);
  });
});
