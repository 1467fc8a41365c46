import { createSandboxDialect } from '../../../lib/erp/sandbox/dialect';
import { ErpClient } from '../../../lib/erp/client';
import { spendFigures } from '../../../lib/metrics/scrape';
import { DEMO, PERIOD, eur, postingBody, purchaseOrderBody, startTestSandbox, type TestSandbox } from './helpers';

describe('sandbox spend per cost center (committed vs actual)', () => {
  let sandbox: TestSandbox;

  beforeEach(async () => {
    sandbox = await startTestSandbox();
  });

  afterEach(async () => {
    await sandbox.handle.close();
  });

  it('sums open purchase orders as committed and postings as actual, and releases a cancelled order', async () => {
    expect((await sandbox.call('GET', `${DEMO}/spend`)).body).toEqual({ currency: 'EUR', period: null, items: [] });
    const po = await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body: purchaseOrderBody({ amount: '200.10' }) });
    await sandbox.call('POST', `${DEMO}/purchaseOrders`, {
      body: purchaseOrderBody({ amount: '0.20', externalReference: 'REQ-2', costCenter: 'CC-200' }),
    });
    await sandbox.call('POST', `${DEMO}/postings`, { body: postingBody({ amount: '50.05' }) });
    await sandbox.call('POST', `${DEMO}/postings`, {
      body: postingBody({ amount: '0.10', externalReference: 'EXP-2' }),
    });

    const spend = await sandbox.call('GET', `${DEMO}/spend`);
    expect(spend.status).toBe(200);
    expect(spend.body.items).toEqual([
      { costCenter: 'CC-200', committed: eur('0.20'), actual: eur('0.00') },
      { costCenter: 'CC-300', committed: eur('200.10'), actual: eur('50.15') },
    ]);
    expect((await sandbox.call('GET', `${DEMO}/spend?period=${PERIOD}`)).body.items).toHaveLength(2);
    expect((await sandbox.call('GET', `${DEMO}/spend?period=1999-01`)).body.items).toEqual([]);
    expect((await sandbox.call('GET', `${DEMO}/spend?period=March`)).body.code).toBe('INVALID_QUERY');

    await sandbox.call('POST', `${DEMO}/purchaseOrders/${po.body.id}/cancel`, {
      headers: { 'If-Match': po.body.etag },
    });
    const after = await sandbox.call('GET', `${DEMO}/spend`);
    expect(after.body.items[1]).toEqual({ costCenter: 'CC-300', committed: eur('0.00'), actual: eur('50.15') });
  });

  it('reaches the metrics through the sandbox dialect as decimal strings made from minor units', async () => {
    await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body: purchaseOrderBody({ amount: '0.10' }) });
    await sandbox.call('POST', `${DEMO}/postings`, { body: postingBody({ amount: '0.20' }) });
    const client = new ErpClient({
      name: 'Sandbox',
      dialect: 'sandbox',
      baseUrl: sandbox.handle.url,
      company: 'FS-DEMO',
      auth: { type: 'none' },
    });
    try {
      const dialect = createSandboxDialect(client, { name: 'Sandbox', company: 'FS-DEMO' });
      // 0.1 + 0.2 in floats is 0.30000000000000004; in minor units it is 30.
      expect(await spendFigures('Sandbox', dialect, { correlationId: 'c-1' })).toEqual([
        { erp: 'Sandbox', costCenter: 'CC-300', currency: 'EUR', committed: '0.10', actual: '0.20', total: '0.30' },
      ]);
    } finally {
      client.close();
    }
  });
});
