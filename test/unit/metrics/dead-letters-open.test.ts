import { deadLettersOpen } from '../../../lib/metrics/scrape';
import { DeadLetters } from '../../../lib/reliability/dead-letters';
import { catchMessage, manualTime, storeFolder } from '../dead-letters/fixture';

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

      const { items, truncated } = await deadLettersOpen(store);
      expect(truncated).toBe(false);
      expect(items.sort((a, b) => a.system.localeCompare(b.system))).toEqual([
        { system: 'coupa:acme', process: 'procurement', open: 2 },
        { system: 'https://concur.example.com', process: 'expense', open: 1 },
      ]);
    } finally {
      await store.close();
    }
  });
});
