/**
 * Two finance-writeback nodes with the same target type (webhook) on one store, each with its own
 * finance-source: both systems are told (the destination is part of the ledger and version keys). And a Concur
 * write-back whose status field is its ERP number field is refused at deploy.
 */
import * as path from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { ErpHttp, ErpRequest, ErpResponse } from '../../lib/erp/client';
import { helper, tempDir } from '../support/node-red';
import financeStore = require('../../nodes/finance-store/finance-store');
import financeWriteback = require('../../nodes/finance-writeback/finance-writeback');

type Msg = Record<string, any>;

/** What each source system received, by finance-source node id. */
const received: Record<string, Msg[]> = {};

function financeSourceStub(RED: NodeAPI): void {
  function FinanceSource(this: Node & { api?: () => unknown }, def: NodeDef) {
    RED.nodes.createNode(this, def);
    const api: ErpHttp & { timeoutMs: number } = {
      timeoutMs: 1000,
      async request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
        (received[def.id] ??= []).push(request.body as Msg);
        return { status: 201, data: {} as T, headers: {}, durationMs: 1 };
      },
    };
    this.api = () => api;
  }
  RED.nodes.registerType('finance-source', FinanceSource as never);
}

const report = { docType: 'ExpenseReport', sourceRef: { system: 'concur', id: 'RPT-2', version: 1 } };
const erp = { system: 'erp', dialect: 'sandbox', documentType: 'journal', documentId: 'd', number: 'JNL-9' };

describe('finance-writeback: two write-back nodes telling two systems on one store', () => {
  const temp = tempDir('writeback-destinations');
  let flows = 0;
  let done: Msg[] = [];

  const writeback = (id: string, source: string, extra: Record<string, unknown> = {}) => ({
    id,
    type: 'finance-writeback',
    z: 'tab',
    source,
    store: 'store',
    target: 'webhook',
    path: 'api/v1/writebacks',
    wires: [['done'], ['refused']],
    ...extra,
  });

  async function load(nodes: object[]) {
    flows += 1;
    for (const key of Object.keys(received)) delete received[key];
    await helper.load(
      [financeSourceStub, financeStore, financeWriteback],
      [
        { id: 'tab', type: 'tab' },
        { id: 'src-a', type: 'finance-source', z: 'tab' },
        { id: 'src-b', type: 'finance-source', z: 'tab' },
        { id: 'store', type: 'finance-store', z: 'tab', path: path.join(temp.dir, `store-${flows}`) },
        ...nodes,
        { id: 'done', type: 'helper', z: 'tab' },
        { id: 'refused', type: 'helper', z: 'tab' },
      ],
    );
    done = [];
    helper.getNode('done').on('input', (msg: Msg) => done.push(msg));
  }

  afterEach(() => helper.unload());
  afterAll(() => temp.remove());

  it('sends the write-back to both systems, and each once', async () => {
    await load([writeback('wb-a', 'src-a'), writeback('wb-b', 'src-b')]);
    helper.getNode('wb-a').receive({ payload: report, erp });
    await waitFor(() => done.length === 1);
    helper.getNode('wb-b').receive({ payload: report, erp });
    await waitFor(() => done.length === 2);
    expect(done.map((msg) => msg.writeback)).toEqual([
      expect.objectContaining({ status: 'posted', sent: true }),
      expect.objectContaining({ status: 'posted', sent: true }),
    ]);
    expect(received['src-a']).toHaveLength(1);
    expect(received['src-b']).toHaveLength(1);

    // The same message again: nothing more to either.
    helper.getNode('wb-b').receive({ payload: report, erp });
    await waitFor(() => done.length === 3);
    expect(received['src-b']).toHaveLength(1);
  });

  it('refuses at deploy a Concur status field that is the ERP number field', async () => {
    await load([writeback('wb-c', 'src-a', { target: 'concur', numberField: 'custom15', statusField: 'custom15' })]);
    const wb = helper.getNode('wb-c');
    const errors: string[] = [];
    wb.on('call:error', (call: { args: unknown[] }) => errors.push(String(call.args[0])));
    wb.receive({ payload: report, erp, employeeId: 'U1' });
    await waitFor(() => errors.length > 0);
    expect(errors[0]).toMatch(/Status field "custom15" is the ERP number field too/);
    expect(received['src-a']).toBeUndefined();
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}
