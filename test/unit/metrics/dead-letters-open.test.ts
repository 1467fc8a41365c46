import { BoundedLabels } from '../../../lib/metrics/labels';
import { MetricsRegistry } from '../../../lib/metrics/registry';
import {
  cachedDeadLetterCount,
  collectSnapshot,
  DEAD_LETTERS_MAX_AGE_MS,
  deadLettersOpen,
} from '../../../lib/metrics/scrape';
import { DeadLetters } from '../../../lib/reliability/dead-letters';
import type { FinanceStore } from '../../../lib/reliability/store';
import { catchMessage, manualTime, storeFolder } from '../dead-letters/fixture';

type KvList = FinanceStore['kvList'];

/** A store whose dead-letter queue holds `total` open letters from `sourceOf(n)`; it records each page read. */
function fakeStore(total: number, sourceOf: (n: number) => string = () => 'concur:acme') {
  const pagesRead: number[] = [];
  const kvList = (async (_namespace: string, options: { after?: string; limit?: number } = {}) => {
    const start = options.after === undefined ? 0 : Number(options.after) + 1;
    const end = Math.min(total, start + (options.limit ?? total));
    pagesRead.push(start);
    return Array.from({ length: Math.max(0, end - start) }, (_, i) => ({
      key: String(start + i),
      value: { letter: { status: 'open', source: sourceOf(start + i), docType: 'ExpenseReport' }, naturalKeys: [] },
    }));
  }) as unknown as KvList;
  return { store: { kvList }, pagesRead };
}

describe('dead letters open, for the metrics', () => {
  const folder = storeFolder('metrics-letters');
  afterAll(() => folder.cleanup());

  it('counts the open letters of every queue in the store per system and process', async () => {
    const clock = manualTime();
    const store = folder.open(folder.newPath(), clock.now);
    try {
      const first = new DeadLetters({ store, queue: 'dl-a', now: clock.now });
      const second = new DeadLetters({ store, queue: 'dl-b', now: clock.now });
      await first.add(catchMessage({ msgId: 'm1', eventId: 'e1', code: 'ERP_TIMEOUT' }));
      const purged = await first.add(catchMessage({ msgId: 'm2', eventId: 'e2', code: 'ERP_TIMEOUT' }));
      await second.add(catchMessage({ msgId: 'm3', eventId: 'e3', source: 'coupa:acme', docType: 'PurchaseOrder' }));
      await second.add(catchMessage({ msgId: 'm4', eventId: 'e4', source: 'coupa:acme', docType: 'PurchaseOrder' }));
      await first.purge({ ids: [purged.letter.id] });

      const { items, truncated } = await deadLettersOpen(store, new MetricsRegistry().systemLabel);
      expect(truncated).toBe(false);
      expect(items.sort((a, b) => a.system.localeCompare(b.system))).toEqual([
        { system: 'coupa:acme', process: 'procurement', open: 2 },
        { system: 'https://concur.example.com', process: 'expense', open: 1 },
      ]);
    } finally {
      await store.close();
    }
  });

  it("names a letter's source (what the sender wrote) through the bounded system labels", async () => {
    const { store } = fakeStore(5, (n) => `/tenants/acme/reports/${n}/${'x'.repeat(100)}`);
    const labels = new BoundedLabels(2);
    const { items } = await deadLettersOpen(store, (system) => labels.labelOf(system));
    expect(items.map((item) => [item.system.length, item.open])).toEqual([
      [64, 1],
      [64, 1],
      [5, 3],
    ]);
    expect(items[2]!.system).toBe('other');
  });

  it('lets the event loop run between pages, so a long queue does not stall timers and requests', async () => {
    const { store, pagesRead } = fakeStore(2500);
    let pagesReadWhenTheLoopRan: number | undefined;
    setImmediate(() => {
      pagesReadWhenTheLoopRan = pagesRead.length;
    });
    const { items } = await deadLettersOpen(store, (system) => system);
    expect(items).toEqual([{ system: 'concur:acme', process: 'expense', open: 2500 }]);
    expect(pagesRead.length).toBeGreaterThan(1);
    // Awaiting the synchronous store between pages alone would read every page before the callback.
    expect(pagesReadWhenTheLoopRan).toBe(1);
  });

  it('counts once for concurrent scrapes and serves that count for DEAD_LETTERS_MAX_AGE_MS', async () => {
    const { store, pagesRead } = fakeStore(10);
    const clock = manualTime();
    const count = cachedDeadLetterCount(
      () => store,
      (system) => system,
      clock.now,
    );
    const registry = new MetricsRegistry();
    const scrape = () => collectSnapshot({ registry, deadLetters: count });

    const concurrent = await Promise.all([scrape(), scrape(), scrape()]);
    expect(concurrent.map((snapshot) => snapshot.deadLetters[0]!.open)).toEqual([10, 10, 10]);
    expect(pagesRead).toHaveLength(1);

    clock.advance(DEAD_LETTERS_MAX_AGE_MS - 1);
    await scrape();
    expect(pagesRead).toHaveLength(1);

    clock.advance(1);
    await scrape();
    expect(pagesRead).toHaveLength(2);
  });

  it('does not keep a failed count: the next scrape reads again and the failure is named in problems', async () => {
    let fail = true;
    const { store, pagesRead } = fakeStore(1);
    const flaky = {
      kvList: ((...args: Parameters<KvList>) =>
        fail ? Promise.reject(new Error('store closed')) : store.kvList(...args)) as KvList,
    };
    const count = cachedDeadLetterCount(
      () => flaky,
      (system) => system,
      manualTime().now,
    );
    const registry = new MetricsRegistry();
    expect((await collectSnapshot({ registry, deadLetters: count })).problems).toEqual(['dead letters: store closed']);
    fail = false;
    expect((await collectSnapshot({ registry, deadLetters: count })).deadLetters).toHaveLength(1);
    expect(pagesRead).toHaveLength(1);
  });
});
