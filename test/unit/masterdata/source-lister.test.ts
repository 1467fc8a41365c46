import { ErpClient } from '../../../lib/erp/client';
import { checkSourcePath, sourceLister } from '../../../lib/masterdata';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';

/** A source's API with the master data paging contract: the sandbox ERP's own endpoint stands in for it. */
describe('sourceLister: master data owned by a source system', () => {
  let sandbox: SandboxHandle;
  let client: ErpClient;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    client = new ErpClient({ name: 'hr-system', dialect: 'sandbox', baseUrl: sandbox.url, auth: { type: 'none' } });
  });
  afterAll(async () => {
    client.close();
    await sandbox.close();
  });

  it('pages through {kind} with limit and cursor, and passes modifiedSince', async () => {
    const lister = sourceLister(client, '/api/v1/companies/FS-DEMO/{kind}', 'hr-system');
    const ctx = { correlationId: 'source-test' };
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await lister.listMasterData('costCenters', { limit: 4, cursor }, ctx);
      ids.push(...page.items.map((item) => item.id));
      cursor = page.nextCursor;
      pages += 1;
    } while (cursor !== null);
    expect(pages).toBe(2);
    expect(ids).toHaveLength(6);
    const future = await lister.listMasterData('employees', { modifiedSince: '2999-01-01T00:00:00Z' }, ctx);
    expect(future).toEqual({ items: [], nextCursor: null });
  });

  it('refuses an answer without the contract, and a path without {kind}', async () => {
    const lister = sourceLister(client, '/_sandbox/state?{kind}', 'hr-system');
    await expect(lister.listMasterData('employees', {}, { correlationId: 'x' })).rejects.toMatchObject({
      code: 'ERP_REJECTED',
    });
    expect(() => checkSourcePath('/masterdata')).toThrow(expect.objectContaining({ code: 'CONFIG_INVALID' }));
  });
});
