import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { connect } from 'mqtt';
import { MasterDataCache } from '../../lib/masterdata';
import type { FinanceStore } from '../../lib/reliability/store';
import { startSandbox, type SandboxHandle } from '../../lib/sandbox/server';
import { coreNodes, helper, tempDir } from '../support/node-red';
import { waitFor } from '../support/processes';
import financeErp = require('../../nodes/finance-erp/finance-erp');
import financeMasterData = require('../../nodes/finance-master-data/finance-master-data');
import financeStore = require('../../nodes/finance-store/finance-store');
import { patchMasterRecord } from '../support/sandbox-api';

type Msg = Record<string, any>;
type Red = Parameters<typeof financeMasterData>[0];

const LOCALE = JSON.parse(
  fs.readFileSync(
    path.join(__dirname, '../../nodes/finance-master-data/locales/en-US/finance-master-data.json'),
    'utf8',
  ),
) as Msg;

/** The test helper's RED._ returns the key; this one answers from the node's catalogue as Node-RED does. */
function translate(key: string, values: Record<string, string> = {}): string {
  const text = key.split('.').reduce<unknown>((entry, part) => (entry as Msg | undefined)?.[part], LOCALE);
  return typeof text === 'string' ? text.replace(/__(\w+)__/g, (_m, name: string) => String(values[name])) : key;
}

function financeMasterDataInEnglish(RED: Red): void {
  (RED as { _: unknown })._ = translate;
  financeMasterData(RED);
}

const nodes = [financeErp, financeStore, financeMasterDataInEnglish, coreNodes.catch];

