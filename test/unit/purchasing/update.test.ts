import type { CallContext, ErpPurchaseOrder, PurchaseOrderPatch } from '../../../lib/erp/dialect';
import { FinanceError } from '../../../lib/errors';
import { diffPurchaseOrder, stableJson } from '../../../lib/purchasing/diff';
import { contentOf, toPurchaseOrder, type PurchaseOrderContent } from '../../../lib/purchasing/document';
import { updatePurchaseOrder } from '../../../lib/purchasing/update';
import { requisition } from './fixtures';

const eur = (amount: string) => ({ amount, currency: 'EUR' });

function content(
  change: (lines: ReturnType<typeof requisition>['lines']) => void = () => undefined,
): PurchaseOrderContent {
  const req = requisition();
  change(req.lines);
  return contentOf(toPurchaseOrder(req, '2026-03-10'));
}

/** An ERP holding one PO with ETags "1", "2", ...; `editsBeforePatch` changes it behind the caller's back. */
class FakeErp {
  etag = 1;
  held: PurchaseOrderContent;
  calls: Array<{ op: 'get' | 'patch'; ifMatch?: string; patch?: PurchaseOrderPatch; ctx: CallContext }> = [];
  editsBeforePatch: Array<(held: PurchaseOrderContent) => PurchaseOrderContent> = [];

  constructor(held: PurchaseOrderContent) {
    this.held = held;
  }

  po(): ErpPurchaseOrder {
    return {
      erpRef: {
        system: 'erp',
        dialect: 'fake',
        documentType: 'purchaseOrder',
        documentId: 'po-1',
        etag: `"${this.etag}"`,
      },
      externalReference: 'coupa:REQ-1001',
      total: eur('0.00'),
      status: 'open',
      ...this.held,
    };
  }

  async getPurchaseOrder(_id: string, ctx: CallContext): Promise<ErpPurchaseOrder> {
    this.calls.push({ op: 'get', ctx });
    return this.po();
  }

  async patchPurchaseOrder(_id: string, patch: PurchaseOrderPatch, ifMatch: string, ctx: CallContext) {
    this.calls.push({ op: 'patch', ifMatch, patch, ctx });
    const edit = this.editsBeforePatch.shift();
    if (edit) {
      this.held = edit(this.held);
      this.etag += 1;
    }
    if (ifMatch !== `"${this.etag}"`) {
      throw new FinanceError('ERP_CONFLICT', 'ERP answered 412', { httpStatus: 412 });
    }
    this.held = { ...this.held, ...patch };
    this.etag += 1;
    return this.po();
  }
}

const quantityRevision = (lines: ReturnType<typeof requisition>['lines']) => {
  lines[0].quantity = '3';
  lines[0].amount = eur('450.00');
};

function request(erp: FakeErp, cached: boolean) {
  const base = content();
  return {
    documentId: 'po-1',
    ...(cached ? { cached: { content: erp.held, etag: `"${erp.etag}"` } } : {}),
    changes: diffPurchaseOrder(base, content(quantityRevision)),
    wanted: content(quantityRevision),
    ledgerKey: 'coupa:Requisition:REQ-1001:2:update-po',
    correlationId: 'corr-7',
  };
}

