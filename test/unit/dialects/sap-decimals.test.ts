/**
 * The SAP dialect's decimals against the SAP simulator: the price unit (NetPriceQuantity, "Price Unit") on
 * read-back, in the comparison and on write-back, and the EDMX precision and scale of every decimal it sends
 * (OrderQuantity 13,3; NetPriceAmount 12,3; PurgDocNetAmount 14,3 [S API_PURCHASEORDER_PROCESS_SRV.edmx]).
 */
import { sapStoreOf } from '../../../lib/sandbox/sap/api';
import type { PurchaseOrderLine } from '../../../lib/model/types';
import { ctx, startDialectRig, today, type DialectRig } from './harness';
import { line, sapConnection, sapPurchaseOrder } from './sap-fixtures';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
const coding = [{ dimensions: { costCenter: 'CC-100', glAccount: '6300' } }];

function screws(quantity: string, unitPrice: string, amount: string): PurchaseOrderLine {
  return line({
    lineId: 'S1',
    description: 'Screws',
    quantity,
    unitOfMeasure: 'EA',
    unitPrice: eur(unitPrice),
    amount: eur(amount),
    accountAssignments: coding,
  });
}

describe('SAP dialect decimals', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(sapConnection());
  });
  afterAll(() => rig.close());

  /** Changes the first item of a purchase order in the simulator, as a buyer would in SAP (ME22N). */
  const changeInSap = (documentId: string, fields: Record<string, unknown>) => {
    const order = sapStoreOf(rig.sandbox.state).orders.get(documentId);
    Object.assign(order!.items[0], fields);
  };
  const writes = (since: number) => rig.http.exchanges.slice(since).filter((e) => e.request.method !== 'GET');

  describe('price unit (NetPriceQuantity)', () => {
    it('sends the price per one unit, and reads a price per 100 back as the same order', async () => {
      const po = sapPurchaseOrder('price-unit-1', { total: eur('500.00'), lines: [screws('1000', '0.50', '500.00')] });
      const before = rig.http.exchanges.length;
      const created = await rig.dialect.upsertPurchaseOrder(po, ctx);
      const post = writes(before).find((e) => e.request.method === 'POST');
      const sent = (post?.request.body as { to_PurchaseOrderItem: { results: Array<Record<string, unknown>> } })
        .to_PurchaseOrderItem.results[0];
      expect(sent).toMatchObject({ OrderQuantity: '1000', NetPriceAmount: '0.50', NetPriceQuantity: '1' });

      // Same money, written the SAP way: 50.00 per 100 pieces.
      changeInSap(created.documentId, { NetPriceAmount: '50.000', NetPriceQuantity: '100', OrderQuantity: '1000.000' });
      const held = await rig.dialect.getPurchaseOrder(created.documentId, ctx);
      expect(held.lines.map((l) => [l.quantity, l.unitPrice.amount, l.amount.amount])).toEqual([
        ['1000', '0.50', '500.00'],
      ]);
      expect(held.total).toEqual(eur('500.00'));

      // The same version again is the same order: nothing is written.
      const again = rig.http.exchanges.length;
      expect(await rig.dialect.upsertPurchaseOrder(po, ctx)).toMatchObject({ action: 'unchanged' });
      expect(writes(again)).toEqual([]);
    });

    it('sees a different price per unit behind the same NetPriceAmount as a change', async () => {
      const po = sapPurchaseOrder('price-unit-2', { total: eur('500.00'), lines: [screws('1000', '0.50', '500.00')] });
      const created = await rig.dialect.upsertPurchaseOrder(po, ctx);
      // 0.50 per 10 pieces is 0.05 a piece: the amount SAP holds is 50.00, so the source's 500.00 must be written.
      changeInSap(created.documentId, { NetPriceQuantity: '10' });
      expect((await rig.dialect.getPurchaseOrder(created.documentId, ctx)).total).toEqual(eur('50.00'));
      expect(await rig.dialect.upsertPurchaseOrder(po, ctx)).toMatchObject({ action: 'updated' });
      expect((await rig.dialect.getPurchaseOrder(created.documentId, ctx)).total).toEqual(eur('500.00'));
    });

    it('takes a missing or zero price unit as 1', async () => {
      const created = await rig.dialect.upsertPurchaseOrder(
        sapPurchaseOrder('price-unit-3', { total: eur('7.50'), lines: [screws('3', '2.50', '7.50')] }),
        ctx,
      );
      for (const NetPriceQuantity of [undefined, '', '0', '0.000']) {
        changeInSap(created.documentId, { NetPriceQuantity });
        const held = await rig.dialect.getPurchaseOrder(created.documentId, ctx);
        expect([held.lines[0].unitPrice.amount, held.lines[0].amount.amount]).toEqual(['2.50', '7.50']);
      }
    });

    it('rounds a piece price that is not a whole cent, keeps the amount exact, and writes it back without loss', async () => {
      const created = await rig.dialect.upsertPurchaseOrder(
        sapPurchaseOrder('price-unit-4', { total: eur('23.33'), lines: [screws('7', '3.33', '23.31')] }),
        ctx,
      );
      // 10.00 per 3 pieces, 7 pieces: 23.333... -> 23.33 (half away from zero); a piece 3.333... -> 3.33.
      changeInSap(created.documentId, { NetPriceAmount: '10.000', NetPriceQuantity: '3' });
      const held = await rig.dialect.getPurchaseOrder(created.documentId, ctx);
      expect(held.lines.map((l) => [l.unitPrice.amount, l.amount.amount])).toEqual([['3.33', '23.33']]);
      expect(held.total).toEqual(eur('23.33'));

      // A change that sends the lines back as read (here with a new description) keeps SAP's value: 23.33 per 7,
      // not 3.33 per 1 (23.31).
      const lines = held.lines.map((l) => ({ ...l, description: 'Screws M4' }));
      const before = rig.http.exchanges.length;
      const patched = await rig.dialect.patchPurchaseOrder(
        created.documentId,
        { lines },
        held.erpRef.etag as string,
        ctx,
      );
      const added = writes(before).find((e) => e.request.path.endsWith('/to_PurchaseOrderItem'));
      expect(added?.request.body).toMatchObject({ NetPriceAmount: '23.33', NetPriceQuantity: '7' });
      expect(patched.lines.map((l) => [l.description, l.amount.amount])).toEqual([['Screws M4', '23.33']]);
    });
  });

  describe('EDMX precision and scale', () => {
    const refused = async (reference: string, lines: PurchaseOrderLine[]) => {
      const before = rig.http.exchanges.length;
      const error = await rig.dialect
        .upsertPurchaseOrder(sapPurchaseOrder(reference, { lines }), ctx)
        .catch((e: unknown) => e);
      expect(writes(before)).toEqual([]);
      expect(error).toMatchObject({ code: 'SCHEMA_INVALID' });
      return (error as Error).message;
    };

    it('refuses a quantity with more than 3 decimals or 10 integer digits (OrderQuantity 13,3)', async () => {
      expect(await refused('scale-1', [screws('1.2345', '10.00', '12.35')])).toMatch(
        /lines\[0\]\.quantity "1\.2345" has 4 decimals; SAP's OrderQuantity .* precision 13 and scale 3, so it keeps 3\. Round the quantity/,
      );
      expect(await refused('scale-2', [screws('12345678901', '0.01', '123456789.01')])).toMatch(
        /lines\[0\]\.quantity "12345678901" has 11 digits before the point; .*OrderQuantity.* keeps 10/,
      );
    });

    it('refuses a unit price with more than 9 integer digits (NetPriceAmount 12,3)', async () => {
      expect(await refused('scale-3', [screws('1', '1234567890.00', '1234567890.00')])).toMatch(
        /lines\[0\]\.unitPrice "1234567890\.00" has 10 digits before the point; SAP's NetPriceAmount .* keeps 9/,
      );
    });

    it('refuses a split amount with more than 11 integer digits (PurgDocNetAmount 14,3)', async () => {
      const big = line({
        quantity: '1000',
        unitPrice: eur('123456789.01'),
        amount: eur('123456789010.00'),
        accountAssignments: [
          { dimensions: { costCenter: 'CC-400', glAccount: '0650' }, percent: '1' },
          { dimensions: { costCenter: 'CC-500', glAccount: '0650' }, percent: '99' },
        ],
      });
      expect(await refused('scale-4', [big])).toMatch(
        /lines\[0\]\.accountAssignments\[1\]\.amount "122222221119\.90" has 12 digits .*PurgDocNetAmount.* keeps 11/,
      );
    });

    it('refuses supplier invoice amounts with more than 11 integer digits (14,3), before the write', async () => {
      const posting = (reference: string, amounts: string[]) => ({
        kind: 'journal' as const,
        externalReference: reference,
        employeeId: 'E1017',
        postingDate: today(),
        currency: 'EUR',
        lines: amounts.map((amount, index) => ({
          lineId: String(index + 1),
          amount: eur(amount),
          dimensions: { costCenter: 'CC-400', glAccount: '6000' },
        })),
      });
      const before = rig.http.exchanges.length;
      await expect(rig.dialect.post(posting('big-1', ['123456789012.00']), ctx)).rejects.toMatchObject({
        code: 'SCHEMA_INVALID',
        message: expect.stringMatching(
          /lines\[0\]\.amount "123456789012\.00" has 12 digits before the point; SAP's SupplierInvoiceItemAmount .* keeps 11\. Post it as several documents/,
        ),
      });
      await expect(rig.dialect.post(posting('big-2', ['60000000000.00', '50000000000.00']), ctx)).rejects.toMatchObject(
        {
          code: 'SCHEMA_INVALID',
          message: expect.stringMatching(
            /the total of the lines "110000000000\.00" has 12 digits .*InvoiceGrossAmount/,
          ),
        },
      );
      expect(writes(before)).toEqual([]);
    });

    it('sends a quantity whose extra decimals are zeros, without them', async () => {
      const before = rig.http.exchanges.length;
      await rig.dialect.upsertPurchaseOrder(
        sapPurchaseOrder('scale-5', { total: eur('15.00'), lines: [screws('1.500000', '10.00', '15.00')] }),
        ctx,
      );
      const post = writes(before).find((e) => e.request.method === 'POST');
      expect(post?.request.body).toMatchObject({ to_PurchaseOrderItem: { results: [{ OrderQuantity: '1.500' }] } });
    });
  });
});
