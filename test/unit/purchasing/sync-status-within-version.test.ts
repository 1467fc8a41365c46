/**
 * A Coupa purchase order whose status changes without Coupa raising its `version` (whether Coupa raises it on a
 * cancel or close is not documented): mapped and enveloped by the real Coupa profile, synced against the sandbox
 * ERP and the Business Central simulator. A cancel within the applied version cancels a PO still open; the same
 * cancel again is a replay; nothing of that version reopens it; an older version stays STALE_VERSION.
 */
import { ErpClient } from '../../../lib/erp/client';
import { createDialect } from '../../../lib/erp/dialect';
import { createSandboxDialect } from '../../../lib/erp/sandbox/dialect';
import { LedgerWriter } from '../../../lib/posting/idempotent-write';
import { KeyedQueue } from '../../../lib/purchasing/keyed-queue';
import { syncPurchaseOrder, type SyncDependencies, type SyncResult } from '../../../lib/purchasing/sync';
import { VersionBook } from '../../../lib/purchasing/versions';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';
import { createCoupaProfile } from '../../../lib/sources/profiles/coupa';
import { BC_CLIENT, bcConnection, recording, storeFolder } from './fixtures';

const TODAY = new Date().toISOString().slice(0, 10);
const profile = createCoupaProfile({ costCenterSegment: 'segment-2', glAccountSegment: 'segment-3' });

/** A Coupa purchase order as GET /api/purchase_orders returns it. */
function coupaOrder(version: number, status: string): Record<string, unknown> {
  return {
    id: 501,
    'po-number': 'PO-501',
    'created-at': `${TODAY}T09:00:00Z`,
    'updated-at': `${TODAY}T10:00:00Z`,
    status,
    version,
    exported: false,
    currency: { code: 'EUR' },
    supplier: { number: 'SUP-1001' },
    'order-lines': [
      {
        'line-num': 1,
        description: 'Laptop stand',
        quantity: '2',
        price: '150.00',
        total: '300.00',
        account: { 'segment-2': 'CC-400', 'segment-3': '0650' },
      },
    ],
  };
}

const synced = (result: SyncResult) => {
  if (result.outcome !== 'synced')
    throw new Error(`expected synced, got ${result.error.code}: ${result.error.message}`);
  return result;
};
const refused = (result: SyncResult) => {
  if (result.outcome !== 'refused') throw new Error(`expected refused, got ${result.outcome}`);
  return result;
};

function depsOn(dialect: SyncDependencies['dialect'], store: ReturnType<ReturnType<typeof storeFolder>['open']>) {
  return {
    dialect,
    writer: new LedgerWriter(store, { ownerPrefix: 'test' }),
    versions: new VersionBook(store),
    queue: new KeyedQueue(),
  } satisfies SyncDependencies;
}

