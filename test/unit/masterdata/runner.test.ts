import { MasterDataCache, SyncRunner, type MasterDataChange } from '../../../lib/masterdata';
import { FinanceError } from '../../../lib/errors';
import type { FinanceStore } from '../../../lib/reliability/store';
import { FakeOwner, employee, tempStores } from './fixtures';

describe('SyncRunner: several kinds, one sync at a time, the scheduled sync only on the lease holder', () => {
  const stores = tempStores('runner');
  afterAll(() => stores.cleanup());

  function runner(store: FinanceStore, owner: FakeOwner, changes: MasterDataChange[]) {
    return new SyncRunner({
      store,
      cache: new MasterDataCache(store, 'shared'),
      owners: [
        { kind: 'employees', owner: 'erp', lister: async () => owner },
        { kind: 'projects', owner: 'erp', lister: async () => owner },
      ],
      pageSize: 10,
      overlapMs: 1000,
      maxPages: 10,
      onChange: (change) => {
        changes.push(change);
      },
    });
  }

  it('of two hosts sharing a store, only the lease holder runs the scheduled sync until its lease lapses', async () => {
    let now = Date.parse('2026-03-01T00:00:00Z');
    const { store } = stores.open(() => now);
    const owner = new FakeOwner();
    owner.set('employees', employee('E1'));
    const changesA: MasterDataChange[] = [];
    const changesB: MasterDataChange[] = [];
    const hostA = runner(store, owner, changesA);
    const hostB = runner(store, owner, changesB);

    expect(await hostA.runIfHolder('host-a', 60_000, 'delta')).toMatchObject({
      kinds: [{ created: 1 }, { created: 0 }],
    });
    expect(await hostB.runIfHolder('host-b', 60_000, 'delta')).toBeUndefined();
    owner.set('employees', employee('E2'));
    now += 30_000;
    expect(await hostA.runIfHolder('host-a', 60_000, 'delta')).toBeDefined(); // renews until now + 60 s
    now += 59_000;
    expect(await hostB.runIfHolder('host-b', 60_000, 'delta')).toBeUndefined();
    now += 1_000; // host A stopped renewing: its lease lapsed
    expect(await hostB.runIfHolder('host-b', 60_000, 'delta')).toBeDefined();
    expect(changesA.map((change) => change.id)).toEqual(['E1', 'E2']);
    expect(changesB).toEqual([]); // the cache host A filled is shared: nothing new for B
  });

  it('runs concurrent requests one after another and reports a failing kind without stopping the others', async () => {
    const { store } = stores.open();
    const owner = new FakeOwner();
    owner.set('employees', employee('E1'));
    owner.set('projects', { id: 'P1', name: 'P', status: 'open' });
    const changes: MasterDataChange[] = [];
    const failing = new SyncRunner({
      store,
      cache: new MasterDataCache(store, 'fails'),
      owners: [
        {
          kind: 'employees',
          owner: 'erp',
          lister: async () => ({
            listMasterData: async () => {
              throw Object.assign(new Error('503'), {});
            },
          }),
        },
        { kind: 'projects', owner: 'erp', lister: async () => owner },
      ],
      pageSize: 10,
      overlapMs: 0,
      maxPages: 10,
      onChange: (change) => {
        changes.push(change);
      },
    });
    const [one, two] = await Promise.all([failing.run('full'), failing.run('delta')]);
    expect(one.failures).toEqual([{ kind: 'employees', code: 'ERP_UNAVAILABLE', message: '503' }]);
    expect(one.kinds.map((kind) => kind.kind)).toEqual(['projects']);
    expect(two.kinds).toMatchObject([{ kind: 'projects', mode: 'delta', created: 0 }]);
    expect(changes.map((change) => change.id)).toEqual(['P1']);
    expect(await runner(store, owner, []).run('full', ['projects'])).toMatchObject({ kinds: [{ kind: 'projects' }] });
  });

  it('reports a kind the owner does not publish (SAP: projects) as not published, not as a failure', async () => {
    const { store } = stores.open();
    const owner = new FakeOwner();
    owner.set('employees', employee('E1'));
    const sync = new SyncRunner({
      store,
      cache: new MasterDataCache(store, 'unpublished'),
      owners: [
        { kind: 'employees', owner: 'erp', lister: async () => owner },
        {
          kind: 'projects',
          owner: 'erp',
          lister: async () => ({
            listMasterData: async () => {
              throw new FinanceError('CONFIG_INVALID', 'projects are not read from SAP', {
                details: { kind: 'projects', notPublished: true },
              });
            },
          }),
        },
        {
          kind: 'taxCodes',
          owner: 'erp',
          lister: async () => ({
            listMasterData: async () => {
              throw new FinanceError('CONFIG_INVALID', 'no such company');
            },
          }),
        },
      ],
      pageSize: 10,
      overlapMs: 0,
      maxPages: 10,
      onChange: () => undefined,
    });
    const summary = await sync.run('full');
    expect(summary.kinds.map((kind) => kind.kind)).toEqual(['employees']);
    expect(summary.notPublished).toEqual([{ kind: 'projects', message: 'projects are not read from SAP' }]);
    // Any other configuration error is still a failure.
    expect(summary.failures).toEqual([{ kind: 'taxCodes', code: 'CONFIG_INVALID', message: 'no such company' }]);
  });
});
