/**
 * Money the ERPNext dialect sends must arrive as the same amount in the same currency:
 * - amounts and quantities travel as JSON numbers (doubles), so one with more than 15 significant digits is
 *   refused (INVALID_AMOUNT) before anything is written, instead of being booked a cent off;
 * - Journal Entry amounts and budget figures are in the company currency (Company `default_currency`) and the
 *   dialect sends no exchange rate, so a posting or budget check in another currency is refused
 *   (CURRENCY_MISMATCH) instead of booking 15000 JPY as 15000 EUR or labelling EUR figures as USD.
 */
import { createDialect, type PostingRequest } from '../../../lib/erp/dialect';
import { line } from '../purchasing/fixtures';
import { erpnextConnection, erpnextPurchaseOrder } from './erpnext-fixtures';
import { ctx, currentPeriod, RecordingHttp, startDialectRig, today, type DialectRig } from './harness';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
/** 16 significant digits: Number() makes it 90071992547409.94. */
const TOO_PRECISE = '90071992547409.93';

const journal = (externalReference: string, overrides: Partial<PostingRequest> = {}): PostingRequest => ({
  kind: 'journal',
  externalReference,
  employeeId: 'E1010',
  postingDate: today(),
  currency: 'EUR',
  lines: [{ lineId: '1', amount: eur('12.34'), dimensions: { costCenter: 'CC-100', glAccount: '6000' } }],
  ...overrides,
});