describe('a Coupa PO status change within one version, against the sandbox ERP', () => {
  const folder = storeFolder('status-within-version');
  let sandbox: SandboxHandle;
  let client: ErpClient;
  let http: ReturnType<typeof recording>;
  let deps: SyncDependencies;

  /** What finance-map and the intake hand on for one polled Coupa PO: the mapped PO and its envelope. */
  const sync = (body: Record<string, unknown>) =>
    syncPurchaseOrder(deps, {
      document: profile.toPurchaseOrder(body),
      envelope: profile.purchaseOrderEnvelopeOf(body),
      correlationId: 'corr-coupa-po',
      now: new Date(),
    });
  const writes = () => http.log.filter((request) => request.method !== 'GET');
  const cancels = () => writes().filter((request) => request.path.endsWith('/cancel'));
  const erpStatus = async () =>
    ((await (await fetch(`${sandbox.url}/_sandbox/state`)).json()).purchaseOrders as Array<{ status: string }>).map(
      (po) => po.status,
    );

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    client = new ErpClient({ name: 'demo-erp', dialect: 'sandbox', baseUrl: sandbox.url, auth: { type: 'none' } });
  });
  beforeEach(async () => {
    await fetch(`${sandbox.url}/_sandbox/reset`, { method: 'POST' });
    http = recording(client);
    deps = depsOn(createSandboxDialect(http, { name: 'demo-erp', company: 'FS-DEMO' }), folder.open());
  });
  afterAll(async () => {
    client.close();
    await sandbox.close();
    await folder.cleanup();
  });

  it('cancelled with the version already applied: cancelled in the ERP, once; nothing of the version reopens it', async () => {
    const created = synced(await sync(coupaOrder(3, 'issued')));
    expect(created.purchaseOrder).toMatchObject({ action: 'created', versionApplied: 3 });

    const cancelled = synced(await sync(coupaOrder(3, 'cancelled')));
    expect(cancelled.purchaseOrder).toMatchObject({ action: 'cancelled', versionApplied: 3, replay: false });
    expect(cancelled.erp).toMatchObject({ documentId: created.erp.documentId, status: 'cancelled', httpStatus: 200 });
    expect(await erpStatus()).toEqual(['cancelled']);

    // The same cancel again: a replay from the record, no ERP call.
    const requests = http.log.length;
    const again = synced(await sync(coupaOrder(3, 'cancelled')));
    expect(again.purchaseOrder).toMatchObject({ action: 'cancelled', replay: true });
    // An open event of the same version after the cancel (a late delivery): the recorded outcome, not reopened.
    const late = synced(await sync(coupaOrder(3, 'issued')));
    expect(late.purchaseOrder).toMatchObject({ action: 'cancelled', replay: true });
    expect(http.log.length).toBe(requests);
    // An older version stays stale.
    expect(refused(await sync(coupaOrder(2, 'issued'))).error.code).toBe('STALE_VERSION');
    expect(refused(await sync(coupaOrder(2, 'cancelled'))).error.code).toBe('STALE_VERSION');

    expect(cancels()).toHaveLength(1);
    expect(await erpStatus()).toEqual(['cancelled']);
  });

  it('cancelled with a raised version: cancelled the same way; the version before is stale', async () => {
    synced(await sync(coupaOrder(3, 'issued')));
    expect(synced(await sync(coupaOrder(4, 'cancelled'))).purchaseOrder).toMatchObject({
      action: 'cancelled',
      versionApplied: 4,
      replay: false,
    });
    expect(refused(await sync(coupaOrder(3, 'cancelled'))).error.code).toBe('STALE_VERSION');
    expect(cancels()).toHaveLength(1);
    expect(await erpStatus()).toEqual(['cancelled']);
  });

  it('the cancel of a version delivered before its open event: cancelled, and the open event after it reopens nothing', async () => {
    synced(await sync(coupaOrder(2, 'issued')));
    synced(await sync(coupaOrder(3, 'cancelled')));
    const late = synced(await sync(coupaOrder(3, 'issued')));
    expect(late.purchaseOrder).toMatchObject({ action: 'cancelled', replay: true });
    expect(cancels()).toHaveLength(1);
    expect(await erpStatus()).toEqual(['cancelled']);
  });

  it('first seen closed: not created open in the ERP (the source has ended the commitment)', async () => {
    const result = refused(await sync(coupaOrder(3, 'closed')));
    expect(result.error).toMatchObject({
      code: 'ERP_NOT_FOUND',
      message: expect.stringContaining('is closed in the source, and this node never created it'),
    });
    expect(writes()).toEqual([]);
    expect(await erpStatus()).toEqual([]);
  });

  it('closed within the version: the pack has no close for the ERP, so it stays a replay and writes nothing', async () => {
    synced(await sync(coupaOrder(3, 'issued')));
    const requests = http.log.length;
    expect(synced(await sync(coupaOrder(3, 'closed'))).purchaseOrder).toMatchObject({
      action: 'created',
      replay: true,
    });
    expect(http.log.length).toBe(requests);
    // A cancel after the close, still within the version, cancels.
    expect(synced(await sync(coupaOrder(3, 'cancelled'))).purchaseOrder).toMatchObject({ action: 'cancelled' });
    expect(await erpStatus()).toEqual(['cancelled']);
  });
});

describe('a Coupa PO cancelled within one version, against the Business Central simulator', () => {
  const folder = storeFolder('status-within-version-bc');
  let sandbox: SandboxHandle;
  let client: ErpClient;
  afterAll(async () => {
    client.close();
    await sandbox.close();
    await folder.cleanup();
  });

  it('deletes the PO in BC (without its reference API page) once; the same cancel again is a replay', async () => {
    sandbox = await startSandbox({ port: 0, auth: { type: 'oauth2', ...BC_CLIENT } });
    const config = bcConnection(sandbox.url);
    client = new ErpClient({ circuitBreaker: null, ...config });
    const http = recording(client);
    const deps = depsOn(createDialect('business-central', http, config), folder.open());
    const sync = (body: Record<string, unknown>) =>
      syncPurchaseOrder(deps, {
        document: profile.toPurchaseOrder(body),
        envelope: profile.purchaseOrderEnvelopeOf(body),
        correlationId: 'corr-coupa-bc',
        now: new Date(),
      });
    const deletes = () => http.log.filter((request) => request.method === 'DELETE');

    const created = synced(await sync(coupaOrder(1, 'issued')));
    const cancelled = synced(await sync(coupaOrder(1, 'cancelled')));
    expect(cancelled.purchaseOrder).toMatchObject({ action: 'cancelled', versionApplied: 1, replay: false });
    expect(deletes()).toHaveLength(1);
    await expect(
      deps.dialect.getPurchaseOrder(created.erpRef.documentId, { correlationId: 'check' }),
    ).rejects.toMatchObject({ httpStatus: 404 });

    expect(synced(await sync(coupaOrder(1, 'cancelled'))).purchaseOrder).toMatchObject({ replay: true });
    expect(synced(await sync(coupaOrder(1, 'issued'))).purchaseOrder).toMatchObject({
      action: 'cancelled',
      replay: true,
    });
    expect(deletes()).toHaveLength(1);
  });
});
