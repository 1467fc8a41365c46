import { ErpClient } from '../../../lib/erp/client';
import { LedgerWriter } from '../../../lib/posting/idempotent-write';
import type { FinanceStore } from '../../../lib/reliability/store';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';
import { createWebhookTarget } from '../../../lib/writeback/webhook-target';
import { performWriteback, type WritebackInput } from '../../../lib/writeback/writeback';
import { approvedReport, storeFolder } from '../posting/fixtures';

describe('performWriteback to the sandbox write-back target (webhook)', () => {
  const folder = storeFolder('writeback');
  let sandbox: SandboxHandle;
  let api: ErpClient;
  let store: FinanceStore;
  let writer: LedgerWriter;

  const erp = {
    system: 'demo-erp',
    dialect: 'sandbox',
    documentType: 'journal',
    documentId: 'd-1',
    number: 'JNL-000007',
  };
  const input = (message: WritebackInput['message'] = { payload: approvedReport(), erp }): WritebackInput => ({
    message: { finance: { correlationId: 'corr-wb' }, ...message },
    destination: 'webhook|source=src|path=api/v1/writebacks',
    correlationId: 'msg-id',
    now: new Date('2026-03-11T10:00:00Z'),
  });
  const state = async () => (await fetch(`${sandbox.url}/_sandbox/state`)).json();
  const faults = (body: object) =>
    fetch(`${sandbox.url}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    api = new ErpClient({ name: 'concur-api', dialect: 'http', baseUrl: sandbox.url, auth: { type: 'none' } });
  });
  beforeEach(async () => {
    await fetch(`${sandbox.url}/_sandbox/reset`, { method: 'POST' });
    store = folder.open(Date.now);
    // No settle wait after an unanswered write here: that wait is the subject of idempotent-write.test.ts.
    writer = new LedgerWriter(store, { ownerPrefix: 'wb', settleAfterMs: 0 });
  });
  afterAll(async () => {
    api.close();
    await sandbox.close();
    await folder.cleanup();
  });

  it('POSTs { system, documentId, status, erpRef, correlationId } once per document', async () => {
    const target = createWebhookTarget(api);
    const first = await performWriteback(writer, target, input());
    expect(first).toEqual({
      outcome: 'done',
      duplicate: false,
      writeback: { target: 'webhook', status: 'posted', at: '2026-03-11T10:00:00.000Z', sent: true },
    });
    const again = await performWriteback(writer, target, { ...input(), now: new Date('2026-03-12T00:00:00Z') });
    expect(again).toMatchObject({ outcome: 'done', duplicate: true, writeback: { at: '2026-03-11T10:00:00.000Z' } });

    const { writebacks } = await state();
    expect(writebacks).toHaveLength(1);
    expect(writebacks[0]).toMatchObject({
      system: 'concur',
      documentId: 'RPT-1001',
      status: 'posted',
      erpRef: { documentId: 'd-1', number: 'JNL-000007' },
      correlationId: 'corr-wb',
    });
  });

  it('writes back a rejection and a later posting of the same document as two events', async () => {
    const target = createWebhookTarget(api);
    await performWriteback(writer, target, input({ payload: approvedReport(), approval: { state: 'rejected' } }));
    await performWriteback(writer, target, input());
    expect((await state()).writebacks.map((w: { status: string }) => w.status)).toEqual(['rejected', 'posted']);
  });

  it('after a 503 the retry sends the same request once it is accepted', async () => {
    const target = createWebhookTarget(api);
    await faults({ errorRate: 1, errorStatus: 503 });
    await expect(performWriteback(writer, target, input())).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE' });
    await faults({});
    expect((await performWriteback(writer, target, input())).outcome).toBe('done');
    expect((await state()).writebacks).toHaveLength(1);
  });

  it('two hosts with separate ledgers: the Idempotency-Key keeps it to one write-back', async () => {
    const target = createWebhookTarget(api);
    await performWriteback(writer, target, input());
    await performWriteback(new LedgerWriter(folder.open(Date.now), { ownerPrefix: 'host-b' }), target, input());
    const { writebacks, counters } = await state();
    expect(writebacks).toHaveLength(1);
    expect(counters.duplicateWritesPrevented).toBe(1);
  });

  it('reports a 4xx from the target as refused, and 404 (wrong path) as an error', async () => {
    const longStatus = 'x'.repeat(60);
    const refused = await performWriteback(
      writer,
      createWebhookTarget(api),
      input({ payload: approvedReport(), approval: { state: longStatus } }),
    );
    expect(refused).toMatchObject({
      outcome: 'refused',
      status: longStatus,
      error: { code: 'ERP_REJECTED', httpStatus: 400 },
    });
    await expect(performWriteback(writer, createWebhookTarget(api, 'api/v1/nowhere'), input())).rejects.toMatchObject({
      code: 'ERP_NOT_FOUND',
    });
  });
});
