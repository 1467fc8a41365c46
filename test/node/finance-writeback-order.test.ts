/**
 * finance-writeback keeps every target's write-backs in version order, not only Coupa's: version 1's "ordered"
 * fails and is parked, version 2's "cancelled" is written back, and version 1's retry is then answered
 * superseded instead of landing last. The source is a stand-in HTTP client that refuses (503) every "ordered"
 * until it has received a "cancelled", so the order of events is forced, not timed.
 */
import * as path from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import type { ErpHttp, ErpRequest, ErpResponse } from '../../lib/erp/client';
import { FinanceError } from '../../lib/errors';
import { helper, tempDir } from '../support/node-red';
import financeStore = require('../../nodes/finance-store/finance-store');
import financeWriteback = require('../../nodes/finance-writeback/finance-writeback');

type Msg = Record<string, any>;

/** The write-back bodies the source accepted, in arrival order. */
let accepted: Msg[] = [];
let refusedOrdered = 0;

/** A source API that is unavailable for "ordered" until the "cancelled" of a later version has arrived. */
const sourceApi: ErpHttp & { timeoutMs: number } = {
  timeoutMs: 1000,
  async request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
    const body = request.body as Msg;
    if (body.status === 'ordered' && !accepted.some((seen) => seen.status === 'cancelled')) {
      refusedOrdered += 1;
      throw new FinanceError('ERP_UNAVAILABLE', 'The source is busy (test).', { retryable: true, httpStatus: 503 });
    }
    accepted.push(body);
    return { status: 200, data: {} as T, headers: {}, durationMs: 1 };
  },
};

function financeSourceStub(RED: NodeAPI): void {
  function FinanceSource(this: Node & { api?: () => unknown }, def: NodeDef) {
    RED.nodes.createNode(this, def);
    this.api = () => sourceApi;
  }
  RED.nodes.registerType('finance-source', FinanceSource as never);
}

const requisition = (version: number) => ({
  docType: 'Requisition',
  sourceRef: { system: 'coupa', id: '4001', version },
});
const erp = { system: 'erp', dialect: 'sandbox', documentType: 'purchaseOrder', documentId: 'po-1', number: 'PO-42' };

describe('finance-writeback keeps versions in order for the webhook target', () => {
  const temp = tempDir('writeback-order');
  let outputs: Msg[] = [];

  beforeEach(async () => {
    accepted = [];
    refusedOrdered = 0;
    await helper.load(
      [financeSourceStub, financeStore, financeWriteback],
      [
        { id: 'tab', type: 'tab' },
        { id: 'src', type: 'finance-source', z: 'tab' },
        { id: 'store', type: 'finance-store', z: 'tab', path: path.join(temp.dir, 'store') },
        {
          id: 'wb',
          type: 'finance-writeback',
          z: 'tab',
          source: 'src',
          store: 'store',
          target: 'webhook',
          path: 'writebacks',
          retryInitialSeconds: '0.05',
          retryMaximumSeconds: '0.2',
          wires: [['done'], ['refused']],
        },
        { id: 'done', type: 'helper', z: 'tab' },
        { id: 'refused', type: 'helper', z: 'tab' },
      ],
    );
    outputs = [];
    helper.getNode('done').on('input', (msg: Msg) => outputs.push(msg));
  });
  afterEach(() => helper.unload());
  afterAll(() => temp.remove());

  it('answers the parked retry of an older version superseded instead of sending it after the newer one', async () => {
    const wb = helper.getNode('wb');
    wb.receive({ payload: requisition(1), erp, purchaseOrder: { action: 'created' } });
    await waitFor(() => refusedOrdered > 0);
    wb.receive({ payload: requisition(2), erp, purchaseOrder: { action: 'cancelled' } });
    await waitFor(() => outputs.length === 2);

    expect(accepted.map((body) => [body.status, body.version])).toEqual([['cancelled', 2]]);
    const late = outputs.find((msg) => msg.payload.sourceRef.version === 1);
    expect(late?.writeback).toMatchObject({ status: 'ordered', sent: false, superseded: true });
  });
});

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 5));
}
