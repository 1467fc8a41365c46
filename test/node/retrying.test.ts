import http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { FinanceError } from '../../lib/errors';
import { retryPolicy } from '../../lib/reliability/retry-policy';
import { coreNodes, helper, tempDir } from '../support/node-red';
import financeErp = require('../../nodes/finance-erp/finance-erp');
import financeStore = require('../../nodes/finance-store/finance-store');
import financeEventIn = require('../../nodes/finance-event-in/finance-event-in');
import financeSource = require('../../nodes/finance-source/finance-source');
import { inboxKey } from '../../lib/reliability/store';
import { sampleEvent } from '../../lib/sources/sampleEvents';
import type { FinanceErpNode, FinanceStoreNode } from '../../nodes/shared/config-nodes';
import { onInputWithRetry, showCircuitState } from '../../nodes/shared/retrying';

/** What the tiny ERP-calling node does on each call, in turn: throw the error, or (undefined) succeed. */
let script: Array<FinanceError | undefined> = [];
/** msg.finance.attempt as each call saw it. */
let calls: number[] = [];

interface TinyDef extends NodeDef {
  store?: string;
  erp?: string;
  attempts: number;
  /** Waits on a 429 that use no attempt (default: the policy's). */
  throttledWaits?: number;
  initialMs: number;
  /** Messages with this topic may not be parked. */
  unparkableTopic?: string;
}

/** A node that calls "the ERP" through onInputWithRetry, as finance-post or finance-budget-check would. */
function tinyErpCall(RED: NodeAPI): void {
  function TinyErpCall(this: Node, def: TinyDef) {
    RED.nodes.createNode(this, def);
    const storeNode = def.store ? (RED.nodes.getNode(def.store) as FinanceStoreNode) : undefined;
    const erpNode = def.erp ? (RED.nodes.getNode(def.erp) as FinanceErpNode) : undefined;
    if (erpNode) showCircuitState(this, erpNode);
    const policy = retryPolicy({
      initialIntervalMs: def.initialMs,
      maximumIntervalMs: Math.max(1000, def.initialMs),
      maximumAttempts: def.attempts,
      ...(def.throttledWaits === undefined ? {} : { maximumThrottledWaits: def.throttledWaits }),
    });
    onInputWithRetry(
      this,
      {
        store: storeNode && (() => storeNode.store()),
        policy,
        pollIntervalMs: 20,
        busyText: 'calling',
        ...(def.unparkableTopic && { parkable: (msg) => msg.topic !== def.unparkableTopic }),
      },
      async (msg, send) => {
        calls.push((msg as { finance?: { attempt?: number } }).finance?.attempt ?? 0);
        const failure = script.shift();
        if (failure) throw failure;
        send(msg);
        return { fill: 'green', shape: 'dot', text: 'called' };
      },
    );
  }
  RED.nodes.registerType('tiny-erp-call', TinyErpCall as never);
}

const unavailable = () => new FinanceError('ERP_UNAVAILABLE', 'ERP answered 503', { retryable: true, httpStatus: 503 });
const circuitOpen = () => new FinanceError('CIRCUIT_OPEN', 'calls are paused', { retryable: true, retryAfterMs: 30 });
const throttled = () =>
  new FinanceError('ERP_RATE_LIMITED', 'ERP answered 429', { retryable: true, httpStatus: 429, retryAfterMs: 10 });
const rejected = () => new FinanceError('ERP_REJECTED', 'ERP answered 422', { retryable: false, httpStatus: 422 });

interface Received {
  out: Record<string, unknown>[];
  caught: Record<string, unknown>[];
  statuses: { fill?: string; shape?: string; text?: string }[];
}

