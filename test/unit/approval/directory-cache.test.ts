import {
  DirectoryCache,
  directoryOf,
  readDirectory,
  type DirectorySnapshot,
  type SnapshotKeeper,
} from '../../../lib/approval/directory-cache';
import type { MasterDataPage, MasterDataQuery, MasterRecord } from '../../../lib/erp/dialect';
import { FinanceError } from '../../../lib/errors';
import type { MasterDataKind } from '../../../lib/model/types';

const ctx = { correlationId: 'test' };

/** Master data served in pages of `pageSize`, with the cursor being the next offset. */
function pagedDialect(data: Partial<Record<MasterDataKind, object[]>>, pageSize: number) {
  const calls: Array<{ kind: MasterDataKind; cursor: string | null | undefined }> = [];
  return {
    calls,
    async listMasterData(kind: MasterDataKind, query: MasterDataQuery): Promise<MasterDataPage> {
      calls.push({ kind, cursor: query.cursor });
      const all = data[kind] ?? [];
      const offset = Number(query.cursor ?? 0);
      const next = offset + pageSize;
      return {
        items: all.slice(offset, next) as MasterRecord[],
        nextCursor: next < all.length ? String(next) : null,
      };
    },
  };
}

function snapshot(managerOfE1: string, loadedAt = '2025-03-12T09:00:00.000Z'): DirectorySnapshot {
  return {
    loadedAt,
    employees: [
      { id: 'E1', managerId: managerOfE1, active: true },
      { id: managerOfE1, active: true },
    ],
    costCenters: [{ id: 'CC-1', ownerId: managerOfE1 }],
  };
}

function memoryKeeper(initial?: DirectorySnapshot): SnapshotKeeper & { saved?: DirectorySnapshot } {
  const keeper: SnapshotKeeper & { saved?: DirectorySnapshot } = {
    saved: initial,
    save: async (value) => {
      keeper.saved = value;
    },
    restore: async () => keeper.saved,
  };
  return keeper;
}

describe('readDirectory', () => {
  it('reads every page of employees and cost centers and keeps what routing needs', async () => {
    const dialect = pagedDialect(
      {
        employees: [
          {
            id: 'E1',
            name: 'A',
            managerId: 'E2',
            approvalLimit: { amount: '500.00', currency: 'EUR' },
            active: true,
            email: 'a@x',
          },
          { id: 'E2', name: 'B', active: false, managerId: '' },
          { id: 'E3', name: 'C' },
          { name: 'no id' },
        ],
        costCenters: [
          { id: 'CC-1', name: 'One', ownerId: 'E2', open: true },
          { id: 'CC-2', name: 'Two', open: true },
        ],
      },
      2,
    );
    const result = await readDirectory(dialect, ctx, { pageSize: 2, now: () => new Date('2025-03-12T09:00:00Z') });
    expect(result).toEqual({
      loadedAt: '2025-03-12T09:00:00.000Z',
      employees: [
        { id: 'E1', managerId: 'E2', approvalLimit: { amount: '500.00', currency: 'EUR' }, active: true },
        { id: 'E2', active: false },
        { id: 'E3', active: true },
      ],
      costCenters: [{ id: 'CC-1', ownerId: 'E2' }, { id: 'CC-2' }],
    });
    expect(dialect.calls).toEqual([
      { kind: 'employees', cursor: null },
      { kind: 'employees', cursor: '2' },
      { kind: 'costCenters', cursor: null },
    ]);
  });

  it('stops an ERP whose cursor repeats instead of looping for ever', async () => {
    const dialect = {
      listMasterData: async (): Promise<MasterDataPage> => ({ items: [], nextCursor: 'same' }),
    };
    await expect(readDirectory(dialect, ctx)).rejects.toMatchObject({
      code: 'ERP_REJECTED',
      message: expect.stringContaining('kept returning more employees pages'),
    });
  });

  it('passes the ERP failure on', async () => {
    const failure = Object.assign(new Error('down'), { code: 'ERP_UNAVAILABLE' });
    const dialect = { listMasterData: () => Promise.reject(failure) };
    await expect(readDirectory(dialect, ctx)).rejects.toBe(failure);
  });

  it('makes an ERP that does not publish employees (SAP) a passing failure, to wait for the master data cache', async () => {
    const notPublished = new FinanceError('CONFIG_INVALID', 'employees are not read from SAP', {
      details: { kind: 'employees', notPublished: true },
    });
    const dialect = { listMasterData: () => Promise.reject(notPublished) };
    await expect(readDirectory(dialect, ctx)).rejects.toMatchObject({
      code: 'ERP_UNAVAILABLE',
      retryable: true,
      details: { kind: 'employees', notPublished: true },
      message: expect.stringContaining('Employees from the source'),
    });
    // Any other configuration error stays what it is.
    const wrong = new FinanceError('CONFIG_INVALID', 'no such company');
    await expect(readDirectory({ listMasterData: () => Promise.reject(wrong) }, ctx)).rejects.toBe(wrong);
  });
});

