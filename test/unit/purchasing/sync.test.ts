import { ErpClient } from '../../../lib/erp/client';
import { FinanceError } from '../../../lib/errors';
import { createSandboxDialect } from '../../../lib/erp/sandbox/dialect';
import type { Requisition } from '../../../lib/model/types';
import { LedgerWriter } from '../../../lib/posting/idempotent-write';
import { KeyedQueue } from '../../../lib/purchasing/keyed-queue';
import { MasterDataCache, readMasterData } from '../../../lib/purchasing/master-data';
import { syncPurchaseOrder, type SyncDependencies, type SyncResult } from '../../../lib/purchasing/sync';
import { VersionBook } from '../../../lib/purchasing/versions';
import type { FinanceStore } from '../../../lib/reliability/store';
import { startSandbox, type SandboxHandle } from '../../../lib/sandbox/server';
import { line, recording, requisition, revision, storeFolder } from './fixtures';
import { patchMasterRecord } from '../../support/sandbox-api';

const eur = (amount: string) => ({ amount, currency: 'EUR' });
const COMPANY_PATH = '/api/v1/companies/FS-DEMO';

describe('syncPurchaseOrder against the sandbox ERP', () => {
  const folder = storeFolder('sync');
  let sandbox: SandboxHandle;
  let client: ErpClient;
  let http: ReturnType<typeof recording>;
  let store: FinanceStore;

  /** One host: its store (ledger and versions), its queue; validation against the ERP's master data unless told. */
  function host(options: { store?: FinanceStore; validate?: boolean; clock?: () => number } = {}): SyncDependencies {
    const own = options.store ?? store;
    const dialect = createSandboxDialect(http, { name: 'demo-erp', company: 'FS-DEMO' });
    return {
      dialect,
      writer: new LedgerWriter(own, { ownerPrefix: 'test' }),
      versions: new VersionBook(own),
      queue: new KeyedQueue(),
      ...(options.validate === false
        ? {}
        : {
            masterData: new MasterDataCache({
              read: () => readMasterData(dialect, { correlationId: 'master-data' }),
              refreshMs: 60_000,
              retryMs: 1000,
              recheckAfterMs: 60_000,
              clock: options.clock,
            }),
          }),
    };
  }

  let deps: SyncDependencies;
  const sync = (document: unknown, envelope: unknown = { time: '2026-03-10T09:00:00Z' }, on = deps) =>
    syncPurchaseOrder(on, { document, envelope, correlationId: 'corr-po', now: new Date('2026-03-12T08:00:00Z') });

  const state = async () => (await fetch(`${sandbox.url}/_sandbox/state`)).json();
  const purchaseOrders = async () => (await state()).purchaseOrders as Array<Record<string, any>>;
  const writes = () => http.log.filter((request) => request.method !== 'GET');
  const synced = (result: SyncResult) => {
    if (result.outcome !== 'synced')
      throw new Error(`expected synced, got ${result.error.code}: ${result.error.message}`);
    return result;
  };
  const refused = (result: SyncResult) => {
    if (result.outcome !== 'refused')
      throw new Error(
        `expected refused, got ${result.outcome === 'synced' ? result.purchaseOrder.action : result.outcome}`,
      );
    return result;
  };

  /** Changes the PO in the ERP directly (as a user of the ERP would), with its current ETag. */
  async function editInErp(id: string, body: object): Promise<void> {
    const current = await fetch(`${sandbox.url}${COMPANY_PATH}/purchaseOrders/${id}`);
    const answer = await fetch(`${sandbox.url}${COMPANY_PATH}/purchaseOrders/${id}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', 'If-Match': current.headers.get('etag')! },
      body: JSON.stringify(body),
    });
    expect(answer.status).toBe(200);
  }

  const quantityRevision = (version: number, quantity = '3'): Requisition => {
    const req = revision(version);
    req.lines[0].quantity = quantity;
    req.lines[0].amount = eur((150 * Number(quantity)).toFixed(2));
    req.total = eur((150 * Number(quantity) + 89.9).toFixed(2));
    return req;
  };

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
    client = new ErpClient({ name: 'demo-erp', dialect: 'sandbox', baseUrl: sandbox.url, auth: { type: 'none' } });
  });
  beforeEach(async () => {
    await fetch(`${sandbox.url}/_sandbox/reset`, { method: 'POST' });
    http = recording(client);
    store = folder.open();
    deps = host();
  });
  afterAll(async () => {
    client.close();
    await sandbox.close();
    await folder.cleanup();
  });

  describe('create', () => {
    it('creates the PO of an approved requisition: msg.erp, the action and the version applied', async () => {
      const result = synced(await sync(requisition()));
      expect(result.erp).toEqual({
        system: 'demo-erp',
        dialect: 'sandbox',
        documentType: 'purchaseOrder',
        documentId: expect.any(String),
        number: expect.stringMatching(/^PO-\d+$/),
        status: 'open',
        etag: expect.any(String),
        httpStatus: 201,
      });
      expect(result.purchaseOrder).toEqual({
        action: 'created',
        versionApplied: 1,
        replay: false,
        externalReference: 'coupa:REQ-1001',
      });
      expect(result.erpRef).toEqual({ ...result.erp, httpStatus: undefined });
      const [po] = await purchaseOrders();
      expect(po).toMatchObject({
        id: result.erp.documentId,
        externalReference: 'coupa:REQ-1001',
        supplierId: 'SUP-1001',
        orderDate: '2026-03-10',
        total: eur('389.90'),
      });
    });

    it('a duplicate delivery is answered from the record: no ERP request, one PO', async () => {
      const first = synced(await sync(requisition()));
      const requests = http.log.length;
      const again = synced(await sync(requisition()));
      expect(again.purchaseOrder).toMatchObject({ action: 'created', replay: true, versionApplied: 1 });
      expect(again.erp.documentId).toBe(first.erp.documentId);
      expect(again.erp.httpStatus).toBeUndefined();
      expect(http.log.length).toBe(requests);
      expect(await purchaseOrders()).toHaveLength(1);
    });

    it('two copies at the same moment: one creates, the other is answered as a replay, one PO', async () => {
      const results = await Promise.all([sync(requisition()), sync(requisition())]);
      expect(results.map((result) => synced(result).purchaseOrder.replay).sort()).toEqual([false, true]);
      expect(await purchaseOrders()).toHaveLength(1);
    });

    it('a second host with its own store creates nothing twice: the Idempotency-Key replays the create', async () => {
      const first = synced(await sync(requisition()));
      const other = host({ store: folder.open() });
      const second = synced(await sync(requisition(), undefined, other));
      expect(second.erp.documentId).toBe(first.erp.documentId);
      expect(await purchaseOrders()).toHaveLength(1);
      expect((await state()).counters.duplicateWritesPrevented).toBe(1);
    });

    it('a create whose answer was lost, then a revision cut off mid-change: the retry brings the PO to the revision', async () => {
      // Faults on the next write: 'lose-answer' lets the ERP apply it and loses its answer; '503' refuses it unapplied.
      const faults: Array<'lose-answer' | '503'> = ['lose-answer'];
      const faulty: SyncDependencies['dialect'] = createSandboxDialect(
        {
          async request(request) {
            const fault = request.method === 'GET' ? undefined : faults.shift();
            if (fault === '503') {
              throw new FinanceError('ERP_UNAVAILABLE', 'ERP "demo-erp" answered 503.', {
                httpStatus: 503,
                retryable: true,
              });
            }
            const response = await http.request(request);
            if (fault === 'lose-answer')
              throw new FinanceError('ERP_UNAVAILABLE', 'socket hang up', { retryable: true });
            return response as never;
          },
        },
        { name: 'demo-erp', company: 'FS-DEMO' },
      );
      const on = {
        ...host(),
        dialect: faulty,
        writer: new LedgerWriter(store, { ownerPrefix: 'test', settleAfterMs: 0 }),
      };
      await expect(sync(requisition(), undefined, on)).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE' });
      faults.push('503');
      await expect(sync(quantityRevision(2), undefined, on)).rejects.toMatchObject({ httpStatus: 503 });

      const retry = synced(await sync(quantityRevision(2), undefined, on));
      expect(retry.purchaseOrder).toMatchObject({ action: 'updated', versionApplied: 2 });
      const [po] = await purchaseOrders();
      expect(po.lines[0].quantity).toBe('3'); // what version 2 says, not version 1's 1 that the ERP held
      expect(await purchaseOrders()).toHaveLength(1);
    });

    it('the first version seen may be a later one: v3 creates, then v2 is stale', async () => {
      synced(await sync(quantityRevision(3)));
      const late = refused(await sync(revision(2)));
      expect(late.error).toMatchObject({ code: 'STALE_VERSION' });
      const [po] = await purchaseOrders();
      expect(po.lines[0].quantity).toBe('3');
    });
  });

  describe('update', () => {
    it('a quantity revision sends one PATCH with only the lines, against the ETag it wrote last', async () => {
      const created = synced(await sync(requisition()));
      http.log.length = 0;
      const result = synced(await sync(quantityRevision(2)));
      expect(result.purchaseOrder).toEqual({
        action: 'updated',
        versionApplied: 2,
        replay: false,
        externalReference: 'coupa:REQ-1001',
        changes: [{ kind: 'lineChanged', lineId: '1', fields: ['quantity', 'amount'] }],
      });
      expect(result.erp.httpStatus).toBe(200);
      expect(http.log.map((request) => [request.method, request.outcome])).toEqual([['PATCH', 200]]);
      const [patch] = http.log;
      expect(patch.ifMatch).toBe(created.erp.etag);
      expect(Object.keys(patch.body as object)).toEqual(['lines']);
      const [po] = await purchaseOrders();
      expect(po.lines[0]).toMatchObject({ quantity: '3', amount: eur('450.00') });
      expect(po.total).toEqual(eur('539.90'));
    });

    it('an added line, a removed line and a re-split coding, each applied with only the lines sent', async () => {
      synced(await sync(requisition()));
      const added = revision(2);
      added.lines.push(line({ lineId: '3', description: 'Monitor arm', quantity: '1', amount: eur('150.00') }));
      added.total = eur('539.90');
      expect(synced(await sync(added)).purchaseOrder.changes).toEqual([{ kind: 'lineAdded', lineId: '3' }]);
      expect((await purchaseOrders())[0].lines.map((each: { lineId: string }) => each.lineId)).toEqual(['1', '2', '3']);

      const removed = revision(3);
      removed.lines = [removed.lines[0]];
      removed.total = eur('300.00');
      expect(synced(await sync(removed)).purchaseOrder.changes).toEqual([
        { kind: 'lineRemoved', lineId: '2' },
        { kind: 'lineRemoved', lineId: '3' },
      ]);
      expect((await purchaseOrders())[0].lines.map((each: { lineId: string }) => each.lineId)).toEqual(['1']);

      const resplit = revision(4);
      resplit.lines = [removed.lines[0]];
      resplit.lines[0].accountAssignments = [
        { dimensions: { costCenter: 'CC-400', glAccount: '0650' }, amount: eur('100.00') },
        { dimensions: { project: 'PRJ-2001', glAccount: '0650' }, amount: eur('200.00') },
      ];
      resplit.total = eur('300.00');
      expect(synced(await sync(resplit)).purchaseOrder.changes).toEqual([
        { kind: 'lineChanged', lineId: '1', fields: ['accountAssignments'] },
      ]);
      expect((await purchaseOrders())[0].lines[0].accountAssignments).toEqual(resplit.lines[0].accountAssignments);
      for (const request of writes().slice(1)) expect(Object.keys(request.body as object)).toEqual(['lines']);
    });

    it('a header change sends that field only', async () => {
      deps = host({ validate: false });
      synced(await sync(requisition()));
      http.log.length = 0;
      const result = synced(await sync(revision(2, { supplierId: 'SUP-1005' })));
      expect(result.purchaseOrder.changes).toEqual([{ kind: 'header', field: 'supplierId' }]);
      expect(writes().map((request) => request.body)).toEqual([{ supplierId: 'SUP-1005' }]);
    });

    it('a version that changes nothing writes nothing and is recorded as applied', async () => {
      synced(await sync(requisition()));
      http.log.length = 0;
      const result = synced(await sync(revision(2)));
      expect(result.purchaseOrder).toMatchObject({ action: 'unchanged', versionApplied: 2, changes: [] });
      expect(result.erp.httpStatus).toBeUndefined();
      expect(http.log).toEqual([]);
      expect(refused(await sync(requisition())).error.code).toBe('STALE_VERSION');
    });

    it("412 (changed in the ERP meanwhile): reads it again, sends the version's lines, keeps the header edit", async () => {
      const created = synced(await sync(requisition()));
      await editInErp(created.erp.documentId, {
        orderDate: '2026-03-11',
        lines: (await purchaseOrders())[0].lines.map((each: { lineId: string }) =>
          each.lineId === '2' ? { ...each, description: 'USB-C dock (edited in the ERP)' } : each,
        ),
      });
      http.log.length = 0;
      const result = synced(await sync(quantityRevision(2)));
      expect(result.purchaseOrder.action).toBe('updated');
      expect(http.log.map((request) => [request.method, request.outcome])).toEqual([
        ['PATCH', 412],
        ['GET', 200],
        ['PATCH', 200],
      ]);
      const [po] = await purchaseOrders();
      expect(po.lines[0].quantity).toBe('3');
      // The lines are the pack's (they carry the requisition's coding); a header field the version did not
      // change keeps the buyer's edit.
      expect(po.lines[1].description).toBe('USB-C dock');
      expect(po.orderDate).toBe('2026-03-11');
      // The next version is sent against the ETag of that write: no 412 again.
      http.log.length = 0;
      synced(await sync(quantityRevision(3, '4')));
      expect(http.log.map((request) => [request.method, request.outcome])).toEqual([['PATCH', 200]]);
      expect((await purchaseOrders())[0].orderDate).toBe('2026-03-11');
    });

    it('an ERP refusal the master data check cannot see leaves as refused with the ERP answer', async () => {
      synced(await sync(requisition()));
      deps = host({ validate: false });
      const closed = revision(2);
      closed.lines[1].accountAssignments = [{ dimensions: { project: 'PRJ-1907', glAccount: '6100' }, percent: '100' }];
      const result = refused(await sync(closed));
      expect(result.error).toMatchObject({ code: 'ERP_REJECTED', httpStatus: 422 });
      expect(result.error.details?.erpBody).toMatchObject({ code: 'PROJECT_CLOSED' });
    });
  });

  describe('versions', () => {
    it('v2 then v3: both applied, v3 wins', async () => {
      synced(await sync(requisition()));
      expect(synced(await sync(quantityRevision(2))).purchaseOrder.action).toBe('updated');
      expect(synced(await sync(quantityRevision(3, '5'))).purchaseOrder.versionApplied).toBe(3);
      expect((await purchaseOrders())[0].lines[0].quantity).toBe('5');
    });

    it('v3 then v2: v2 is STALE_VERSION, reported and not applied; v3 stays', async () => {
      synced(await sync(requisition()));
      synced(await sync(quantityRevision(3, '5')));
      const writesBefore = writes().length;
      const result = refused(await sync(quantityRevision(2)));
      expect(result.error).toMatchObject({
        code: 'STALE_VERSION',
        message: expect.stringContaining('Version 2 of purchase order "coupa:REQ-1001" arrived after version 3'),
        details: { version: 2, lastApplied: 3 },
      });
      expect(writes().length).toBe(writesBefore);
      expect((await purchaseOrders())[0].lines[0].quantity).toBe('5');
    });

    it('v2 and v3 at the same moment are applied one after the other; the PO ends with v3', async () => {
      synced(await sync(requisition()));
      const [second, third] = await Promise.all([sync(quantityRevision(2)), sync(quantityRevision(3, '5'))]);
      expect(synced(second).purchaseOrder.action).toBe('updated');
      expect(synced(third).purchaseOrder.action).toBe('updated');
      expect(writes().map((request) => request.outcome)).toEqual([201, 200, 200]);
      expect((await purchaseOrders())[0].lines[0].quantity).toBe('5');
    });

    it('v3 queued before v2 at the same moment: v2 is stale', async () => {
      synced(await sync(requisition()));
      const [third, second] = await Promise.all([sync(quantityRevision(3, '5')), sync(quantityRevision(2))]);
      expect(synced(third).purchaseOrder.versionApplied).toBe(3);
      expect(refused(second).error.code).toBe('STALE_VERSION');
      expect((await purchaseOrders())[0].lines[0].quantity).toBe('5');
    });
  });

  describe('cancel', () => {
    it('cancels the PO; the same cancel again is a replay; a later cancel is refused as already cancelled', async () => {
      const created = synced(await sync(requisition()));
      const cancel = revision(2, { cancelled: true });
      const result = synced(await sync(cancel));
      expect(result.purchaseOrder).toMatchObject({ action: 'cancelled', versionApplied: 2, replay: false });
      expect(result.erp).toMatchObject({ documentId: created.erp.documentId, status: 'cancelled', httpStatus: 200 });
      expect((await purchaseOrders())[0].status).toBe('cancelled');

      expect(synced(await sync(cancel)).purchaseOrder).toMatchObject({ action: 'cancelled', replay: true });
      const again = refused(await sync(revision(3, { cancelled: true })));
      expect(again.error).toMatchObject({
        code: 'ERP_CONFLICT',
        message: expect.stringMatching(/PO-\d+ \("coupa:REQ-1001"\) is already cancelled by version 2/),
      });
      const change = refused(await sync(quantityRevision(4)));
      expect(change.error).toMatchObject({ code: 'ERP_CONFLICT', message: expect.stringContaining('is cancelled') });
      expect(writes().filter((request) => request.path.endsWith('/cancel'))).toHaveLength(1);
    });

    it('a cancel of a PO the ERP does not have is refused with ERP_NOT_FOUND; the older create then is stale', async () => {
      const result = refused(await sync(revision(2, { cancelled: true })));
      expect(result.error).toMatchObject({
        code: 'ERP_NOT_FOUND',
        message: expect.stringContaining('no purchase order with external reference "coupa:REQ-1001"'),
      });
      expect(refused(await sync(requisition())).error.code).toBe('STALE_VERSION');
      expect(await purchaseOrders()).toHaveLength(0);
      expect(refused(await sync(revision(2, { cancelled: true }))).error.code).toBe('ERP_NOT_FOUND');
    });

    it('a PO cancelled in the ERP by someone else: the cancel is refused as already cancelled there', async () => {
      const created = synced(await sync(requisition()));
      const current = await fetch(`${sandbox.url}${COMPANY_PATH}/purchaseOrders/${created.erp.documentId}`);
      await fetch(`${sandbox.url}${COMPANY_PATH}/purchaseOrders/${created.erp.documentId}/cancel`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'If-Match': current.headers.get('etag')! },
        body: '{}',
      });
      const result = refused(await sync(revision(2, { state: 'cancelled' })));
      expect(result.error).toMatchObject({ code: 'ERP_CONFLICT', message: expect.stringContaining('in the ERP') });
    });

    it('a cancel found by its external reference when this host never saw the create', async () => {
      synced(await sync(requisition()));
      const other = host({ store: folder.open() });
      const result = synced(await sync(revision(2, { cancelled: true }), undefined, other));
      expect(result.purchaseOrder.action).toBe('cancelled');
      expect((await purchaseOrders())[0].status).toBe('cancelled');
    });
  });

  describe('refusals before the ERP call', () => {
    it('master data: a blocked supplier is refused with every failure, naming line and field, and nothing written', async () => {
      const blocked = requisition({ supplierId: 'SUP-1009' });
      blocked.lines[1].taxCode = 'GB-20';
      const result = refused(await sync(blocked));
      expect(result.error).toMatchObject({
        code: 'ERP_REJECTED',
        message: expect.stringMatching(
          /^The purchase order was not sent to the ERP: it fails the ERP's master data checks\./,
        ),
      });
      expect(result.errors?.map((failure) => [failure.line, failure.field, failure.rule])).toEqual([
        [undefined, 'supplierId', 'supplierBlocked'],
        ['1', 'taxCode', 'taxCodeCountry'],
      ]);
      expect(writes()).toEqual([]);
    });

    it('a replayed document refused from a copy older than a second is checked against a fresh one', async () => {
      let now = Date.parse('2026-03-12T08:00:00Z');
      const on = host({ clock: () => now });
      const setSupplierStatus = (status: string) => patchMasterRecord(sandbox.url, 'suppliers', 'SUP-1001', { status });
      const rules = (result: SyncResult) => refused(result).errors?.map((failure) => failure.rule);
      const replay = () =>
        syncPurchaseOrder(on, {
          document: requisition(),
          correlationId: 'corr-po',
          now: new Date(now),
          replayed: true,
        });

      await setSupplierStatus('blocked');
      expect(rules(await sync(requisition(), undefined, on))).toEqual(['supplierBlocked']);
      // Purchasing unblocks the supplier in the ERP, and someone replays the document from the dead letters.
      await setSupplierStatus('active');
      now += 999;
      expect(rules(await replay())).toEqual(['supplierBlocked']);
      now += 1;
      // Not replayed, the refusal stands until the copy is a minute old; replayed, the copy is loaded again.
      expect(rules(await sync(requisition(), undefined, on))).toEqual(['supplierBlocked']);
      expect(synced(await replay()).purchaseOrder.action).toBe('created');
      expect(await purchaseOrders()).toHaveLength(1);
    });

    it('document rules and master data together: a split that does not add up and a closed GL account', async () => {
      const req = requisition();
      req.lines[0].accountAssignments[1].percent = '30';
      req.lines[1].accountAssignments[0].dimensions.glAccount = '6999';
      const result = refused(await sync(req));
      expect(result.error.code).toBe('SCHEMA_INVALID');
      expect(result.errors?.map((failure) => [failure.line, failure.field, failure.rule])).toEqual([
        ['1', 'accountAssignments', 'split'],
        ['2', 'accountAssignments.0.dimensions.glAccount', 'glAccountClosed'],
      ]);
    });

    it('a document with the wrong shape is refused with its failures, the ERP not asked at all', async () => {
      const req = requisition() as unknown as Record<string, unknown>;
      delete req.supplierId;
      const result = refused(await sync(req));
      expect(result.error.code).toBe('SCHEMA_INVALID');
      expect(result.errors).toEqual([expect.objectContaining({ field: 'supplierId', rule: 'required' })]);
      expect(http.log).toEqual([]);
    });

    it('a requisition that is not approved is refused with NOT_APPROVED', async () => {
      const result = refused(await sync(requisition({ state: 'pending_approval' })));
      expect(result.error).toMatchObject({
        code: 'NOT_APPROVED',
        message: expect.stringContaining('"pending_approval"'),
      });
      expect(await purchaseOrders()).toHaveLength(0);
    });

    it('something that is not a purchase document is thrown as SCHEMA_INVALID', async () => {
      await expect(sync({ docType: 'ExpenseReport' })).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    });
  });
});
