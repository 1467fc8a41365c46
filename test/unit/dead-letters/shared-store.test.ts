/**
 * Dead letters on a PostgreSQL store several hosts share: each host sees the counts of the store, and two hosts
 * replaying (or purging) the same letters at once change each letter once.
 */
import { DeadLetters } from '../../../lib/reliability/dead-letters';
import { storeSandbox } from '../store/store-fixture';
import { catchMessage } from './fixture';

describe('dead letters on a store several hosts share', () => {
  const sandbox = storeSandbox('fd-dlq-shared', 'postgres');
  afterAll(() => sandbox.cleanup());

  function twoHosts() {
    const location = sandbox.newPath();
    return [0, 1].map(() => new DeadLetters({ store: sandbox.open({ path: location }), queue: 'dl' }));
  }

  async function addLetters(host: DeadLetters, count: number): Promise<string[]> {
    const ids: string[] = [];
    for (let n = 1; n <= count; n += 1) {
      ids.push((await host.add(catchMessage({ msgId: `m-${n}`, eventId: `e-${n}`, docId: `ER-${n}` }))).letter.id);
    }
    return ids;
  }

  it("counts the letters another host added, and never below zero after another host's replays", async () => {
    const [one, two] = twoHosts();
    expect(await two.count({ status: 'open' })).toBe(0);
    const ids = await addLetters(one, 3);
    expect(await two.count({ status: 'open' })).toBe(3);
    expect((await two.list({ status: 'open' })).letters).toHaveLength(3);

    for (const id of ids) await one.markReplayed(id, ['open']);
    expect(await two.count({ status: 'open' })).toBe(0);
    expect(await two.count({ status: 'replayed' })).toBe(3);
    await two.purge({ filter: {} });
    expect(await one.count({ status: 'purged' })).toBe(3);
    expect(await one.count({ status: 'replayed' })).toBe(0);
    expect(await one.count()).toBe(3);
  });

  it('lets a status take counts read a moment ago, so a burst of letters does not scan the queue per letter', async () => {
    const location = sandbox.newPath();
    const store = sandbox.open({ path: location });
    let now = Date.parse('2026-11-29T10:00:00Z');
    const scans = jest.spyOn(store, 'kvList');
    const host = new DeadLetters({ store, queue: 'dl', now: () => now });
    await addLetters(host, 3);
    expect(await host.count({ status: 'open', maxAgeMs: 5_000 })).toBe(3);
    const scansAfterFirst = scans.mock.calls.length;
    await host.add(catchMessage({ msgId: 'm-4', eventId: 'e-4', docId: 'ER-4' }));
    now += 4_000;
    expect(await host.count({ status: 'open', maxAgeMs: 5_000 })).toBe(3);
    expect(scans.mock.calls.length).toBe(scansAfterFirst);
    now += 2_000;
    expect(await host.count({ status: 'open', maxAgeMs: 5_000 })).toBe(4);
    // Without maxAgeMs (the admin API's stats) a count is always read from the store.
    await host.add(catchMessage({ msgId: 'm-5', eventId: 'e-5', docId: 'ER-5' }));
    expect(await host.count({ status: 'open' })).toBe(5);
  });

  it('replays each letter once when two hosts replay all open letters at the same moment', async () => {
    const [one, two] = twoHosts();
    const ids = await addLetters(one, 8);
    const [byOne, byTwo] = await Promise.all(
      [one, two].map((host) => Promise.all(ids.map((id) => host.markReplayed(id, ['open'])))),
    );
    const replayed = ids.filter((_, i) => byOne[i] !== undefined || byTwo[i] !== undefined);
    const twice = ids.filter((_, i) => byOne[i] !== undefined && byTwo[i] !== undefined);
    expect(twice).toEqual([]);
    expect(replayed).toEqual(ids);
    for (const letter of [...byOne, ...byTwo]) if (letter) expect(letter.replayCount).toBe(1);
    // What a replay sends is the message, read with the letter.
    expect([...byOne, ...byTwo].find(Boolean)?.original).toMatchObject({ payload: { total: { amount: '120.50' } } });
    expect(await two.count({ status: 'open' })).toBe(0);
    expect(await one.count({ status: 'replayed' })).toBe(8);
  });

  it('a replay cut off by a restart is sent again by one host only, when both look for cut replays', async () => {
    const [one, two] = twoHosts();
    const ids = await addLetters(one, 6);
    for (const id of ids) await one.markReplayed(id, ['open']);
    await one.markReplaysCut(ids.map((id) => ({ id, replayCount: 1 })));
    const cut = await two.replaysToResend(60_000);
    expect(cut.map((replay) => replay.id).sort()).toEqual([...ids].sort());

    const [byOne, byTwo] = await Promise.all(
      [one, two].map((host) => Promise.all(cut.map((replay) => host.markReplayed(replay.id, ['replayed'], 1)))),
    );
    const twice = ids.filter((_, i) => byOne[i] !== undefined && byTwo[i] !== undefined);
    expect(twice).toEqual([]);
    expect(ids.filter((_, i) => byOne[i] !== undefined || byTwo[i] !== undefined)).toHaveLength(6);
    // The replays sent again are in flight now (not cut): nothing more to send until they settle or are cut.
    expect(await one.replaysToResend(60_000)).toEqual([]);
    for (const id of ids) await two.settleReplay(id, 2);
    expect(await one.replaysToResend(0)).toEqual([]);
  });
});
