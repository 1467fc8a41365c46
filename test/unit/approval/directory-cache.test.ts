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

  function cache(load: () => Promise<DirectorySnapshot>, keeper = memoryKeeper(), onError = jest.fn()) {
    return {
      keeper,
      onError,
      cache: new DirectoryCache({ load, keeper, refreshMs: 60_000, retryMs: 10_000, clock: () => now, onError }),
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
