import * as net from 'node:net';
import * as path from 'node:path';
import type { Node } from 'node-red';
import { coreNodes, helper, tempDir } from '../support/node-red';
import financeApproval = require('../../nodes/finance-approval/finance-approval');
import financeErp = require('../../nodes/finance-erp/finance-erp');
import financeStore = require('../../nodes/finance-store/finance-store');
import financeEventIn = require('../../nodes/finance-event-in/finance-event-in');
import financeSource = require('../../nodes/finance-source/finance-source');
import { sampleEvent } from '../../lib/sources/sampleEvents';
import { startSandbox } from '../../lib/sandbox/server';
import { compileMatrix, type ApprovalMatrix } from '../../lib/approval/matrix';
import { ApprovalWorkflow } from '../../lib/approval/workflow';
import type { ExpenseReport } from '../../lib/model/types';
import { inboxKey } from '../../lib/reliability/store';
import { BudgetReservations, reservationDocumentOf } from '../../lib/budget';
import { observations } from '../../lib/observe/hub';
import type { Observation } from '../../lib/observe/observation';
import type { FinanceStoreNode } from '../../nodes/shared/config-nodes';

type Msg = Record<string, any>;

interface ApprovalNode extends Node {
  checkSla(): Promise<void>;
}

const OUTPUTS = ['approved', 'rejected', 'escalated', 'request'] as const;
const SOURCE = 'https://expenses.example/webhooks';
/** The SLA clock of the node under test (settings.financeApprovalClock). */
let now = Date.parse('2025-06-02T08:00:00.000Z');
const HOUR = 3_600_000;

/**
 * The demo company's hierarchy (lib/sandbox/seed.ts): Carla Rossi E1011 -> Lea Wagner E1013 (limit 5000.00)
 * -> Jonas Berg E1004 (25000.00) -> CEO E1001. E1003 is the finance controller, E1016 another team lead.
 */
const matrix: ApprovalMatrix = {
  financeController: 'controller',
  roles: { controller: 'E1003', cfo: 'E1002' },
  slaHours: 24,
  autoApproveBelow: { EUR: '50.00' },
  rules: [
    { id: 'manager', currency: 'EUR', maxAmount: '1000.00', approvers: [{ type: 'manager' }] },
    { id: 'chain', currency: 'EUR', minAmount: '1000.00', approvers: [{ type: 'managerChain' }] },
  ],
};

function report(id: string, amount: string, extra: Partial<ExpenseReport> = {}): ExpenseReport {
  return {
    docType: 'ExpenseReport',
    sourceRef: { system: 'expenses', id, version: 1 },
    reportId: id,
    employeeId: 'E1011',
    company: 'FS-DEMO',
    submittedAt: '2025-06-01T10:00:00Z',
    state: 'submitted',
    total: { amount, currency: 'EUR' },
    lines: [
      {
        lineId: '1',
        date: '2025-05-30',
        amount: { amount, currency: 'EUR' },
        dimensions: { costCenter: 'CC-200', glAccount: '6000' },
      },
    ],
    ...extra,
  };
}

function documentMsg(id: string, amount: string, extra: Partial<ExpenseReport> = {}, eventId = `evt-${id}`): Msg {
  return tagged({
    payload: report(id, amount, extra),
    finance: {
      id: eventId,
      source: SOURCE,
      type: 'expense.report.submitted',
      time: '2025-06-01T10:00:00Z',
      correlationId: `corr-${id}`,
      docType: 'ExpenseReport',
      docId: id,
      attempt: 1,
    },
  });
}

function decisionMsg(reportId: string, decision: string, approver: string, extra: Msg = {}): Msg {
  return tagged({
    topic: 'decision',
    payload: { reportId, decision, approver, decidedAt: new Date(now).toISOString(), ...extra },
  });
}

