/**
 * The sandbox dialect and a posting whose external reference is taken already: the posting found there is
 * this one only when it holds the same total and currency (as in the BC, SAP and ERPNext dialects); a revised
 * report (same reference, another total) is an ERP_CONFLICT for a person, never "posted" with the old figures.
 */
import { ErpClient } from '../../../lib/erp/client';
import type { PostingRequest } from '../../../lib/erp/dialect';
import { createSandboxDialect } from '../../../lib/erp/sandbox/dialect';
import { LedgerWriter } from '../../../lib/posting/idempotent-write';
import { postExpenseReport } from '../../../lib/posting/post-expense';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';
import { approvedReport, storeFolder } from '../posting/fixtures';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
const ctx = { correlationId: 'corr-rev' };

function posting(taxi: string, reference = 'concur:RPT-1001'): PostingRequest {
  return {
    kind: 'journal',
    externalReference: reference,
    employeeId: 'E1011',
    postingDate: '2026-03-10',
    currency: 'EUR',
    lines: [
      { lineId: '1', amount: eur('240.00'), dimensions: { costCenter: 'CC-200', glAccount: '6020' } },
      { lineId: '2', amount: eur(taxi), dimensions: { costCenter: 'CC-200', glAccount: '6000' } },
    ],
  };
}

describe('sandbox dialect: a posting whose reference is taken', () => {
  const folder = storeFolder('sandbox-revision');
  let sandbox: SandboxHandle;
  let client: ErpClient;
  const dialect = () => createSandboxDialect(client, { name: 'sbx', company: 'FS-DEMO' });

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
    await folder.cleanup();
  });

  it('answers the posting found when it holds the same total; ERP_CONFLICT naming both totals when not', async () => {
    const first = await dialect().post(posting('35.50'), ctx);
    expect(first.total).toEqual(eur('275.50'));
    // The same posting again (another Idempotency-Key: a ledger that forgot it, another host): the one there.
    const again = await dialect().post(posting('35.50'), { ...ctx, idempotencyKey: 'other-key' });
    expect(again.documentId).toBe(first.documentId);
    // A revision of the report: the ERP keeps 275.50, so it is not "posted".
    const revised = await dialect()
      .post(posting('75.50'), { ...ctx, idempotencyKey: 'revision' })
      .catch((error: unknown) => error);
    expect(revised).toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
      details: { posting: first.documentId, booked: eur('275.50'), expected: eur('315.50') },
    });
    expect((revised as Error).message).toContain('275.50 EUR');
    expect((revised as Error).message).toContain('315.50 EUR');
  });

  it('findPosting: the posting when it holds the total, ERP_CONFLICT when not, null when there is none', async () => {
    const first = await dialect().post(posting('35.50'), ctx);
    expect((await dialect().findPosting!(posting('35.50'), ctx))?.documentId).toBe(first.documentId);
    await expect(dialect().findPosting!(posting('75.50'), ctx)).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
    });
    expect(await dialect().findPosting!(posting('35.50', 'concur:RPT-NONE'), ctx)).toBeNull();
  });

  it('a revised report (version 3, new total) is not answered as posted with version 2 posting', async () => {
    const writer = new LedgerWriter(folder.open(Date.now), { ownerPrefix: 'test', settleAfterMs: 0 });
    const settings = { kind: 'journal' as const, postingDate: 'document' as const, requireApproval: false };
    const report = (version: number, taxi: string) => {
      const base = approvedReport();
      const lines = base.lines.slice(0, 1).map((line) => ({ ...line, lineId: '1', amount: eur('240.00') }));
      lines.push({ ...base.lines[0], lineId: '2', amount: eur(taxi) });
      return approvedReport({
        sourceRef: { ...base.sourceRef, version },
        lines,
        total: eur((240 + Number(taxi)).toFixed(2)),
      });
    };
    const v2 = await postExpenseReport(
      writer,
      dialect(),
      { document: report(2, '35.50'), approval: undefined, correlationId: 'c2', now: new Date() },
      settings,
    );
    expect(v2).toMatchObject({ outcome: 'posted' });
    await expect(
      postExpenseReport(
        writer,
        dialect(),
        { document: report(3, '75.50'), approval: undefined, correlationId: 'c3', now: new Date() },
        settings,
      ),
    ).rejects.toMatchObject({ code: 'ERP_CONFLICT' });
  });
});
