import * as path from 'node:path';
import { StoreHousekeeping } from '../../lib/reliability/store-housekeeping';
import { TEST_PG, dropSchemas } from '../unit/store/store-fixture';
import { helper, tempDir } from '../support/node-red';
import financeStore = require('../../nodes/finance-store/finance-store');
import type { FinanceStoreNode } from '../../nodes/shared/config-nodes';

describe('finance-store config node', () => {
  const temp = tempDir('store-node');
  afterEach(async () => {
    await helper.unload();
  });
  afterAll(() => temp.remove());

  it('keeps accepted events across a redeploy', async () => {
    const flow = [{ id: 'store', type: 'finance-store', path: path.join(temp.dir, 'a') }];
    await helper.load(financeStore, flow);
    const first = (helper.getNode('store') as FinanceStoreNode).store();
    const accepted = await first.accept({ key: 'src\u0000evt-1', envelope: { id: 'evt-1' }, payload: { n: 1 } });
    expect(accepted.status).toBe('accepted');
    await helper.unload();

    await helper.load(financeStore, flow);
    const second = (helper.getNode('store') as FinanceStoreNode).store();
    const again = await second.accept({ key: 'src\u0000evt-1', envelope: { id: 'evt-1' }, payload: { n: 1 } });
    expect(again.status).toBe('duplicate');
    expect(await second.countOpen()).toBe(1);
  });

  it('removes expired records on a schedule, stopped before the store closes', async () => {
    const start = jest.spyOn(StoreHousekeeping.prototype, 'start');
    const stop = jest.spyOn(StoreHousekeeping.prototype, 'stop');
    try {
      await helper.load(financeStore, [{ id: 'store', type: 'finance-store', path: path.join(temp.dir, 'h') }]);
      expect(start).toHaveBeenCalledTimes(1);
      const housekeeping = start.mock.contexts[0] as StoreHousekeeping;
      const store = (helper.getNode('store') as FinanceStoreNode).store();
      expect(await housekeeping.purgeNow()).toEqual({ inbox: 0, ledger: 0, kv: 0, leases: 0 });
      await store.kvPut('ns', 'gone', 1, 1);
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(await housekeeping.purgeNow()).toMatchObject({ kv: 1 });
      await helper.unload();
      expect(stop).toHaveBeenCalledTimes(1);
    } finally {
      start.mockRestore();
      stop.mockRestore();
    }
  });

  it('reports a bad setting and refuses to hand out a store', async () => {
    await helper.load(financeStore, [{ id: 'store', type: 'finance-store', maxInboxEntries: 'many' }]);
    const node = helper.getNode('store') as FinanceStoreNode;
    expect(() => node.store()).toThrow(/Inbox high-water mark must be a whole number/);
  });

  it('opens a PostgreSQL store from the dialog, with the password as a credential', async () => {
    const schema = `node_${process.pid}_${Date.now().toString(36)}`;
    const flow = [
      {
        id: 'store',
        type: 'finance-store',
        backend: 'postgres',
        pgHost: TEST_PG.host,
        pgPort: String(TEST_PG.port),
        pgDatabase: TEST_PG.database,
        pgUser: TEST_PG.user,
        pgSchema: schema,
      },
    ];
    try {
      // Trust authentication ignores the password; it only has to reach the driver without being in the flow.
      await helper.load(financeStore, flow, { store: { pgPassword: 'not-used' } });
      const store = (helper.getNode('store') as FinanceStoreNode).store();
      expect((await store.accept({ key: 'src\u0000evt-1', envelope: {}, payload: 1 })).status).toBe('accepted');
      await helper.unload();
      await helper.load(financeStore, flow);
      const again = (helper.getNode('store') as FinanceStoreNode).store();
      expect((await again.accept({ key: 'src\u0000evt-1', envelope: {}, payload: 1 })).status).toBe('duplicate');
    } finally {
      await helper.unload();
      await dropSchemas([schema]);
    }
  });
});
