const { withHeapLimit, DEFAULT_HEAP_MB } = require('../../../flows/heap-limit') as {
  withHeapLimit: (env?: Record<string, string | undefined>) => string;
  DEFAULT_HEAP_MB: number;
};

describe('the heap limit npm start and the benchmark run Node-RED with', () => {
  it('is 256 MB unless FINANCE_SYNC_HEAP_MB says otherwise, next to the NODE_OPTIONS already set', () => {
    expect(DEFAULT_HEAP_MB).toBe(256);
    expect(withHeapLimit({})).toBe('--max-old-space-size=256');
    expect(withHeapLimit({ FINANCE_SYNC_HEAP_MB: '' })).toBe('--max-old-space-size=256');
    expect(withHeapLimit({ FINANCE_SYNC_HEAP_MB: '1024' })).toBe('--max-old-space-size=1024');
    expect(withHeapLimit({ NODE_OPTIONS: '--enable-source-maps' })).toBe(
      '--enable-source-maps --max-old-space-size=256',
    );
  });

  it('keeps a limit the operator set, leaves it to V8 with 0, and refuses what is not a whole number', () => {
    expect(withHeapLimit({ NODE_OPTIONS: '--max_old_space_size=2048' })).toBe('--max_old_space_size=2048');
    expect(withHeapLimit({ FINANCE_SYNC_HEAP_MB: '0', NODE_OPTIONS: '--trace-warnings' })).toBe('--trace-warnings');
    for (const bad of ['256MB', '-1', '1.5', 'lots']) {
      expect(() => withHeapLimit({ FINANCE_SYNC_HEAP_MB: bad })).toThrow(
        `FINANCE_SYNC_HEAP_MB must be a whole number of megabytes (0 for no limit), not "${bad}".`,
      );
    }
  });
});
