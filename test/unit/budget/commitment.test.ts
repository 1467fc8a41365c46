/**
 * The open commitment of a requisition, read from the sandbox ERP: the purchase order finance-purchase-order
 * created for an earlier version, found by its external reference, as charges per budget key and period.
 */
import { aggregateCharges, chargesOf, openCommitmentOf } from '../../../lib/budget';
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
    expect(await openCommitmentOf(dialect, document, options, ctx)).toBeUndefined();

    const created = await dialect.upsertPurchaseOrder(toPurchaseOrder(document, '2026-03-05'), ctx);
    const committed = await openCommitmentOf(
      dialect,
      { ...document, sourceRef: { ...document.sourceRef, version: 2 } },
      options,
      ctx,
    );
    expect(committed?.orderDate).toBe('2026-03-05');
    expect(
      committed?.charges.map((charge) => [charge.period, charge.dimensions.costCenter, charge.amount.amount]),
    ).toEqual([
      ['2026-03', 'CC-400', '180.00'],
      ['2026-03', 'CC-500', '120.00'],
      ['2026-03', 'CC-500', '89.90'],
    ]);

    const po = await dialect.getPurchaseOrder(created.documentId, ctx);
    await dialect.cancelPurchaseOrder({ externalReference: po.externalReference, documentId: created.documentId }, ctx);
    expect(await openCommitmentOf(dialect, document, options, ctx)).toBeUndefined();
    expect(await openCommitmentOf(dialect, toPurchaseOrder(document, '2026-03-05'), options, ctx)).toBeUndefined();
  });

  it("after a month end a revision is charged in its purchase order's period, so only the change is checked", async () => {
    // The PO was ordered on 31 March; finance-purchase-order never moves that date, so the ERP keeps the
    // commitment in March and a revision checked on 1 April changes March's commitment, not April's.
    const dialect = createSandboxDialect(client, { name: 'demo-erp', company: 'FS-DEMO' });
    const document = requisition({ sourceRef: { system: 'coupa', id: 'REQ-MONTH-END', version: 1 } });
    await dialect.upsertPurchaseOrder(toPurchaseOrder(document, '2026-03-31'), ctx);
    const revised = requisition({ sourceRef: { system: 'coupa', id: 'REQ-MONTH-END', version: 2 } });
    revised.lines[1].quantity = '2';
    revised.lines[1].amount = { amount: '179.80', currency: 'EUR' };
    const april = { periodFrom: 'document' as const, today: '2026-04-01' };

    const committed = await openCommitmentOf(dialect, revised, april, ctx);
    expect(committed?.orderDate).toBe('2026-03-31');
    const charges = chargesOf(revised, { ...april, orderDate: committed?.orderDate });
    expect(new Set(charges.map((charge) => charge.period))).toEqual(new Set(['2026-03']));
    // Every budget key of the revision meets the commitment it changes (the netting in check.ts matches keys).
    const held = new Set(aggregateCharges(committed?.charges ?? [], 'EUR').map((request) => request.key));
    expect(aggregateCharges(charges, 'EUR').every((request) => held.has(request.key))).toBe(true);
  });

  it('a requisition without an open purchase order is charged on the check date, as before', async () => {
    const dialect = createSandboxDialect(client, { name: 'demo-erp', company: 'FS-DEMO' });
    const document = requisition({ sourceRef: { system: 'coupa', id: 'REQ-NO-PO', version: 1 } });
    expect(await openCommitmentOf(dialect, document, options, ctx)).toBeUndefined();
    const charges = chargesOf(document, options);
    expect(new Set(charges.map((charge) => charge.period))).toEqual(new Set(['2026-03']));
    expect(chargesOf(document, { periodFrom: 'document', today: '2026-04-01' })[0].period).toBe('2026-04');
  });
});
