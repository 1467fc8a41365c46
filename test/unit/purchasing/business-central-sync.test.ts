/**
 * finance-purchase-order against the sandbox's Business Central simulator with the real BC dialect: the
 * updates whose ERP reading differs from what the pack wrote (a split line read back as amount splits of
 * quantity 1) or was left half-done by an interrupted attempt (BC changes lines one request at a time: a
 * PATCH per changed line, a POST per added one, a DELETE per removed one).
 */
import { ErpClient, type ErpHttp, type ErpRequest, type ErpResponse } from '../../../lib/erp/client';
import { createDialect } from '../../../lib/erp/dialect';
import { FinanceError } from '../../../lib/errors';
import type { PurchaseOrder, PurchaseOrderLine } from '../../../lib/model/types';
import { LedgerWriter } from '../../../lib/posting/idempotent-write';
import { KeyedQueue } from '../../../lib/purchasing/keyed-queue';
import { syncPurchaseOrder, type SyncDependencies, type SyncResult } from '../../../lib/purchasing/sync';
import { VersionBook } from '../../../lib/purchasing/versions';
import { bcStoreOf } from '../../../lib/sandbox/business-central/store';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';
import { BC_CLIENT, bcConnection, storeFolder } from './fixtures';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
const TODAY = new Date().toISOString().slice(0, 10);

/** Passes requests on; `failLineWrite` answers the nth POST or PATCH of purchase order lines with a 503 unsent. */
class FaultyHttp implements ErpHttp {
  lineWrites = 0;
  failLineWrite?: number;
  constructor(private readonly inner: ErpHttp) {}

  async request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
    if ((request.method === 'POST' || request.method === 'PATCH') && request.path.includes('/purchaseOrderLines')) {
      this.lineWrites += 1;
      if (this.lineWrites === this.failLineWrite) {
        throw new FinanceError('ERP_UNAVAILABLE', 'ERP answered 503', { httpStatus: 503, retryable: true });
      }
    }
    return this.inner.request<T>(request);
  }
}

function line(lineId: string, quantity: string, price: string, splits: PurchaseOrderLine['accountAssignments']) {
  const amount = ((Number(quantity) * Number(price) * 100) / 100).toFixed(2);
  return {
    lineId,
    description: `Item ${lineId}`,
    quantity,
    unitPrice: eur(price),
    amount: eur(amount),
    accountAssignments: splits,
  };
}

const whole = [{ percent: '100', dimensions: { costCenter: 'CC-100', glAccount: '6300' } }];
const halves = [
  { percent: '50', dimensions: { costCenter: 'CC-100', glAccount: '6300' } },
  { percent: '50', dimensions: { costCenter: 'CC-200', glAccount: '6300' } },
];

function order(version: number, lines: PurchaseOrderLine[]): PurchaseOrder {
  const cents = lines.reduce((sum, each) => sum + BigInt(each.amount.amount.replace('.', '')), 0n);
  return {
    docType: 'PurchaseOrder',
    sourceRef: { system: 'coupa', id: 'PO-88', version },
    externalReference: 'coupa:PO-88',
    supplierId: 'SUP-1001',
    orderDate: TODAY,
    currency: 'EUR',
    total: eur(`${cents / 100n}.${String(cents % 100n).padStart(2, '0')}`),
    lines,
  };
}

describe('syncPurchaseOrder against the Business Central simulator', () => {
  const folder = storeFolder('bc-sync');
  let sandbox: SandboxHandle;
  let client: ErpClient;
  let http: FaultyHttp;
  let deps: SyncDependencies;

  beforeEach(async () => {
    sandbox = await startSandbox({ port: 0, auth: { type: 'oauth2', ...BC_CLIENT } });
    const config = bcConnection(sandbox.url, 'finsync/finance/v1.0');
    client = new ErpClient({ circuitBreaker: null, ...config });
    http = new FaultyHttp(client);
    const store = folder.open();
    deps = {
      dialect: createDialect('business-central', http, config),
      writer: new LedgerWriter(store, { ownerPrefix: 'test' }),
      versions: new VersionBook(store),
      queue: new KeyedQueue(),
    };
  });
  afterEach(async () => {
    client.close();
    await sandbox.close();
  });
  afterAll(() => folder.cleanup());

  const sync = (document: PurchaseOrder) =>
    syncPurchaseOrder(deps, { document, correlationId: 'corr-bc', now: new Date() });
  const synced = (result: SyncResult) => {
    if (result.outcome !== 'synced')
      throw new Error(`expected synced, got ${result.error.code}: ${result.error.message}`);
    return result;
  };
  const held = (id: string) => deps.dialect.getPurchaseOrder(id, { correlationId: 'check' });

  it('a quantity change of a split line after a buyer edited the PO in BC (412) reaches BC; the edit stays', async () => {
    const created = synced(await sync(order(1, [line('L1', '2', '150.00', halves)])));
    const id = created.erpRef.documentId;
    // A buyer moves the order date in BC: the ETag the pack holds is stale now.
    const current = await held(id);
    await deps.dialect.patchPurchaseOrder(id, { orderDate: '2099-12-31' }, current.erpRef.etag!, ctx());
    const result = synced(await sync(order(2, [line('L1', '3', '150.00', halves)])));
    expect(result.purchaseOrder.action).toBe('updated');
    const after = await held(id);
    expect(after.total.amount).toBe('450.00');
    expect(after.orderDate).toBe('2099-12-31');
  });

  it('the retry of an update that failed midway through its line writes finishes every line', async () => {
    const v1 = [line('L1', '2', '150.00', whole), line('L2', '1', '100.00', whole)];
    const created = synced(await sync(order(1, v1)));
    // L1's quantity is PATCHed, then L3's POST fails unanswered.
    const v2 = order(2, [line('L1', '3', '150.00', whole), v1[1], line('L3', '1', '50.00', whole)]);
    http.failLineWrite = http.lineWrites + 2;
    await expect(sync(v2)).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE' });
    // The retry policy sends the same version again.
    synced(await sync(v2));
    const after = await held(created.erpRef.documentId);
    expect(after.lines.map((each) => [each.lineId, each.quantity])).toEqual([
      ['L1', '3'],
      ['L2', '1'],
      ['L3', '1'],
    ]);
    expect(after.total.amount).toBe('600.00');
  });

  it('a change BC refuses before writing (a released order) is refused, not retried; after a reopen the same version applies', async () => {
    const created = synced(await sync(order(1, [line('L1', '2', '150.00', whole)])));
    const id = created.erpRef.documentId;
    bcStoreOf(sandbox.state).setPurchaseOrderStatus(id, 'Open');
    const v2 = order(2, [line('L1', '3', '150.00', whole)]);
    const refused = await sync(v2);
    expect(refused).toMatchObject({ outcome: 'refused', error: { code: 'ERP_CONFLICT', retryable: false } });
    expect((await held(id)).total.amount).toBe('300.00');
    // A person reopens the order in Business Central and replays the message.
    bcStoreOf(sandbox.state).setPurchaseOrderStatus(id, 'Draft');
    const applied = synced(await sync(v2));
    expect(applied.purchaseOrder.action).toBe('updated');
    expect((await held(id)).total.amount).toBe('450.00');
  });
});

function ctx() {
  return { correlationId: 'buyer' };
}