describe('directoryOf', () => {
  it('looks people and cost center owners up by id, and knows nothing else', () => {
    const directory = directoryOf(snapshot('M1'));
    expect(directory.employee('E1')).toEqual({ id: 'E1', managerId: 'M1', active: true });
    expect(directory.costCenterOwner('CC-1')).toBe('M1');
    expect(directory.employee('constructor')).toBeUndefined();
    expect(directory.costCenterOwner('toString')).toBeUndefined();
  });
});

describe('DirectoryCache', () => {
  let now: number;
  beforeEach(() => {
    now = 1_000_000;
  });

  function cache(load: () => Promise<DirectorySnapshot>, keeper = memoryKeeper(), onError = jest.fn(), maxAgeMs = 0) {
    return {
      keeper,
      onError,
      cache: new DirectoryCache({
        load,
        keeper,
        refreshMs: 60_000,
        retryMs: 10_000,
        maxAgeMs,
        clock: () => now,
        onError,
      }),
    };
  }

  it('loads once, keeps the snapshot in the store, and serves it until it is due for a refresh', async () => {
    const load = jest.fn().mockResolvedValue(snapshot('M1'));
    const { cache: directories, keeper } = cache(load);
    expect((await directories.directory()).employee('E1')?.managerId).toBe('M1');
    expect(keeper.saved).toEqual(snapshot('M1'));
    now += 59_999;
    await directories.directory();
    expect(load).toHaveBeenCalledTimes(1);
  });

  it('refreshes in the background: the old snapshot is served while the new one loads', async () => {
    let release!: (value: DirectorySnapshot) => void;
    const load = jest
      .fn()
      .mockResolvedValueOnce(snapshot('M1'))
      .mockImplementationOnce(() => new Promise<DirectorySnapshot>((resolve) => (release = resolve)));
    const { cache: directories } = cache(load);
    await directories.directory();
    now += 60_000;
    expect((await directories.directory()).employee('E1')?.managerId).toBe('M1');
    expect(load).toHaveBeenCalledTimes(2);
    release(snapshot('M2'));
    await directories.refresh();
    expect((await directories.directory()).employee('E1')?.managerId).toBe('M2');
  });

  it('falls back to the kept snapshot when the source is down at start', async () => {
    const failure = new Error('ERP down');
    const { cache: directories, onError } = cache(
      () => Promise.reject(failure),
      memoryKeeper(snapshot('KEPT', '2025-01-01T00:00:00.000Z')),
    );
    expect((await directories.directory()).employee('E1')?.managerId).toBe('KEPT');
    expect(directories.snapshot()?.loadedAt).toBe('2025-01-01T00:00:00.000Z');
    expect(onError).toHaveBeenCalledWith(failure);
  });

  it('throws the load failure when there is no snapshot anywhere, and asks the source again next time', async () => {
    const load = jest.fn().mockRejectedValueOnce(new Error('ERP down')).mockResolvedValueOnce(snapshot('M1'));
    const { cache: directories } = cache(load);
    await expect(directories.directory()).rejects.toThrow('ERP down');
    expect((await directories.directory()).employee('E1')?.managerId).toBe('M1');
  });

  it('keeps serving the snapshot it has while the source fails, and retries after retryMs', async () => {
    const load = jest
      .fn()
      .mockResolvedValueOnce(snapshot('M1'))
      .mockRejectedValueOnce(new Error('ERP down'))
      .mockResolvedValueOnce(snapshot('M3'));
    const { cache: directories, onError } = cache(load);
    await directories.directory();
    now += 60_000;
    await directories.directory();
    // The background load that directory() started is the one refresh() hands back.
    await expect(directories.refresh()).rejects.toThrow('ERP down');
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'ERP down' }));
    expect((await directories.directory()).employee('E1')?.managerId).toBe('M1');

    now += 9_999;
    await directories.directory();
    expect(load).toHaveBeenCalledTimes(2);
    now += 1;
    await directories.directory();
    await directories.refresh();
    expect((await directories.directory()).employee('E1')?.managerId).toBe('M3');
  });

  it('reports a failed save and goes on with the loaded snapshot', async () => {
    const keeper = memoryKeeper();
    keeper.save = () => Promise.reject(new Error('store full'));
    const { cache: directories, onError } = cache(() => Promise.resolve(snapshot('M1')), keeper);
    expect((await directories.directory()).employee('E1')).toBeDefined();
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'store full' }));
  });

  it('shares one load between callers that arrive together', async () => {
    const load = jest.fn().mockResolvedValue(snapshot('M1'));
    const { cache: directories } = cache(load);
    await Promise.all([directories.directory(), directories.directory(), directories.directory()]);
    expect(load).toHaveBeenCalledTimes(1);
  });
});

