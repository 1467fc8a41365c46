import * as fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { coreNodes, helper, tempDir } from '../support/node-red';
import financeRetry = require('../../nodes/finance-retry/finance-retry');
import financeStore = require('../../nodes/finance-store/finance-store');
import financeEventIn = require('../../nodes/finance-event-in/finance-event-in');
import financeSource = require('../../nodes/finance-source/finance-source');
import { inboxKey } from '../../lib/reliability/store';
import { observations } from '../../lib/observe/hub';
import type { Observation } from '../../lib/observe/observation';
import { sampleEvent } from '../../lib/sources/sampleEvents';
import type { FinanceStoreNode } from '../../nodes/shared/config-nodes';

const changeNode = require('@node-red/nodes/core/function/15-change.js');
const functionNode = require('@node-red/nodes/core/function/10-function.js');

/**
 * Core `http request` loads `got` with a dynamic import(), which Jest's module sandbox cannot run without
 * --experimental-vm-modules. This evaluates the node's own file with that one import replaced by `got` as
 * Node itself loads it (require of an ES module, Node >= 20.19); everything else is the core node as shipped.
 */
function coreHttpRequest(): unknown {
  const file = require.resolve('@node-red/nodes/core/network/21-httprequest.js');
  const nodeLoader = require('node:module') as { _load(request: string, parent: null, isMain: boolean): unknown };
  const got = nodeLoader._load(require.resolve('got'), null, false);
  const source = fs.readFileSync(file, 'utf8').replace("await import('got')", 'gotModule');
  const module = { exports: {} as unknown };
  const evaluate = new Function('module', 'exports', 'require', '__filename', '__dirname', 'gotModule', source);
  evaluate(module, module.exports, createRequire(file), file, path.dirname(file), got);
  return module.exports;
}

const nodes = [financeRetry, financeStore, coreHttpRequest(), changeNode, functionNode, coreNodes.catch];

type Respond = (req: http.IncomingMessage, res: http.ServerResponse, count: number) => void;

/** What the ERP stand-in does with the n-th request (1-based). */
let respond: Respond = (_req, res) => res.end('ok');
let requests = 0;
const resetConnection: Respond = (req) => req.socket.destroy();

interface Received {
  spy: Record<string, unknown>[];
  done: Record<string, unknown>[];
  gaveUp: Record<string, unknown>[];
  /** Errors the finance-retry node itself reported (done(err) goes through node.error). */
  errors: { code?: string; message?: string }[];
  statuses: { fill?: string; shape?: string; text?: string }[];
}

