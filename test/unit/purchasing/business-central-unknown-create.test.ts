/**
 * A purchase order create whose answer is lost, against the Business Central simulator without the reference
 * API page: BC API v2.0 cannot be asked for a PO by external reference, so the create is never sent again
 * (same version or a later one) until a person has checked BC (lib/purchasing/unsettled-create.ts).
 */
import { ErpClient, type ErpHttp, type ErpRequest, type ErpResponse } from '../../../lib/erp/client';
import { createDialect } from '../../../lib/erp/dialect';
import { FinanceError } from '../../../lib/errors';
import type { PurchaseOrder } from '../../../lib/model/types';
import { LedgerWriter } from '../../../lib/posting/idempotent-write';
import { KeyedQueue } from '../../../lib/purchasing/keyed-queue';
import { syncPurchaseOrder, type SyncDependencies, type SyncResult } from '../../../lib/purchasing/sync';
import { recordPurchaseOrderCheck, UNSETTLED_CREATES_NAMESPACE } from '../../../lib/purchasing/unsettled-create';
import { VersionBook } from '../../../lib/purchasing/versions';
import type { FinanceStore } from '../../../lib/reliability/store';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';
import { BC_CLIENT, bcConnection, storeFolder } from './fixtures';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
const TODAY = new Date().toISOString().slice(0, 10);
const API = '/v2.0/contoso.onmicrosoft.com/Production/api/v2.0';

/**
 * Passes requests on. `lose` set: the next POST of a purchase order reaches BC (or not, with `unsent`) and
 * its answer is lost: a timeout, as the client reports it.
 */
class LossyHttp implements ErpHttp {
  lose?: 'after' | 'unsent';
  poPosts = 0;
  constructor(private readonly inner: ErpHttp) {}

  async request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
    const poPost = request.method === 'POST' && /purchaseOrders$/.test(request.path);
    if (poPost) this.poPosts += 1;
    const lose = poPost ? this.lose : undefined;
    if (lose !== undefined) this.lose = undefined;
    if (lose === 'unsent') throw timeout(request);
    const response = await this.inner.request<T>(request);
    if (lose === 'after') throw timeout(request);
    return response;
  }
}

function timeout(request: ErpRequest): FinanceError {
  return new FinanceError('ERP_TIMEOUT', `ERP did not answer ${request.method} ${request.path}`, {
    retryable: true,
    details: { method: request.method, path: request.path, transportCode: 'ETIMEDOUT' },
  });
}

function order(version: number, quantity = '2', cancelled = false): PurchaseOrder {
  const amount = (Number(quantity) * 150).toFixed(2);
  return {
    docType: 'PurchaseOrder',
    sourceRef: { system: 'coupa', id: 'PO-88', version },
    externalReference: 'coupa:PO-88',
    supplierId: 'SUP-1001',
    orderDate: TODAY,
    currency: 'EUR',
    total: eur(amount),
    ...(cancelled ? { status: 'cancelled' as const } : {}),
    lines: [
      {
        lineId: 'L1',
        description: 'Item L1',
        quantity,
        unitPrice: eur('150.00'),
        amount: eur(amount),
        accountAssignments: [{ percent: '100', dimensions: { costCenter: 'CC-100', glAccount: '6300' } }],
      },
    ],
  };
}

