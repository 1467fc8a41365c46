/** The finance-store config node logs where its store is: never the password of a server written as a URL. */
import { helper } from '../../support/node-red';
import financeStore = require('../../../nodes/finance-store/finance-store');
import type { FinanceStoreNode } from '../../../nodes/shared/config-nodes';

describe('finance-store with a PostgreSQL server written as a URL', () => {
  afterEach(async () => {
    await helper.unload();
  });

  it('logs and reports the server without its password', async () => {
    const flow = [
      {
        id: 'store',
        type: 'finance-store',
        backend: 'postgres',
        pgHost: 'postgres://ops:pg-Secret-77@nohost.invalid/finance',
        pgUser: 'ops',
      },
    ];
    await helper.load(financeStore, flow, { store: { pgPassword: 'cred-Pw-5150' } });
    const store = (helper.getNode('store') as FinanceStoreNode).store();
    const failure = await store.countOpen().then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    const logged = JSON.stringify((helper.log() as { args: unknown[][] }).args);
    expect(logged).toContain('finance store: PostgreSQL');
    const everything = `${logged} ${String(failure?.message)}`;
    expect(everything).not.toContain('pg-Secret-77');
    expect(everything).not.toContain('cred-Pw-5150');
  });
});
