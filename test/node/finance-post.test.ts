import * as path from 'node:path';
import { inboxKey } from '../../lib/reliability/store';
import { startSandbox, type SandboxHandle } from '../../lib/sandbox/server';
import type { FinanceErpNode, FinanceStoreNode } from '../../nodes/shared/config-nodes';
import { coreNodes, helper, tempDir } from '../support/node-red';
import { approvedReport } from '../unit/posting/fixtures';
import financeErp = require('../../nodes/finance-erp/finance-erp');
import financeStore = require('../../nodes/finance-store/finance-store');
import financePost = require('../../nodes/finance-post/finance-post');

type Msg = Record<string, any>;

const nodes = [financeErp, financeStore, financePost, coreNodes.catch];

describe('finance-post node', () => {
  const temp = tempDir('post-node');
  let sandbox: SandboxHandle;
  let storeCount = 0;

  /** A tab with the ERP and store config nodes, the post node, and helpers on both outputs and on Catch. */
  function flow(post: Record<string, unknown> = {}, erp: Record<string, unknown> = {}) {
    storeCount += 1;
    return [
      { id: 'tab', type: 'tab' },
      {
        id: 'erp',
        type: 'finance-erp',
        z: 'tab',
        name: 'demo-erp',
        dialect: 'sandbox',
        baseUrl: sandbox.url,
        company: 'FS-DEMO',
        ...erp,
      },
      { id: 'store', type: 'finance-store', z: 'tab', path: path.join(temp.dir, `store-${storeCount}`) },
      {
        id: 'post',
        type: 'finance-post',
        z: 'tab',
        erp: 'erp',
        store: 'store',
        kind: 'journal',
        postingDate: 'document',
        requireApproval: true,
        wires: [['posted'], ['refused']],
        ...post,
      },
      { id: 'posted', type: 'helper', z: 'tab' },
      { id: 'refused', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
  }

  function message(overrides: Msg = {}): Msg {
    const payload = approvedReport();
    return {
      payload,
      approval: { state: 'approved', sourceRef: payload.sourceRef },
      finance: {
        id: 'evt-1',
        source: 'concur:company-1',
        type: 'concur.expense.report.statusChanged',
        time: '2026-03-10T09:14:03Z',
        correlationId: 'corr-post-1',
        docType: 'ExpenseReport',
        docId: 'RPT-1001',
        version: 2,
        attempt: 1,
      },
      ...overrides,
    };
  }

  /**
   * Loads the flow and collects what reaches the helpers. One persistent listener per helper: Node-RED keeps
   * input listeners in its own list, and a `once` listener removing itself mid-delivery would skip the next one.
   */
  let outputs: Array<{ on: string; msg: Msg }> = [];
  async function load(post: Record<string, unknown> = {}, erp: Record<string, unknown> = {}): Promise<void> {
    await helper.load(nodes, flow(post, erp));
    outputs = [];
    for (const id of ['posted', 'refused', 'caught']) {
      helper.getNode(id).on('input', (msg: Msg) => outputs.push({ on: id, msg }));
    }
  }

  async function send(msg: Msg): Promise<{ on: string; msg: Msg }> {
    const seen = outputs.length;
    helper.getNode('post').receive(msg);
    await waitFor(() => outputs.length > seen);
    return outputs[seen];
  }

  const sandboxState = async () => (await fetch(`${sandbox.url}/_sandbox/state`)).json();
  const parkedRetries = () => (helper.getNode('store') as unknown as FinanceStoreNode).store().kvList('retry:post');
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

  it('posts an approved report as a journal: msg.erp, payload.erpRef, green status with the number', async () => {
    await load();
    const statuses: Array<Record<string, unknown>> = [];
    helper
      .getNode('post')
      .on('call:status', (call: { args: [Record<string, unknown>] }) => statuses.push(call.args[0]));

    const { on, msg } = await send(message());
    expect(on).toBe('posted');
    expect(msg.erp).toEqual({
      system: 'demo-erp',
      dialect: 'sandbox',
      documentType: 'journal',
      documentId: expect.any(String),
      number: expect.stringMatching(/^JNL-\d+$/),
      status: 'posted',
      httpStatus: 201,
    });
    expect(msg.payload.erpRef).toEqual({
      system: 'demo-erp',
      dialect: 'sandbox',
      documentType: 'journal',
      documentId: msg.erp.documentId,
      number: msg.erp.number,
      status: 'posted',
    });
    expect(msg.payload.reportId).toBe('RPT-1001');
    await waitFor(() => statuses.some((status) => status.fill === 'green'));
    expect(statuses).toContainEqual({ fill: 'green', shape: 'dot', text: msg.erp.number });
    const { postings } = await sandboxState();
    expect(postings).toHaveLength(1);
    expect(postings[0]).toMatchObject({ kind: 'journal', externalReference: 'concur:RPT-1001', employeeId: 'E1011' });
  });

  it('posts a payable with a PAY- number when the dialog says so', async () => {
    await load({ kind: 'payable' });
    const { on, msg } = await send(message());
    expect(on).toBe('posted');
    expect(msg.erp).toMatchObject({ documentType: 'payable', number: expect.stringMatching(/^PAY-/) });
  });

  it('a duplicate message posts once: the ledger answers it without an ERP write', async () => {
    await load();
    const first = await send(message());
    const second = await send(message());
    expect(second.on).toBe('posted');
    expect(second.msg.erp.documentId).toBe(first.msg.erp.documentId);
    expect(second.msg.erp.httpStatus).toBeUndefined();
    const { postings, counters } = await sandboxState();
    expect(postings).toHaveLength(1);
    expect(counters.writes).toBe(1);
    expect(counters.duplicateWritesPrevented).toBe(0);
  });

  it('two hosts with separate stores post the same report once: the ERP replays the Idempotency-Key', async () => {
    await load();
    const first = await send(message());
    await helper.unload();
    await load(); // a fresh store: another host's ledger
    const second = await send(message());
    expect(second.msg.erp.documentId).toBe(first.msg.erp.documentId);
    const { postings, counters } = await sandboxState();
    expect(postings).toHaveLength(1);
    expect(counters.duplicateWritesPrevented).toBe(1);
  });

  /** Short retry waits on the connection, so the tests see retries within a second. */
  const quickRetries = { retryInitialSeconds: '0.05', retryMaximumSeconds: '0.2' };

  function statuses(): Array<Record<string, any>> {
    const seen: Array<Record<string, any>> = [];
    helper.getNode('post').on('call:status', (call: { args: [Record<string, any>] }) => seen.push(call.args[0]));
    return seen;
  }

  it('two copies at once: one posts, the other waits (ERP_CONFLICT) and then finds that posting', async () => {
    await setFaults({ latencyMs: 200 });
    await load({}, quickRetries);
    helper.getNode('post').receive(message());
    helper.getNode('post').receive(message());
    await waitFor(() => outputs.length === 2);
    expect(outputs.map((output) => output.on)).toEqual(['posted', 'posted']);
    expect(outputs[1].msg.erp.documentId).toBe(outputs[0].msg.erp.documentId);
    expect((await sandboxState()).postings).toHaveLength(1);
  });

  it('a 503 is parked and retried by the node itself: posted exactly once when the ERP is back', async () => {
    await load({}, quickRetries);
    const seen = statuses();
    await setFaults({ errorRate: 1, errorStatus: 503 });
    helper.getNode('post').receive(message());
    await waitFor(() => seen.some((status) => /^retry 3 in/.test(status.text)));
    expect(outputs).toEqual([]);
    expect(await parkedRetries()).toHaveLength(1);

    await setFaults({});
    await waitFor(() => outputs.length === 1);
    expect(outputs[0].on).toBe('posted');
    expect(outputs[0].msg.finance.attempt).toBeGreaterThanOrEqual(3);
    await waitForAsync(async () => (await parkedRetries()).length === 0);
    expect((await sandboxState()).postings).toHaveLength(1);
  });

  it('after the last attempt a 503 reaches Catch with ERP_UNAVAILABLE, the attempt and msg.failure', async () => {
    await load({}, { ...quickRetries, retryMaximumAttempts: '3' });
    await setFaults({ errorRate: 1, errorStatus: 503 });
    const failed = await send(message());
    expect(failed.on).toBe('caught');
    expect(failed.msg.error).toMatchObject({ code: 'ERP_UNAVAILABLE', source: { id: 'post' } });
    expect(failed.msg.finance.attempt).toBe(3);
    expect(failed.msg.failure).toEqual({
      code: 'ERP_UNAVAILABLE',
      message: failed.msg.error.message.replace(/^FinanceError: /, ''),
      httpStatus: 503,
      retryable: true,
      details: expect.objectContaining({ erpBody: expect.objectContaining({ code: 'INJECTED_FAULT' }) }),
    });
    expect((await sandboxState()).postings).toHaveLength(0);
  });

  it('an ERP that never answers: ERP_TIMEOUT is retried, and the report is posted once when it answers', async () => {
    await load({}, { ...quickRetries, timeoutMs: 150 });
    const seen = statuses();
    await setFaults({ timeoutRate: 1 });
    helper.getNode('post').receive(message());
    await waitFor(() => seen.some((status) => /^retry 2 in/.test(status.text)));

    await setFaults({});
    await waitFor(() => outputs.length === 1);
    expect(outputs[0].on).toBe('posted');
    expect((await sandboxState()).postings).toHaveLength(1);
  });

  it('an answer too late (posted after the timeout): the retry finds the posting instead of posting again', async () => {
    await load({}, { ...quickRetries, timeoutMs: 150 });
    await setFaults({ latencyMs: 400 });
    helper.getNode('post').receive(message());
    await waitForAsync(async () => (await sandboxState()).postings.length === 1);

    await setFaults({});
    await waitFor(() => outputs.length === 1);
    expect(outputs[0].on).toBe('posted');
    expect(outputs[0].msg.erp.httpStatus).toBe(200);
    const { postings } = await sandboxState();
    expect(postings).toHaveLength(1);
    expect(outputs[0].msg.erp.documentId).toBe(postings[0].id);
  });

  it('a failure retrying cannot fix (the ERP refuses the credentials) reaches Catch at once', async () => {
    await load({}, quickRetries);
    await setFaults({ errorRate: 1, errorStatus: 401 });
    const failed = await send(message());
    expect(failed.on).toBe('caught');
    expect(failed.msg.error.code).toBe('ERP_AUTH_FAILED');
    expect(failed.msg.finance.attempt).toBe(1);
    expect(failed.msg.failure).toMatchObject({ code: 'ERP_AUTH_FAILED', httpStatus: 401, retryable: false });
    expect(await parkedRetries()).toHaveLength(0);
  });

  it('an ERP refusal (unknown employee) leaves on output 2 with msg.error and finishes the event as refused', async () => {
    await load();
    const store = (helper.getNode('store') as unknown as FinanceStoreNode).store();
    const msg = message({ payload: approvedReport({ employeeId: 'E9999' }) });
    await store.accept({
      key: inboxKey(msg.finance.source, msg.finance.id),
      envelope: msg.finance,
      payload: msg.payload,
    });

    const { on, msg: refused } = await send(msg);
    expect(on).toBe('refused');
    expect(refused.error).toEqual({
      code: 'ERP_REJECTED',
      message: expect.stringContaining('422'),
      httpStatus: 422,
      erpBody: expect.objectContaining({ code: 'EMPLOYEE_UNKNOWN' }),
      source: { id: 'post', type: 'finance-post' },
    });
    expect(refused.erp).toBeUndefined();
    expect(await store.get(inboxKey(msg.finance.source, msg.finance.id))).toMatchObject({
      state: 'final',
      outcome: { status: 'refused', detail: { code: 'ERP_REJECTED' } },
    });
    expect((await sandboxState()).postings).toHaveLength(0);
  });

  it('a report charged to a blocked GL account is refused by the ERP', async () => {
    await load();
    const payload = approvedReport();
    payload.lines[1].dimensions.glAccount = '6999';
    const { on, msg } = await send(message({ payload }));
    expect(on).toBe('refused');
    expect(msg.error.erpBody).toMatchObject({ code: 'DIMENSION_CLOSED' });
  });

  it('refuses a report that is not approved, or has no approval when one is required, without calling the ERP', async () => {
    await load();
    const rejected = await send(message({ approval: { state: 'rejected' } }));
    expect(rejected.on).toBe('refused');
    expect(rejected.msg.error).toMatchObject({ code: 'NOT_APPROVED', message: expect.stringContaining('"rejected"') });
    const none = await send(message({ approval: undefined }));
    expect(none.msg.error).toMatchObject({ code: 'NOT_APPROVED', message: expect.stringContaining('requires one') });
    expect((await sandboxState()).counters.requests).toBe(0);
  });

  it('with "require approval" off, posts a report approved in its source that carries no msg.approval', async () => {
    await load({ requireApproval: false });
    const { on } = await send(message({ approval: undefined }));
    expect(on).toBe('posted');
  });

  it('bad input reaches Catch with SCHEMA_INVALID and a red status naming the code', async () => {
    await load();
    const statuses: Array<Record<string, unknown>> = [];
    helper
      .getNode('post')
      .on('call:status', (call: { args: [Record<string, unknown>] }) => statuses.push(call.args[0]));
    const notADocument = await send(message({ payload: 'hello' }));
    expect(notADocument.on).toBe('caught');
    expect(notADocument.msg.error).toMatchObject({
      code: 'SCHEMA_INVALID',
      message: expect.stringContaining('finance-map'),
    });
    const badAmount = await send(message({ payload: { ...approvedReport(), total: { amount: 1, currency: 'EUR' } } }));
    expect(badAmount.msg.error).toMatchObject({ code: 'SCHEMA_INVALID' });
    await waitFor(() => statuses.some((status) => status.fill === 'red'));
    expect(statuses).toContainEqual({ fill: 'red', shape: 'ring', text: 'SCHEMA_INVALID' });
  });

  it('a wrong dialog setting or a missing store is reported by name', async () => {
    await load({ kind: 'invoice' });
    const badKind = await send(message());
    expect(badKind.msg.error).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('Posting kind "invoice"'),
    });
    await helper.unload();

    await load({ store: '' });
    const noStore = await send(message());
    expect(noStore.msg.error).toMatchObject({ code: 'CONFIG_INVALID', message: expect.stringContaining('No store') });
  });

  it('works with the embedded sandbox ERP', async () => {
    await load({}, { embeddedSandbox: true, baseUrl: '' });
    const { on, msg } = await send(message());
    expect(on).toBe('posted');
    const { client } = await (helper.getNode('erp') as unknown as FinanceErpNode).connection();
    expect(client.describe().baseUrl).not.toBe(sandbox.url);
    expect(msg.erp.number).toMatch(/^JNL-/);
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}

async function waitForAsync(condition: () => Promise<boolean>): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, 20));
}