describe.each([
  ['without the reference API page', undefined],
  ['with the reference API page', 'finsync/finance/v1.0'],
])('a BC purchase order create whose answer is lost, %s', (_title, referenceApi) => {
  const folder = storeFolder('bc-unknown');
  let sandbox: SandboxHandle;
  let client: ErpClient;
  let http: LossyHttp;
  let store: FinanceStore;
  let deps: SyncDependencies;

  beforeEach(async () => {
    sandbox = await startSandbox({ port: 0, auth: { type: 'oauth2', ...BC_CLIENT } });
    const config = bcConnection(sandbox.url, referenceApi);
    client = new ErpClient({ circuitBreaker: null, ...config });
    http = new LossyHttp(client);
    store = folder.open();
    deps = {
      dialect: createDialect('business-central', http, config),
      writer: new LedgerWriter(store, { ownerPrefix: 'test', settleAfterMs: 0 }),
      versions: new VersionBook(store),
      queue: new KeyedQueue(),
    };
  });
  afterEach(async () => {
    client.close();
    await sandbox.close();
  });
  afterAll(() => folder.cleanup());

  const sync = (document: PurchaseOrder, replayed = false) =>
    syncPurchaseOrder(deps, { document, correlationId: 'corr-bc', now: new Date(), replayed });
  const synced = (result: SyncResult) => {
    if (result.outcome !== 'synced')
      throw new Error(`expected synced, got ${result.error.code}: ${result.error.message}`);
    return result;
  };
  const get = async (path: string) =>
    (await client.request<{ value: Array<Record<string, unknown>> }>({ method: 'GET', path })).data;
  const purchaseOrders = async () => {
    const companies = await get(`${API}/companies`);
    const company = companies.value.find((each) => each.name === 'FS-DEMO')!;
    return (await get(`${API}/companies(${String(company.id)})/purchaseOrders`)).value;
  };
  const check = (number: string | null) =>
    recordPurchaseOrderCheck(deps.versions.unsettled, { externalReference: 'coupa:PO-88', number }, new Date());

  if (referenceApi !== undefined) {
    it('the retry finds the PO by its reference and sends nothing again', async () => {
      http.lose = 'after';
      await expect(sync(order(1))).rejects.toMatchObject({ code: 'ERP_TIMEOUT' });
      const again = synced(await sync(order(1)));
      expect(again.purchaseOrder.action).toBe('unchanged');
      expect(http.poPosts).toBe(1);
      expect(await purchaseOrders()).toHaveLength(1);
      expect(await store.kvList(UNSETTLED_CREATES_NAMESPACE)).toEqual([]);
    });
    return;
  }

  it('the retry of the same version is not sent: ERP_OUTCOME_UNKNOWN, not retryable, names what to look for', async () => {
    http.lose = 'after';
    await expect(sync(order(1))).rejects.toMatchObject({ code: 'ERP_TIMEOUT' });
    const error = await sync(order(1)).then(
      () => undefined,
      (err: unknown) => err as FinanceError,
    );
    expect(error).toMatchObject({ code: 'ERP_OUTCOME_UNKNOWN', retryable: false });
    expect(error!.message).toContain('Business Central');
    expect(error!.message).toContain('may have created');
    expect(error!.message).toContain('vendor SUP-1001');
    expect(error!.message).toContain(`dated ${TODAY}`);
    expect(error!.message).toContain('300.00 EUR');
    expect(error!.message).toContain('PurchaseOrder PO-88');
    expect(error!.message).toContain('purchase-order-checked');
    expect(error!.details).toMatchObject({ externalReference: 'coupa:PO-88', supplierId: 'SUP-1001', version: 1 });
    // And again, however often it is retried or replayed.
    await expect(sync(order(1), true)).rejects.toMatchObject({ code: 'ERP_OUTCOME_UNKNOWN' });
    expect(http.poPosts).toBe(1);
    expect(await purchaseOrders()).toHaveLength(1);
  });

  it('version 2 arriving before the retry is not sent either, nor is a cancel', async () => {
    http.lose = 'after';
    await expect(sync(order(1))).rejects.toMatchObject({ code: 'ERP_TIMEOUT' });
    const error = await sync(order(2, '3')).then(
      () => undefined,
      (err: unknown) => err as FinanceError,
    );
    expect(error).toMatchObject({ code: 'ERP_OUTCOME_UNKNOWN', retryable: false });
    // What the earlier attempt sent is what to look for: version 1's total.
    expect(error!.message).toContain('version 1');
    expect(error!.message).toContain('300.00 EUR');
    await expect(sync(order(1))).rejects.toMatchObject({ code: 'ERP_OUTCOME_UNKNOWN' });
    await expect(sync(order(3, '2', true))).rejects.toMatchObject({ code: 'ERP_OUTCOME_UNKNOWN' });
    expect(http.poPosts).toBe(1);
    expect(await purchaseOrders()).toHaveLength(1);
  });

  it('after a person gives the number of the PO found, the replay links it; later versions update it', async () => {
    http.lose = 'after';
    await expect(sync(order(1))).rejects.toMatchObject({ code: 'ERP_TIMEOUT' });
    await expect(sync(order(2, '3'))).rejects.toMatchObject({ code: 'ERP_OUTCOME_UNKNOWN' });
    const [found] = await purchaseOrders();
    await check(String(found.number));
    const linked = synced(await sync(order(2, '3'), true));
    expect(linked.erp.documentId).toBe(found.id);
    expect(linked.purchaseOrder.action).toBe('updated');
    const v3 = synced(await sync(order(3, '4')));
    expect(v3.purchaseOrder.action).toBe('updated');
    const after = await deps.dialect.getPurchaseOrder(String(found.id), { correlationId: 'check' });
    expect(after.total.amount).toBe('600.00');
    expect(http.poPosts).toBe(1);
    expect(await purchaseOrders()).toHaveLength(1);
    expect(await store.kvList(UNSETTLED_CREATES_NAMESPACE)).toEqual([]);
  });

  it('after a person found none, the replay creates the PO once', async () => {
    http.lose = 'unsent';
    await expect(sync(order(1))).rejects.toMatchObject({ code: 'ERP_TIMEOUT' });
    await expect(sync(order(1))).rejects.toMatchObject({ code: 'ERP_OUTCOME_UNKNOWN' });
    expect(await purchaseOrders()).toHaveLength(0);
    await check(null);
    const created = synced(await sync(order(1), true));
    expect(created.purchaseOrder.action).toBe('created');
    expect(created.erp.httpStatus).toBe(201);
    synced(await sync(order(2, '3')));
    expect(await purchaseOrders()).toHaveLength(1);
    expect(await store.kvList(UNSETTLED_CREATES_NAMESPACE)).toEqual([]);
  });

  it("refuses a check when nothing waits for one, and a number of another vendor's PO", async () => {
    await expect(check(null)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    await expect(
      recordPurchaseOrderCheck(deps.versions.unsettled, { externalReference: 'coupa:PO-88' }, new Date()),
    ).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    // Another vendor's PO in BC.
    const other = synced(
      await sync({
        ...order(1),
        sourceRef: { system: 'coupa', id: 'PO-99', version: 1 },
        externalReference: 'coupa:PO-99',
        supplierId: 'SUP-1002',
      }),
    );
    http.lose = 'after';
    await expect(sync(order(1))).rejects.toMatchObject({ code: 'ERP_TIMEOUT' });
    await check(String(other.erp.number));
    await expect(sync(order(1), true)).rejects.toMatchObject({ code: 'ERP_CONFLICT', retryable: false });
    await check('NO-SUCH-PO');
    await expect(sync(order(1), true)).rejects.toMatchObject({ code: 'ERP_NOT_FOUND', retryable: false });
    expect(await purchaseOrders()).toHaveLength(2);
  });

  it('refuses the number of a PO that holds other content, or that the pack recorded for another document', async () => {
    // PO-77: same vendor, same date, same lines and total as PO-88's lost create, but another requisition's PO.
    const sameContent = synced(
      await sync({
        ...order(1),
        sourceRef: { system: 'coupa', id: 'PO-77', version: 1 },
        externalReference: 'coupa:PO-77',
      }),
    );
    // PO-66: same vendor, other lines and total.
    const otherContent = synced(
      await sync({
        ...order(1, '5'),
        sourceRef: { system: 'coupa', id: 'PO-66', version: 1 },
        externalReference: 'coupa:PO-66',
      }),
    );
    http.lose = 'unsent';
    await expect(sync(order(1))).rejects.toMatchObject({ code: 'ERP_TIMEOUT' });
    await expect(sync(order(1))).rejects.toMatchObject({ code: 'ERP_OUTCOME_UNKNOWN' });

    await check(String(sameContent.erp.number));
    await expect(sync(order(1), true)).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: false,
      message: expect.stringContaining('the pack recorded it as the purchase order of "coupa:PO-77"'),
    });
    await check(String(otherContent.erp.number));
    await expect(sync(order(1), true)).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
      message: expect.stringContaining('its total is 750.00 EUR, not 300.00 EUR'),
    });
    const held = await deps.dialect.getPurchaseOrder(String(sameContent.erp.documentId), { correlationId: 'check' });
    expect(held.total.amount).toBe('300.00');
    expect(await purchaseOrders()).toHaveLength(2);
    // Checked right at last (none was created): created once.
    await check(null);
    expect(synced(await sync(order(1), true)).purchaseOrder.action).toBe('created');
    expect(await purchaseOrders()).toHaveLength(3);
  });

  it('takes a new check when the write to a linked PO did not end well, so nobody is stuck with it', async () => {
    http.lose = 'unsent';
    await expect(sync(order(1))).rejects.toMatchObject({ code: 'ERP_TIMEOUT' });
    await expect(sync(order(1))).rejects.toMatchObject({ code: 'ERP_OUTCOME_UNKNOWN' });
    // As a linked PO's refused change leaves it: the note names the PO.
    const note = (await deps.versions.unsettled.get('coupa:PO-88'))!;
    await deps.versions.unsettled.put('coupa:PO-88', { ...note, documentId: 'gone-in-bc' });
    await check(null);
    expect(await deps.versions.unsettled.get('coupa:PO-88')).not.toHaveProperty('documentId');
    expect(synced(await sync(order(1), true)).purchaseOrder.action).toBe('created');
    expect(await purchaseOrders()).toHaveLength(1);
  });

  it('a create BC refuses leaves nothing to check: the corrected replay creates it', async () => {
    const refused = await sync({ ...order(1), supplierId: 'NO-SUCH-VENDOR' });
    expect(refused.outcome).toBe('refused');
    expect(await store.kvList(UNSETTLED_CREATES_NAMESPACE)).toEqual([]);
    synced(await sync(order(2)));
    expect(await purchaseOrders()).toHaveLength(1);
  });
});
