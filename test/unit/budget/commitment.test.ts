/**
 * The open commitment of a requisition, read from the sandbox ERP: the purchase order finance-purchase-order
 * created for an earlier version, found by its external reference, as charges per budget key and period.
 */
import { openCommitmentOf } from '../../../lib/budget';
import { ErpClient } from '../../../lib/erp/client';
import { createSandboxDialect } from '../../../lib/erp/sandbox/dialect';
import { toPurchaseOrder } from '../../../lib/purchasing/document';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';
import { requisition } from '../purchasing/fixtures';

describe('openCommitmentOf', () => {
  let sandbox: SandboxHandle;
  let client: ErpClient;
  const ctx = { correlationId: 'commitment-test' };
  const options = { periodFrom: 'document' as const, today: '2026-03-20' };

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    client = new ErpClient({ name: 'demo-erp', dialect: 'sandbox', baseUrl: sandbox.url, auth: { type: 'none' } });
  });
  afterAll(async () => {
    client.close();
    await sandbox.close();
  });

  it('is the open PO of the requisition, split per account; nothing once cancelled or for other documents', async () => {
    const dialect = createSandboxDialect(client, { name: 'demo-erp', company: 'FS-DEMO' });
    const document = requisition();
    expect(await openCommitmentOf(dialect, document, options, ctx)).toEqual([]);

    const created = await dialect.upsertPurchaseOrder(toPurchaseOrder(document, '2026-03-05'), ctx);
    const charges = await openCommitmentOf(
      dialect,
      { ...document, sourceRef: { ...document.sourceRef, version: 2 } },
      options,
      ctx,
    );
    expect(charges.map((charge) => [charge.period, charge.dimensions.costCenter, charge.amount.amount])).toEqual([
      ['2026-03', 'CC-400', '180.00'],
      ['2026-03', 'CC-500', '120.00'],
      ['2026-03', 'CC-500', '89.90'],
    ]);

    const po = await dialect.getPurchaseOrder(created.documentId, ctx);
    await dialect.cancelPurchaseOrder({ externalReference: po.externalReference, documentId: created.documentId }, ctx);
    expect(await openCommitmentOf(dialect, document, options, ctx)).toEqual([]);
    expect(await openCommitmentOf(dialect, toPurchaseOrder(document, '2026-03-05'), options, ctx)).toEqual([]);
  });
});
