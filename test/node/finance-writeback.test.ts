import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { connect, type MqttClient } from 'mqtt';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { ErpClient } from '../../lib/erp/client';
import { inboxKey, type FinanceStore } from '../../lib/reliability/store';
import { startSandbox, type SandboxHandle } from '../../lib/sandbox/server';
import type { FinanceStoreNode } from '../../nodes/shared/config-nodes';
import { coreNodes, helper, tempDir } from '../support/node-red';
import { approvedReport } from '../unit/posting/fixtures';
import financeStore = require('../../nodes/finance-store/finance-store');
import financeWriteback = require('../../nodes/finance-writeback/finance-writeback');

type Msg = Record<string, any>;

/**
 * A stand-in for the finance-source config node (built in parallel by another engineer): the same
 * interface, api() giving an HTTP client with the source's base URL and auth.
 */
function financeSourceStub(RED: NodeAPI): void {
  function FinanceSource(
    this: Node<{ token?: string }> & { api?: () => ErpClient | undefined },
    def: NodeDef & { apiBaseUrl?: string },
  ) {
    RED.nodes.createNode(this, def);
    const token = this.credentials?.token;
    const client = def.apiBaseUrl
      ? new ErpClient({
          name: def.name || 'source',
          dialect: 'source',
          baseUrl: def.apiBaseUrl,
          auth: token ? { type: 'bearer', token } : { type: 'none' },
        })
      : undefined;
    this.api = () => client;
    this.on('close', () => client?.close());
  }
  RED.nodes.registerType('finance-source', FinanceSource as never, { credentials: { token: { type: 'password' } } });
}

const nodes = [financeSourceStub, financeStore, financeWriteback, coreNodes.catch];
const BROKER = 'mqtt://127.0.0.1:1883';