describe('finance-retry node', () => {
  const temp = tempDir('retry-node');
  let server: http.Server;
  let url: string;
  let storePath: string;
  let storeCount = 0;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      requests += 1;
      respond(req, res, requests);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/erp`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    temp.remove();
  });
  beforeEach(() => {
    requests = 0;
    storePath = path.join(temp.dir, `store-${++storeCount}`);
  });
  afterEach(async () => {
    await helper.unload();
  });

  /**
   * inject -> finance-retry -> change (mutates the message) -> http request -> function (raises an error for an
   * HTTP error status) -> done; Catch(http request, function) -> finance-retry.
   */
  function flow(retrySettings: Record<string, unknown>, options: { store?: boolean } = {}) {
    return [
      { id: 'tab', type: 'tab' },
      { id: 'store', type: 'finance-store', path: storePath },
      {
        id: 'retry',
        z: 'tab',
        type: 'finance-retry',
        store: options.store === false ? '' : 'store',
        retryInitialSeconds: '0.05',
        retryBackoffCoefficient: '1',
        retryMaximumSeconds: '1',
        retryMaximumAttempts: '3',
        ...retrySettings,
        wires: [['spy', 'mutate'], ['gaveUp']],
      },
      {
        id: 'mutate',
        z: 'tab',
        type: 'change',
        rules: [
          { t: 'set', p: 'payload', pt: 'msg', to: 'mutated on the way', tot: 'str' },
          { t: 'set', p: 'mutated', pt: 'msg', to: 'true', tot: 'bool' },
        ],
        wires: [['http']],
      },
      { id: 'http', z: 'tab', type: 'http request', method: 'GET', url, ret: 'txt', senderr: true, wires: [['check']] },
      {
        id: 'check',
        z: 'tab',
        type: 'function',
        // A 501 fails as the pack's nodes fail: with the error's facts in msg.failure (attachFailure).
        func:
          'if (msg.statusCode === 501) msg.failure = { code: "ERP_UNAVAILABLE", message: "HTTP 501", retryable: false, httpStatus: 501, details: { erpBody: "not here" } };\n' +
          'if (msg.statusCode >= 400) { node.error("HTTP " + msg.statusCode, msg); return null; }\nreturn msg;',
        wires: [['done']],
      },
      { id: 'catcher', z: 'tab', type: 'catch', scope: ['http', 'check'], uncaught: false, wires: [['retry']] },
      { id: 'spy', z: 'tab', type: 'helper' },
      { id: 'done', z: 'tab', type: 'helper' },
      { id: 'gaveUp', z: 'tab', type: 'helper' },
    ];
  }

  /** Loads the flow and records what reaches the helper nodes (copied on arrival) and the node's status. */
  async function load(
    retrySettings: Record<string, unknown> = {},
    options: { store?: boolean } = {},
  ): Promise<Received> {
    await helper.load(nodes, flow(retrySettings, options));
    const received: Received = { spy: [], done: [], gaveUp: [], errors: [], statuses: [] };
    for (const name of ['spy', 'done', 'gaveUp'] as const) {
      helper
        .getNode(name)
        .on('input', (msg: Record<string, unknown>) => received[name].push(JSON.parse(JSON.stringify(msg))));
    }
    helper
      .getNode('retry')
      .on('call:error', (call: { args: [Received['errors'][number]] }) => received.errors.push(call.args[0]));
    helper
      .getNode('retry')
      .on('call:status', (call: { args: Received['statuses'] }) => received.statuses.push(call.args[0]));
    return received;
  }

  function parkedRetries(): Promise<{ key: string }[]> {
    return (helper.getNode('store') as FinanceStoreNode).store().kvList('retry:retry');
  }

  it('re-emits the original message, not the one changed on the way, until the call succeeds', async () => {
    respond = (req, res, count) => (count <= 2 ? resetConnection(req, res, count) : res.end('accepted'));
    const received = await load();
    const seen: Observation[] = [];
    const stopWatching = observations.subscribe((observation) => seen.push(observation));
    helper.getNode('retry').receive({ payload: { order: 7 }, topic: 'po' });
    await waitFor(() => received.done.length === 1, 'the successful call');
    stopWatching();
    // The first pass, then each failure parked and re-emitted: re-emissions leave outside any input, and the
    // audit trail and the metrics must still see each one.
    const retryOutcomes = seen.filter((o) => o.kind === 'outcome' && o.node?.type === 'finance-retry');
    expect(retryOutcomes.map((o) => o.output)).toEqual(['retry', 'scheduled', 'retry', 'scheduled', 'retry']);

    expect(requests).toBe(3);
    expect(received.done[0].payload).toBe('accepted');
    expect(received.spy).toHaveLength(3);
    const [first, second, third] = received.spy;
    expect(first).toMatchObject({ payload: { order: 7 }, topic: 'po' });
    expect(first.retry).toBeUndefined();
    for (const [index, again] of [second, third].entries()) {
      expect(again).toMatchObject({ payload: { order: 7 }, topic: 'po', _msgid: first._msgid });
      expect(again.mutated).toBeUndefined();
      expect(again.error).toBeUndefined();
      expect(again.retry).toMatchObject({
        attempt: index + 2,
        lastError: { code: 'ECONNRESET', source: { id: 'http' } },
      });
    }
    expect(received.gaveUp).toEqual([]);
    expect(received.statuses).toContainEqual({ fill: 'yellow', shape: 'ring', text: 'retry 2 in 1s' });
    await waitFor(
      () => received.statuses.some((status) => status.text === 'attempt 3 sent'),
      'the last re-emission status',
    );
    expect(received.statuses).toContainEqual({ fill: 'green', shape: 'dot', text: 'attempt 3 sent' });
    expect(await parkedRetries()).toEqual([]);
  });

  it('sends the original with the last error to "gave up" after the last attempt', async () => {
    respond = resetConnection;
    const received = await load();
    helper.getNode('retry').receive({ payload: { order: 8 } });
    await waitFor(() => received.gaveUp.length === 1, 'giving up');

    expect(requests).toBe(3);
    expect(received.spy).toHaveLength(3);
    const [gaveUp] = received.gaveUp;
    expect(gaveUp).toMatchObject({
      payload: { order: 8 },
      error: { code: 'ECONNRESET' },
      retry: { attempt: 3, lastError: { code: 'ECONNRESET' } },
    });
    expect(gaveUp.mutated).toBeUndefined();
    expect(received.done).toEqual([]);
    await waitFor(() => received.statuses.some((status) => status.fill === 'red'), 'the status');
    expect(received.statuses).toContainEqual({ fill: 'red', shape: 'ring', text: 'gave up after 3' });
  });

  it('gives up at once on a failure that retrying cannot fix (HTTP 404)', async () => {
    respond = (_req, res) => {
      res.writeHead(404);
      res.end('no such thing');
    };
    const received = await load();
    helper.getNode('retry').receive({ payload: { order: 9 } });
    await waitFor(() => received.gaveUp.length === 1, 'giving up');

    expect(requests).toBe(1);
    expect(received.gaveUp[0]).toMatchObject({
      payload: { order: 9 },
      retry: { attempt: 1 },
      error: { message: 'HTTP 404' },
    });
  });

  it('gives up at once on a pack failure its msg.failure calls final, and passes msg.failure on for the dead letters', async () => {
    respond = (_req, res) => {
      res.writeHead(501);
      res.end('not here');
    };
    const received = await load();
    helper.getNode('retry').receive({ payload: { order: 10 } });
    await waitFor(() => received.gaveUp.length === 1, 'giving up');

    expect(requests).toBe(1);
    expect(received.gaveUp[0]).toMatchObject({
      payload: { order: 10 },
      retry: { attempt: 1 },
      failure: { code: 'ERP_UNAVAILABLE', httpStatus: 501, details: { erpBody: 'not here' } },
    });
  });

  it('does not use up attempts on HTTP 429: more 429s than attempts, and the call still goes through', async () => {
    respond = (_req, res, count) => {
      if (count > 4) {
        res.end('accepted');
        return;
      }
      res.writeHead(429, { 'Retry-After': '0' });
      res.end('slow down');
    };
    const received = await load();
    helper.getNode('retry').receive({ payload: { order: 11 } });
    await waitFor(() => received.done.length === 1, 'the successful call');

    expect(requests).toBe(5);
    expect(received.gaveUp).toEqual([]);
    // Re-emitted four times, each still the first attempt: the waits were the ERP's, not failures of the work.
    expect(received.spy.map((msg) => (msg.retry as { attempt?: number } | undefined)?.attempt)).toEqual([
      undefined,
      1,
      1,
      1,
      1,
    ]);
    expect(received.statuses).toContainEqual({ fill: 'yellow', shape: 'ring', text: '429, wait 1s' });
  });

  it('counts 429s as attempts once "Waits on 429" are used up, so a remote throttling for ever ends in "gave up"', async () => {
    respond = (_req, res) => {
      res.writeHead(429, { 'Retry-After': '0' });
      res.end('slow down');
    };
    const received = await load({ retryMaximumThrottledWaits: '1' });
    helper.getNode('retry').receive({ payload: { order: 12 } });
    await waitFor(() => received.gaveUp.length === 1, 'giving up');

    // 1 first call + 1 throttled wait + 2 more attempts (3 in all).
    expect(requests).toBe(4);
    expect(received.gaveUp[0]).toMatchObject({ payload: { order: 12 }, retry: { attempt: 3 } });
  });

  it('waits at least the Retry-After of an HTTP 503 answer', async () => {
    respond = (_req, res) => {
      res.writeHead(503, { 'Retry-After': '120' });
      res.end('maintenance');
    };
    const received = await load();
    const before = Date.now();
    helper.getNode('retry').receive({ payload: { order: 10 } });
    await waitFor(() => received.statuses.some((status) => status.fill === 'yellow'), 'the parked retry');

    const [parked] = await parkedRetries();
    const dueAt = Number(parked.key.split(':')[0]);
    expect(dueAt - before).toBeGreaterThanOrEqual(120_000);
    expect(dueAt - Date.now()).toBeLessThanOrEqual(144_000);
    expect(received.statuses.find((status) => status.fill === 'yellow')?.text).toMatch(/^retry 2 in 1[2-4]\ds$/);
    expect(requests).toBe(1);
  });

  it('fires a retry parked before a redeploy exactly once after it', async () => {
    respond = (req, res, count) => (count === 1 ? resetConnection(req, res, count) : res.end('accepted'));
    const before = await load({ retryInitialSeconds: '1' });
    helper.getNode('retry').receive({ payload: { order: 11 } });
    await waitFor(() => before.statuses.some((status) => status.fill === 'yellow'), 'the parked retry');
    await helper.unload();
    expect(before.done).toEqual([]);

    const after = await load({ retryInitialSeconds: '1' });
    await waitFor(() => after.done.length === 1, 'the retry after the redeploy');
    await waitFor(async () => (await parkedRetries()).length === 0, 'the retry to be completed');
    await new Promise((resolve) => setTimeout(resolve, 600));

    expect(after.done).toHaveLength(1);
    expect(after.spy).toHaveLength(1);
    expect(after.spy[0]).toMatchObject({ payload: { order: 11 }, retry: { attempt: 2 } });
    expect(requests).toBe(2);
  });

  it('holds the inbox entry of an event it parks, so the intake does not emit it again while it waits', async () => {
    respond = (req, res, count) => (count === 1 ? resetConnection(req, res, count) : res.end('accepted'));
    // The retry is due after 2.4 to 3.6 s; the intake's 1 s lease, looked at every second, would run out first.
    const placed = (flowNodes: Array<Record<string, unknown>>) =>
      flowNodes.map((n) => (n.z ? { x: 100, y: 100, ...n } : n));
    await helper.load(
      [...nodes, financeSource, financeEventIn],
      placed([
        ...flow({ retryInitialSeconds: '3', retryMaximumSeconds: '5' }),
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
          wires: [['retry', 'emitted'], []],
        },
        { id: 'emitted', z: 'tab', type: 'helper' },
      ]),
      { src: { secret: 'retry-node-secret' } },
    );
    const sample = sampleEvent({ seed: 11, secret: 'retry-node-secret' });
    const key = inboxKey(String(sample.body.source), String(sample.body.id));
    const store = (helper.getNode('store') as FinanceStoreNode).store();
    const emitted: unknown[] = [];
    const done: unknown[] = [];
    helper.getNode('emitted').on('input', (msg: unknown) => emitted.push(msg));
    helper.getNode('done').on('input', (msg: unknown) => {
      done.push(msg);
      // The rest of a real flow would finish the event here.
      void store.finish(key, { status: 'posted' });
    });
    helper.getNode('in').receive({ payload: sample.rawBody, headers: sample.headers });

    await waitFor(() => done.length === 1, 'the retry');
    expect(requests).toBe(2);
    expect(emitted).toHaveLength(1);
    expect((await store.get(key))?.attempts).toBe(1);
  }, 20_000);

  it('runs each attempt once when two branches fail on one message, and gives up once', async () => {
    // finance-retry -> two function nodes that both fail -> one Catch node -> finance-retry: each failure of a
    // message is reported twice, at the same moment.
    const branch = (id: string) => ({
      id,
      z: 'tab',
      x: 100,
      y: 100,
      type: 'function',
      func:
        `node.send([null, { branch: '${id}', attempt: msg.retry ? msg.retry.attempt : 1, id: msg._msgid }]);\n` +
        `throw new Error('boom ${id}');`,
      outputs: 2,
      wires: [[], ['runs']],
    });
    await helper.load(nodes, [
      { id: 'tab', type: 'tab' },
      { id: 'store', type: 'finance-store', path: storePath },
      {
        id: 'retry',
        z: 'tab',
        x: 100,
        y: 100,
        type: 'finance-retry',
        store: 'store',
        retryInitialSeconds: '0.05',
        retryBackoffCoefficient: '1',
        retryMaximumSeconds: '0.05',
        retryMaximumAttempts: '3',
        wires: [['fa', 'fb'], ['gaveUp']],
      },
      branch('fa'),
      branch('fb'),
      {
        id: 'catcher',
        z: 'tab',
        x: 100,
        y: 100,
        type: 'catch',
        scope: ['fa', 'fb'],
        uncaught: false,
        wires: [['retry']],
      },
      { id: 'runs', z: 'tab', type: 'helper' },
      { id: 'gaveUp', z: 'tab', type: 'helper' },
    ]);
    const runs: { branch: string; attempt: number }[] = [];
    const gaveUp: Record<string, unknown>[] = [];
    helper.getNode('runs').on('input', (msg: { branch: string; attempt: number }) => runs.push(msg));
    helper.getNode('gaveUp').on('input', (msg: Record<string, unknown>) => gaveUp.push(msg));

    helper.getNode('retry').receive({ payload: { order: 21 } });
    await waitFor(() => gaveUp.length >= 1, 'giving up');
    // Time for any duplicated retry to show itself (three more backoffs).
    await new Promise((resolve) => setTimeout(resolve, 600));

    const attemptsOf = (name: string) => runs.filter((run) => run.branch === name).map((run) => run.attempt);
    expect(attemptsOf('fa')).toEqual([1, 2, 3]);
    expect(attemptsOf('fb')).toEqual([1, 2, 3]);
    expect(gaveUp).toHaveLength(1);
    expect(gaveUp[0]).toMatchObject({ payload: { order: 21 }, retry: { attempt: 3 } });
    expect(await parkedRetries()).toEqual([]);
  });

  it('refuses every message with CONFIG_INVALID when no store is selected', async () => {
    const received = await load({}, { store: false });
    helper.getNode('retry').receive({ payload: { order: 12 } });
    await waitFor(() => received.errors.some((error) => typeof error === 'object'), 'the error');
    expect(received.errors[received.errors.length - 1]).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/No store is selected/),
    });
    expect(received.spy).toEqual([]);
    expect(requests).toBe(0);
  });

  it('refuses every message with CONFIG_INVALID naming a wrong dialog value', async () => {
    const received = await load({ retryMaximumAttempts: '0' });
    helper.getNode('retry').receive({ payload: { order: 13 } });
    await waitFor(() => received.errors.some((error) => typeof error === 'object'), 'the error');
    expect(received.errors[received.errors.length - 1]).toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/Attempts must/),
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
