import { ErpClient } from '../../../lib/erp/client';
import type { CallContext, ErpDialect, PostingRequest } from '../../../lib/erp/dialect';
import { FinanceError } from '../../../lib/errors';
import { createSandboxDialect } from '../../../lib/erp/sandbox/dialect';
import { LedgerWriter } from '../../../lib/posting/idempotent-write';
import { postExpenseReport, type PostExpenseSettings } from '../../../lib/posting/post-expense';
import type { FinanceStore } from '../../../lib/reliability/store';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';
import { approvedReport, storeFolder } from './fixtures';

const journal: PostExpenseSettings = { kind: 'journal', postingDate: 'document', requireApproval: true };

describe('postExpenseReport against the sandbox ERP', () => {
  const folder = storeFolder('post');
  let sandbox: SandboxHandle;
  let client: ErpClient;
  let store: FinanceStore;
  let writer: LedgerWriter;

  const dialect = () => createSandboxDialect(client, { name: 'demo-erp', company: 'FS-DEMO' });
  const input = (document: unknown, approval: unknown = { state: 'approved' }) => ({
    document,
    approval,
    correlationId: 'corr-42',
    now: new Date(),
  });
  const state = async () => (await fetch(`${sandbox.url}/_sandbox/state`)).json();

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    client = new ErpClient({ name: 'demo-erp', dialect: 'sandbox', baseUrl: sandbox.url, auth: { type: 'none' } });
  });
  beforeEach(async () => {
    await fetch(`${sandbox.url}/_sandbox/reset`, { method: 'POST' });
    store = folder.open(Date.now);
    // No settle wait after an unanswered write here: that wait is the subject of idempotent-write.test.ts.
    writer = new LedgerWriter(store, { ownerPrefix: 'test', settleAfterMs: 0 });
  });
  afterAll(async () => {
    client.close();
    await sandbox.close();
    await folder.cleanup();
  });

  it("hands a line's tax code to the ERP, which keeps it with the line", async () => {
    const report = approvedReport();
    report.lines[0].taxCode = 'DE-7';
    expect(await postExpenseReport(writer, dialect(), input(report), journal)).toMatchObject({ outcome: 'posted' });
    const { postings } = await state();
    expect(postings[0].lines[0]).toMatchObject({ lineId: report.lines[0].lineId, taxCode: 'DE-7' });
    expect(postings[0].lines[1]).not.toHaveProperty('taxCode');
  });

  it('posts a journal once and answers msg.erp and payload.erpRef', async () => {
    const result = await postExpenseReport(writer, dialect(), input(approvedReport()), journal);
    expect(result).toEqual({
      outcome: 'posted',
      via: 'written',
      erp: {
        system: 'demo-erp',
        dialect: 'sandbox',
        documentType: 'journal',
        documentId: expect.any(String),
        number: expect.stringMatching(/^JNL-\d+$/),
        status: 'posted',
        httpStatus: 201,
      },
      erpRef: expect.objectContaining({ documentType: 'journal', number: expect.stringMatching(/^JNL-/) }),
    });
    const { postings } = await state();
    expect(postings).toHaveLength(1);
    expect(postings[0]).toMatchObject({ externalReference: 'concur:RPT-1001', postingDate: '2026-03-10' });
  });

  it("after an attempt that may have written, asks the dialect's own posting lookup where it has one", async () => {
    const erp = dialect();
    const lookedUp: string[] = [];
    let answerLost = true;
    const withLookup = Object.assign(Object.create(erp) as ErpDialect, {
      post: async (posting: PostingRequest, ctx: CallContext) => {
        const ref = await erp.post(posting, ctx);
        if (!answerLost) return ref;
        answerLost = false;
        throw new FinanceError('ERP_TIMEOUT', 'no answer within 10 ms', { retryable: true });
      },
      findPosting: async (posting: PostingRequest, ctx: CallContext) => {
        lookedUp.push(posting.externalReference);
        return erp.findByReference('posting', posting.externalReference, ctx);
      },
    });
    await expect(postExpenseReport(writer, withLookup, input(approvedReport()), journal)).rejects.toMatchObject({
      code: 'ERP_TIMEOUT',
    });
    const retried = await postExpenseReport(writer, withLookup, input(approvedReport()), journal);
    expect(retried).toMatchObject({ outcome: 'posted', via: 'found' });
    expect(lookedUp).toEqual(['concur:RPT-1001']);
    expect((await state()).postings).toHaveLength(1);
  });

  it('answers a duplicate from the ledger without any ERP request', async () => {
    await postExpenseReport(writer, dialect(), input(approvedReport()), journal);
    const before = (await state()).counters.requests;
    const again = await postExpenseReport(writer, dialect(), input(approvedReport()), journal);
    expect(again).toMatchObject({
      outcome: 'posted',
      via: 'duplicate',
      erp: { number: expect.stringMatching(/^JNL-/) },
    });
    expect(again.outcome === 'posted' && again.erp.httpStatus).toBeUndefined();
    expect((await state()).counters.requests).toBe(before);
  });

  it('two hosts with separate ledgers: the Idempotency-Key makes the ERP replay, one posting', async () => {
    const otherHost = new LedgerWriter(folder.open(Date.now), { ownerPrefix: 'host-b' });
    const first = await postExpenseReport(writer, dialect(), input(approvedReport()), journal);
    const second = await postExpenseReport(otherHost, dialect(), input(approvedReport()), journal);
    expect(second.outcome === 'posted' && second.erp.documentId).toBe(
      first.outcome === 'posted' && first.erp.documentId,
    );
    const { postings, counters } = await state();
    expect(postings).toHaveLength(1);
    expect(counters.duplicateWritesPrevented).toBe(1);
  });

  it('posts a payable with a PAY- number', async () => {
    const result = await postExpenseReport(writer, dialect(), input(approvedReport()), { ...journal, kind: 'payable' });
    expect(result).toMatchObject({
      outcome: 'posted',
      erp: { documentType: 'payable', number: expect.stringMatching(/^PAY-/) },
    });
  });

  it('reports the ERP refusal of an unknown employee with its redacted body; nothing is posted', async () => {
    const result = await postExpenseReport(writer, dialect(), input(approvedReport({ employeeId: 'E9999' })), journal);
    expect(result.outcome).toBe('refused');
    const error = result.outcome === 'refused' ? result.error : undefined;
    expect(error).toMatchObject({ code: 'ERP_REJECTED', httpStatus: 422, details: { vendorCode: 'EMPLOYEE_UNKNOWN' } });
    expect(error?.details?.erpBody).toMatchObject({ code: 'EMPLOYEE_UNKNOWN' });
    expect((await state()).postings).toHaveLength(0);
  });

  it('reports the refusal of a blocked GL account', async () => {
    const report = approvedReport();
    report.lines[0].dimensions.glAccount = '6999';
    const result = await postExpenseReport(writer, dialect(), input(report), journal);
    expect(result.outcome === 'refused' && result.error.details?.vendorCode).toBe('DIMENSION_CLOSED');
  });

  it('refuses a document that is not approved without calling the ERP', async () => {
    const result = await postExpenseReport(writer, dialect(), input(approvedReport(), { state: 'rejected' }), journal);
    expect(result.outcome === 'refused' && result.error.code).toBe('NOT_APPROVED');
    expect((await state()).counters.requests).toBe(0);
  });

  it('throws SCHEMA_INVALID for a payload that is not a valid ExpenseReport', async () => {
    await expect(
      postExpenseReport(writer, dialect(), input({ docType: 'Requisition' }), journal),
    ).rejects.toMatchObject({
      code: 'SCHEMA_INVALID',
      message: expect.stringContaining('"Requisition"'),
    });
    const broken = { ...approvedReport(), total: { amount: 275.5, currency: 'EUR' } };
    await expect(postExpenseReport(writer, dialect(), input(broken), journal)).rejects.toMatchObject({
      code: 'SCHEMA_INVALID',
    });
    await expect(postExpenseReport(writer, dialect(), input(null), journal)).rejects.toMatchObject({
      code: 'SCHEMA_INVALID',
    });
  });
});
