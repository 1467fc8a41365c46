/**
 * The finance-metrics node in a real Node-RED runtime: it says once in the log that systems or cost centers were
 * folded into "other", and concurrent snapshots share one count of the dead letters.
 */
import * as path from 'node:path';
import type { Node } from 'node-red';
import { MAX_COST_CENTER_LABELS, MAX_SYSTEM_LABELS } from '../../lib/metrics/labels';
import { metrics } from '../../lib/metrics/registry';
import { observations } from '../../lib/observe/hub';
import type { FinanceStoreNode } from '../../nodes/shared/config-nodes';
import { helper, tempDir } from '../support/node-red';
import financeMetrics = require('../../nodes/finance-metrics/finance-metrics');
import financeStore = require('../../nodes/finance-store/finance-store');

type Msg = Record<string, any>;

const at = { z: 'tab', x: 100, y: 100 };

/** Sends `count` messages into the metrics node at once and resolves with the snapshots it sends. */
function snapshots(count: number): Promise<Msg[]> {
  const received: Msg[] = [];
  return new Promise((resolve) => {
    helper.getNode('out').on('input', (msg: Msg) => {
      received.push(msg.payload);
      if (received.length === count) resolve(received);
    });
    for (let i = 0; i < count; i++) helper.getNode('metrics').receive({ payload: i });
  });
}

function accepted(system: string): void {
  observations.publish({
    kind: 'intake',
    at: new Date().toISOString(),
    node: { type: 'finance-event-in', id: 'in' },
    output: 'accepted',
    system,
    process: 'expense',
  });
}

/** Deploys a metrics node (snapshot only) wired to the helper `out`; resolves with a spy on its warnings. */
async function metricsNodeWarnings() {
  await helper.load(
    [financeMetrics],
    [
      { id: 'tab', type: 'tab' },
      { id: 'metrics', type: 'finance-metrics', ...at, access: 'none', wires: [['out']] },
      { id: 'out', type: 'helper', ...at },
    ],
  );
  return jest.spyOn(helper.getNode('metrics') as Node, 'warn');
}

describe('finance-metrics node', () => {
  const temp = tempDir('metrics-node');
  afterEach(async () => {
    await helper.unload();
  });
  afterAll(() => temp.remove());

  it('warns once, naming the limit, when later systems are counted as "other"', async () => {
    const warn = await metricsNodeWarnings();
    await snapshots(1);
    expect(warn).not.toHaveBeenCalled();

    for (let i = 0; i <= MAX_SYSTEM_LABELS; i++) accepted(`/tenants/acme/reports/${i}`);
    const [first] = await snapshots(2);
    expect(first!.processes.some((p: Msg) => p.system === 'other')).toBe(true);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn.mock.calls[0]![0]).toContain(`More than ${MAX_SYSTEM_LABELS} systems`);
  });

  it('warns once when later cost centers are counted as "other"', async () => {
    const warn = await metricsNodeWarnings();
    const costCenterWarnings = (): unknown[] =>
      warn.mock.calls.filter(([text]) => String(text).includes('cost centers have spend figures'));
    await snapshots(1);
    expect(costCenterWarnings()).toHaveLength(0);

    // The spend figures of an ERP label their cost centers through the registry, as a scrape does.
    for (let i = 0; i <= MAX_COST_CENTER_LABELS; i++) metrics.costCenterLabel(`CC-${i}`);
    expect(metrics.costCenterLabel(`CC-${MAX_COST_CENTER_LABELS}`)).toBe('other');
    await snapshots(2);
    expect(costCenterWarnings()).toHaveLength(1);
    expect(String(costCenterWarnings()[0])).toContain(`More than ${MAX_COST_CENTER_LABELS} cost centers`);
  });

  it('shares one count of the dead letters among concurrent snapshots', async () => {
    await helper.load(
      [financeStore, financeMetrics],
      [
        { id: 'tab', type: 'tab' },
        { id: 'store', type: 'finance-store', path: path.join(temp.dir, 'store') },
        { id: 'metrics', type: 'finance-metrics', ...at, access: 'none', store: 'store', wires: [['out']] },
        { id: 'out', type: 'helper', ...at },
      ],
    );
    const store = (helper.getNode('store') as FinanceStoreNode).store();
    await store.kvPut('dlq', 'letter:1', {
      letter: { id: 'l1', status: 'open', source: 'concur:acme', docType: 'ExpenseReport' },
      naturalKeys: [],
    });
    const kvList = jest.spyOn(store, 'kvList');

    const received = await snapshots(3);
    // The system label is left out: the registry is the runtime's, and another test may have filled it.
    expect(received.map((snapshot) => snapshot.deadLetters)).toEqual(
      Array(3).fill([expect.objectContaining({ process: 'expense', open: 1 })]),
    );
    expect(kvList).toHaveBeenCalledTimes(1);
  });
});