describe('updatePurchaseOrder', () => {
  it('with the copy it wrote last: one PATCH with only the lines and If-Match, no read', async () => {
    const erp = new FakeErp(content());
    const outcome = await updatePurchaseOrder(erp, request(erp, true));
    expect(erp.calls.map((call) => call.op)).toEqual(['patch']);
    expect(erp.calls[0].ifMatch).toBe('"1"');
    expect(Object.keys(erp.calls[0].patch!)).toEqual(['lines']);
    expect(erp.calls[0].ctx).toEqual({ correlationId: 'corr-7', idempotencyKey: expect.stringMatching(/^fs1-/) });
    expect(outcome).toMatchObject({ action: 'updated', po: { erpRef: { etag: '"2"' } } });
    expect(erp.held.lines[0].quantity).toBe('3');
  });

  it("answers the content the ERP holds in the pack's terms, not the ERP's reading of it", async () => {
    // Business Central and ERPNext read a 60/40 split back as amount lines of quantity 1: equivalent, but a
    // later quantity change applied to that reading would price the wrong line.
    const erp = new FakeErp(content());
    const split = content((lines) => {
      lines[0].quantity = '1';
      lines[0].unitPrice = eur('450.00');
    });
    erp.po = () => ({ ...FakeErp.prototype.po.call(erp), lines: split.lines });
    const outcome = await updatePurchaseOrder(erp, request(erp, true));
    expect(outcome.action).toBe('updated');
    const applied = outcome.action === 'updated' ? outcome.content : undefined;
    expect(applied).toEqual(content(quantityRevision));
    expect(applied?.lines[0]).toMatchObject({ quantity: '3', unitPrice: eur('150.00') });
  });

  it('without one: reads the PO for its ETag first', async () => {
    const erp = new FakeErp(content());
    await updatePurchaseOrder(erp, request(erp, false));
    expect(erp.calls.map((call) => call.op)).toEqual(['get', 'patch']);
  });

  it("on 412 reads the PO again and sends once more: the version's lines, the buyer's header edit kept", async () => {
    const erp = new FakeErp(content());
    const edited = {
      ...content((lines) => (lines[1].description = 'USB-C dock, edited in the ERP')),
      orderDate: '2026-03-11',
    };
    erp.editsBeforePatch.push(() => edited);
    const outcome = await updatePurchaseOrder(erp, request(erp, true));
    expect(erp.calls.map((call) => [call.op, call.ifMatch])).toEqual([
      ['patch', '"1"'],
      ['get', undefined],
      ['patch', '"2"'],
    ]);
    expect(outcome.action).toBe('updated');
    expect(Object.keys(erp.calls[2].patch!)).toEqual(['lines']);
    // The lines are the pack's: the ERP holds the version's lines, its line edit is replaced.
    expect(erp.held.lines).toEqual(content(quantityRevision).lines);
    // A header field the version did not change keeps the buyer's edit.
    expect(erp.held.orderDate).toBe('2026-03-11');
    // Each request has its own Idempotency-Key.
    expect(erp.calls[0].ctx.idempotencyKey).not.toBe(erp.calls[2].ctx.idempotencyKey);
  });

  it('on 412 a version that changed only the header sends only the header: the lines as the ERP reads them stay', async () => {
    // The ERP reads a split line in its own form (never equal to the pack's) and a buyer edited a line there.
    const erp = new FakeErp(content());
    const theErpsReading = content((lines) => {
      lines[0].quantity = '1';
      lines[0].unitPrice = eur('300.00');
      lines[1].description = 'USB-C dock, edited in the ERP';
    });
    erp.editsBeforePatch.push(() => theErpsReading);
    const newSupplier = { ...content(), supplierId: 'SUP-1002' };
    const outcome = await updatePurchaseOrder(erp, {
      ...request(erp, true),
      changes: diffPurchaseOrder(content(), newSupplier),
      wanted: newSupplier,
    });
    expect(outcome.action).toBe('updated');
    expect(erp.calls.map((call) => call.op)).toEqual(['patch', 'get', 'patch']);
    expect(erp.calls[2].patch).toEqual({ supplierId: 'SUP-1002' });
    expect(erp.held.lines).toEqual(theErpsReading.lines);
  });

  it("on 412 sends the wanted lines, not the change re-applied to the ERP's reading of a split line", async () => {
    // Business Central reads a split line back as quantity 1 at the line's total with amount splits; a
    // quantity change re-applied to that reading would keep the old split amounts, and BC the old total.
    const folded = content((lines) => {
      lines[0].quantity = '1';
      lines[0].unitPrice = eur('300.00');
      lines[0].accountAssignments = [
        { dimensions: { costCenter: 'CC-400', glAccount: '0650' }, amount: eur('180.00') },
        { dimensions: { costCenter: 'CC-500', glAccount: '0650' }, amount: eur('120.00') },
      ];
    });
    const erp = new FakeErp(content());
    erp.editsBeforePatch.push(() => ({ ...folded, orderDate: '2026-03-11' }));
    const outcome = await updatePurchaseOrder(erp, request(erp, true));
    expect(outcome.action).toBe('updated');
    expect(erp.held.lines[0]).toEqual(content(quantityRevision).lines[0]);
    expect(erp.held.orderDate).toBe('2026-03-11');
    expect(outcome.action === 'updated' && outcome.content).toEqual({
      ...content(quantityRevision),
      orderDate: '2026-03-11',
    });
  });

  it('on 412 restores a line an interrupted earlier attempt removed, though the changes do not mention it', async () => {
    // Business Central replaces lines by deleting them all and posting them one by one: an attempt that failed
    // midway leaves the PO with line 1 revised and line 2 gone, and the retry meets a 412.
    const erp = new FakeErp(content());
    erp.editsBeforePatch.push(() => content((lines) => (quantityRevision(lines), lines.splice(1, 1))));
    const outcome = await updatePurchaseOrder(erp, request(erp, true));
    expect(outcome.action).toBe('updated');
    expect(erp.held.lines).toEqual(content(quantityRevision).lines);
  });

  it('writes nothing when the PO read after a 412 already holds the change', async () => {
    const erp = new FakeErp(content());
    erp.editsBeforePatch.push(() => content(quantityRevision));
    const outcome = await updatePurchaseOrder(erp, request(erp, true));
    expect(erp.calls.map((call) => call.op)).toEqual(['patch', 'get']);
    expect(outcome).toMatchObject({ action: 'unchanged', po: { erpRef: { etag: '"2"' } } });
  });

  it('a second 412 is a retryable ERP_CONFLICT', async () => {
    const erp = new FakeErp(content());
    erp.editsBeforePatch.push(
      (held) => held,
      (held) => held,
    );
    await expect(updatePurchaseOrder(erp, request(erp, true))).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: true,
      httpStatus: 412,
      message: expect.stringContaining('412 twice'),
    });
    expect(erp.calls.map((call) => call.op)).toEqual(['patch', 'get', 'patch']);
  });

  it('passes any other failure on as it is', async () => {
    const erp = new FakeErp(content());
    erp.patchPurchaseOrder = async () => {
      throw new FinanceError('ERP_REJECTED', 'ERP answered 422', { httpStatus: 422 });
    };
    await expect(updatePurchaseOrder(erp, request(erp, true))).rejects.toMatchObject({ code: 'ERP_REJECTED' });
  });

  it('the same request gets the same Idempotency-Key, so a repeat after a lost answer is replayed', async () => {
    const first = new FakeErp(content());
    const second = new FakeErp(content());
    await updatePurchaseOrder(first, request(first, true));
    await updatePurchaseOrder(second, request(second, true));
    expect(first.calls[0].ctx.idempotencyKey).toBe(second.calls[0].ctx.idempotencyKey);
    expect(stableJson(first.calls[0].patch)).toBe(stableJson(second.calls[0].patch));
  });
});