/** Flow nodes carry x and y: the runtime treats a node without a position as a config node. */
function flow(storePath: string, options: { erp?: Msg; approval?: Msg } = {}): Msg[] {
  const at = { x: 100, y: 100 };
  return [
    { id: 'tab', type: 'tab' },
    { id: 'store', type: 'finance-store', path: storePath },
    {
      id: 'erp',
      type: 'finance-erp',
      dialect: 'sandbox',
      embeddedSandbox: true,
      company: 'FS-DEMO',
      ...options.erp,
    },
    {
      id: 'approval',
      type: 'finance-approval',
      z: 'tab',
      ...at,
      store: 'store',
      erp: 'erp',
      matrix,
      delegations: [],
      ...options.approval,
      wires: OUTPUTS.map((name) => [name]),
    },
    ...OUTPUTS.map((name) => ({ id: name, type: 'helper', z: 'tab', ...at })),
    { id: 'catch', type: 'catch', z: 'tab', ...at, scope: ['approval'], uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab', ...at },
    { id: 'complete', type: 'complete', z: 'tab', ...at, scope: ['approval'], wires: [['completed']] },
    { id: 'completed', type: 'helper', z: 'tab', ...at },
  ];
}

const nodes = [financeStore, financeErp, financeApproval, coreNodes.catch, coreNodes.complete];

/** Every message that reaches the helper nodes, and ways to wait for one. */
function recorder() {
  const seen: Record<string, Msg[]> = {};
  const waiting: Array<{ name: string; match: (msg: Msg) => boolean; resolve: (msg: Msg) => void }> = [];
  for (const name of [...OUTPUTS, 'caught', 'completed']) {
    seen[name] = [];
    helper.getNode(name).on('input', (msg: Msg) => {
      seen[name].push(msg);
      const index = waiting.findIndex((waiter) => waiter.name === name && waiter.match(msg));
      if (index >= 0) waiting.splice(index, 1)[0].resolve(msg);
    });
  }
  const when = (name: string, match: (msg: Msg) => boolean): Promise<Msg> => {
    const found = seen[name].find(match);
    return found ? Promise.resolve(found) : new Promise((resolve) => waiting.push({ name, match, resolve }));
  };
  return {
    seen,
    /** The next message to arrive at `name`. */
    next(name: string): Promise<Msg> {
      return new Promise((resolve) => waiting.push({ name, match: () => true, resolve }));
    },
    /** The Complete node's message for `msg`: the node has finished handling it. */
    completed: (msg: Msg): Promise<Msg> => when('completed', (done) => done._msgid === msg._msgid),
    /** The Catch node's message for `msg`. */
    caught: (msg: Msg): Promise<Msg> => when('caught', (caught) => caught._msgid === msg._msgid),
    outputs(): number {
      return OUTPUTS.reduce((total, name) => total + seen[name].length, 0);
    },
  };
}

interface SpyCalls {
  getCalls(): Array<{ thisValue: unknown; args: unknown[] }>;
}

/** What `method` (spied on by the test helper) was called with on this node, in order. */
function callsOf(node: Node, method: 'status' | 'error'): unknown[] {
  return ((node[method] as unknown as SpyCalls).getCalls() ?? [])
    .filter((call) => call.thisValue === node)
    .map((call) => call.args[0]);
}

const lastStatus = (node: Node) => callsOf(node, 'status').at(-1) as Msg;

let messageIds = 0;
/** Gives the message an id of its own so its completion or error can be told apart from the others'. */
function tagged(msg: Msg): Msg {
  return { ...msg, _msgid: `test-${++messageIds}` };
}

describe('finance-approval node', () => {
  const temp = tempDir('approval-node');
  let storePath: string;
  let counter = 0;

  beforeAll(() => {
    helper.settings({ financeApprovalClock: () => now });
  });
  beforeEach(() => {
    storePath = path.join(temp.dir, `store-${++counter}`);
    now = Date.parse('2025-06-02T08:00:00.000Z');
  });
  afterEach(async () => {
    await helper.unload();
  });
  afterAll(() => {
    helper.settings({});
    temp.remove();
  });

  async function deploy(options: { erp?: Msg; approval?: Msg } = {}) {
    await helper.load(nodes, flow(storePath, options));
    const node = helper.getNode('approval') as ApprovalNode;
    return { node, record: recorder() };
  }

  /**
   * Deploys, accepts the report's event in the store, waits for its request, then has E1013 reject or return it:
   * the message on the rejected output, and a way to read the event's inbox entry.
   */
  async function refuseAfterRequest(
    id: string,
    decision: string,
    extra: Msg = {},
    options: Parameters<typeof deploy>[0] = {},
  ) {
    const { node, record } = await deploy(options);
    const store = (helper.getNode('store') as FinanceStoreNode).store();
    const key = inboxKey(SOURCE, `evt-${id}`);
    await store.accept({ key, envelope: { id: `evt-${id}` }, payload: {} });
    const requested = record.next('request');
    node.receive(documentMsg(id, '300.00'));
    await requested;

    const rejected = record.next('rejected');
    node.receive(decisionMsg(id, decision, 'E1013', extra));
    return { out: await rejected, event: () => store.get(key) };
  }

  it('approves a report below the threshold at once, on the same message', async () => {
    const { node, record } = await deploy();
    const msg = { ...documentMsg('R-AUTO', '20.00'), keep: 'me' };
    const approved = record.next('approved');
    node.receive(msg);
    const out = await approved;
    expect(out.keep).toBe('me');
    await record.completed(msg);
    expect(lastStatus(node)).toMatchObject({ fill: 'green', shape: 'dot' });
    expect(out.payload).toEqual(report('R-AUTO', '20.00'));
    expect(out.approval).toMatchObject({
      state: 'approved',
      stage: 0,
      chain: [],
      autoApproved: true,
      policyExceptions: [],
      sourceRef: { system: 'expenses', id: 'R-AUTO', version: 1 },
      correlationId: 'corr-R-AUTO',
    });
    expect(record.outputs()).toBe(1);
  });

  it('asks the manager from the ERP hierarchy and emits the full record when they approve', async () => {
    const { node, record } = await deploy();
    const requested = record.next('request');
    node.receive(documentMsg('R-1', '300.00'));
    const request = await requested;
    await record.completed(request);
    expect(lastStatus(node)).toMatchObject({ fill: 'blue', shape: 'ring' });
    expect(request.topic).toBe('approval-request');
    expect(request.approvalRequest).toEqual({
      approver: 'E1013',
      delegates: [],
      stage: 1,
      dueAt: new Date(now + 24 * HOUR).toISOString(),
      reportId: 'R-1',
      version: 1,
      total: { amount: '300.00', currency: 'EUR' },
      reason: 'manager of E1011',
    });

    const approved = record.next('approved');
    const decision = decisionMsg('R-1', 'approve', 'E1013', { comment: 'Fine' });
    node.receive(decision);
    const out = await approved;
    expect(out.payload).toEqual(report('R-1', '300.00'));
    expect(out.finance).toMatchObject({ id: 'evt-R-1', correlationId: 'corr-R-1' });
    expect(out.topic).toBeUndefined();
    expect(out.approval).toMatchObject({
      state: 'approved',
      stage: 1,
      approver: 'E1013',
      decidedAt: new Date(now).toISOString(),
      comment: 'Fine',
      policyExceptions: [],
      sourceRef: { system: 'expenses', id: 'R-1', version: 1 },
      correlationId: 'corr-R-1',
      submitterId: 'E1011',
      ruleId: 'manager',
      chain: [
        {
          stage: 1,
          approver: 'E1013',
          kind: 'manager',
          decidedBy: 'E1013',
          decision: 'approve',
          comment: 'Fine',
          decidedAt: new Date(now).toISOString(),
        },
      ],
    });
    expect(out.approval.delegateOf).toBeUndefined();
    // The decision message gets the record too, for a Complete node that answers the approver's app.
    expect((await record.completed(decision)).approval).toMatchObject({ state: 'approved' });
  });

  it('adds the finance controller when the budget is exceeded', async () => {
    const { node, record } = await deploy();
    const first = record.next('request');
    node.receive({
      ...documentMsg('R-OVER', '300.00'),
      budget: { status: 'exceeded', requested: { amount: '300.00', currency: 'EUR' }, currency: 'EUR' },
    });
    expect((await first).approvalRequest).toMatchObject({ approver: 'E1013', stage: 1 });

    const second = record.next('request');
    node.receive(decisionMsg('R-OVER', 'approve', 'E1013'));
    const controllerRequest = await second;
    expect(controllerRequest.approvalRequest).toMatchObject({
      approver: 'E1003',
      stage: 2,
      reason: 'finance controller review: the budget is exceeded',
    });
    expect(controllerRequest.budget).toMatchObject({ status: 'exceeded' });

    const approved = record.next('approved');
    node.receive(decisionMsg('R-OVER', 'approve', 'E1003'));
    expect((await approved).approval.chain.map((stage: Msg) => [stage.approver, stage.kind])).toEqual([
      ['E1013', 'manager'],
      ['E1003', 'finance_controller'],
    ]);
  });

  it('sends a policy exception to the finance controller, even below the auto-approval threshold', async () => {
    const { node, record } = await deploy();
    const requested = record.next('request');
    const exception = { code: 'NO_RECEIPT', message: 'Receipt missing' };
    node.receive(documentMsg('R-POL', '20.00', { policyExceptions: [exception] }));
    const request = await requested;
    expect(request.approval.policyExceptions).toEqual([exception]);
    expect(request.approval.chain.map((stage: Msg) => stage.approver)).toEqual(['E1013', 'E1003']);
    expect(request.approval.chain[1].reason).toBe('finance controller review: policy exceptions: NO_RECEIPT');
  });

  it('refuses a decision from the wrong person through Catch, with nothing emitted', async () => {
    const { node, record } = await deploy();
    const requested = record.next('request');
    node.receive(documentMsg('R-2', '300.00'));
    await requested;

    const wrong = decisionMsg('R-2', 'approve', 'E1004');
    node.receive(wrong);
    const error = (await record.caught(wrong)).error;
    expect(error.code).toBe('APPROVER_NOT_ALLOWED');
    expect(error.message).toContain('E1004 is not the expected approver E1013');
    expect(error.source.id).toBe('approval');
    expect(record.outputs()).toBe(1);
    // Status text stays under 20 characters (nodes/shared/node-input.ts shortens the code).
    expect(lastStatus(node)).toEqual({ fill: 'red', shape: 'ring', text: 'APPROVER_NOT_ALLOW…' });
  });

  it('refuses through Catch a decision about an earlier version than the pending one, and takes it on the pending one', async () => {
    const { node, record } = await deploy();
    const first = record.next('request');
    node.receive(documentMsg('R-V', '300.00'));
    expect((await first).approvalRequest).toMatchObject({ reportId: 'R-V', version: 1 });
    const second = record.next('request');
    node.receive(
      documentMsg('R-V', '900.00', { sourceRef: { system: 'expenses', id: 'R-V', version: 2 } }, 'evt-R-V-2'),
    );
    expect((await second).approvalRequest).toMatchObject({ reportId: 'R-V', version: 2 });

    const stale = decisionMsg('R-V', 'approve', 'E1013', { version: 1 });
    node.receive(stale);
    const error = (await record.caught(stale)).error;
    expect(error.code).toBe('APPROVER_NOT_ALLOWED');
    expect(error.message).toContain('version 2 is the one pending; E1013 must decide again on version 2');
    expect(record.outputs()).toBe(2);

    const approved = record.next('approved');
    node.receive(decisionMsg('R-V', 'approve', 'E1013', { version: 2 }));
    expect((await approved).payload.total).toEqual({ amount: '900.00', currency: 'EUR' });
  });

  it('says APPROVAL_NOT_FOUND for an unknown document and SCHEMA_INVALID for a bad message', async () => {
    const { node, record } = await deploy();
    const errorOf = async (msg: Msg) => {
      node.receive(msg);
      return (await record.caught(msg)).error;
    };
    expect((await errorOf(decisionMsg('R-NONE', 'approve', 'E1013'))).code).toBe('APPROVAL_NOT_FOUND');
    expect(await errorOf(decisionMsg('R-NONE', 'maybe', 'E1013'))).toMatchObject({
      code: 'SCHEMA_INVALID',
      message: expect.stringContaining('decision must be one of approve, reject, return'),
    });
    expect((await errorOf(tagged({ payload: { docType: 'PurchaseOrder' } }))).message).toContain(
      'msg.payload must be a canonical ExpenseReport',
    );
    expect((await errorOf({ ...documentMsg('R-BAD', '10.00'), budget: 'exceeded' })).code).toBe('SCHEMA_INVALID');
    const invalidReport = documentMsg('R-BAD', '10.00');
    invalidReport.payload.total = { amount: '10.5', currency: 'EUR' };
    expect((await errorOf(invalidReport)).code).toBe('SCHEMA_INVALID');
    expect(record.outputs()).toBe(0);
  });

  it('accepts a delegate valid on the day and records whom they stood in for', async () => {
    const { node, record } = await deploy({
      approval: { delegations: [{ from: 'E1013', to: 'E1016', validFrom: '2025-06-01', validTo: '2025-06-07' }] },
    });
    const requested = record.next('request');
    node.receive(documentMsg('R-DEL', '300.00'));
    expect((await requested).approvalRequest.delegates).toEqual(['E1016']);

    const approved = record.next('approved');
    node.receive(decisionMsg('R-DEL', 'approve', 'E1016'));
    const out = await approved;
    expect(out.approval).toMatchObject({ state: 'approved', approver: 'E1016', delegateOf: 'E1013' });
    expect(out.approval.chain[0]).toMatchObject({ approver: 'E1013', decidedBy: 'E1016', delegateOf: 'E1013' });
  });

  it.each([
    ['reject', 'rejected'],
    ['return', 'returned'],
  ])('on %s emits on output 2 and finishes the event in the store', async (decision, state) => {
    const { out, event } = await refuseAfterRequest('R-3', decision, { comment: 'Receipts please' });
    expect(out.approval).toMatchObject({ state, approver: 'E1013', comment: 'Receipts please' });
    expect(await event()).toMatchObject({ state: 'final', outcome: { status: state } });
  });

  it('leaves a rejected event open for the write-back that follows', async () => {
    const { out, event } = await refuseAfterRequest('R-9', 'reject', {}, { approval: { writebackFollows: true } });
    expect(out.approval).toMatchObject({ state: 'rejected' });
    expect(await event()).toMatchObject({ state: 'open' });
  });

  it('frees what the budget check reserved for a rejected report, and keeps what it reserved for others', async () => {
    const { node, record } = await deploy();
    const store = (helper.getNode('store') as FinanceStoreNode).store();
    const reservations = new BudgetReservations(store, { holdMs: 72 * HOUR });
    const scope = { company: 'FS-DEMO', currency: 'EUR', key: 'costCenter=CC-200,glAccount=6000@2025-05' };
    for (const id of ['R-RES', 'R-OTHER']) {
      const identity = reservationDocumentOf(report(id, '300.00')) as string;
      await reservations.reserve(
        identity,
        [scope],
        [{ key: scope.key, amount: { amount: '300.00', currency: 'EUR' } }],
      );
    }
    const requested = record.next('request');
    node.receive(documentMsg('R-RES', '300.00'));
    await requested;
    const decision = decisionMsg('R-RES', 'reject', 'E1013');
    node.receive(decision);
    await record.completed(decision);

    // Only R-OTHER's 300.00 still holds.
    const held = await reservations.reservedByOthers([scope], 'nobody');
    expect(held.get(scope.key)).toEqual({ amount: '300.00', currency: 'EUR' });
  });

  it('ignores a duplicate start and a duplicate decision', async () => {
    const { node, record } = await deploy();
    const requested = record.next('request');
    node.receive(documentMsg('R-4', '300.00'));
    await requested;
    const again = documentMsg('R-4', '300.00');
    node.receive(again);
    await record.completed(again);
    expect(record.outputs()).toBe(1);

    const first = decisionMsg('R-4', 'approve', 'E1013');
    node.receive(first);
    await record.completed(first);
    const second = decisionMsg('R-4', 'approve', 'E1013');
    node.receive(second);
    expect((await record.completed(second)).approval).toMatchObject({ state: 'approved' });
    expect(record.seen.approved).toHaveLength(1);
    expect(record.outputs()).toBe(2);
    expect(record.seen.caught).toEqual([]);
  });

  it('handles a decision that carries an HTTP response object without storing or sending it', async () => {
    const { node, record } = await deploy();
    const requested = record.next('request');
    node.receive(documentMsg('R-HTTP', '300.00'));
    await requested;

    // Like express' response: methods and a reference back to the request.
    const res: Msg = { statusCode: 200, send: () => undefined };
    const req: Msg = { res, body: {} };
    res.req = req;
    const approved = record.next('approved');
    const decision = { ...decisionMsg('R-HTTP', 'approve', 'E1013'), req, res };
    node.receive(decision);
    const out = await approved;
    expect(out.res).toBeUndefined();
    expect(out.req).toBeUndefined();
    const done = await record.completed(decision);
    expect(done.res).toBe(res);
    expect(done.approval.state).toBe('approved');
  });

  it('keeps a pending approval across a restart, and routes with the kept directory when the ERP is down', async () => {
    let deployed = await deploy();
    let requested = deployed.record.next('request');
    deployed.node.receive(documentMsg('R-5', '300.00'));
    await requested;
    await helper.unload();

    const closedPort = await unusedPort();
    deployed = await deploy({ erp: { embeddedSandbox: false, baseUrl: `http://127.0.0.1:${closedPort}` } });
    const pending = await helper.request().get('/finance-approval/approval/pending').expect(200);
    expect(pending.body.items).toEqual([
      expect.objectContaining({ reportId: 'R-5', approver: 'E1013', stage: 1, state: 'pending_approval' }),
    ]);

    const approved = deployed.record.next('approved');
    deployed.node.receive(decisionMsg('R-5', 'approve', 'E1013'));
    expect((await approved).approval).toMatchObject({ state: 'approved', correlationId: 'corr-R-5' });

    requested = deployed.record.next('request');
    deployed.node.receive(documentMsg('R-6', '2000.00'));
    expect((await requested).approval.chain.map((stage: Msg) => stage.approver)).toEqual(['E1013']);
  });

  it('escalates an overdue approval to the next manager and asks them', async () => {
    const { node, record } = await deploy();
    const requested = record.next('request');
    node.receive(documentMsg('R-SLA', '300.00'));
    await requested;

    now += 24 * HOUR - 1;
    await node.checkSla();
    expect(record.outputs()).toBe(1);

    now += 1;
    const escalated = record.next('escalated');
    const request = record.next('request');
    const seen: Observation[] = [];
    const stopWatching = observations.subscribe((observation) => seen.push(observation));
    await node.checkSla();
    expect((await escalated).approval).toMatchObject({ state: 'escalated', approver: 'E1004', escalations: 1 });
    stopWatching();
    // The escalation leaves outside any input; the audit trail and the metrics must still see it.
    const outcomes = seen.filter((observation) => observation.kind === 'outcome');
    expect(outcomes.map((observation) => observation.output)).toEqual(['escalated', 'request']);
    expect(outcomes[0]).toMatchObject({ node: { type: 'finance-approval' }, sourceIds: { docId: 'R-SLA' } });
    expect(lastStatus(node)).toMatchObject({ fill: 'yellow', shape: 'dot' });
    expect((await request).approvalRequest).toMatchObject({
      approver: 'E1004',
      stage: 1,
      dueAt: new Date(now + 24 * HOUR).toISOString(),
      reason: expect.stringContaining('E1013 did not decide within the 24 h SLA'),
    });

    const late = decisionMsg('R-SLA', 'approve', 'E1013');
    node.receive(late);
    expect((await record.caught(late)).error.code).toBe('APPROVER_NOT_ALLOWED');
    const approved = record.next('approved');
    node.receive(decisionMsg('R-SLA', 'approve', 'E1004'));
    expect((await approved).approval.chain[0]).toMatchObject({ escalatedFrom: ['E1013'], decidedBy: 'E1004' });
  });

  it('sends again the request a host stopped before sending, and never one it sent', async () => {
    const { node, record } = await deploy();
    const requested = record.next('request');
    node.receive(documentMsg('R-SENT', '300.00'));
    await requested;

    // Another host on the same store saved an approval and stopped before its request left.
    const stopped = new ApprovalWorkflow({
      store: (helper.getNode('store') as unknown as FinanceStoreNode).store(),
      namespace: 'finance-approval/approval',
      matrix: compileMatrix(matrix),
      delegations: [],
      directory: async () => ({
        employee: (id: string) =>
          ({
            E1011: { id, managerId: 'E1013', active: true },
            // With her limit, as in the seed: approval limits now count for a manager approver too.
            E1013: { id, active: true, approvalLimit: { amount: '5000.00', currency: 'EUR' } },
          })[id],
        costCenterOwner: () => undefined,
      }),
      clock: () => new Date(now),
    });
    expect((await stopped.start(documentMsg('R-LOST', '300.00') as never)).status).toBe('pending');

    now += 60_000;
    const resent = record.next('request');
    await node.checkSla();
    const request = await resent;
    expect(request.payload.reportId).toBe('R-LOST');
    expect(request.approvalRequest).toMatchObject({ approver: 'E1013', stage: 1, resent: true });
    expect(record.seen.request.map((msg) => msg.payload.reportId)).toEqual(['R-SENT', 'R-LOST']);

    now += 60_000;
    await node.checkSla();
    // Node-RED delivers sent messages on a later turn of the event loop: give one the time to arrive.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(record.outputs()).toBe(2);
  });

  it('lists pending approvals on the admin endpoint, and answers 404 for another node', async () => {
    const { node, record } = await deploy();
    const requested = record.next('request');
    node.receive(documentMsg('R-7', '1500.00'));
    await requested;
    const response = await helper.request().get('/finance-approval/approval/pending').expect(200);
    expect(response.body).toEqual({
      items: [
        {
          reportId: 'R-7',
          sourceRef: { system: 'expenses', id: 'R-7', version: 1 },
          state: 'pending_approval',
          approver: 'E1013',
          stage: 1,
          dueAt: new Date(now + 24 * HOUR).toISOString(),
          total: { amount: '1500.00', currency: 'EUR' },
          submitterId: 'E1011',
          escalations: 0,
        },
      ],
    });
    await helper.request().get('/finance-approval/store/pending').expect(404);
    await helper.request().get('/finance-approval/approval/pending?limit=0').expect(400);
  });

  it('refuses an invalid matrix at deploy with every violation and CONFIG_INVALID for each message', async () => {
    const { node, record } = await deploy({
      approval: {
        matrix: { ...matrix, financeController: '', rules: [{ currency: 'EURO', approvers: [] }] },
        delegations: [{ from: 'E1', to: 'E1', validFrom: '2025-01-01', validTo: '2025-01-02' }],
      },
    });
    const errors = callsOf(node, 'error').map(String);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain('matrix.financeController');
    expect(errors[0]).toContain('matrix.rules[0].currency');
    expect(errors[0]).toContain('delegations[0].to');
    expect(callsOf(node, 'status')[0]).toEqual({ fill: 'red', shape: 'ring', text: 'CONFIG_INVALID' });

    const msg = documentMsg('R-8', '300.00');
    node.receive(msg);
    expect((await record.caught(msg)).error.code).toBe('CONFIG_INVALID');
  });

  it('refuses to run without a store', async () => {
    const { node, record } = await deploy({ approval: { store: '' } });
    const msg = documentMsg('R-9', '300.00');
    node.receive(msg);
    expect((await record.caught(msg)).error).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringContaining('Choose a finance store'),
    });
  });

  it('holds the event of a waiting approval, so the intake does not emit it again when its lease runs out', async () => {
    const at = { x: 100, y: 100 };
    const intake = [
      { id: 'src', type: 'finance-source', profile: 'cloudevents' },
      {
        id: 'in',
        type: 'finance-event-in',
        z: 'tab',
        ...at,
        source: 'src',
        store: 'store',
        mode: 'input',
        leaseSeconds: 1,
        recoverySeconds: 1,
        wires: [['approval', 'emitted'], []],
      },
      { id: 'emitted', type: 'helper', z: 'tab', ...at },
    ];
    await helper.load([financeSource, financeEventIn, ...nodes], [...flow(storePath), ...intake], {
      src: { secret: 'approval-test-secret' },
    });
    const record = recorder();
    const emitted: Msg[] = [];
    helper.getNode('emitted').on('input', (msg: Msg) => emitted.push(msg));
    // Seed 3: 246.89 EUR from E1012, a report for the manager.
    const event = sampleEvent({ seed: 3, secret: 'approval-test-secret' });
    const requested = record.next('request');
    helper.getNode('in').receive({ payload: event.rawBody, headers: event.headers });
    const request = await requested;
    expect(request.finance).toMatchObject({ id: event.body.id, attempt: 1 });

    // Three recovery passes after the 1 s lease ran out: nothing is emitted again.
    await new Promise((resolve) => setTimeout(resolve, 3500));
    expect(emitted).toHaveLength(1);
    expect(record.seen.request).toHaveLength(1);
    const entry = await (helper.getNode('store') as unknown as FinanceStoreNode)
      .store()
      .get(inboxKey(String(event.body.source), String(event.body.id)));
    expect(entry).toMatchObject({ state: 'open', leaseOwner: expect.stringMatching(/^in@/), attempts: 1 });
    expect(entry!.leaseUntil).toBeGreaterThan(Date.now() + 24 * HOUR);
  }, 15_000);

  it('parks a document whose routing could not read the directory, and routes it once the ERP answers', async () => {
    const sandbox = await startSandbox({ port: 0 });
    const faults = (body: object) =>
      fetch(`${sandbox.url}/_sandbox/faults`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
      });
    try {
      await faults({ errorRate: 1, errorStatus: 503 });
      const erp = {
        embeddedSandbox: false,
        baseUrl: sandbox.url,
        retryInitialSeconds: '0.05',
        retryMaximumSeconds: '0.2',
      };
      const { node, record } = await deploy({ erp });
      const requested = record.next('request');
      node.receive(documentMsg('R-DIR', '300.00'));
      await waitUntil(() => callsOf(node, 'status').some((shown) => /^retry 2 in/.test((shown as Msg).text)));
      expect(record.outputs()).toBe(0);
      expect(record.seen.caught).toEqual([]);

      await faults({});
      const request = await requested;
      expect(request.approvalRequest).toMatchObject({ approver: 'E1013', reportId: 'R-DIR' });
      expect(request.finance.attempt).toBeGreaterThanOrEqual(2);
    } finally {
      await helper.unload();
      await sandbox.close();
    }
  });

  it('reports a refused decision to Catch at once, with msg.failure', async () => {
    const { node, record } = await deploy();
    const decision = decisionMsg('R-UNKNOWN', 'approve', 'E1013');
    node.receive(decision);
    const caught = await record.caught(decision);
    expect(caught.error.code).toBe('APPROVAL_NOT_FOUND');
    expect(caught.failure).toMatchObject({ code: 'APPROVAL_NOT_FOUND' });
  });
});

/** A port nothing listens on: bound, then closed again. */
async function unusedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitUntil(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}
