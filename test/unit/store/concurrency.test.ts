import { inboxKey } from '../../../lib/reliability/store';
import { BACKENDS, storeSandbox } from './store-fixture';

describe.each(BACKENDS)('inbox under concurrent accepts (%s)', (backend) => {
  const sandbox = storeSandbox('concurrency', backend);
  afterAll(() => sandbox.cleanup());

  it('2,000 concurrent accepts with 20 % duplicates accept each unique key exactly once', async () => {
    const store = sandbox.open({ path: sandbox.newPath(), maxInboxEntries: 10_000 });
    const unique = 1600;
    // Every fifth call repeats the key of another call, so duplicates race their originals.
    const ids = Array.from({ length: 2000 }, (_, call) =>
      call % 5 === 4 ? `e${(call * 7) % unique}` : `e${call - Math.floor(call / 5)}`,
    );
    expect(new Set(ids).size).toBe(unique);

    const results = await Promise.all(
      ids.map((id, call) => store.accept({ key: inboxKey('ramp', id), envelope: { id, call }, payload: { call } })),
    );

    const accepted = results.filter((result) => result.status === 'accepted');
    expect(accepted).toHaveLength(unique);
    expect(new Set(accepted.map((result) => result.entry.key)).size).toBe(unique);
    expect(results.filter((result) => result.status === 'duplicate')).toHaveLength(2000 - unique);
    // Every answer for a key, first or duplicate, shows the one stored entry.
    const stored = new Map(accepted.map((result) => [result.entry.key, result.entry.payload]));
    for (const result of results) expect(result.entry.payload).toEqual(stored.get(result.entry.key));
    expect(await store.countOpen()).toBe(unique);
    await store.close();
  });

  it('concurrent accepts never overshoot the high-water mark', async () => {
    const store = sandbox.open({ path: sandbox.newPath(), maxInboxEntries: 100 });
    const results = await Promise.allSettled(
      Array.from({ length: 300 }, (_, i) => store.accept({ key: `k${i}`, envelope: {}, payload: i })),
    );
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(100);
    const refused = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(refused).toHaveLength(200);
    for (const result of refused) expect(result.reason).toMatchObject({ code: 'STORE_FULL' });
    expect(await store.countOpen()).toBe(100);
    await store.close();
  });
});
