/**
 * The sandbox dialect (the one `npm start` uses) and the sandbox ERP beyond totals: a revision whose lines
 * charge the same total to other accounts or cost centers is an ERP_CONFLICT naming what differs, never
 * "posted"; the same charges (split differently) are the posting there; and a posting date in a closed
 * posting period is refused (422 POSTING_PERIOD_CLOSED) as ERP_REJECTED until the period is opened.
 */
import { ErpClient } from '../../../lib/erp/client';
import type { PostingRequest } from '../../../lib/erp/dialect';
import { createSandboxDialect } from '../../../lib/erp/sandbox/dialect';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
const ctx = { correlationId: 'corr-lines' };

function posting(
  reference: string,
  lines: Array<[string, string, string, string?]>,
  postingDate = '2026-03-10',
): PostingRequest {
  return {
    kind: 'journal',
    externalReference: reference,
    employeeId: 'E1011',
    postingDate,
    currency: 'EUR',
    lines: lines.map(([amount, costCenter, glAccount, taxCode], i) => ({
      lineId: String(i + 1),
      amount: eur(amount),
      dimensions: { costCenter, glAccount },
      description: `line ${i + 1}`,
      ...(taxCode ? { taxCode } : {}),
    })),
  };
}

describe('sandbox dialect: posted lines and posting periods', () => {
  let sandbox: SandboxHandle;
  let client: ErpClient;
  const dialect = () => createSandboxDialect(client, { name: 'sbx', company: 'FS-DEMO' });
  const periods = (body: unknown) =>
    fetch(`${sandbox.url}/_sandbox/companies/FS-DEMO/posting-periods`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    client = new ErpClient({ name: 'sbx', dialect: 'sandbox', baseUrl: sandbox.url, auth: { type: 'none' } });
  });
  beforeEach(async () => {
    await fetch(`${sandbox.url}/_sandbox/reset`, { method: 'POST' });
  });
  afterAll(async () => {
    client.close();
    await sandbox.close();
  });

  it('refuses a revision with the same total on other accounts and cost centers, naming what differs', async () => {
    const v1 = posting('concur:RPT-RECODE', [
      ['100.00', 'CC-100', '6000'],
      ['50.00', 'CC-100', '6010'],
    ]);
    const v2 = posting('concur:RPT-RECODE', [['150.00', 'CC-200', '6020']]);
    const first = await dialect().post(v1, ctx);
    const refused = await dialect()
      .post(v2, { ...ctx, idempotencyKey: 'v2' })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
      details: {
        posting: first.documentId,
        booked: eur('150.00'),
        expected: eur('150.00'),
        differences: expect.arrayContaining([
          { dimensions: { costCenter: 'CC-100', glAccount: '6000' }, booked: eur('100.00'), expected: null },
          { dimensions: { costCenter: 'CC-200', glAccount: '6020' }, booked: null, expected: eur('150.00') },
        ]),
      },
    });
    expect((refused as Error).message).toContain(
      'costCenter CC-100, glAccount 6000: 100.00 EUR in the ERP, none in this posting',
    );
    expect((refused as Error).message).toContain(
      'costCenter CC-200, glAccount 6020: none in the ERP, 150.00 EUR in this posting',
    );
    await expect(dialect().findPosting!(v2, ctx)).rejects.toMatchObject({ code: 'ERP_CONFLICT' });
    // Another tax code on the same account is another posting too.
    const taxed = posting('concur:RPT-RECODE', [
      ['100.00', 'CC-100', '6000', 'DE-19'],
      ['50.00', 'CC-100', '6010'],
    ]);
    await expect(dialect().findPosting!(taxed, ctx)).rejects.toMatchObject({ code: 'ERP_CONFLICT' });
  });

  it('answers the posting there when the revision charges the same amounts, split differently', async () => {
    const v1 = posting('concur:RPT-SPLIT', [
      ['100.00', 'CC-100', '6000'],
      ['50.00', 'CC-100', '6010'],
    ]);
    const first = await dialect().post(v1, ctx);
    const split = posting('concur:RPT-SPLIT', [
      ['50.00', 'CC-100', '6010'],
      ['70.00', 'CC-100', '6000'],
      ['30.00', 'CC-100', '6000'],
    ]);
    expect(await dialect().post(split, { ...ctx, idempotencyKey: 'split' })).toMatchObject({
      documentId: first.documentId,
    });
    expect(await dialect().findPosting!(split, ctx)).toMatchObject({ documentId: first.documentId });
  });

  it('refuses a posting date in a closed posting period as ERP_REJECTED, and posts once it is open', async () => {
    expect((await periods({ from: '2026-04', to: '2026-05' })).status).toBe(200);
    const march = posting('concur:RPT-MARCH', [['20.00', 'CC-100', '6000']]);
    const refused = await dialect()
      .post(march, { ...ctx, idempotencyKey: 'k1' })
      .catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ERP_REJECTED', httpStatus: 422 });
    expect((refused as Error).message).toMatch(
      /posting period 2026-03, which is closed; the open periods are 2026-04 to 2026-05/,
    );
    await expect(
      dialect().post({ ...march, postingDate: '2026-04-01' }, { ...ctx, idempotencyKey: 'k2' }),
    ).resolves.toMatchObject({ status: 'posted' });
    // {} opens every month again (the default).
    expect((await periods({})).status).toBe(200);
    await expect(
      dialect().post(posting('concur:RPT-MARCH-2', [['20.00', 'CC-100', '6000']]), { ...ctx, idempotencyKey: 'k3' }),
    ).resolves.toMatchObject({ status: 'posted' });
    // Bad settings are refused, not half applied.
    expect((await periods({ from: '2026-05', to: '2026-04' })).status).toBe(400);
    expect((await periods({ from: '2026-13', to: '2026-14' })).status).toBe(400);
  });
});
