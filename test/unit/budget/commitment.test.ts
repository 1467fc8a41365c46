/**
 * The open commitment of a revised requisition or purchase order, read from the sandbox ERP: the purchase order
 * finance-purchase-order created for an earlier version, found by its external reference, as charges per
 * budget key and period. What is netted must be what the ERP counts: nothing for a PO that is not open, and
 * only in the month the ERP counts it in.
 */
import {
  aggregateCharges,
  chargesOf,
  COMMITMENT_NETTED,
  COMMITMENT_NOT_NETTED,
  openCommitmentOf,
} from '../../../lib/budget';
import { ErpClient } from '../../../lib/erp/client';
import type { ErpDialect } from '../../../lib/erp/dialect';
import { createSandboxDialect } from '../../../lib/erp/sandbox/dialect';
import { FinanceError } from '../../../lib/errors';
import type { PurchaseOrder } from '../../../lib/model/types';
import { toPurchaseOrder } from '../../../lib/purchasing/document';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';
import { requisition } from '../purchasing/fixtures';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

describe('openCommitmentOf', () => {
  let sandbox: SandboxHandle;
  let client: ErpClient;
  let dialect: ErpDialect;
  const ctx = { correlationId: 'commitment-test' };
  const options = { periodFrom: 'document' as const, today: '2026-03-20' };

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    client = new ErpClient({ name: 'demo-erp', dialect: 'sandbox', baseUrl: sandbox.url, auth: { type: 'none' } });
    dialect = createSandboxDialect(client, { name: 'demo-erp', company: 'FS-DEMO' });
  });
  afterAll(async () => {
    client.close();
    await sandbox.close();
  });

  it('is the open PO of the requisition, split per account; nothing once cancelled', async () => {
    const document = requisition();
    expect(await openCommitmentOf(dialect, document, ctx)).toEqual({ erpMessages: [] });

    const created = await dialect.upsertPurchaseOrder(toPurchaseOrder(document, '2026-03-05'), ctx);
    const { commitment, erpMessages } = await openCommitmentOf(
      dialect,
      { ...document, sourceRef: { ...document.sourceRef, version: 2 } },
      ctx,
    );
    expect(commitment?.orderDate).toBe('2026-03-05');
    expect(
      commitment?.charges.map((charge) => [charge.period, charge.dimensions.costCenter, charge.amount.amount]),
    ).toEqual([
      ['2026-03', 'CC-400', '180.00'],
      ['2026-03', 'CC-500', '120.00'],
      ['2026-03', 'CC-500', '89.90'],
    ]);
    expect(erpMessages).toEqual([
      expect.objectContaining({
        code: COMMITMENT_NETTED,
        severity: 'info',
        text: expect.stringContaining('389.90 EUR'),
      }),
    ]);

    const po = await dialect.getPurchaseOrder(created.documentId, ctx);
    await dialect.cancelPurchaseOrder({ externalReference: po.externalReference, documentId: created.documentId }, ctx);
    expect(await openCommitmentOf(dialect, document, ctx)).toEqual({ erpMessages: [] });
  });

  it('is the open PO of a revised purchase order, found by its own external reference', async () => {
    const first: PurchaseOrder = {
      ...toPurchaseOrder(requisition({ sourceRef: { system: 'coupa', id: 'PO-SRC-5', version: 1 } }), '2026-03-06'),
      sourceRef: { system: 'coupa', id: 'PO-5', version: 1 },
      externalReference: 'coupa:PO-5',
    };
    expect(await openCommitmentOf(dialect, first, ctx)).toEqual({ erpMessages: [] });
    await dialect.upsertPurchaseOrder(first, ctx);
    const revised = { ...first, sourceRef: { ...first.sourceRef, version: 2 } };
    const { commitment } = await openCommitmentOf(dialect, revised, ctx);
    expect(commitment?.orderDate).toBe('2026-03-06');
    expect(commitment?.charges.map((charge) => charge.amount.amount)).toEqual(['180.00', '120.00', '89.90']);
  });

  it('puts the commitment in its order month, where the ERP counts it, whatever the lines need-by dates', async () => {
    // The sandbox ERP and Business Central count an open order in the month of its order date (ERPNext from
    // then on). Netting it in a need-by month would take off money the ERP does not count there.
    const document = requisition({ sourceRef: { system: 'coupa', id: 'REQ-NEED-BY', version: 2 } });
    document.lines = document.lines.map((line) => ({ ...line, needBy: '2026-05-10' }));
    const po = toPurchaseOrder(document, '2026-03-05');
    const erp = {
      name: 'erp',
      findByReference: async () => ({
        system: 'erp',
        dialect: 'erp',
        documentType: 'purchaseOrder',
        documentId: 'PO-1',
      }),
      getPurchaseOrder: async () => ({
        erpRef: { system: 'erp', dialect: 'erp', documentType: 'purchaseOrder', documentId: 'PO-1' },
        externalReference: po.externalReference,
        supplierId: po.supplierId,
        orderDate: po.orderDate,
        currency: po.currency,
        total: po.total,
        status: 'open' as const,
        lines: po.lines,
      }),
    };
    const { commitment } = await openCommitmentOf(erp, document, ctx);
    expect(commitment?.charges.map((charge) => charge.period)).toEqual(['2026-03', '2026-03', '2026-03']);
    // The revision's charges by need-by date fall in May, where the ERP holds nothing of it: checked in full.
    const revision = chargesOf(document, { periodFrom: 'line', today: '2026-03-20', orderDate: commitment?.orderDate });
    expect(new Set(revision.map((charge) => charge.period))).toEqual(new Set(['2026-05']));
  });

  it("after a month end a revision is charged in its purchase order's period, so only the change is checked", async () => {
    // The PO was ordered on 31 March; finance-purchase-order never moves that date, so the ERP keeps the
    // commitment in March and a revision checked on 1 April changes March's commitment, not April's.
    const document = requisition({ sourceRef: { system: 'coupa', id: 'REQ-MONTH-END', version: 1 } });
    await dialect.upsertPurchaseOrder(toPurchaseOrder(document, '2026-03-31'), ctx);
    const revised = requisition({ sourceRef: { system: 'coupa', id: 'REQ-MONTH-END', version: 2 } });
    revised.lines[1].quantity = '2';
    revised.lines[1].amount = { amount: '179.80', currency: 'EUR' };
    const april = { periodFrom: 'document' as const, today: '2026-04-01' };

    const { commitment } = await openCommitmentOf(dialect, revised, ctx);
    expect(commitment?.orderDate).toBe('2026-03-31');
    const charges = chargesOf(revised, { ...april, orderDate: commitment?.orderDate });
    expect(new Set(charges.map((charge) => charge.period))).toEqual(new Set(['2026-03']));
    // Every budget key of the revision meets the commitment it changes (the netting in check.ts matches keys).
    const held = new Set(aggregateCharges(commitment?.charges ?? [], 'EUR').map((request) => request.key));
    expect(aggregateCharges(charges, 'EUR').every((request) => held.has(request.key))).toBe(true);
  });

  it('a requisition without an open purchase order is charged on the check date, as before', async () => {
    const document = requisition({ sourceRef: { system: 'coupa', id: 'REQ-NO-PO', version: 1 } });
    expect(await openCommitmentOf(dialect, document, ctx)).toEqual({ erpMessages: [] });
    const charges = chargesOf(document, options);
    expect(new Set(charges.map((charge) => charge.period))).toEqual(new Set(['2026-03']));
    expect(chargesOf(document, { periodFrom: 'document', today: '2026-04-01' })[0].period).toBe('2026-04');
  });

  it('nets nothing, and says so, for a purchase order in another currency than the revision', async () => {
    const document = requisition({ sourceRef: { system: 'coupa', id: 'REQ-CURRENCY', version: 1 } });
    await dialect.upsertPurchaseOrder(toPurchaseOrder(document, '2026-03-05'), ctx);
    const inUsd = { ...document, currency: 'USD' };
    const lookup = await openCommitmentOf(dialect, inUsd, ctx);
    expect(lookup.commitment).toBeUndefined();
    expect(lookup.erpMessages).toEqual([
      expect.objectContaining({
        code: COMMITMENT_NOT_NETTED,
        text: expect.stringContaining('in EUR, the document in USD'),
      }),
    ]);
  });
});

