/** The store's kvList `after` option, added for paging through dead letters. */
import type { FinanceStore } from '../../../lib/reliability/store';
import { manualTime, storeFolder } from './fixture';

describe('kvList after', () => {
  const folder = storeFolder('paging');
  let store: FinanceStore;

  beforeAll(async () => {
    store = folder.open(folder.newPath(), manualTime().now);
    await Promise.all(
      ['q/L/1', 'q/L/2', 'q/L/3', 'q/L/4', 'q/N/x', 'r/L/1'].map((key) => store.kvPut('dlq', key, key)),
    );
    await store.kvPut('other', 'q/L/5', 'elsewhere');
  });
  afterAll(() => folder.cleanup());

  const keys = async (options: { prefix?: string; after?: string; limit?: number }) =>
    (await store.kvList('dlq', options)).map((entry) => entry.key);

  it('continues after the given key, within the prefix and the namespace', async () => {
    expect(await keys({ prefix: 'q/L/', limit: 2 })).toEqual(['q/L/1', 'q/L/2']);
    expect(await keys({ prefix: 'q/L/', after: 'q/L/2', limit: 2 })).toEqual(['q/L/3', 'q/L/4']);
    expect(await keys({ prefix: 'q/L/', after: 'q/L/4' })).toEqual([]);
  });

  it('starts after a key that is not stored, at the next one', async () => {
    expect(await keys({ prefix: 'q/L/', after: 'q/L/25' })).toEqual(['q/L/3', 'q/L/4']);
  });

  it('starts at the prefix when the key sorts before it', async () => {
    expect(await keys({ prefix: 'q/L/', after: 'a' })).toEqual(['q/L/1', 'q/L/2', 'q/L/3', 'q/L/4']);
  });

  it('pages through a whole namespace without a prefix', async () => {
    expect(await keys({ after: 'q/N/x' })).toEqual(['r/L/1']);
  });

  it('refuses an empty key', async () => {
    await expect(store.kvList('dlq', { after: '' })).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
  });
});
