/**
 * A full redeploy while a finance-writeback call to the source's API is in flight. Node-RED closes the
 * finance-source config node together with the write-back node: the source must let the call finish (within
 * its grace) instead of aborting it at once, which failed the write-back and parked it for a second run.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { startSandbox, type SandboxHandle } from '../../lib/sandbox/server';
import type { FinanceSourceNode, FinanceStoreNode } from '../../nodes/shared/config-nodes';
import { coreNodes, helper, tempDir } from '../support/node-red';
import { approvedReport } from '../unit/posting/fixtures';
import financeSource = require('../../nodes/finance-source/finance-source');
import financeStore = require('../../nodes/finance-store/finance-store');
import financeWriteback = require('../../nodes/finance-writeback/finance-writeback');

type Msg = Record<string, unknown>;

const nodes = [financeSource, financeStore, financeWriteback, coreNodes.catch];

describe('a full redeploy during a write-back to the source', () => {
  const temp = tempDir('source-redeploy');
  let sandbox: SandboxHandle;
  let storeCount = 0;

  function flow() {
    storeCount += 1;
    return [
      { id: 'tab', type: 'tab' },
      { id: 'src', type: 'finance-source', z: 'tab', name: 'concur-api', profile: 'concur', apiBaseUrl: sandbox.url },
      { id: 'store', type: 'finance-store', z: 'tab', path: path.join(temp.dir, `store-${storeCount}`) },
      {
        id: 'wb',
        type: 'finance-writeback',
        z: 'tab',
        source: 'src',
        store: 'store',
        target: 'webhook',
        wires: [['done'], ['refused']],
      },
      { id: 'done', type: 'helper', z: 'tab' },
      { id: 'refused', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
    ];
  }

  function message(): Msg {
    return {
      payload: approvedReport(),
      approval: { state: 'approved' },
      erp: {
        system: 'demo-erp',
        dialect: 'sandbox',
        documentType: 'journal',
        documentId: 'd-1',
        number: 'JNL-000042',
        status: 'posted',
        httpStatus: 201,
      },
      finance: {
        id: 'evt-src-redeploy',
        source: 'concur:company-1',
        correlationId: 'corr-src-redeploy',
        docType: 'ExpenseReport',
        docId: 'RPT-1001',
        attempt: 1,
      },
    };
  }

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
    await setFaults({});
    await helper.unload();
  });
  afterAll(async () => {
    await sandbox.close();
    temp.remove();
  });

  it('a write-back answered within the grace finishes: the source API is not closed under it', async () => {
    const deployed = flow();
    await helper.load(nodes, deployed);
    const complaints: string[] = [];
    const wb = helper.getNode('wb');
    for (const kind of ['warn', 'error'])
      wb.on(`call:${kind}`, (call: { args: unknown[] }) => complaints.push(`${kind}: ${String(call.args[0])}`));
    await setFaults({ latencyMs: 1000 });
    wb.receive(message());
    await new Promise((resolve) => setTimeout(resolve, 300)); // the call is on its way to the source

    await helper.setFlows(deployed, 'full');

    await setFaults({});
    await new Promise((resolve) => setTimeout(resolve, 1000)); // time for a parked retry to run, had one been parked

    expect(complaints).toEqual([]);
    const store = (helper.getNode('store') as unknown as FinanceStoreNode).store();
    expect(await store.kvList('retry:wb')).toEqual([]);
    const state = await (await fetch(`${sandbox.url}/_sandbox/state`)).json();
    // One call, answered: a cut call would have been parked and sent again by the redeployed node.
    expect(state.counters.requests).toBe(1);
    expect(state.writebacks).toHaveLength(1);
  }, 30_000);

  it('gives a call that never answers only the grace, then closes the client', async () => {
    const silent = createServer(() => undefined); // takes the request, never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as AddressInfo;
    await helper.load(
      [financeSource],
      [{ id: 'src', type: 'finance-source', profile: 'concur', apiBaseUrl: `http://127.0.0.1:${port}` }],
    );
    const client = (helper.getNode('src') as unknown as FinanceSourceNode).api();
    const call = client!.request({ method: 'GET', path: '/anything' }).catch((err: unknown) => err);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(client!.stats().inFlight).toBe(1);

    const startedAt = Date.now();
    await helper.unload();
    silent.closeAllConnections();
    silent.close();

    const closedAfterMs = Date.now() - startedAt;
    expect(closedAfterMs).toBeGreaterThanOrEqual(2500);
    expect(closedAfterMs).toBeLessThan(6000);
    expect(await call).toMatchObject({ message: expect.stringContaining('was closed') });
  }, 30_000);

  it('waits for the nodes that hold a handle on it (useConfigNodes) before it closes the client', async () => {
    await helper.load(
      [financeSource],
      [{ id: 'src', type: 'finance-source', profile: 'concur', apiBaseUrl: 'http://127.0.0.1:9' }],
    );
    const source = helper.getNode('src') as unknown as FinanceSourceNode;
    const handle = source.users.take();
    setTimeout(() => handle.release(), 500);

    const startedAt = Date.now();
    await helper.unload();

    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(450);
    expect(source.users.held).toBe(0);
  });
});