describe('ERPNext dialect: amounts and currencies', () => {
  let rig: DialectRig;
  beforeAll(async () => {
    rig = await startDialectRig(erpnextConnection());
  });
  afterAll(() => rig.close());

  /** The writes (non-GET requests) made while `run` ran. */
  async function writesDuring(run: () => Promise<unknown>): Promise<{ error: unknown; writes: unknown[] }> {
    const before = rig.http.exchanges.length;
    const error = await run().then(
      () => undefined,
      (e: unknown) => e,
    );
    const writes = rig.http.exchanges.slice(before).filter((e) => e.request.method !== 'GET');
    return { error, writes };
  }

  it.each([
    ['a unit price', { unitPrice: eur(TOO_PRECISE), amount: eur(TOO_PRECISE), quantity: '1' }, /unitPrice/],
    ['a quantity', { quantity: '1.000000000000001', unitPrice: eur('1.00'), amount: eur('1.00') }, /quantity/],
  ])('refuses a purchase order with %s of more than 15 significant digits, writing nothing', async (_l, o, field) => {
    const po = erpnextPurchaseOrder(`too-precise-po-${String(field)}`, {
      lines: [line({ lineId: 'P', accountAssignments: [{ dimensions: { glAccount: '6300' } }], ...o })],
    });
    const { error, writes } = await writesDuring(() => rig.dialect.upsertPurchaseOrder(po, ctx));
    expect(error).toMatchObject({ code: 'INVALID_AMOUNT' });
    expect((error as Error).message).toMatch(field);
    expect(writes).toEqual([]);
  });

  it('refuses a split line whose assignment amount has more than 15 significant digits', async () => {
    const po = erpnextPurchaseOrder('too-precise-split', {
      lines: [
        line({
          lineId: 'S',
          quantity: '1',
          unitPrice: eur('90071992547410.93'),
          amount: eur('90071992547410.93'),
          accountAssignments: [
            { dimensions: { glAccount: '6300' }, amount: eur(TOO_PRECISE) },
            { dimensions: { glAccount: '6300' }, amount: eur('1.00') },
          ],
        }),
      ],
    });
    const { error, writes } = await writesDuring(() => rig.dialect.upsertPurchaseOrder(po, ctx));
    expect(error).toMatchObject({ code: 'INVALID_AMOUNT', message: expect.stringMatching(/accountAssignments\[0\]/) });
    expect(writes).toEqual([]);
  });

  it('refuses a journal line, or a journal total, of more than 15 significant digits, writing nothing', async () => {
    const line1 = await writesDuring(() =>
      rig.dialect.post(
        journal('too-precise-je', {
          lines: [{ lineId: '1', amount: eur(TOO_PRECISE), dimensions: { costCenter: 'CC-100', glAccount: '6000' } }],
        }),
        ctx,
      ),
    );
    expect(line1.error).toMatchObject({ code: 'INVALID_AMOUNT', message: expect.stringMatching(/lines\[0\]/) });
    expect(line1.writes).toEqual([]);
    // Each line has 15 digits, their total (the payable credit) 16.
    const total = await writesDuring(() =>
      rig.dialect.post(
        journal('too-precise-je-total', {
          lines: [
            { lineId: '1', amount: eur('49999999999999.9'), dimensions: { costCenter: 'CC-100', glAccount: '6000' } },
            { lineId: '2', amount: eur('0.11'), dimensions: { costCenter: 'CC-100', glAccount: '6000' } },
          ],
        }),
        ctx,
      ),
    );
    expect(total.error).toMatchObject({ code: 'INVALID_AMOUNT', message: expect.stringMatching(/journal total/) });
    expect(total.writes).toEqual([]);
  });

  it('refuses a payable (Purchase Invoice) line of more than 15 significant digits, writing nothing', async () => {
    const posting = journal('too-precise-pi', {
      kind: 'payable',
      lines: [{ lineId: '1', amount: eur(TOO_PRECISE), dimensions: { costCenter: 'CC-100', glAccount: '6000' } }],
    });
    const { error, writes } = await writesDuring(() => rig.dialect.post(posting, ctx));
    expect(error).toMatchObject({ code: 'INVALID_AMOUNT', message: expect.stringMatching(/lines\[0\]\.amount/) });
    expect(writes).toEqual([]);
  });

  it('refuses a journal posting in another currency than the company books in (JPY into EUR), writing nothing', async () => {
    const posting = journal('jpy-into-eur', {
      currency: 'JPY',
      lines: [
        {
          lineId: '1',
          amount: { amount: '15000', currency: 'JPY' },
          dimensions: { costCenter: 'CC-100', glAccount: '6000' },
        },
      ],
    });
    const { error, writes } = await writesDuring(() => rig.dialect.post(posting, ctx));
    expect(error).toMatchObject({
      code: 'CURRENCY_MISMATCH',
      retryable: false,
      details: { currency: 'JPY', companyCurrency: 'EUR', company: 'FS-DEMO' },
    });
    expect((error as Error).message).toMatch(/books in EUR.*Convert the amounts to EUR in the source system/);
    expect(writes).toEqual([]);
  });

  it('refuses a budget check in another currency, instead of labelling the EUR figures with it', async () => {
    const request = { costCenter: 'CC-500', glAccount: '6100', period: currentPeriod() };
    await expect(
      rig.dialect.checkBudget({ ...request, amount: { amount: '10.00', currency: 'USD' } }, ctx),
    ).rejects.toMatchObject({ code: 'CURRENCY_MISMATCH', details: { currency: 'USD', companyCurrency: 'EUR' } });
    const inEur = await rig.dialect.checkBudget({ ...request, amount: eur('10.00') }, ctx);
    for (const figure of [inEur.budget, inEur.actuals, inEur.commitments, inEur.available])
      expect(figure.currency).toBe('EUR');
  });

  it('takes the currency from the Company (JPY for FS-JP), read once per connection', async () => {
    const http = new RecordingHttp(rig.client);
    const dialect = createDialect('erpnext', http, {
      ...erpnextConnection()(),
      company: 'FS-JP',
      baseUrl: rig.sandbox.url,
    });
    const yen = (reference: string): PostingRequest =>
      journal(reference, {
        currency: 'JPY',
        employeeId: 'J001',
        lines: [{ lineId: '1', amount: { amount: '15000', currency: 'JPY' }, dimensions: { glAccount: '6000' } }],
      });
    expect(await dialect.post(yen('jpy-into-jpy-1'), ctx)).toMatchObject({ status: 'posted' });
    expect(await dialect.post(yen('jpy-into-jpy-2'), ctx)).toMatchObject({ status: 'posted' });
    await expect(dialect.post(journal('eur-into-jpy'), ctx)).rejects.toMatchObject({
      code: 'CURRENCY_MISMATCH',
      details: { currency: 'EUR', companyCurrency: 'JPY' },
    });
    expect(http.exchanges.filter((e) => e.request.path.startsWith('/api/resource/Company'))).toHaveLength(1);
  });
});
