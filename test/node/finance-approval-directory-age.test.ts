/**
 * finance-approval with the ERP down after a restart: the directory copy kept in the store routes reports only
 * while it is younger than "Use a directory copy for at most"; beyond that, the report goes the way of every
 * failure of the node (parked, retried, then Catch) with a message that says how old the copy is.
 */
import * as net from 'node:net';
import * as path from 'node:path';
import type { Node } from 'node-red';
import { coreNodes, helper, tempDir } from '../support/node-red';
import financeApproval = require('../../nodes/finance-approval/finance-approval');
import financeErp = require('../../nodes/finance-erp/finance-erp');
import financeStore = require('../../nodes/finance-store/finance-store');
import type { ApprovalMatrix } from '../../lib/approval/matrix';
import type { ExpenseReport } from '../../lib/model/types';

type Msg = Record<string, any>;

const HOUR = 3_600_000;
/** The node's clock (settings.financeApprovalClock): the directory's loadedAt and its age come from it. */
let now = Date.parse('2025-06-02T08:00:00.000Z');

const matrix: ApprovalMatrix = {
  financeController: 'E1003',
  slaHours: 24,
  rules: [{ currency: 'EUR', approvers: [{ type: 'manager' }] }],
};

function documentMsg(id: string): Msg {
  const report: ExpenseReport = {
    docType: 'ExpenseReport',
    sourceRef: { system: 'expenses', id, version: 1 },
    reportId: id,
    employeeId: 'E1011',
    company: 'FS-DEMO',
    submittedAt: '2025-06-01T10:00:00Z',
    state: 'submitted',
    total: { amount: '300.00', currency: 'EUR' },
    lines: [
      {
        lineId: '1',
        date: '2025-05-30',
        amount: { amount: '300.00', currency: 'EUR' },
        dimensions: { costCenter: 'CC-200', glAccount: '6000' },
      },
    ],
  };
  return { _msgid: `msg-${id}`, payload: report };
}

function flow(storePath: string, erp: Msg, approval: Msg = {}): Msg[] {
  const at = { x: 100, y: 100 };
  return [
    { id: 'tab', type: 'tab' },
    { id: 'store', type: 'finance-store', path: storePath },
    { id: 'erp', type: 'finance-erp', dialect: 'sandbox', company: 'FS-DEMO', ...erp },
    {
      id: 'approval',
      type: 'finance-approval',
      z: 'tab',
      ...at,
      store: 'store',
      erp: 'erp',
      matrix,
      delegations: [],
      ...approval,
      wires: [[], [], [], ['request']],
    },
    { id: 'request', type: 'helper', z: 'tab', ...at },
    { id: 'catch', type: 'catch', z: 'tab', ...at, scope: ['approval'], uncaught: false, wires: [['caught']] },
    { id: 'caught', type: 'helper', z: 'tab', ...at },
  ];
}

const nodes = [financeStore, financeErp, financeApproval, coreNodes.catch];

function next(name: string): Promise<Msg> {
  return new Promise((resolve) => helper.getNode(name).once('input', resolve));
}

/** The status texts the node showed, in order (the test helper spies on Node.prototype.status). */
function statuses(node: Node): string[] {
  const spy = node.status as unknown as { getCalls(): Array<{ thisValue: unknown; args: Msg[] }> };
  return spy
    .getCalls()
    .filter((call) => call.thisValue === node)
    .map((call) => String(call.args[0]?.text ?? ''));
}

describe('finance-approval: how old a kept directory copy may be', () => {
  const temp = tempDir('approval-directory-age');
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

  /** Routes one report with the embedded sandbox (the directory is read and kept), then restarts without an ERP. */
  async function restartWithoutErp(hoursLater: number, approval: Msg = {}): Promise<Node> {
    await helper.load(nodes, flow(storePath, { embeddedSandbox: true }, approval));
    const requested = next('request');
    helper.getNode('approval').receive(documentMsg('R-1'));
    await requested;
    await helper.unload();

    now += hoursLater * HOUR;
    const erp = {
      embeddedSandbox: false,
      baseUrl: `http://127.0.0.1:${await unusedPort()}`,
      retryInitialSeconds: '0.05',
      retryMaximumSeconds: '0.1',
      retryMaximumAttempts: '2',
    };
    await helper.load(nodes, flow(storePath, erp, approval));
    return helper.getNode('approval');
  }

  it('routes with the kept copy while it is younger than the limit (72 hours by default)', async () => {
    const node = await restartWithoutErp(71);
    const requested = next('request');
    node.receive(documentMsg('R-2'));
    expect((await requested).approvalRequest).toMatchObject({ approver: 'E1013', reportId: 'R-2' });
  });

  it('holds the report back beyond it: retried, then reported to Catch with the age of the copy', async () => {
    const node = await restartWithoutErp(73);
    const caught = next('caught');
    node.receive(documentMsg('R-2'));
    const failure = await caught;
    expect(failure.error.code).toBe('ERP_UNAVAILABLE');
    expect(failure.error.message).toContain("The employee directory's last copy is 73 hours old");
    expect(failure.error.message).toContain('restore the ERP connection');
    expect(statuses(node)).toEqual(expect.arrayContaining([expect.stringMatching(/^retry 2 in/), 'ERP_UNAVAILABLE']));
  });

  it('routes with it however old when the limit is 0', async () => {
    const node = await restartWithoutErp(24 * 30, { directoryMaxAgeHours: '0' });
    const requested = next('request');
    node.receive(documentMsg('R-2'));
    expect((await requested).approvalRequest).toMatchObject({ approver: 'E1013', reportId: 'R-2' });
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