describe('onInputWithRetry', () => {
  const temp = tempDir('retrying');
  let storePath: string;
  let storeCount = 0;

  beforeEach(() => {
    script = [];
    calls = [];
    storePath = path.join(temp.dir, `store-${++storeCount}`);
  });
  afterEach(async () => {
    await helper.unload();
  });
  afterAll(() => temp.remove());

  function flow(
    settings: {
      attempts?: number;
      initialMs?: number;
      store?: boolean;
      unparkableTopic?: string;
      throttledWaits?: number;
    } = {},
  ) {
    return [
      { id: 'tab', type: 'tab' },
      { id: 'store', type: 'finance-store', path: storePath },
      {
        id: 'call',
        z: 'tab',
        type: 'tiny-erp-call',
        store: settings.store === false ? '' : 'store',
        attempts: settings.attempts ?? 3,
        throttledWaits: settings.throttledWaits,
        initialMs: settings.initialMs ?? 20,
        unparkableTopic: settings.unparkableTopic,
        wires: [['out']],
      },
      { id: 'catcher', z: 'tab', type: 'catch', scope: ['call'], uncaught: false, wires: [['caught']] },
      { id: 'out', z: 'tab', type: 'helper' },
      { id: 'caught', z: 'tab', type: 'helper' },
    ];
  }

  async function load(settings: Parameters<typeof flow>[0] = {}): Promise<Received> {
    await helper.load([financeStore, tinyErpCall, coreNodes.catch], flow(settings));
    const received: Received = { out: [], caught: [], statuses: [] };
    helper.getNode('out').on('input', (msg: Record<string, unknown>) => received.out.push(msg));
    helper.getNode('caught').on('input', (msg: Record<string, unknown>) => received.caught.push(msg));
    helper
      .getNode('call')
      .on('call:status', (call: { args: Received['statuses'] }) => received.statuses.push(call.args[0]));
    return received;
  }

  function parkedRetries(): Promise<unknown[]> {
    return (helper.getNode('store') as FinanceStoreNode).store().kvList('retry:call');
  }

  const event = () => ({
    payload: { amount: '12.50' },
    finance: { id: 'evt-1', source: 'test', correlationId: 'c-1' },
  });

  it('parks a message that failed with ERP_UNAVAILABLE, retries it and sends it once when it succeeds', async () => {
    script = [unavailable(), unavailable()];
    const received = await load();
    helper.getNode('call').receive(event());
    await waitFor(() => received.out.length === 1, 'the message to be sent');

    expect(calls).toEqual([0, 2, 3]);
    expect(received.out[0]).toMatchObject({ payload: { amount: '12.50' }, finance: { id: 'evt-1', attempt: 3 } });
    expect(received.caught).toEqual([]);
    expect(received.statuses).toContainEqual({ fill: 'yellow', shape: 'ring', text: 'retry 2 in 1s' });
    expect(received.statuses).toContainEqual({ fill: 'yellow', shape: 'ring', text: 'retry 3 in 1s' });
    await waitFor(() => received.statuses.some((status) => status.text === 'called'), 'the final status');
    expect(received.statuses[received.statuses.length - 1]).toEqual({ fill: 'green', shape: 'dot', text: 'called' });
    // The run that sent the message completes its retry right after.
    await waitFor(async () => (await parkedRetries()).length === 0, 'the retry to be completed');
  });

  it('sends a failure that retrying cannot fix to Catch at once', async () => {
    script = [rejected()];
    const received = await load();
    helper.getNode('call').receive(event());
    await waitFor(() => received.caught.length === 1, 'the error');

    expect(calls).toEqual([0]);
    expect(received.caught[0]).toMatchObject({ error: { code: 'ERP_REJECTED' }, finance: { id: 'evt-1', attempt: 1 } });
    await waitFor(() => received.statuses.some((status) => status.fill === 'red'), 'the error status');
    expect(received.statuses[received.statuses.length - 1]).toEqual({
      fill: 'red',
      shape: 'ring',
      text: 'ERP_REJECTED',
    });
    expect(received.out).toEqual([]);
  });

  it('sends the failure to Catch with the attempt count after the last attempt', async () => {
    script = [unavailable(), unavailable(), unavailable(), unavailable()];
    const received = await load({ attempts: 3 });
    helper.getNode('call').receive(event());
    await waitFor(() => received.caught.length === 1, 'the error');

    expect(calls).toEqual([0, 2, 3]);
    expect(received.caught[0]).toMatchObject({ error: { code: 'ERP_UNAVAILABLE' }, finance: { attempt: 3 } });
    expect(received.out).toEqual([]);
  });

  it('does not use up attempts while the circuit is open: the call was not sent', async () => {
    script = [circuitOpen(), circuitOpen(), circuitOpen()];
    const received = await load({ attempts: 2 });
    helper.getNode('call').receive(event());
    await waitFor(() => received.out.length === 1, 'the message to be sent');

    expect(calls).toEqual([0, 1, 1, 1]);
    expect(received.out[0]).toMatchObject({ finance: { attempt: 1 } });
    expect(received.caught).toEqual([]);
  });

  it('does not use up attempts on 429s: a throttled message is still posted after more 429s than attempts', async () => {
    script = [throttled(), unavailable(), throttled(), throttled(), throttled()];
    const received = await load({ attempts: 2, throttledWaits: 5 });
    helper.getNode('call').receive(event());
    await waitFor(() => received.out.length === 1, 'the message to be sent');

    // Attempt 1 throttled (still 1), 503 (now 2), then three more 429s on the last attempt, then success.
    expect(calls).toEqual([0, 1, 2, 2, 2, 2]);
    expect(received.out[0]).toMatchObject({ finance: { id: 'evt-1', attempt: 2 } });
    expect(received.caught).toEqual([]);
    expect(received.statuses).toContainEqual({ fill: 'yellow', shape: 'ring', text: '429, wait 1s' });
    await waitFor(async () => (await parkedRetries()).length === 0, 'the retry to be completed');
  });

  it('counts 429s as attempts once the throttled waits are used up, so endless throttling ends at Catch', async () => {
    script = Array.from({ length: 10 }, throttled);
    const received = await load({ attempts: 2, throttledWaits: 3 });
    helper.getNode('call').receive(event());
    await waitFor(() => received.caught.length === 1, 'the error');

    // 1 first try + 3 throttled waits + 1 more attempt: 5 calls in all, then the dead letters' Catch.
    expect(calls).toEqual([0, 1, 1, 1, 2]);
    expect(received.caught[0]).toMatchObject({ error: { code: 'ERP_RATE_LIMITED' }, finance: { attempt: 2 } });
    expect(received.out).toEqual([]);
    expect(await parkedRetries()).toEqual([]);
  });

  it('does not use up attempts while another attempt at the same write runs (the ledger sent nothing)', async () => {
    const inFlightElsewhere = () =>
      new FinanceError('ERP_CONFLICT', 'another attempt is writing', { retryable: true, details: { sent: false } });
    script = [inFlightElsewhere(), inFlightElsewhere(), inFlightElsewhere()];
    const received = await load({ attempts: 2 });
    helper.getNode('call').receive(event());
    await waitFor(() => received.out.length === 1, 'the message to be sent');
    expect(calls).toEqual([0, 1, 1, 1]);
    expect(received.caught).toEqual([]);
  });

  it('runs a message parked before a redeploy once after it', async () => {
    script = [unavailable()];
    const before = await load({ initialMs: 800 });
    helper.getNode('call').receive(event());
    await waitFor(() => before.statuses.some((status) => status.fill === 'yellow'), 'the message to be parked');
    await helper.unload();

    const after = await load({ initialMs: 800 });
    await waitFor(() => after.out.length === 1, 'the retry after the redeploy');
    await waitFor(async () => (await parkedRetries()).length === 0, 'the retry to be completed');
    await new Promise((resolve) => setTimeout(resolve, 200));

    expect(calls).toEqual([0, 2]);
    expect(after.out).toHaveLength(1);
    expect(before.out).toEqual([]);
  });

  it('puts the error facts a Catch message lacks in msg.failure', async () => {
    script = [rejected()];
    const received = await load();
    helper.getNode('call').receive(event());
    await waitFor(() => received.caught.length === 1, 'the error');
    const failed = received.caught[0] as { failure?: unknown; error?: unknown };
    expect(failed.failure).toEqual({
      code: 'ERP_REJECTED',
      message: 'ERP answered 422',
      httpStatus: 422,
      retryable: false,
    });

    expect(received.out).toEqual([]);
  });

  it('holds the inbox entry of a parked event, so the intake does not emit it again while it waits', async () => {
    script = [unavailable()];
    // Flow nodes get a position: among more nodes the runtime would otherwise take them for config nodes.
    const placed = (nodes: Array<Record<string, unknown>>) => nodes.map((n) => (n.z ? { x: 100, y: 100, ...n } : n));
    const flowNodes = placed([
      ...flow({ initialMs: 2500, attempts: 3 }),
      { id: 'src', type: 'finance-source', profile: 'cloudevents' },
      {
        id: 'in',
        z: 'tab',
        type: 'finance-event-in',
        source: 'src',
        store: 'store',
        mode: 'input',
        leaseSeconds: 1,
        recoverySeconds: 1,
        wires: [['call', 'emitted'], []],
      },
      { id: 'emitted', z: 'tab', type: 'helper' },
    ]);
    await helper.load([financeSource, financeEventIn, financeStore, tinyErpCall, coreNodes.catch], flowNodes, {
      src: { secret: 'retrying-test-secret' },
    });
    const emitted: unknown[] = [];
    const out: unknown[] = [];
    const sample = sampleEvent({ seed: 7, secret: 'retrying-test-secret' });
    const key = inboxKey(String(sample.body.source), String(sample.body.id));
    const store = (helper.getNode('store') as FinanceStoreNode).store();
    helper.getNode('emitted').on('input', (msg: unknown) => emitted.push(msg));
    helper.getNode('out').on('input', (msg: unknown) => {
      out.push(msg);
      // The rest of the flow finishes the event.
      void store.finish(key, { status: 'posted' });
    });
    helper.getNode('in').receive({ payload: sample.rawBody, headers: sample.headers });

    // The retry is due after about 2.5 s; the 1 s lease would have run out twice by then.
    await waitFor(() => out.length === 1, 'the retry');
    expect(emitted).toHaveLength(1);
    expect(calls).toEqual([1, 2]);
    expect((await store.get(key))?.attempts).toBe(1);
  }, 15_000);

  it('reports at once a message the node says may not be parked, and parks the others', async () => {
    script = [unavailable(), unavailable()];
    const received = await load({ unparkableTopic: 'answer-now' });
    helper.getNode('call').receive({ ...event(), topic: 'answer-now' });
    await waitFor(() => received.caught.length === 1, 'the error');
    expect(received.caught[0]).toMatchObject({ topic: 'answer-now', error: { code: 'ERP_UNAVAILABLE' } });
    expect(await parkedRetries()).toEqual([]);

    helper.getNode('call').receive(event());
    await waitFor(() => received.out.length === 1, 'the retried message');
    expect(calls).toEqual([0, 0, 2]);
    expect(received.caught).toHaveLength(1);
  });

  it('without a store reports a retryable failure at once, as onInput does', async () => {
    script = [unavailable()];
    const received = await load({ store: false });
    helper.getNode('call').receive(event());
    await waitFor(() => received.caught.length === 1, 'the error');

    expect(calls).toEqual([0]);
    expect(received.caught[0]).toMatchObject({ error: { code: 'ERP_UNAVAILABLE' }, finance: { attempt: 1 } });
  });
});

