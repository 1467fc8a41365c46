/**
 * Write-back to Coupa against the sandbox's Coupa simulator: the ERP PO number and status land in the
 * requisition's custom fields once per version and status, older versions never overwrite newer ones, and
 * bad input is refused with what to fix.
 */
import { ErpClient } from '../../../lib/erp/client';
import { LedgerWriter } from '../../../lib/posting/idempotent-write';
import type { FinanceStore } from '../../../lib/reliability/store';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';
import { createCoupaTarget } from '../../../lib/writeback/coupa-target';
import { LatestVersionGuard } from '../../../lib/writeback/latest-version';
import { endsJourney, writebackOutcome } from '../../../lib/writeback/outcome';
import { writebackSettings } from '../../../lib/writeback/settings';
import { performWriteback, type WritebackInput } from '../../../lib/writeback/writeback';
import { storeFolder } from '../posting/fixtures';

const requisition = (version: number, id = '1001') => ({
  docType: 'Requisition',
  sourceRef: { system: 'coupa', id, version },
  requisitionId: id,
});
const erp = (status = 'open') => ({
  system: 'sandbox',
  dialect: 'sandbox',
  documentType: 'purchaseOrder',
  documentId: 'po-1',
  number: 'PO-000042',
  status,
  httpStatus: 201,
});

describe('write-back to Coupa', () => {
  const folder = storeFolder('coupa-writeback');
  let sandbox: SandboxHandle;
  let api: ErpClient;
  let store: FinanceStore;
  let writer: LedgerWriter;
  let latest: LatestVersionGuard;
  const target = () => createCoupaTarget(api, { numberField: 'erp-po-number', statusField: 'erp-po-status' });
  const input = (message: WritebackInput['message']): WritebackInput => ({
    message: { finance: { correlationId: 'corr-coupa' }, ...message },
    destination: 'coupa|source=src|number=erp-po-number|status=erp-po-status',
    correlationId: 'msg-id',
    now: new Date('2026-03-11T10:00:00Z'),
  });
  const coupa = async () =>
    ((await (await fetch(`${sandbox.url}/_sandbox/state`)).json()) as { coupa: Record<string, any> }).coupa;

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    api = new ErpClient({ name: 'coupa', dialect: 'coupa', baseUrl: `${sandbox.url}/coupa`, auth: { type: 'none' } });
  });
  beforeEach(async () => {
    await fetch(`${sandbox.url}/_sandbox/reset`, { method: 'POST' });
    store = folder.open(Date.now);
    writer = new LedgerWriter(store, { ownerPrefix: 'wb' });
    latest = new LatestVersionGuard(store);
  });
  afterAll(async () => {
    api.close();
    await sandbox.close();
    await folder.cleanup();
  });

  it('writes the PO number and "ordered" into the requisition custom fields, once per version', async () => {
    const message = { payload: requisition(1), erp: erp(), purchaseOrder: { action: 'created' } };
    const first = await performWriteback(writer, target(), input(message), latest);
    expect(first).toMatchObject({
      outcome: 'done',
      duplicate: false,
      writeback: { target: 'coupa', status: 'ordered', sent: true },
    });
    const again = await performWriteback(writer, target(), input(message), latest);
    expect(again).toMatchObject({ outcome: 'done', duplicate: true });

    const state = await coupa();
    const record = state.requisitions.find((r: { id: number }) => r.id === 1001);
    expect(record['custom-fields']).toEqual({ 'erp-po-number': 'PO-000042', 'erp-po-status': 'ordered' });
    expect(state.writebacks).toEqual([
      {
        collection: 'requisitions',
        id: 1001,
        values: { 'erp-po-number': 'PO-000042', 'erp-po-status': 'ordered' },
        at: expect.any(String),
      },
    ]);
  });

  it('does not let an older version overwrite a newer one (a parked retry after a cancel)', async () => {
    const cancelled = { payload: requisition(2), erp: erp('cancelled'), purchaseOrder: { action: 'cancelled' } };
    expect(await performWriteback(writer, target(), input(cancelled), latest)).toMatchObject({
      writeback: { status: 'cancelled', sent: true },
    });
    const late = { payload: requisition(1), erp: erp(), purchaseOrder: { action: 'created' } };
    const result = await performWriteback(writer, target(), input(late), latest);
    expect(result).toMatchObject({ outcome: 'done', writeback: { status: 'ordered', sent: false, superseded: true } });
    const state = await coupa();
    expect(state.requisitions.find((r: { id: number }) => r.id === 1001)['custom-fields']['erp-po-status']).toBe(
      'cancelled',
    );
    expect(state.writebacks).toHaveLength(1);
  });

  it('writes "budget_exceeded" without a number when the commitment check refused the money', async () => {
    const message = { payload: requisition(1), budget: { status: 'exceeded' } };
    expect(writebackOutcome(message).status).toBe('budget_exceeded');
    expect(endsJourney('budget_exceeded')).toBe(true);
    await performWriteback(writer, target(), input(message), latest);
    const state = await coupa();
    expect(state.writebacks[0].values).toEqual({ 'erp-po-status': 'budget_exceeded' });
  });

  it('skips a status-only outcome when no status field is configured', async () => {
    const numberOnly = createCoupaTarget(api, { numberField: 'erp-po-number' });
    const result = await performWriteback(
      writer,
      numberOnly,
      input({ payload: requisition(1), budget: { status: 'exceeded' } }),
    );
    expect(result).toMatchObject({ outcome: 'done', writeback: { sent: false } });
    expect((await coupa()).writebacks).toEqual([]);
  });

  it('refuses a field Coupa does not have (422) as a refusal, not a retry', async () => {
    const wrong = createCoupaTarget(api, { numberField: 'erp_po' });
    const result = await performWriteback(
      writer,
      wrong,
      input({ payload: requisition(1), erp: erp(), purchaseOrder: { action: 'created' } }),
    );
    expect(result).toMatchObject({ outcome: 'refused', error: { code: 'ERP_REJECTED' } });
  });

  it('refuses a document whose id is not a Coupa record id', async () => {
    const message = { payload: requisition(1, 'REQ-7'), erp: erp(), purchaseOrder: { action: 'created' } };
    await expect(performWriteback(writer, target(), input(message), latest)).rejects.toMatchObject({
      code: 'SCHEMA_INVALID',
      message: expect.stringMatching(/"REQ-7" is not a Coupa record id/),
    });
  });

  it('reads the Coupa dialog: default number field, optional status field, bad names refused', () => {
    expect(writebackSettings({ target: 'coupa' })).toEqual({ target: 'coupa', numberField: 'erp-po-number' });
    expect(writebackSettings({ target: 'coupa', numberField: 'po_ref', statusField: 'po-status' })).toEqual({
      target: 'coupa',
      numberField: 'po_ref',
      statusField: 'po-status',
    });
    expect(() => writebackSettings({ target: 'coupa', numberField: 'custom fields!' })).toThrow(
      /ERP number field "custom fields!" is not a Coupa custom field name/,
    );
  });
});
