import { isCommand, runCommand, type DeadLetterQueue } from '../../../lib/reliability/dead-letter-commands';
import { ReplayQueue } from '../../../lib/reliability/dead-letter-replay';
import { deadLetterSettings } from '../../../lib/reliability/dead-letter-settings';
import { DeadLetters } from '../../../lib/reliability/dead-letters';
import { catchMessage, FakeTimers, manualTime, storeFolder } from './fixture';

describe('dead-letter commands', () => {
  const folder = storeFolder('commands');
  let queue: DeadLetterQueue;
  let timers: FakeTimers;
  let emitted: string[];
  let ids: string[];

  beforeEach(async () => {
    const clock = manualTime();
    const letters = new DeadLetters({ store: folder.open(folder.newPath(), clock.now), queue: 'q', now: clock.now });
    timers = new FakeTimers();
    emitted = [];
    // One message per second: a test sees only what it lets the fake clock release.
    const replays = new ReplayQueue({
      letters,
      ratePerSecond: 1,
      emit: (msg) => emitted.push((msg.replay as { deadLetterId: string }).deadLetterId),
      onError: () => undefined,
      clock: timers,
    });
    queue = { letters, replays };
    ids = [];
    for (const [msgId, code] of [
      ['a', 'ERP_REJECTED'],
      ['b', 'ERP_TIMEOUT'],
      ['c', 'ERP_REJECTED'],
    ]) {
      ids.push((await letters.add(catchMessage({ msgId, code }))).letter.id);
    }
  });
  afterEach(() => queue.replays.close());
  afterAll(() => folder.cleanup());

  /** Releases queued replays one per (fake) second until `count` have been sent in all; store writes take real time. */
  async function releaseUntil(count: number): Promise<void> {
    for (let round = 0; round < 500 && emitted.length < count; round += 1) {
      timers.advance(1000);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(emitted).toHaveLength(count);
  }

  it('knows its commands', () => {
    expect(['list', 'replay', 'purge', 'stats'].every(isCommand)).toBe(true);
    expect(isCommand('expense')).toBe(false);
    expect(isCommand(undefined)).toBe(false);
  });

  it('lists with a filter', async () => {
    const page = (await runCommand(queue, 'list', { code: 'ERP_REJECTED' })) as { letters: { id: string }[] };
    expect(page.letters.map((letter) => letter.id)).toEqual([ids[0], ids[2]]);
  });

  it('replays "all" open letters in order, and a second "all" only what is open then', async () => {
    const answer = await runCommand(queue, 'replay', 'all');
    expect(answer).toEqual({ ids, queued: 3, skipped: [], pending: 3 });
    await releaseUntil(3);
    expect(emitted).toEqual(ids);
    expect(await runCommand(queue, 'replay', 'all')).toEqual({ ids: [], queued: 0, skipped: [], pending: 0 });
  });

  it('replays named letters even when replayed before, and names the ones it cannot replay', async () => {
    await runCommand(queue, 'replay', { ids: [ids[1]] });
    await releaseUntil(1);
    await runCommand(queue, 'purge', { ids: [ids[2]] });

    const answer = await runCommand(queue, 'replay', { ids: [ids[1], ids[2], '1740819600000-00000000'] });

    expect(answer).toMatchObject({ ids: [ids[1]], queued: 1, skipped: [ids[2], '1740819600000-00000000'] });
    await releaseUntil(2);
    expect(emitted).toEqual([ids[1], ids[1]]);
    expect((await queue.letters.get(ids[1]))?.replayCount).toBe(2);
  });

  it('replays by filter, open letters unless the filter names a status', async () => {
    await runCommand(queue, 'replay', { code: 'ERP_REJECTED' });
    await releaseUntil(2);
    expect(emitted).toEqual([ids[0], ids[2]]);
    await runCommand(queue, 'replay', { filter: { status: 'replayed', code: 'ERP_REJECTED' } });
    await releaseUntil(4);
    expect(emitted).toEqual([ids[0], ids[2], ids[0], ids[2]]);
    await expect(runCommand(queue, 'replay', { status: 'purged' })).rejects.toThrow(/cannot be replayed/);
  });

  it('purges and counts', async () => {
    expect(await runCommand(queue, 'purge', { code: 'ERP_TIMEOUT' })).toEqual({ purged: 1, ids: [ids[1]] });
    await runCommand(queue, 'replay', { ids: [ids[0]] });
    await releaseUntil(1);
    expect(await runCommand(queue, 'stats', undefined)).toEqual({
      open: 1,
      replayed: 1,
      purged: 1,
      total: 3,
      replaying: 0,
    });
  });

  it('refuses a purge that does not say which letters', async () => {
    await expect(runCommand(queue, 'purge', {})).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    expect(await queue.letters.count({ status: 'open' })).toBe(3);
  });
});

describe('dead-letter settings', () => {
  it('has defaults and reads the dialog', () => {
    expect(deadLetterSettings({})).toEqual({ retention: { maxAgeDays: 30, maxEntries: 100_000 }, ratePerSecond: 10 });
    expect(deadLetterSettings({ maxAgeDays: '7', maxEntries: 500, ratePerSecond: '2' })).toEqual({
      retention: { maxAgeDays: 7, maxEntries: 500 },
      ratePerSecond: 2,
    });
  });

  it('names the field that is wrong', () => {
    expect(() => deadLetterSettings({ ratePerSecond: 0 })).toThrow(/Replay rate .* from 1 to 1000/);
    expect(() => deadLetterSettings({ maxAgeDays: 'a month' })).toThrow(/Keep letters for \(days\)/);
  });
});