describe('showCircuitState and the finance-erp connection', () => {
  let server: http.Server;
  let url: string;

  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      res.writeHead(503, { 'Content-Type': 'application/json' });
      res.end('{"title":"down for maintenance"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  afterEach(async () => {
    await helper.unload();
  });

  it('shows "circuit open" on the calling node while the connection breaker is open', async () => {
    await helper.load(
      [financeErp, tinyErpCall],
      [
        {
          id: 'erp',
          type: 'finance-erp',
          dialect: 'sandbox',
          baseUrl: url,
          circuitMinimumCalls: '2',
          circuitOpenSeconds: '60',
          retryMaximumAttempts: '4',
        },
        { id: 'call', type: 'tiny-erp-call', erp: 'erp', attempts: 3, initialMs: 20, wires: [[]] },
      ],
    );
    const erpNode = helper.getNode('erp') as FinanceErpNode;
    const statuses: unknown[] = [];
    helper.getNode('call').on('call:status', (call: { args: unknown[] }) => statuses.push(call.args[0]));
    const { client } = await erpNode.connection();
    for (let i = 0; i < 2; i++) {
      await expect(client.request({ method: 'GET', path: '/health' })).rejects.toMatchObject({
        code: 'ERP_UNAVAILABLE',
      });
    }
    await expect(client.request({ method: 'GET', path: '/health' })).rejects.toMatchObject({ code: 'CIRCUIT_OPEN' });

    expect(client.circuitState()).toBe('open');
    await waitFor(() => statuses.length > 0, 'the status');
    expect(statuses).toEqual([{ fill: 'yellow', shape: 'ring', text: 'circuit open' }]);
    expect(erpNode.retryPolicy.maximumAttempts).toBe(4);
  });

  it('makes the connection unusable, naming the field, when a retry setting is wrong', async () => {
    await helper.load(financeErp, [
      { id: 'erp', type: 'finance-erp', dialect: 'sandbox', baseUrl: url, retryBackoffCoefficient: '0' },
    ]);
    const erpNode = helper.getNode('erp') as FinanceErpNode;
    await expect(erpNode.connection()).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/Backoff factor/),
    });
  });
});

/** Polls `condition` every few ms; gives up after 10 s. */
async function waitFor(condition: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const giveUpAt = Date.now() + 10_000;
  while (!(await condition())) {
    if (Date.now() > giveUpAt) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