describe('finance-writeback node', () => {
  const temp = tempDir('writeback-node');
  let sandbox: SandboxHandle;
  let storeCount = 0;
  let outputs: Array<{ on: string; msg: Msg }> = [];

  function flow(writeback: Record<string, unknown>, apiBaseUrl: string | undefined = sandbox.url) {
    storeCount += 1;
    return [
      { id: 'tab', type: 'tab' },
      { id: 'src', type: 'finance-source', z: 'tab', name: 'concur-api', apiBaseUrl },
      { id: 'store', type: 'finance-store', z: 'tab', path: path.join(temp.dir, `store-${storeCount}`) },
      {
        id: 'wb',
        type: 'finance-writeback',
        z: 'tab',
        source: 'src',
        store: 'store',
        target: 'webhook',
        wires: [['done'], ['refused']],
        ...writeback,
      },
      { id: 'done', type: 'helper', z: 'tab' },
      { id: 'refused', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
  }

  /** Loads the flow; one persistent listener per helper (see finance-post.test.ts for why not `once`). */
  async function load(writeback: Record<string, unknown> = {}, apiBaseUrl?: string, credentials?: object) {
    await helper.load(nodes, flow(writeback, apiBaseUrl ?? sandbox.url), credentials);
    outputs = [];
    for (const id of ['done', 'refused', 'caught'])
      helper.getNode(id).on('input', (msg: Msg) => outputs.push({ on: id, msg }));
  }

  async function send(msg: Msg): Promise<{ on: string; msg: Msg }> {
    const seen = outputs.length;
    helper.getNode('wb').receive(msg);
    await waitFor(() => outputs.length > seen);
    return outputs[seen];
  }

  const erp = {
    system: 'demo-erp',
    dialect: 'sandbox',
    documentType: 'journal',
    documentId: 'd-1',
    number: 'JNL-000042',
    status: 'posted',
    httpStatus: 201,
  };
  function message(overrides: Msg = {}): Msg {
    return {
      payload: approvedReport(),
      approval: { state: 'approved' },
      erp,
      finance: {
        id: 'evt-9',
        source: 'concur:company-1',
        correlationId: 'corr-wb-1',
        docType: 'ExpenseReport',
        docId: 'RPT-1001',
        attempt: 1,
      },
      ...overrides,
    };
  }

  const store = (): FinanceStore => (helper.getNode('store') as unknown as FinanceStoreNode).store();
  async function accept(msg: Msg): Promise<string> {
    const key = inboxKey(msg.finance.source, msg.finance.id);
    await store().accept({ key, envelope: msg.finance, payload: msg.payload });
    return key;
  }
  const sandboxState = async () => (await fetch(`${sandbox.url}/_sandbox/state`)).json();
  const setFaults = (faults: object) =>
    fetch(`${sandbox.url}/_sandbox/faults`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(faults),
    });

  beforeAll(async () => {
    sandbox = await startSandbox({ port: 0 });
  });
  beforeEach(async () => {
    await fetch(`${sandbox.url}/_sandbox/reset`, { method: 'POST' });
  });
  afterEach(async () => {
    await helper.unload();
  });
  afterAll(async () => {
    await sandbox.close();
    temp.remove();
  });

  describe('webhook target (the sandbox /api/v1/writebacks)', () => {
    it('writes back once per document, answers msg.writeback and finishes the event as posted', async () => {
      await load();
      const msg = message();
      const key = await accept(msg);

      const first = await send(msg);
      expect(first.on).toBe('done');
      expect(first.msg.writeback).toEqual({ target: 'webhook', status: 'posted', at: expect.any(String), sent: true });
      const again = await send(message());
      expect(again.on).toBe('done');
      expect(again.msg.writeback.at).toBe(first.msg.writeback.at);

      const { writebacks } = await sandboxState();
      expect(writebacks).toHaveLength(1);
      expect(writebacks[0]).toMatchObject({
        system: 'concur',
        documentId: 'RPT-1001',
        status: 'posted',
        erpRef: { documentId: 'd-1', number: 'JNL-000042' },
        correlationId: 'corr-wb-1',
      });
      expect(writebacks[0].erpRef.httpStatus).toBeUndefined();
      expect(await store().get(key)).toMatchObject({ state: 'final', outcome: { status: 'posted' } });
    });

    it('writes back a rejection as the approval state and finishes the event as rejected', async () => {
      await load();
      const msg = message({ erp: undefined, approval: { state: 'rejected' } });
      const key = await accept(msg);
      const { on, msg: out } = await send(msg);
      expect(on).toBe('done');
      expect(out.writeback.status).toBe('rejected');
      expect(await store().get(key)).toMatchObject({ state: 'final', outcome: { status: 'rejected' } });
    });

    it('writes back an intermediate state (approved, not yet posted) without closing the event', async () => {
      await load();
      const msg = message({ erp: undefined });
      const key = await accept(msg);
      expect((await send(msg)).msg.writeback.status).toBe('approved');
      expect(await store().get(key)).toMatchObject({ state: 'open' });
    });

    it('a 4xx from the source leaves on output 2 with msg.error and finishes the event as refused', async () => {
      await load();
      const msg = message({ erp: undefined, approval: { state: 'x'.repeat(60) } });
      const key = await accept(msg);
      const { on, msg: out } = await send(msg);
      expect(on).toBe('refused');
      expect(out.error).toMatchObject({
        code: 'ERP_REJECTED',
        httpStatus: 400,
        erpBody: expect.objectContaining({ status: 400 }),
      });
      expect(await store().get(key)).toMatchObject({ state: 'final', outcome: { status: 'refused' } });
    });

    it('a 503 is parked and sent again by itself: written back exactly once after the source recovers', async () => {
      await load({ retryInitialSeconds: '0.05', retryMaximumSeconds: '0.2' });
      const statuses: Msg[] = [];
      helper.getNode('wb').on('call:status', (call: { args: [Msg] }) => statuses.push(call.args[0]));
      await setFaults({ errorRate: 1, errorStatus: 503 });
      const key = await accept(message());
      helper.getNode('wb').receive(message());
      await waitFor(() => statuses.some((status) => /^retry 2 in/.test(status.text)));
      expect(outputs).toEqual([]);

      await setFaults({});
      await waitFor(() => outputs.length === 1);
      expect(outputs[0].on).toBe('done');
      expect(outputs[0].msg.finance.attempt).toBeGreaterThanOrEqual(2);
      expect((await sandboxState()).writebacks).toHaveLength(1);
      expect(await store().get(key)).toMatchObject({ state: 'final', outcome: { status: 'posted' } });
    });

    it('after the last attempt a 503 reaches Catch with the attempt count and msg.failure', async () => {
      await load({ retryInitialSeconds: '0.05', retryMaximumSeconds: '0.2', retryMaximumAttempts: '2' });
      await setFaults({ errorRate: 1, errorStatus: 503 });
      const failed = await send(message());
      expect(failed.on).toBe('caught');
      expect(failed.msg.error).toMatchObject({ code: 'ERP_UNAVAILABLE', source: { id: 'wb' } });
      expect(failed.msg.finance.attempt).toBe(2);
      expect(failed.msg.failure).toMatchObject({
        code: 'ERP_UNAVAILABLE',
        httpStatus: 503,
        retryable: true,
        details: { erpBody: expect.objectContaining({ code: 'INJECTED_FAULT' }) },
      });
      expect((await sandboxState()).writebacks).toHaveLength(0);
    });

    it('a wrong retry setting is reported by name on every message', async () => {
      await load({ retryMaximumAttempts: '0' });
      expect((await send(message())).msg.error).toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('Attempts must'),
      });
    });
  });

  describe('concur target', () => {
    let server: Server;
    const seen: Array<{ method: string; url: string; headers: IncomingHttpHeaders; body: unknown }> = [];

    beforeAll(async () => {
      server = createServer((req, res) => {
        let text = '';
        req.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        req.on('end', () => {
          seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: JSON.parse(text) });
          res.writeHead(204);
          res.end();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('PATCHes the report custom fields of the owner named by the User id property', async () => {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      await load({ target: 'concur', numberField: 'custom15', statusField: 'custom16' }, base, {
        src: { token: 'tok-1' },
      });
      const payload = approvedReport({ employeeId: '32c2fcc3-b2e8-4907-9672-5b3f49b1c643' });
      const { on, msg } = await send(message({ payload }));
      expect(on).toBe('done');
      expect(msg.writeback).toMatchObject({ target: 'concur', status: 'posted', sent: true });
      expect(seen).toEqual([
        {
          method: 'PATCH',
          url: '/expensereports/v4/users/32c2fcc3-b2e8-4907-9672-5b3f49b1c643/context/TRAVELER/reports/RPT-1001',
          headers: expect.objectContaining({
            authorization: 'Bearer tok-1',
            'idempotency-key': expect.stringMatching(/^fs1-/),
          }),
          body: {
            reportSource: 'OTHER',
            customData: [
              { id: 'custom15', value: 'JNL-000042' },
              { id: 'custom16', value: 'posted' },
            ],
          },
        },
      ]);
    });
  });

  describe('coupa target (the sandbox Coupa simulator)', () => {
    const requisitionMessage = (version: number, action: string, status = 'open'): Msg => ({
      payload: { docType: 'Requisition', sourceRef: { system: 'coupa', id: '1001', version }, requisitionId: '1001' },
      erp: { ...erp, documentType: 'purchaseOrder', number: 'PO-000007', status },
      purchaseOrder: { action, versionApplied: version },
      finance: {
        id: `requisition-1001-${version}-${action}`,
        source: 'coupa',
        correlationId: 'corr-coupa',
        docType: 'Requisition',
        docId: '1001',
        attempt: 1,
      },
    });
    const coupaFields = async () =>
      (await sandboxState()).coupa.requisitions.find((r: { id: number }) => r.id === 1001)['custom-fields'];

    it('writes the PO number and status into the requisition, finishes the event, and keeps versions in order', async () => {
      await load(
        { target: 'coupa', numberField: 'erp-po-number', statusField: 'erp-po-status' },
        `${sandbox.url}/coupa`,
      );
      const ordered = requisitionMessage(1, 'created');
      const key = await accept(ordered);
      const first = await send(ordered);
      expect(first).toMatchObject({
        on: 'done',
        msg: { writeback: { target: 'coupa', status: 'ordered', sent: true } },
      });
      expect(await coupaFields()).toEqual({ 'erp-po-number': 'PO-000007', 'erp-po-status': 'ordered' });
      expect((await store().get(key))?.outcome).toMatchObject({ status: 'ordered' });

      const cancelled = requisitionMessage(3, 'cancelled', 'cancelled');
      expect((await send(cancelled)).msg.writeback).toMatchObject({ status: 'cancelled', sent: true });
      // A parked retry of version 2 arriving after the cancel of version 3 does not overwrite it.
      const late = await send(requisitionMessage(2, 'updated'));
      expect(late.msg.writeback).toMatchObject({ status: 'ordered', sent: false, superseded: true });
      expect((await coupaFields())['erp-po-status']).toBe('cancelled');
      expect((await sandboxState()).coupa.writebacks).toHaveLength(2);
    });

    it('a bad custom field name is reported by name at deploy', async () => {
      await load({ target: 'coupa', numberField: 'ERP PO number' }, `${sandbox.url}/coupa`);
      const { on, msg } = await send(requisitionMessage(1, 'created'));
      expect(on).toBe('caught');
      expect(msg.error.message).toMatch(/ERP number field "ERP PO number" is not a Coupa custom field name/);
    });
  });

  describe('mqtt target (the real Mosquitto broker)', () => {
    const prefix = `finance-sync-test/${randomUUID()}`;
    let subscriber: MqttClient;

    beforeAll(async () => {
      subscriber = connect(BROKER, { clientId: `sub-${randomUUID()}` });
      await new Promise<void>((resolve, reject) => {
        subscriber.once('connect', () => resolve());
        subscriber.once('error', reject);
      });
      await subscriber.subscribeAsync(`${prefix}/#`, { qos: 1 });
    });
    afterAll(async () => {
      await subscriber.endAsync(true);
    });

    it('publishes the status event, received by a subscriber, and shows the connection in the status', async () => {
      const statuses: Array<Record<string, unknown>> = [];
      await load({ target: 'mqtt', source: '', brokerUrl: BROKER, topic: `${prefix}/{system}/{documentId}/{status}` });
      helper
        .getNode('wb')
        .on('call:status', (call: { args: [Record<string, unknown>] }) => statuses.push(call.args[0]));
      await waitFor(() => statuses.some((status) => status.text === 'node-red:common.status.connected'));

      const received = new Promise<{ topic: string; body: Msg; retain: boolean }>((resolve) => {
        subscriber.once('message', (topic, payload, packet) =>
          resolve({ topic, body: JSON.parse(payload.toString('utf8')), retain: packet.retain }),
        );
      });
      const { on, msg } = await send(message());
      expect(on).toBe('done');
      expect(msg.writeback).toMatchObject({ target: 'mqtt', status: 'posted', sent: true });
      const event = await received;
      expect(event.topic).toBe(`${prefix}/concur/RPT-1001/posted`);
      expect(event.retain).toBe(false);
      expect(event.body).toMatchObject({
        system: 'concur',
        documentId: 'RPT-1001',
        status: 'posted',
        erpRef: { number: 'JNL-000042' },
        correlationId: 'corr-wb-1',
        idempotencyKey: expect.stringMatching(/^fs1-/),
      });
    });
  });

  describe('bad input and settings', () => {
    it('a message without a canonical document, or without anything to write back, reaches Catch as SCHEMA_INVALID', async () => {
      await load();
      const noDocument = await send({ payload: 'hello', erp });
      expect(noDocument.msg.error).toMatchObject({
        code: 'SCHEMA_INVALID',
        message: expect.stringContaining('sourceRef'),
      });
      const nothing = await send(message({ erp: undefined, approval: undefined }));
      expect(nothing.msg.error).toMatchObject({
        code: 'SCHEMA_INVALID',
        message: expect.stringContaining('Nothing to write back'),
      });
      expect((await sandboxState()).writebacks).toHaveLength(0);
    });

    it('a source without an API base URL, or no source at all, is a CONFIG_INVALID error naming the fix', async () => {
      await load({}, '');
      expect((await send(message())).msg.error).toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('API base URL'),
      });
      await helper.unload();
      await load({ source: '' });
      expect((await send(message())).msg.error).toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('No source system'),
      });
    });

    it('a wrong dialog setting is reported by name on every message', async () => {
      await load({ target: 'concur', numberField: 'reportNumber' });
      expect((await send(message())).msg.error).toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('ERP number field'),
      });
      await helper.unload();
      await load({ target: 'concur', numberField: 'custom15', userIdProperty: 'payload.[' });
      expect((await send(message())).msg.error).toMatchObject({
        code: 'CONFIG_INVALID',
        message: expect.stringContaining('msg.payload.['),
      });
    });
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