describe('openCommitmentOf, ERP failures', () => {
  const ctx = { correlationId: 'commitment-failures' };
  const failing = (error: FinanceError) => ({
    name: 'erp',
    findByReference: () => Promise.reject(error),
    getPurchaseOrder: () => Promise.reject(new Error('not asked')),
  });

  it('throws a passing failure for the retry policy', async () => {
    const unavailable = new FinanceError('ERP_UNAVAILABLE', 'ERP answered 503', { retryable: true });
    await expect(openCommitmentOf(failing(unavailable), requisition(), ctx)).rejects.toBe(unavailable);
  });

  it('checks in full with a message when the lookup fails for good: a check that worked keeps working', async () => {
    const forbidden = new FinanceError('ERP_AUTH_FAILED', 'ERP answered 403: no read access to purchase orders.');
    expect(await openCommitmentOf(failing(forbidden), requisition(), ctx)).toEqual({
      erpMessages: [
        expect.objectContaining({
          code: COMMITMENT_NOT_NETTED,
          severity: 'warning',
          text: expect.stringContaining('ERP_AUTH_FAILED: ERP answered 403'),
        }),
      ],
    });
  });

  it('asks nothing for an expense report', async () => {
    const erp = failing(new FinanceError('ERP_UNAVAILABLE', 'never', { retryable: true }));
    const report = {
      docType: 'ExpenseReport' as const,
      sourceRef: { system: 'acme', id: 'ER-1' },
      reportId: 'ER-1',
      employeeId: 'E1',
      state: 'submitted' as const,
      total: eur('1.00'),
      lines: [],
    };
    expect(await openCommitmentOf(erp, report, ctx)).toEqual({ erpMessages: [] });
  });
});
