/**
 * The write-back of a Coupa purchase order cancelled without Coupa raising its `version`, against the sandbox's
 * Coupa simulator: within one version, "cancelled" is sent after "ordered" (the status is part of the ledger key
 * and ranks above it), and a parked "ordered" of that version retried afterwards does not overwrite it.
 */
import { ErpClient } from '../../../lib/erp/client';
import { LedgerWriter } from '../../../lib/posting/idempotent-write';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';
import { createCoupaTarget } from '../../../lib/writeback/coupa-target';
import { LatestVersionGuard } from '../../../lib/writeback/latest-version';
import { performWriteback, type WritebackInput } from '../../../lib/writeback/writeback';
import { storeFolder } from '../posting/fixtures';

const order = { docType: 'PurchaseOrder', sourceRef: { system: 'coupa', id: '501', version: 1 } };
const erp = (status: string) => ({
  system: 'sandbox',
  dialect: 'sandbox',
  documentType: 'purchaseOrder',
  documentId: 'po-1',
  number: 'PO-000042',
  status,
});

describe('write-back of a Coupa PO cancelled within one version', () => {
  const folder = storeFolder('coupa-writeback-po-status');
  let sandbox: SandboxHandle;
  let api: ErpClient;
  afterAll(async () => {
    api.close();
    await sandbox.close();
    await folder.cleanup();
  });

  it('sends "cancelled" after "ordered" of the same version; the parked "ordered" retried after it is superseded', async () => {
    sandbox = await startSandbox({ port: 0 });
    api = new ErpClient({ name: 'coupa', dialect: 'coupa', baseUrl: `${sandbox.url}/coupa`, auth: { type: 'none' } });
    const store = folder.open(Date.now);
    const writer = new LedgerWriter(store, { ownerPrefix: 'wb' });
    const latest = new LatestVersionGuard(store);
    const target = createCoupaTarget(api, { numberField: 'erp-po-number', statusField: 'erp-po-status' });
    const writeBack = (action: string, status: string) => {
      const input: WritebackInput = {
        message: { finance: { correlationId: 'corr' }, payload: order, erp: erp(status), purchaseOrder: { action } },
        destination: 'coupa|source=src|number=erp-po-number|status=erp-po-status',
        correlationId: 'msg-id',
        now: new Date('2026-03-11T10:00:00Z'),
      };
      return performWriteback(writer, target, input, latest);
    };

    expect(await writeBack('created', 'open')).toMatchObject({ writeback: { status: 'ordered', sent: true } });
    expect(await writeBack('cancelled', 'cancelled')).toMatchObject({
      duplicate: false,
      writeback: { status: 'cancelled', sent: true },
    });
    expect(await writeBack('created', 'open')).toMatchObject({
      writeback: { status: 'ordered', sent: false, superseded: true },
    });
    expect(await writeBack('cancelled', 'cancelled')).toMatchObject({ duplicate: true });

    const coupa = (await (await fetch(`${sandbox.url}/_sandbox/state`)).json()).coupa;
    const po = coupa.purchaseOrders.find((record: { id: number }) => record.id === 501);
    expect(po['custom-fields']).toEqual({ 'erp-po-number': 'PO-000042', 'erp-po-status': 'cancelled' });
    expect(coupa.writebacks.map((entry: { values: Record<string, string> }) => entry.values['erp-po-status'])).toEqual([
      'ordered',
      'cancelled',
    ]);
  });
});