describe('DirectoryCache: how old a last copy may be', () => {
  const HOUR = 3_600_000;
  const loadedAt = '2025-03-12T09:00:00.000Z';
  let now: number;
  beforeEach(() => {
    now = Date.parse(loadedAt);
  });

  function cache(load: () => Promise<DirectorySnapshot>, options: { keeper?: SnapshotKeeper; maxAgeMs?: number } = {}) {
    const onError = jest.fn();
    return {
      onError,
      cache: new DirectoryCache({
        load,
        keeper: options.keeper ?? memoryKeeper(),
        refreshMs: HOUR,
        retryMs: 60_000,
        maxAgeMs: options.maxAgeMs ?? 72 * HOUR,
        clock: () => now,
        onError,
      }),
    };
  }

  /** The first load answers snapshot('M1') read at loadedAt; the ERP is down from then on. */
  function erpDownAfterFirstLoad() {
    const failure = new FinanceError(
      'ERP_UNAVAILABLE',
      'ERP "main" answered 503 to GET /employees?api_key=abc123: Authorization: Bearer eyJhbGciOi.eyJzdWIiOi.sig',
      { retryable: true },
    );
    const load = jest.fn().mockResolvedValueOnce(snapshot('M1', loadedAt)).mockRejectedValue(failure);
    return { load, failure };
  }

  /** Lets the background refresh that directory() started settle. */
  async function settled(directories: DirectoryCache): Promise<void> {
    await directories.refresh().catch(() => undefined);
  }

  it('serves the last copy while the ERP fails, up to the limit', async () => {
    const { load } = erpDownAfterFirstLoad();
    const { cache: directories, onError } = cache(load);
    await directories.directory();
    now += 72 * HOUR;
    expect((await directories.directory()).employee('E1')?.managerId).toBe('M1');
    await settled(directories);
    expect(load).toHaveBeenCalledTimes(2);
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: expect.stringContaining('503') }));
  });

  it('refuses it beyond the limit with a retryable ERP_UNAVAILABLE that says how old it is and what to do', async () => {
    const { load, failure } = erpDownAfterFirstLoad();
    const { cache: directories } = cache(load);
    await directories.directory();
    now += 2 * HOUR; // the first refresh fails here
    await directories.directory();
    await settled(directories);
    now += 78 * HOUR + 1;
    const error = await directories.directory().then(
      () => undefined,
      (err: unknown) => err as FinanceError,
    );
    expect(error).toBeInstanceOf(FinanceError);
    expect(error).toMatchObject({
      code: 'ERP_UNAVAILABLE',
      retryable: true,
      details: {
        loadedAt,
        maxAgeHours: 72,
        failingSince: '2025-03-12T11:00:00.000Z',
        lastError: expect.stringContaining('answered 503'),
      },
    });
    expect(error!.cause).toBe(failure);
    expect(error!.message).toContain(
      "The employee directory's last copy is 80 hours old (read from the ERP at 2025-03-12T09:00:00.000Z)",
    );
    expect(error!.message).toContain('more than the 72 hours a last copy may be used');
    expect(error!.message).toContain('could not be reached to refresh it since 2025-03-12T11:00:00.000Z');
    expect(error!.message).toContain('restore the ERP connection, or raise "Use a directory copy for at most"');
    // The refresh error is quoted without what its syntax shows to be a credential.
    expect(error!.message).toContain('answered 503 to GET /employees');
    expect(error!.message).not.toMatch(/abc123|eyJhbGciOi/);
    expect(JSON.stringify(error!.details)).not.toMatch(/abc123|eyJhbGciOi/);
  });

  it('beyond the limit refuses at once until the ERP may be asked again, instead of asking it for every report', async () => {
    const { load } = erpDownAfterFirstLoad();
    const { cache: directories } = cache(load);
    await directories.directory();
    now += 73 * HOUR;
    await expect(directories.directory()).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE' });
    expect(load).toHaveBeenCalledTimes(2);
    now += 59_999;
    await expect(directories.directory()).rejects.toThrow('73 hours old');
    expect(load).toHaveBeenCalledTimes(2);
    now += 1;
    await expect(directories.directory()).rejects.toThrow('73 hours old');
    expect(load).toHaveBeenCalledTimes(3);
  });

  it('serves again after a successful refresh beyond the limit', async () => {
    const { load } = erpDownAfterFirstLoad();
    load.mockRejectedValueOnce(new Error('ERP down')).mockResolvedValueOnce(snapshot('M2', '2025-03-15T12:00:00.000Z'));
    const { cache: directories } = cache(load);
    await directories.directory();
    now += 75 * HOUR;
    await expect(directories.directory()).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE' });
    now += 60_000;
    expect((await directories.directory()).employee('E1')?.managerId).toBe('M2');
    expect(directories.snapshot()?.loadedAt).toBe('2025-03-15T12:00:00.000Z');
  });

  it('loads a copy that passed the limit without a failure (a limit below the refresh interval) and waits for it', async () => {
    const load = jest
      .fn()
      .mockResolvedValueOnce(snapshot('M1', loadedAt))
      .mockResolvedValueOnce(snapshot('M2', '2025-03-12T09:30:00.001Z'));
    const { cache: directories } = cache(load, { maxAgeMs: HOUR / 2 });
    await directories.directory();
    now += HOUR / 2 + 1;
    expect((await directories.directory()).employee('E1')?.managerId).toBe('M2');
  });

  it('0 sets no limit: a copy months old is still served while the ERP fails', async () => {
    const { load } = erpDownAfterFirstLoad();
    const { cache: directories, onError } = cache(load, { maxAgeMs: 0 });
    await directories.directory();
    now += 24 * 90 * HOUR;
    expect((await directories.directory()).employee('E1')?.managerId).toBe('M1');
    await settled(directories);
    now += 60_000;
    expect((await directories.directory()).employee('E1')?.managerId).toBe('M1');
    expect(onError).toHaveBeenCalled();
  });

  describe('after a restart, with the ERP down, the copy kept in the store', () => {
    const down = (): Promise<DirectorySnapshot> => Promise.reject(new Error('ERP "main" is down'));

    it('is used while under the limit', async () => {
      now += 71 * HOUR;
      const { cache: directories, onError } = cache(down, { keeper: memoryKeeper(snapshot('KEPT', loadedAt)) });
      expect((await directories.directory()).employee('E1')?.managerId).toBe('KEPT');
      expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'ERP "main" is down' }));
    });

    it('is refused beyond it, and the ERP asked again after the retry interval', async () => {
      now += 100 * HOUR;
      const load = jest.fn(down);
      const { cache: directories } = cache(load, { keeper: memoryKeeper(snapshot('KEPT', loadedAt)) });
      await expect(directories.directory()).rejects.toMatchObject({
        code: 'ERP_UNAVAILABLE',
        retryable: true,
        message: expect.stringMatching(/100 hours old .*since 2025-03-16T13:00:00.000Z \(ERP "main" is down\)/),
      });
      expect(directories.snapshot()?.loadedAt).toBe(loadedAt);
      await expect(directories.directory()).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE' });
      expect(load).toHaveBeenCalledTimes(1);
      load.mockResolvedValueOnce(snapshot('M2', '2025-03-16T13:01:00.000Z'));
      now += 60_000;
      expect((await directories.directory()).employee('E1')?.managerId).toBe('M2');
    });

    it('is used however old with no limit', async () => {
      now += 1000 * HOUR;
      const { cache: directories } = cache(down, { keeper: memoryKeeper(snapshot('KEPT', loadedAt)), maxAgeMs: 0 });
      expect((await directories.directory()).employee('E1')?.managerId).toBe('KEPT');
    });
  });
});