describe('finance-master-data node against the sandbox ERP', () => {
  let sandbox: SandboxHandle;
  const temp = tempDir('master-data-node');
  let storeCount = 0;

  function flow(extra: Msg[] = [], sync: Msg = {}): Msg[] {
    return [
      { id: 'tab', type: 'tab' },
      { id: 'erp', type: 'finance-erp', z: 'tab', dialect: 'sandbox', baseUrl: sandbox.url, company: 'FS-DEMO' },
      { id: 'store', type: 'finance-store', path: `${temp.dir}/store-${++storeCount}` },
      {
        id: 'syncer',
        type: 'finance-master-data',
        z: 'tab',
        mode: 'sync',
        store: 'store',
        erp: 'erp',
        cache: 'demo',
        intervalMinutes: 0,
        pageSize: 7,
        wires: [['changes'], ['summary']],
        ...sync,
      },
      {
        id: 'enricher',
        type: 'finance-master-data',
        z: 'tab',
        mode: 'enrich',
        store: 'store',
        cache: 'demo',
        wires: [['enriched'], ['notFound']],
      },
      { id: 'changes', type: 'helper', z: 'tab' },
      { id: 'summary', type: 'helper', z: 'tab' },
      { id: 'enriched', type: 'helper', z: 'tab' },
      { id: 'notFound', type: 'helper', z: 'tab' },
      { id: 'catcher', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
      { id: 'caught', type: 'helper', z: 'tab' },
      ...extra,
    ];
  }

  function collect(id: string): Msg[] {
    const seen: Msg[] = [];
    helper.getNode(id).on('input', (msg: Msg) => seen.push(msg));
    return seen;
  }

  function next(ids: string[]): Promise<{ on: string; msg: Msg }> {
    return new Promise((resolve) => {
      const listeners = ids.map((id) => {
        const node = helper.getNode(id);
        const listener = (msg: Msg) => {
          for (const [each, added] of listeners) each.removeListener('input', added);
          resolve({ on: id, msg });
        };
        node.on('input', listener);
        return [node, listener] as const;
      });
    });
  }

  async function syncNow(request: Msg = {}) {
    const done = next(['summary', 'caught']);
    helper.getNode('syncer').receive(request);
    return done;
  }

  async function enrichNow(payload: unknown) {
    const done = next(['enriched', 'notFound', 'caught']);
    helper.getNode('enricher').receive({ payload });
    return done;
  }

  const patch = (kind: string, id: string, body: object) => patchMasterRecord(sandbox.url, kind, id, body);

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

  it('syncs on demand: one change message per record, then a delta with only the changed record', async () => {
    await helper.load(nodes, flow());
    const changes = collect('changes');
    const { on, msg } = await syncNow({ sync: 'full' });
    expect(on).toBe('summary');
    expect(msg.payload).toMatchObject({ mode: 'full', failures: [] });
    expect(msg.payload.kinds.map((kind: Msg) => [kind.kind, kind.created])).toEqual([
      ['employees', 25],
      ['suppliers', 10],
      ['costCenters', 6],
      ['projects', 4],
      ['glAccounts', 12],
      ['taxCodes', 10],
    ]);
    expect(changes).toHaveLength(67);
    expect(changes[0]).toMatchObject({ topic: 'employees/E1001', payload: { kind: 'employees', change: 'created' } });

    changes.length = 0;
    await patch('suppliers', 'SUP-1002', { status: 'blocked' });
    const delta = await syncNow();
    expect(delta.msg.payload.kinds.every((kind: Msg) => kind.mode === 'delta')).toBe(true);
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({
      topic: 'suppliers/SUP-1002',
      payload: { change: 'updated', before: { status: 'active' }, after: { status: 'blocked' } },
    });
  });

  it('enriches from the cache: hits leave on output 1, unknown references on "not found"', async () => {
    await helper.load(nodes, flow());
    // Before any sync the cache is empty: a retryable failure, not a flood of "not found".
    const early = await enrichNow({ employeeId: 'E1012' });
    expect(early).toMatchObject({ on: 'caught', msg: { error: { code: 'STORE_UNAVAILABLE' } } });

    await syncNow({ sync: 'full' });
    const report = {
      docType: 'ExpenseReport',
      employeeId: 'E1012',
      lines: [{ lineId: 'L1', dimensions: { costCenter: 'CC-200', project: 'PRJ-1907', glAccount: '6010' } }],
    };
    const hit = await enrichNow(report);
    expect(hit.on).toBe('enriched');
    expect(hit.msg.payload).toEqual(report);
    expect(hit.msg.masterData.employee.managerChain.map((manager: Msg) => manager.id)).toEqual([
      'E1013',
      'E1004',
      'E1001',
    ]);
    expect(hit.msg.masterData.costCenters['CC-200'].owner).toMatchObject({ id: expect.any(String) });
    expect(hit.msg.masterData.projects['PRJ-1907']).toMatchObject({ status: 'closed' });

    const miss = await enrichNow({ requesterId: 'E1012', supplierId: 'SUP-9999' });
    expect(miss.on).toBe('notFound');
    expect(miss.msg.notFound).toEqual([
      expect.objectContaining({ kind: 'suppliers', id: 'SUP-9999', path: '/supplierId' }),
    ]);
    expect(miss.msg.masterData.employee.id).toBe('E1012');
  });

  it('on a schedule, of two nodes sharing the store and cache only the lease holder syncs, promising an hour of freshness', async () => {
    const second = {
      id: 'syncer2',
      type: 'finance-master-data',
      z: 'tab',
      mode: 'sync',
      store: 'store',
      erp: 'erp',
      cache: 'demo',
      intervalMinutes: 1,
      syncOnStart: true,
      wires: [['changes'], ['summary']],
    };
    await helper.load(nodes, flow([second], { intervalMinutes: 1, syncOnStart: true }));
    const statuses: Record<string, Msg[]> = { syncer: [], syncer2: [] };
    for (const id of ['syncer', 'syncer2']) {
      helper.getNode(id).on('call:status', (call: { args: [Msg] }) => statuses[id].push(call.args[0]));
    }
    const changes = collect('changes');
    const { msg } = await next(['summary', 'caught']);
    expect(msg).toMatchObject({ topic: 'sync', payload: { failures: [] } });
    // Both tick about 1 s after start: wait until each has shown what its tick did.
    const ticked = (seen: Msg[]) => seen.some((status) => status.text === 'standby' || status.fill === 'green');
    await waitFor('both nodes to tick', async () => (ticked(statuses.syncer) && ticked(statuses.syncer2)) || undefined);
    const standby = Object.entries(statuses).filter(([, seen]) => seen.some((status) => status.text === 'standby'));
    expect(standby).toHaveLength(1);
    expect(changes).toHaveLength(67);
    // Every minute, so the copy counts as fresh for the minimum of an hour (lib/masterdata/settings.ts).
    const store = (helper.getNode('store') as unknown as { store(): FinanceStore }).store();
    const state = await new MasterDataCache(store, 'demo').state('employees');
    expect(Date.parse(state.freshUntil!) - Date.parse(state.syncedAt!)).toBe(3_600_000);
  });

  it('publishes every record retained under its topic when Publish is ticked (Mosquitto on 127.0.0.1:1883)', async () => {
    const prefix = `test/finance-md-node/${randomUUID()}`;
    await helper.load(nodes, flow([], { publish: true, brokerUrl: 'mqtt://127.0.0.1:1883', topicPrefix: prefix }));
    const { on } = await syncNow({ sync: 'full', kinds: ['projects', 'suppliers'] });
    expect(on).toBe('summary');

    const client = connect('mqtt://127.0.0.1:1883', { clientId: `finance-md-node-test-${randomUUID()}` });
    const retained = new Map<string, Msg>();
    client.on('message', (topic, payload, packet) => {
      if (packet.retain && payload.length > 0) retained.set(topic, JSON.parse(payload.toString()) as Msg);
    });
    try {
      await client.subscribeAsync(`${prefix}/#`, { qos: 1 });
      await waitFor('the retained records', async () => (retained.size === 14 ? true : undefined));
      expect(retained.get(`${prefix}/projects/PRJ-1907`)).toMatchObject({ id: 'PRJ-1907', status: 'closed' });
      expect(retained.get(`${prefix}/suppliers/SUP-1009`)).toMatchObject({ status: 'blocked' });
    } finally {
      // Clear what this run left on the broker.
      for (const topic of retained.keys()) await client.publishAsync(topic, '', { qos: 1, retain: true });
      await client.endAsync();
    }
  });

  it('refuses a dialog without a store, naming it', async () => {
    await helper.load(nodes, flow([], { store: '' }));
    const caught = await syncNow({ sync: 'full' });
    expect(caught).toMatchObject({ on: 'caught', msg: { error: { code: 'CONFIG_INVALID' } } });
    expect(caught.msg.error.message).toMatch(/finance store/);
  });
});
