import * as path from 'node:path';
import type { Requisition } from '../../lib/model/types';
import { inboxKey } from '../../lib/reliability/store';
import type { FinanceErpNode, FinanceStoreNode } from '../../nodes/shared/config-nodes';
import { coreNodes, helper, tempDir } from '../support/node-red';
import { line, requisition, revision } from '../unit/purchasing/fixtures';
import financeErp = require('../../nodes/finance-erp/finance-erp');
import financeStore = require('../../nodes/finance-store/finance-store');
import financePurchaseOrder = require('../../nodes/finance-purchase-order/finance-purchase-order');

type Msg = Record<string, any>;

const nodes = [financeErp, financeStore, financePurchaseOrder, coreNodes.catch];
const eur = (amount: string) => ({ amount, currency: 'EUR' });

describe('finance-purchase-order node', () => {
  const temp = tempDir('purchase-order-node');
  let storeCount = 0;
  let sandboxUrl: string;
  let outputs: Array<{ on: string; msg: Msg }> = [];
  let statuses: Array<Record<string, unknown>> = [];

  /** A tab with an ERP connection running the embedded sandbox, a store, the node, and helpers on both outputs and on Catch. */
  function flow(po: Record<string, unknown>, erp: Record<string, unknown>) {
    storeCount += 1;
    return [
      { id: 'tab', type: 'tab' },
      {
        id: 'erp',
        type: 'finance-erp',
        z: 'tab',
        name: 'demo-erp',
        dialect: 'sandbox',
        embeddedSandbox: true,
        baseUrl: '',
        company: 'FS-DEMO',
        retryInitialSeconds: 0.05,
        retryMaximumSeconds: 0.1,
        circuitBreaker: false,
        ...erp,
      },
      { id: 'store', type: 'finance-store', z: 'tab', path: path.join(temp.dir, `store-${storeCount}`) },
      {
        id: 'po',
        type: 'finance-purchase-order',
        z: 'tab',
        erp: 'erp',
        store: 'store',
        validateMasterData: true,
        masterDataRefreshMinutes: 15,
        wires: [['synced'], ['refused']],
        ...po,
      },
      { id: 'synced', type: 'helper', z: 'tab' },
      { id: 'refused', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: ['po'], uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
  }

  /** Loads the flow, waits for the embedded sandbox, and collects what reaches the helpers and the node's status. */
  async function load(po: Record<string, unknown> = {}, erp: Record<string, unknown> = {}): Promise<void> {
    await helper.load(nodes, flow(po, erp));
    outputs = [];
    statuses = [];
    for (const id of ['synced', 'refused', 'caught']) {
      helper.getNode(id).on('input', (msg: Msg) => outputs.push({ on: id, msg }));
    }
    helper.getNode('po').on('call:status', (call: { args: [Record<string, unknown>] }) => statuses.push(call.args[0]));
    const { client } = await (helper.getNode('erp') as unknown as FinanceErpNode).connection();
    sandboxUrl = client.describe().baseUrl;
  }

  function message(payload: unknown, overrides: Msg = {}): Msg {
    const version = (payload as { sourceRef?: { version?: number } }).sourceRef?.version;
    return {
      payload,
      finance: {
        id: `evt-${version}-${Math.random()}`,
        source: 'coupa:acme',
        type: 'coupa.requisition.updated',
        time: '2026-03-10T09:14:03Z',
        correlationId: 'corr-po-1',
        docType: 'Requisition',
        docId: 'REQ-1001',
        version,
        attempt: 1,
      },
      ...overrides,
    };
  }

  async function send(msg: Msg): Promise<{ on: string; msg: Msg }> {
    const seen = outputs.length;
    helper.getNode('po').receive(msg);
    await waitFor(() => outputs.length > seen);
    return outputs[seen];
  }

  const sandbox = async (route: string, init?: RequestInit) => (await fetch(`${sandboxUrl}${route}`, init)).json();
  const state = () => sandbox('/_sandbox/state');
  const purchaseOrders = async (): Promise<Msg[]> => (await state()).purchaseOrders;
  const setFaults = (faults: object) =>
    sandbox('/_sandbox/faults', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(faults),
    });

  const quantityRevision = (version: number, quantity: string): Requisition => {
    const req = revision(version);
    req.lines[0].quantity = quantity;
    req.lines[0].amount = eur((150 * Number(quantity)).toFixed(2));
    req.total = eur((150 * Number(quantity) + 89.9).toFixed(2));
    return req;
  };

  afterEach(async () => {
    await helper.unload();
  });
  afterAll(() => temp.remove());

  it('creates the PO once however often the event is delivered: msg.erp, msg.purchaseOrder, payload.erpRef', async () => {
    await load();
    const first = await send(message(requisition()));
    expect(first.on).toBe('synced');
    expect(first.msg.erp).toEqual({
      system: 'demo-erp',
      dialect: 'sandbox',
      documentType: 'purchaseOrder',
      documentId: expect.any(String),
      number: expect.stringMatching(/^PO-\d+$/),
      status: 'open',
      etag: expect.any(String),
      httpStatus: 201,
    });
    expect(first.msg.purchaseOrder).toEqual({
      action: 'created',
      versionApplied: 1,
      replay: false,
      externalReference: 'coupa:REQ-1001',
    });
    expect(first.msg.payload).toMatchObject({
      docType: 'Requisition',
      erpRef: { documentId: first.msg.erp.documentId },
    });
    await waitFor(() => statuses.some((status) => status.fill === 'green'));
    expect(statuses).toContainEqual({ fill: 'green', shape: 'dot', text: `${first.msg.erp.number} created` });

    const again = await send(message(requisition()));
    expect(again.on).toBe('synced');
    expect(again.msg.purchaseOrder).toMatchObject({ action: 'created', replay: true });
    expect(again.msg.erp.documentId).toBe(first.msg.erp.documentId);
    const pos = await purchaseOrders();
    expect(pos.filter((po) => po.externalReference === 'coupa:REQ-1001')).toHaveLength(1);
    expect(pos[0]).toMatchObject({ orderDate: '2026-03-10', supplierId: 'SUP-1001' });
  });

  it('an update sends only what changed: the sandbox PO has the new quantity and everything else as it was', async () => {
    await load();
    const created = await send(message(requisition()));
    const [before] = await purchaseOrders();
    const updated = await send(message(quantityRevision(2, '3')));
    expect(updated.on).toBe('synced');
    expect(updated.msg.purchaseOrder).toMatchObject({
      action: 'updated',
      versionApplied: 2,
      changes: [{ kind: 'lineChanged', lineId: '1', fields: ['quantity', 'amount'] }],
    });
    expect(updated.msg.erp).toMatchObject({ documentId: created.msg.erp.documentId, httpStatus: 200 });
    const [after] = await purchaseOrders();
    // The changed line is sent whole, with the itemCode the sandbox dialect's create body leaves out.
    expect(after.lines[0]).toEqual({ ...before.lines[0], quantity: '3', amount: eur('450.00'), itemCode: 'LS-1' });
    expect(after.lines[1]).toEqual(before.lines[1]);
    expect(after).toMatchObject({ supplierId: 'SUP-1001', orderDate: before.orderDate, total: eur('539.90') });
    expect(after.etag).not.toBe(before.etag);
  });

  it("412: the PO changed in the ERP since the node wrote it; the node reads it, re-applies its change, keeps the header edit and sets the lines to the requisition's", async () => {
    await load();
    const created = await send(message(requisition()));
    const url = `${sandboxUrl}/api/v1/companies/FS-DEMO/purchaseOrders/${created.msg.erp.documentId}`;
    const current = await fetch(url);
    const doc = await current.json();
    const edited = await fetch(url, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/json', 'If-Match': current.headers.get('etag')! },
      body: JSON.stringify({
        orderDate: '2026-03-12',
        lines: doc.lines.map((each: Msg) => (each.lineId === '2' ? { ...each, description: 'Dock (ERP edit)' } : each)),
      }),
    });
    expect(edited.status).toBe(200);
    const writesBefore = (await state()).counters.writes;

    const updated = await send(message(quantityRevision(2, '3')));
    expect(updated.on).toBe('synced');
    expect(updated.msg.purchaseOrder.action).toBe('updated');
    const [after] = await purchaseOrders();
    expect(after.lines[0].quantity).toBe('3');
    // The lines are the requisition's (a line edit in the ERP is replaced); the buyer's header edit stays.
    expect(after.lines[1].description).toBe('USB-C dock');
    expect(after.orderDate).toBe('2026-03-12');
    expect((await state()).counters.writes).toBe(writesBefore + 1);
  });

  it('cancels the PO; a later cancel of the cancelled PO is refused, and so is a cancel of an unknown PO', async () => {
    await load();
    const created = await send(message(requisition()));
    const cancelled = await send(message(revision(2, { cancelled: true })));
    expect(cancelled.on).toBe('synced');
    expect(cancelled.msg.purchaseOrder).toMatchObject({ action: 'cancelled', versionApplied: 2 });
    expect(cancelled.msg.erp).toMatchObject({ documentId: created.msg.erp.documentId, status: 'cancelled' });
    expect((await purchaseOrders())[0].status).toBe('cancelled');

    const twice = await send(message(revision(3, { cancelled: true })));
    expect(twice.on).toBe('refused');
    expect(twice.msg.error).toMatchObject({
      code: 'ERP_CONFLICT',
      message: expect.stringContaining('already cancelled'),
    });

    const unknown = requisition({
      sourceRef: { system: 'coupa', id: 'REQ-4040', version: 1 },
      requisitionId: 'REQ-4040',
      cancelled: true,
    });
    const notFound = await send(message(unknown));
    expect(notFound.on).toBe('refused');
    expect(notFound.msg.error).toMatchObject({
      code: 'ERP_NOT_FOUND',
      message: expect.stringContaining('"coupa:REQ-4040", so there is nothing to cancel'),
    });
    expect(outputs.some((output) => output.on === 'caught')).toBe(false);
    await waitFor(() => statuses.some((status) => status.text === 'ERP_NOT_FOUND'));
    expect(statuses).toContainEqual({ fill: 'yellow', shape: 'dot', text: 'ERP_NOT_FOUND' });
  });

  it('an older version than the one applied is refused as STALE_VERSION and not applied', async () => {
    await load();
    await send(message(requisition()));
    await send(message(quantityRevision(3, '5')));
    const stale = await send(message(quantityRevision(2, '3')));
    expect(stale.on).toBe('refused');
    expect(stale.msg.error).toMatchObject({
      code: 'STALE_VERSION',
      message: expect.stringContaining('arrived after version 3 was applied'),
    });
    expect((await purchaseOrders())[0].lines[0].quantity).toBe('5');
  });

  it('v3 before v2: v3 is created, v2 is stale, the PO ends with v3; v2 then v3 sent at once both apply', async () => {
    await load();
    const third = await send(message(quantityRevision(3, '5')));
    expect(third.msg.purchaseOrder).toMatchObject({ action: 'created', versionApplied: 3 });
    const second = await send(message(quantityRevision(2, '3')));
    expect(second.msg.error.code).toBe('STALE_VERSION');
    expect((await purchaseOrders())[0].lines[0].quantity).toBe('5');

    const other = (version: number, quantity: string) => {
      const req = quantityRevision(version, quantity);
      req.sourceRef = { ...req.sourceRef, id: 'REQ-2002' };
      req.requisitionId = 'REQ-2002';
      return req;
    };
    const seen = outputs.length;
    helper.getNode('po').receive(message(other(2, '3')));
    helper.getNode('po').receive(message(other(3, '4')));
    await waitFor(() => outputs.length === seen + 2);
    expect(outputs.slice(seen).map((output) => [output.on, output.msg.purchaseOrder.action])).toEqual([
      ['synced', 'created'],
      ['synced', 'updated'],
    ]);
    const po = (await purchaseOrders()).find((each) => each.externalReference === 'coupa:REQ-2002');
    expect(po?.lines[0].quantity).toBe('4');
  });

  describe('validation refusals name the line and field, and write nothing', () => {
    const cases: Array<[string, () => Requisition, string, Array<[string | undefined, string, string]>]> = [
      [
        'a blocked supplier (SUP-1009)',
        () => requisition({ supplierId: 'SUP-1009', lines: [line({ taxCode: 'GB-20' })], total: eur('300.00') }),
        'ERP_REJECTED',
        [[undefined, 'supplierId', 'supplierBlocked']],
      ],
      [
        'a closed project (PRJ-1907)',
        () => {
          const req = requisition();
          req.lines[1].accountAssignments[0].dimensions = { project: 'PRJ-1907', glAccount: '6100' };
          return req;
        },
        'ERP_REJECTED',
        [['2', 'accountAssignments.0.dimensions.project', 'projectClosed']],
      ],
      [
        'a closed GL account (6999)',
        () => {
          const req = requisition();
          req.lines[0].accountAssignments[1].dimensions.glAccount = '6999';
          return req;
        },
        'ERP_REJECTED',
        [['1', 'accountAssignments.1.dimensions.glAccount', 'glAccountClosed']],
      ],
      [
        "a tax code of another country than the supplier's",
        () => {
          const req = requisition();
          req.lines[1].taxCode = 'FR-20';
          return req;
        },
        'ERP_REJECTED',
        [['2', 'taxCode', 'taxCodeCountry']],
      ],
      [
        'a split that does not add up',
        () => {
          const req = requisition();
          req.lines[0].accountAssignments[0].percent = '50';
          return req;
        },
        'SCHEMA_INVALID',
        [['1', 'accountAssignments', 'split']],
      ],
      [
        'an unknown currency',
        () => requisition({ currency: 'EUX' }),
        'SCHEMA_INVALID',
        [[undefined, 'currency', 'currency']],
      ],
    ];

    it.each(cases)('%s', async (_name, document, code, expected) => {
      await load();
      const { on, msg } = await send(message(document()));
      expect(on).toBe('refused');
      expect(msg.error).toMatchObject({ code, message: expect.stringContaining('was not sent to the ERP') });
      const found = (msg.errors as Msg[]).map((failure) => [failure.line, failure.field, failure.rule]);
      expect(found).toEqual(expect.arrayContaining(expected));
      for (const failure of msg.errors as Msg[]) {
        expect(failure).toEqual(expect.objectContaining({ path: expect.any(String), message: expect.any(String) }));
        if (failure.line !== undefined) expect(failure.message).toContain(`Line "${failure.line}", ${failure.field}`);
      }
      expect(await purchaseOrders()).toEqual([]);
    });
  });

  it('with the master data check off, the ERP itself refuses a blocked supplier (refused with its answer)', async () => {
    await load({ validateMasterData: false });
    const { on, msg } = await send(
      message(requisition({ supplierId: 'SUP-1009', lines: [line({ taxCode: 'GB-20' })], total: eur('300.00') })),
    );
    expect(on).toBe('refused');
    expect(msg.error).toMatchObject({ code: 'ERP_REJECTED', httpStatus: 422, erpBody: { code: 'SUPPLIER_BLOCKED' } });
    expect(msg.errors).toBeUndefined();
  });

  it('503s from the ERP are retried with the connection policy, then the PO is created once', async () => {
    await load();
    await setFaults({ errorRate: 1, errorStatus: 503 });
    helper.getNode('po').receive(message(requisition()));
    await waitFor(() => statuses.some((status) => /^retry \d+ in/.test(String(status.text))));
    expect(outputs).toEqual([]);
    await setFaults({});
    await waitFor(() => outputs.length === 1);
    expect(outputs[0].on).toBe('synced');
    expect(outputs[0].msg.finance.attempt).toBeGreaterThan(1);
    expect(await purchaseOrders()).toHaveLength(1);
    expect((await state()).counters.faultsInjected).toBeGreaterThan(0);
  });

  it('finishes the inbox entry of the event: synced, or refused', async () => {
    await load();
    const store = (helper.getNode('store') as unknown as FinanceStoreNode).store();
    const accepted = async (msg: Msg) => {
      await store.accept({
        key: inboxKey(msg.finance.source, msg.finance.id),
        envelope: msg.finance,
        payload: msg.payload,
      });
      return msg;
    };
    const good = await accepted(message(requisition()));
    await send(good);
    expect((await store.get(inboxKey(good.finance.source, good.finance.id)))?.outcome).toMatchObject({
      status: 'synced',
      detail: { action: 'created', version: 1 },
    });
    const stale = await accepted(message(revision(0)));
    await send(stale);
    expect((await store.get(inboxKey(stale.finance.source, stale.finance.id)))?.outcome).toMatchObject({
      status: 'refused',
      detail: { code: 'STALE_VERSION' },
    });
  });

  it('with "A write-back follows" leaves a synced event open for the write-back, and still finishes refusals', async () => {
    await load({ writebackFollows: true });
    const store = (helper.getNode('store') as unknown as FinanceStoreNode).store();
    const accepted = async (msg: Msg) => {
      await store.accept({
        key: inboxKey(msg.finance.source, msg.finance.id),
        envelope: msg.finance,
        payload: msg.payload,
      });
      return msg;
    };
    const good = await accepted(message(requisition()));
    expect((await send(good)).on).toBe('synced');
    const open = await store.get(inboxKey(good.finance.source, good.finance.id));
    expect(open).toBeDefined();
    expect(open?.outcome).toBeUndefined();
    const stale = await accepted(message(revision(0)));
    await send(stale);
    expect((await store.get(inboxKey(stale.finance.source, stale.finance.id)))?.outcome).toMatchObject({
      status: 'refused',
      detail: { code: 'STALE_VERSION' },
    });
  });

  it('bad input reaches Catch with SCHEMA_INVALID and a red status naming the code', async () => {
    await load();
    const { on, msg } = await send(message('hello'));
    expect(on).toBe('caught');
    expect(msg.error).toMatchObject({ code: 'SCHEMA_INVALID', message: expect.stringContaining('finance-map') });
    const disagreeing = await send(message(requisition(), { finance: { id: 'e', source: 's', version: 7 } }));
    expect(disagreeing.msg.error).toMatchObject({
      code: 'SCHEMA_INVALID',
      message: expect.stringContaining('same revision'),
    });
    expect(statuses).toContainEqual({ fill: 'red', shape: 'ring', text: 'SCHEMA_INVALID' });
  });

  it('a wrong dialog setting or a missing store is reported by name', async () => {
    await load({ masterDataRefreshMinutes: 0 });
    const badRefresh = await send(message(requisition()));
    expect(badRefresh.msg.error).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('Master data refresh (minutes)'),
    });
    await helper.unload();

    await load({ store: '' });
    const noStore = await send(message(requisition()));
    expect(noStore.msg.error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('No store') });
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
