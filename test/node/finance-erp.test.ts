import { helper } from '../support/node-red';
import financeErp = require('../../nodes/finance-erp/finance-erp');
import type { FinanceErpNode } from '../../nodes/shared/config-nodes';

describe('finance-erp config node', () => {
  afterEach(async () => {
    await helper.unload();
  });

  it('starts an embedded sandbox and talks to it through the dialect', async () => {
    await helper.load(financeErp, [
      { id: 'erp', type: 'finance-erp', name: 'demo', dialect: 'sandbox', embeddedSandbox: true, company: 'FS-DEMO' },
    ]);
    const node = helper.getNode('erp') as FinanceErpNode;
    const { dialect } = await node.connection();
    const page = await dialect.listMasterData('costCenters', { limit: 2 }, { correlationId: 'test-1' });
    expect(page.items).toHaveLength(2);
    expect(page.nextCursor).toEqual(expect.any(String));
  });

  it('reports a missing credential by name at deploy, without throwing', async () => {
    await helper.load(financeErp, [
      { id: 'erp', type: 'finance-erp', dialect: 'sandbox', baseUrl: 'http://127.0.0.1:9', authType: 'basic' },
    ]);
    const node = helper.getNode('erp') as FinanceErpNode;
    await expect(node.connection()).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: /User name is empty/ });
  });

  it('keeps credentials out of the client description', async () => {
    await helper.load(
      financeErp,
      [{ id: 'erp', type: 'finance-erp', dialect: 'sandbox', baseUrl: 'http://127.0.0.1:9', authType: 'basic' }],
      { erp: { username: 'alice', password: 's3cret-Pa55' } },
    );
    const node = helper.getNode('erp') as FinanceErpNode;
    const { client } = await node.connection();
    const described = JSON.stringify(client.describe());
    expect(described).toContain('basic');
    expect(described).not.toContain('s3cret-Pa55');
  });

  it('rejects a base URL with a password in it', async () => {
    await helper.load(financeErp, [
      { id: 'erp', type: 'finance-erp', dialect: 'sandbox', baseUrl: 'https://bob:pw@erp.example.com' },
    ]);
    const node = helper.getNode('erp') as FinanceErpNode;
    await expect(node.connection()).rejects.toMatchObject({ code: 'CONFIG_INVALID', message: /must not contain/ });
  });
});
