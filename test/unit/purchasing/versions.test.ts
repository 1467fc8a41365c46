import { VERSIONS_NAMESPACE, VersionBook, eventVerdict, versionVerdict } from '../../../lib/purchasing/versions';
import { storeFolder } from './fixtures';

describe('versionVerdict', () => {
  it('applies the first version and every newer one, replays the same, refuses an older one as stale', () => {
    expect(versionVerdict(undefined, 2)).toBe('apply');
    expect(versionVerdict(2, 3)).toBe('apply');
    expect(versionVerdict(3, 3)).toBe('replay');
    expect(versionVerdict(3, 2)).toBe('stale');
    expect(versionVerdict(3, 0)).toBe('stale');
  });

  it('applies events without a version in arrival order', () => {
    expect(versionVerdict(3, undefined)).toBe('apply');
    expect(versionVerdict(undefined, undefined)).toBe('apply');
  });
});

describe('eventVerdict', () => {
  const open = { version: 3, status: 'open' as const };
  const cancelled = { version: 3, status: 'cancelled' as const };

  it('applies a cancel of the applied version while the PO is still open (a status change within a version)', () => {
    expect(eventVerdict(open, 3, true)).toBe('apply');
  });

  it('replays the same cancel again and an open event of a cancelled version; older versions stay stale', () => {
    expect(eventVerdict(cancelled, 3, true)).toBe('replay');
    expect(eventVerdict(cancelled, 3, false)).toBe('replay');
    expect(eventVerdict(open, 3, false)).toBe('replay');
    expect(eventVerdict(open, 2, true)).toBe('stale');
    expect(eventVerdict(cancelled, 2, false)).toBe('stale');
    expect(eventVerdict(open, 4, false)).toBe('apply');
    expect(eventVerdict(undefined, 3, true)).toBe('apply');
  });
});

describe('VersionBook', () => {
  const folder = storeFolder('versions');
  afterAll(() => folder.cleanup());

  it('keeps the last applied version per external reference in the store', async () => {
    const store = folder.open();
    const book = new VersionBook(store);
    expect(await book.get('coupa:REQ-1')).toBeUndefined();
    const applied = {
      version: 2,
      status: 'open' as const,
      action: 'updated' as const,
      appliedAt: '2026-03-10T10:00:00.000Z',
    };
    await book.record('coupa:REQ-1', applied);
    expect(await book.get('coupa:REQ-1')).toEqual(applied);
    expect(await new VersionBook(store).get('coupa:REQ-1')).toEqual(applied);
    expect(await book.get('coupa:REQ-2')).toBeUndefined();
  });

  it('reports a record it cannot read as STORE_UNAVAILABLE with what to do', async () => {
    const store = folder.open();
    await store.kvPut(VERSIONS_NAMESPACE, 'coupa:REQ-1', { version: 'two' });
    await expect(new VersionBook(store).get('coupa:REQ-1')).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining('remove it'),
    });
  });
});
