import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { randomUUID } from 'node:crypto';
import express from 'express';
import { connectAsync, type MqttClient } from 'mqtt';
import { coreNodes, helper, tempDir } from '../support/node-red';
import financeEventIn = require('../../nodes/finance-event-in/finance-event-in');
import financeSource = require('../../nodes/finance-source/finance-source');
import financeStore = require('../../nodes/finance-store/finance-store');
import type { FinanceStoreNode } from '../../nodes/shared/config-nodes';
import { POLL_STATE_NAMESPACE } from '../../lib/intake/polling';
import { DEFAULT_MAX_IN_FLIGHT } from '../../lib/intake/in-flight';
import { inboxKey, openStore } from '../../lib/reliability/store';
import { nodeIdOfOwner } from '../../lib/reliability/store-keys';
import { coupaStoreOf } from '../../lib/sandbox/coupa';
import { startSandbox, type SandboxHandle } from '../../lib/sandbox/server';
import { sampleEvent } from '../../lib/sources/sampleEvents';
import { signPayload } from '../../lib/sources/signatures';
import { freePort } from '../support/processes';

const SECRET = 'event-in-test-secret';
const BROKER = 'mqtt://127.0.0.1:1883';
/** Every MQTT topic and client id of this run is unique, so runs never see each other's messages or sessions. */
const RUN = randomUUID().slice(0, 8);

/**
 * Serves RED.httpNode, the app core `http in` routes live on, the way Node-RED does with its default settings:
 * mounted on one root app behind the editor's admin app, whose JSON and urlencoded body parsers see every request
 * first (so a request the node's raw-body capture misses arrives parsed, its signed bytes gone).
 */
let httpNode: http.RequestListener | undefined;
const captureHttpNode = (RED: { httpNode: express.Express }) => {
  const admin = express();
  admin.use(express.json(), express.urlencoded({ extended: true }));
  const root = express();
  root.use('/', admin);
  root.use('/', RED.httpNode);
  httpNode = root;
};
const NODES = [financeSource, financeStore, financeEventIn, captureHttpNode, coreNodes.catch, coreNodes.complete];

interface Collector {
  messages: any[];
  /** Resolves once `count` messages have arrived. */
  waitFor(count: number): Promise<any[]>;
}

function collect(id: string): Collector {
  const messages: any[] = [];
  const waiting: Array<{ count: number; resolve: (messages: any[]) => void }> = [];
  helper.getNode(id).on('input', (msg: any) => {
    messages.push(msg);
    for (const waiter of waiting.filter((entry) => messages.length >= entry.count)) {
      waiting.splice(waiting.indexOf(waiter), 1);
      waiter.resolve(messages);
    }
  });
  return {
    messages,
    waitFor: (count) =>
      messages.length >= count ? Promise.resolve(messages) : new Promise((resolve) => waiting.push({ count, resolve })),
  };
}

/** Resolves with the first status of node `id` that matches, whether it was shown already or is still to come. */
function statusMatching(id: string, predicate: (status: any) => boolean): Promise<any> {
  const node = helper.getNode(id);
  const shown = (node.status as any)
    .getCalls()
    .find((call: { thisValue: unknown; args: any[] }) => call.thisValue === node && predicate(call.args[0]));
  if (shown) return Promise.resolve(shown.args[0]);
  return new Promise((resolve) => {
    const listener = (call: { args: any[] }) => {
      if (!predicate(call.args[0])) return;
      node.removeListener('call:status', listener);
      resolve(call.args[0]);
    };
    node.on('call:status', listener);
  });
}

describe('finance-event-in', () => {
  const temp = tempDir('event-in');
  let server: http.Server;
  let baseUrl: string;
  let storeCount = 0;
  let storePath: string;

  beforeAll(async () => {
    server = http.createServer((request, response) => httpNode!(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    storePath = path.join(temp.dir, `store-${++storeCount}`);
  });
  afterEach(async () => {
    await helper.unload();
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    temp.remove();
  });

  function flow(eventIn: Record<string, unknown>, store: Record<string, unknown> = {}) {
    return [
      { id: 'tab', type: 'tab' },
      { id: 'src', type: 'finance-source', profile: 'cloudevents' },
      { id: 'store', type: 'finance-store', path: storePath, ...store },
      {
        id: 'in',
        z: 'tab',
        type: 'finance-event-in',
        source: 'src',
        store: 'store',
        wires: [['accepted'], ['rejected']],
        ...eventIn,
      },
      { id: 'accepted', z: 'tab', type: 'helper' },
      { id: 'rejected', z: 'tab', type: 'helper' },
      { id: 'on-error', z: 'tab', type: 'catch', scope: ['in'], wires: [['caught']] },
      { id: 'caught', z: 'tab', type: 'helper' },
      { id: 'on-complete', z: 'tab', type: 'complete', scope: ['in'], wires: [['completed']] },
      { id: 'completed', z: 'tab', type: 'helper' },
    ];
  }
  const credentials = { src: { secret: SECRET } };
  const store = () => (helper.getNode('store') as FinanceStoreNode).store();
  const signed = (seed: number, secret = SECRET) => sampleEvent({ seed, secret });

  async function fillInbox(count: number): Promise<void> {
    for (let i = 0; i < count; i += 1)
      await store().accept({ key: `fill-${i}`, envelope: { id: `fill-${i}` }, payload: null });
  }

  describe('http mode', () => {
    const post = (body: Buffer | string, headers: Record<string, string> = {}) =>
      fetch(`${baseUrl}/finance/events`, { method: 'POST', body: new Uint8Array(Buffer.from(body)), headers });

    async function load(eventIn: Record<string, unknown> = {}, storeSettings: Record<string, unknown> = {}) {
      await helper.load(NODES, flow({ mode: 'http', path: '/finance/events', ...eventIn }, storeSettings), credentials);
      return { accepted: collect('accepted'), rejected: collect('rejected') };
    }

    it('answers 202 after the commit, leases the event and emits it once', async () => {
      const { accepted } = await load();
      const event = signed(1);
      const shown = statusMatching('in', (status) => status.text === 'accepted 1');
      const response = await post(event.rawBody, event.headers);
      expect(response.status).toBe(202);
      const answer = await response.json();
      expect(answer).toEqual({ status: 'accepted', id: 'evt-ER-000001-1', correlationId: expect.any(String) });

      const [msg] = await accepted.waitFor(1);
      expect(msg.payload).toEqual(event.expected);
      expect(msg.finance).toMatchObject({
        id: 'evt-ER-000001-1',
        source: 'urn:finance-sync:samples',
        docId: 'ER-000001',
        attempt: 1,
      });
      expect(msg.finance.correlationId).toBe(answer.correlationId);
      expect(Object.keys(msg).sort()).toEqual(['_msgid', 'finance', 'payload']);
      const entry = await store().get(inboxKey('urn:finance-sync:samples', 'evt-ER-000001-1'));
      expect(entry).toMatchObject({
        state: 'open',
        leaseOwner: expect.stringMatching(/^in@/),
        attempts: 1,
        payload: event.expected,
      });
      expect(await shown).toEqual({ fill: 'green', shape: 'dot', text: 'accepted 1' });
    });

    it('answers a duplicate delivery 200 with the first outcome and does not emit it again', async () => {
      const { accepted } = await load();
      const event = signed(2);
      expect((await post(event.rawBody, event.headers)).status).toBe(202);
      const duplicate = await post(event.rawBody, { ...event.headers, 'X-Correlation-Id': 'second-try' });
      expect(duplicate.status).toBe(200);
      const body = await duplicate.json();
      expect(body).toMatchObject({ status: 'duplicate', id: 'evt-ER-000002-1', outcome: { status: 'accepted' } });
      expect(body.correlationId).not.toBe('second-try');

      await store().finish(inboxKey('urn:finance-sync:samples', 'evt-ER-000002-1'), { status: 'posted' });
      expect(await (await post(event.rawBody, event.headers)).json()).toMatchObject({ outcome: { status: 'posted' } });

      const next = signed(3);
      expect((await post(next.rawBody, next.headers)).status).toBe(202);
      const messages = await accepted.waitFor(2);
      expect(messages.map((msg) => msg.finance.id)).toEqual(['evt-ER-000002-1', 'evt-ER-000003-1']);
    });

    it('answers 400 problem+json naming the field, stores nothing and sends the refusal to output 2', async () => {
      const { rejected } = await load();
      const raw = Buffer.from(JSON.stringify({ ...signed(4).body, id: 42 }));
      // Signed after the change, the way the sender would.
      const response = await post(raw, signPayload('generic', raw, SECRET));
      expect(response.status).toBe(400);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      const problem = await response.json();
      expect(problem).toMatchObject({ status: 400, code: 'SCHEMA_INVALID', errors: [{ path: '/id' }] });
      const [msg] = await rejected.waitFor(1);
      expect(msg).toMatchObject({ problem, statusCode: 400, payload: raw.toString() });
      expect(await store().countOpen()).toBe(0);
    });

    it('answers 400 for malformed JSON and for __proto__ keys', async () => {
      await load();
      for (const text of ['{"specversion": "1.0"', '{"__proto__": {"polluted": true}}']) {
        const response = await post(text, signPayload('generic', Buffer.from(text), SECRET));
        expect(response.status).toBe(400);
        expect((await response.json()).code).toBe('SCHEMA_INVALID');
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(await store().countOpen()).toBe(0);
    });

    it('answers 401 to a forged or missing signature, without a secret in the answer or the status', async () => {
      const { rejected } = await load();
      const forged = signed(5, 'not-the-secret');
      const shown = statusMatching('in', (status) => status.fill === 'red');
      const response = await post(forged.rawBody, forged.headers);
      expect(response.status).toBe(401);
      const problem = await response.text();
      expect(problem).toMatch(/SIGNATURE_INVALID/);
      expect(problem).not.toContain(SECRET);
      expect(await shown).toEqual({ fill: 'red', shape: 'ring', text: 'SIGNATURE_INVALID' });
      expect((await post(forged.rawBody, { 'Content-Type': 'application/json' })).status).toBe(401);
      await rejected.waitFor(2);
      expect(await store().countOpen()).toBe(0);
    });

    it('answers 413 to a body over the limit', async () => {
      const { rejected } = await load({ maxBytes: 1024 });
      const response = await post(Buffer.alloc(4096, 0x20), { 'Content-Type': 'application/json' });
      expect(response.status).toBe(413);
      expect(await response.json()).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', status: 413 });
      const [msg] = await rejected.waitFor(1);
      expect(msg).not.toHaveProperty('payload');
      expect(await store().countOpen()).toBe(0);
    });

    it('answers 503 with Retry-After when the inbox is full', async () => {
      await load({}, { maxInboxEntries: 10 });
      await fillInbox(10);
      const event = signed(6);
      const response = await post(event.rawBody, event.headers);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('30');
      expect(await response.json()).toMatchObject({ code: 'STORE_FULL', status: 503 });
      expect(await store().countOpen()).toBe(10);
    });

    it('answers 503 when the store cannot be opened', async () => {
      const notADirectory = path.join(temp.dir, `file-${storeCount}`);
      fs.writeFileSync(notADirectory, 'x');
      storePath = notADirectory;
      await load();
      const event = signed(7);
      const response = await post(event.rawBody, event.headers);
      expect(response.status).toBe(503);
      expect(response.headers.get('retry-after')).toBe('5');
      const problem = await response.json();
      expect(problem.code).toBe('STORE_UNAVAILABLE');
      expect(JSON.stringify(problem)).not.toContain(temp.dir);
    });

    /** A redeploy, a reload or a stop closes the node without removing it; a sender must hear "come back". */
    async function expectClosingAnswer(response: Response): Promise<void> {
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.headers.get('retry-after')).toBe('5');
      expect(await response.json()).toMatchObject({
        status: 503,
        code: 'STORE_UNAVAILABLE',
        detail: expect.stringContaining('being redeployed or stopped'),
      });
    }

    it('keeps answering 503 with Retry-After after its route closed, never 404, until a deploy takes it over', async () => {
      await load();
      const event = signed(8);
      await helper.unload();
      // Between the old route and the new one (a full or reload deploy): Express alone would answer 404 text/html,
      // which Concur does not retry.
      await expectClosingAnswer(await post(event.rawBody, event.headers));
      await expectClosingAnswer(await post(event.rawBody, { ...event.headers, 'Content-Type': 'application/json' }));

      await load();
      expect((await post(event.rawBody, event.headers)).status).toBe(202);
    });

    it('frees its path (Express answers 404) once the node is deleted', async () => {
      await load();
      const event = signed(9);
      await helper.setFlows(
        flow({ mode: 'http', path: '/finance/events' }).filter((node) => node.id !== 'in'),
        'full',
        credentials,
      );
      const response = await post(event.rawBody, event.headers);
      expect(response.status).toBe(404);
      expect(response.headers.get('content-type')).not.toBe('application/problem+json');
    });

    it('forgets its old path when a redeploy gives it another one', async () => {
      await load({ path: '/finance/old-events' });
      await helper.unload();
      await load({ path: '/finance/events' });
      const event = signed(10);
      const old = await fetch(`${baseUrl}/finance/old-events`, {
        method: 'POST',
        body: new Uint8Array(event.rawBody),
        headers: event.headers,
      });
      expect(old.status).toBe(404);
    });

    it('leaves a request target that is no URL (POST //[) to Express: no 500, no stack trace', async () => {
      await load();
      const { port } = new URL(baseUrl);
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), '127.0.0.1', () =>
          // write, not end: a half-closed client may get no answer at all, which would prove nothing.
          socket.write('POST //[ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}'),
        );
        let text = '';
        socket.on('data', (chunk) => (text += chunk.toString('latin1')));
        socket.on('end', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer.split('\r\n')[0]).toBe('HTTP/1.1 404 Not Found');
      expect(answer).not.toContain('TypeError');
    });

    it('answers a path in other letter case or with a trailing slash like Express routes it: the same endpoint', async () => {
      const { accepted } = await load();
      const errors = () => (helper.getNode('in').error as any).getCalls().map((call: { args: any[] }) => call.args[0]);
      for (const [index, path] of ['/FINANCE/Events', '/finance/events/', '/Finance/Events/?x=1'].entries()) {
        const event = signed(60 + index);
        for (const contentType of ['application/json', 'application/x-www-form-urlencoded', 'text/plain']) {
          const response = await fetch(`${baseUrl}${path}`, {
            method: 'POST',
            body: new Uint8Array(event.rawBody),
            headers: { ...event.headers, 'Content-Type': contentType },
          });
          expect([path, contentType, response.status]).toEqual([
            path,
            contentType,
            contentType === 'application/json' ? 202 : 200,
          ]);
        }
      }
      expect(accepted.messages).toHaveLength(3);
      expect(errors()).toEqual([]);
    });
  });

  describe('http mode on a port of its own', () => {
    it("answers on its own server as on Node-RED's, and frees the port on close", async () => {
      const port = await freePort();
      await helper.load(NODES, flow({ mode: 'http', path: '/own/events', listenPort: String(port) }), credentials);
      const accepted = collect('accepted');
      const event = signed(21);
      const url = `http://127.0.0.1:${port}/own/events`;
      const first = await fetch(url, { method: 'POST', body: new Uint8Array(event.rawBody), headers: event.headers });
      expect(first.status).toBe(202);
      const [msg] = await accepted.waitFor(1);
      expect(msg.payload).toEqual(event.expected);
      const again = await fetch(url, { method: 'POST', body: new Uint8Array(event.rawBody), headers: event.headers });
      expect(again.status).toBe(200);
      expect(await again.json()).toMatchObject({ status: 'duplicate' });
      const forged = await fetch(url, { method: 'POST', body: new Uint8Array(event.rawBody), headers: {} });
      expect(forged.status).toBe(401);
      // Not on Node-RED's server.
      expect((await fetch(`${baseUrl}/own/events`, { method: 'POST', body: 'x' })).status).toBe(404);

      // Stopped (a redeploy or reload closes it the same way): the port stays open and answers "come back".
      await helper.unload();
      const closed = await fetch(url, { method: 'POST', body: new Uint8Array(event.rawBody), headers: event.headers });
      expect(closed.status).toBe(503);
      expect(closed.headers.get('retry-after')).toBe('5');
      expect(await closed.json()).toMatchObject({ code: 'STORE_UNAVAILABLE', detail: expect.any(String) });

      // The next deploy takes the same server over; deleting the node frees the port.
      await helper.load(NODES, flow({ mode: 'http', path: '/own/events', listenPort: String(port) }), credentials);
      const second = signed(22);
      const reopened = await fetch(url, {
        method: 'POST',
        body: new Uint8Array(second.rawBody),
        headers: second.headers,
      });
      expect(reopened.status).toBe(202);
      await helper.setFlows(
        flow({ mode: 'http', path: '/own/events', listenPort: String(port) }).filter((node) => node.id !== 'in'),
        'full',
        credentials,
      );
      await expect(fetch(url, { method: 'POST', body: 'x' })).rejects.toThrow();
    });

    it('frees the port when a redeploy moves the node to another mode', async () => {
      const port = await freePort();
      await helper.load(NODES, flow({ mode: 'http', path: '/own/events', listenPort: String(port) }), credentials);
      await helper.unload();
      await helper.load(NODES, flow({ mode: 'input' }), credentials);
      await expect(fetch(`http://127.0.0.1:${port}/own/events`, { method: 'POST', body: 'x' })).rejects.toThrow();
    });

    it('turns red and reports the reason when the port is taken', async () => {
      const other = net.createServer();
      await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
      const { port } = other.address() as AddressInfo;
      try {
        await helper.load(NODES, flow({ mode: 'http', path: '/own/events', listenPort: String(port) }), credentials);
        const shown = await statusMatching('in', (status) => status.fill === 'red');
        expect(shown).toEqual({ fill: 'red', shape: 'ring', text: `port ${port} unusable` });
        const errors = (helper.getNode('in').error as any).getCalls().map((call: { args: any[] }) => call.args[0]);
        expect(errors.join('\n')).toContain(`port ${port} on 127.0.0.1 is already in use`);
      } finally {
        await new Promise((resolve) => other.close(resolve));
      }
    });
  });

  describe('recovery of unfinished events', () => {
    const post = (event: { rawBody: Buffer; headers: Record<string, string> }) =>
      fetch(`${baseUrl}/finance/events`, {
        method: 'POST',
        body: new Uint8Array(event.rawBody),
        headers: event.headers,
      });
    /** A short lease and frequent passes, so leases run out within the test. */
    const quick = { mode: 'http', path: '/finance/events', leaseSeconds: 1, recoverySeconds: 1 };
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const keyOf = (msg: any) => inboxKey(msg.finance.source, msg.finance.id);

    it('emits again, once each, the events nothing downstream finished before their lease ran out', async () => {
      // The helper on output 1 swallows messages: a downstream that lost them (a dropped wire, a crash).
      await helper.load(NODES, flow(quick), credentials);
      const accepted = collect('accepted');
      // The re-run finishes each event, as the rest of a flow would.
      helper.getNode('accepted').on('input', (msg: any) => {
        if (msg.finance.attempt === 2) void store().finish(keyOf(msg), { status: 'posted' });
      });
      const events = [signed(40), signed(41), signed(42)];
      for (const event of events) expect((await post(event)).status).toBe(202);

      const messages = await accepted.waitFor(6);
      await pause(2500);
      expect(accepted.messages).toHaveLength(6);
      for (const event of events) {
        const deliveries = messages.filter((msg) => msg.finance.id === event.body.id);
        expect(deliveries.map((msg) => msg.finance.attempt)).toEqual([1, 2]);
        expect(deliveries[1].payload).toEqual(event.expected);
        expect(deliveries[1].finance).toEqual({ ...deliveries[0].finance, attempt: 2 });
        expect(deliveries[1]._msgid).not.toBe(deliveries[0]._msgid);
      }
      expect(await store().countOpen()).toBe(0);
    });

    it('after a restart (a crash, a kill -9), emits at once what the last run left unfinished', async () => {
      // Passes once a minute: only the pass at start can emit within this test.
      const settings = { ...quick, recoverySeconds: 60 };
      await helper.load(NODES, flow(settings), credentials);
      const before = collect('accepted');
      expect((await post(signed(43))).status).toBe(202);
      await before.waitFor(1);
      await helper.unload();
      await pause(1100);

      await helper.load(NODES, flow(settings), credentials);
      const after = collect('accepted');
      const [msg] = await after.waitFor(1);
      expect(msg.finance).toMatchObject({ id: 'evt-ER-000043-1', attempt: 2 });
      expect(await store().get(keyOf(msg))).toMatchObject({
        state: 'open',
        leaseOwner: expect.stringMatching(/^in@/),
        attempts: 2,
      });
    });

    it('with two intakes on one store, each emits only its own events again, and neither an orphan', async () => {
      const nodes = [
        ...flow(quick),
        {
          id: 'in2',
          z: 'tab',
          type: 'finance-event-in',
          source: 'src',
          store: 'store',
          mode: 'input',
          leaseSeconds: 1,
          recoverySeconds: 1,
          wires: [['accepted2'], []],
        },
        { id: 'accepted2', z: 'tab', type: 'helper' },
      ];
      await helper.load(NODES, nodes, credentials);
      const first = collect('accepted');
      const second = collect('accepted2');
      const warnings: string[] = [];
      helper.getNode('in').on('call:warn', (call: { args: [string] }) => warnings.push(call.args[0]));
      expect((await post(signed(44))).status).toBe(202);
      const other = signed(45);
      helper.getNode('in2').receive({ payload: other.rawBody, headers: other.headers });
      // An event without an owner: no telling which of the two flows it belongs to.
      await store().accept({ key: 'orphan', envelope: { id: 'orphan', source: 'x' }, payload: null });

      await first.waitFor(3);
      await second.waitFor(3);
      expect(first.messages.slice(0, 3).map((msg) => [msg.finance.id, msg.finance.attempt])).toEqual([
        ['evt-ER-000044-1', 1],
        ['evt-ER-000044-1', 2],
        ['evt-ER-000044-1', 3],
      ]);
      expect(second.messages.slice(0, 3).map((msg) => [msg.finance.id, msg.finance.attempt])).toEqual([
        ['evt-ER-000045-1', 1],
        ['evt-ER-000045-1', 2],
        ['evt-ER-000045-1', 3],
      ]);
      expect(await store().get('orphan')).toMatchObject({ state: 'open', attempts: 0 });
      expect(warnings).toContainEqual(
        expect.stringMatching(/^1 unfinished event\(s\) in the store belong to no deployed/),
      );
    });

    it('an intake alone on its store adopts an event accepted without an owner, after one lease', async () => {
      await helper.load(NODES, flow(quick), credentials);
      const accepted = collect('accepted');
      await store().accept({ key: 'legacy', envelope: { id: 'legacy', source: 'x' }, payload: { a: 1 } });
      const [msg] = await accepted.waitFor(1);
      expect(msg).toMatchObject({ payload: { a: 1 }, finance: { id: 'legacy', source: 'x', attempt: 1 } });
      expect(await store().get('legacy')).toMatchObject({ leaseOwner: expect.stringMatching(/^in@/), attempts: 1 });
    });
  });

  describe('closing (redeploy, stop)', () => {
    it('answers new events 503 with Retry-After while it closes; the one being received still gets its answer', async () => {
      await helper.load(NODES, flow({ mode: 'http', path: '/finance/events' }), credentials);
      const closing = new Promise<void>((resolve) => helper.getNode('in').on('close', () => resolve()));
      const slow = signed(50);
      const url = new URL(`${baseUrl}/finance/events`);
      const inFlight = http.request({
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: { ...slow.headers, 'Content-Length': slow.rawBody.length },
      });
      const answered = new Promise<{ status: number; body: string }>((resolve, reject) => {
        inFlight.on('response', (response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
        });
        inFlight.on('error', reject);
      });
      inFlight.write(slow.rawBody.subarray(0, 10));
      // The request has reached the node's route and waits for the rest of its body.
      await new Promise((resolve) => setTimeout(resolve, 100));

      const unloading = helper.unload();
      await closing;
      const late = signed(51);
      const refused = await fetch(`${baseUrl}/finance/events`, {
        method: 'POST',
        body: new Uint8Array(late.rawBody),
        headers: late.headers,
      });
      expect(refused.status).toBe(503);
      expect(refused.headers.get('retry-after')).toBe('5');
      expect(await refused.json()).toMatchObject({ code: 'STORE_UNAVAILABLE', status: 503 });

      inFlight.end(slow.rawBody.subarray(10));
      const first = await answered;
      await unloading;
      // Committed and 202, or (the store closed first) 503 and nothing stored: never a 202 for a lost event.
      const direct = openStore({ path: storePath });
      try {
        const stored = await direct.get(inboxKey('urn:finance-sync:samples', 'evt-ER-000050-1'));
        expect([first.status, stored !== undefined]).toEqual(first.status === 202 ? [202, true] : [503, false]);
        expect(await direct.get(inboxKey('urn:finance-sync:samples', 'evt-ER-000051-1'))).toBeUndefined();
      } finally {
        await direct.close();
      }
    });
  });

  describe('backpressure', () => {
    it('answers 503 at the high-water mark, accepts again once events finish, and keeps no refused event', async () => {
      await helper.load(NODES, flow({ mode: 'http', path: '/finance/events' }, { maxInboxEntries: 10 }), credentials);
      const accepted = collect('accepted');
      const post = (event: { rawBody: Buffer; headers: Record<string, string> }) =>
        fetch(`${baseUrl}/finance/events`, {
          method: 'POST',
          body: new Uint8Array(event.rawBody),
          headers: event.headers,
        });
      for (let seed = 60; seed < 70; seed += 1) expect((await post(signed(seed))).status).toBe(202);
      const refusedEvents = [70, 71, 72, 73, 74].map((seed) => signed(seed));
      for (const event of refusedEvents) {
        const response = await post(event);
        expect(response.status).toBe(503);
        expect(response.headers.get('retry-after')).toBe('30');
        expect((await response.json()).code).toBe('STORE_FULL');
      }
      const first = await accepted.waitFor(10);
      expect(await store().countOpen()).toBe(10);

      await store().finish(inboxKey(first[0].finance.source, first[0].finance.id), { status: 'posted' });
      await store().finish(inboxKey(first[1].finance.source, first[1].finance.id), { status: 'posted' });
      expect((await post(refusedEvents[0])).status).toBe(202);
      await accepted.waitFor(11);
      await new Promise((resolve) => setTimeout(resolve, 300));
      // Only what the sender sent again came in: nothing refused was kept to be emitted later.
      expect(accepted.messages.map((msg) => msg.finance.id).slice(10)).toEqual(['evt-ER-000070-1']);
      expect(await store().countOpen()).toBe(9);
      for (const event of refusedEvents.slice(1)) {
        expect(await store().get(inboxKey('urn:finance-sync:samples', String(event.body.id)))).toBeUndefined();
      }
    });
  });

  describe('poll mode (Coupa)', () => {
    let sandbox: SandboxHandle;
    beforeAll(async () => {
      sandbox = await startSandbox({ port: 0 });
    });
    afterAll(async () => {
      await sandbox.close();
    });

    /**
     * The flow with a Coupa source whose API is the sandbox's Coupa simulator, on the profile's default signature
     * scheme and without a webhook secret: polling verifies no signature, so it needs none.
     */
    async function load(
      eventIn: Record<string, unknown> = {},
      apiBaseUrl: string | undefined = `${sandbox.url}/coupa`,
    ) {
      const nodes = flow({ mode: 'poll', pollSeconds: '60', ...eventIn }).map((node) =>
        node.id === 'src' ? { id: 'src', type: 'finance-source', profile: 'coupa', apiBaseUrl } : node,
      );
      await helper.load(NODES, nodes, {});
      return { accepted: collect('accepted'), rejected: collect('rejected') };
    }

    it('polls the approved requisitions, emits each once, marks it exported and keeps the round in the store', async () => {
      const { accepted } = await load();
      const [msg] = await accepted.waitFor(1);
      expect(msg).toMatchObject({
        payload: { id: 1001, status: 'approved' },
        finance: { source: 'coupa', docType: 'Requisition', docId: '1001', attempt: 1 },
      });
      const coupa = coupaStoreOf(sandbox.state);
      // Marked exported right after the commit that emitted it.
      for (let i = 0; i < 100 && !coupa.get('requisitions', 1001)?.exported; i += 1)
        await new Promise((r) => setTimeout(r, 20));
      expect(coupa.get('requisitions', 1001)?.exported).toBe(true);
      expect(coupa.get('requisitions', 1002)?.exported).toBe(false);
      const entry = await store().get(inboxKey('coupa', msg.finance.id));
      // Leased to this process of the node, as the webhook's events are (recovery tells its own from others').
      expect(nodeIdOfOwner(entry!.leaseOwner!)).toBe('in');
      expect(entry?.leaseOwner).not.toBe('in');
      await statusMatching('in', (status) => /accepted 1/.test(String(status.text)));
      let saved: Record<string, any> | undefined;
      for (let i = 0; i < 100 && saved?.lastRound === undefined; i += 1) {
        saved = (await store().kvGet(POLL_STATE_NAMESPACE, 'in:requisitions')) as Record<string, any> | undefined;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(saved).toMatchObject({ lastRound: { fetched: 1, exported: 1 }, nextRoundAt: expect.any(Number) });
    });

    it('refuses a source that is not Coupa, or without its API, with a red status naming the code', async () => {
      await load({}, '');
      const status = await statusMatching('in', (s) => s.fill === 'red');
      expect(status.text).toBe('CONFIG_INVALID');
    });
  });

  describe('input mode', () => {
    async function load() {
      await helper.load(NODES, flow({ mode: 'input' }), credentials);
      return {
        accepted: collect('accepted'),
        rejected: collect('rejected'),
        caught: collect('caught'),
        completed: collect('completed'),
      };
    }

    it('emits an accepted event on the incoming message, keeping its other properties', async () => {
      const { accepted } = await load();
      const event = signed(10);
      helper.getNode('in').receive({ payload: event.rawBody, headers: event.headers, topic: 'kept', custom: { a: 1 } });
      const [msg] = await accepted.waitFor(1);
      expect(msg).toMatchObject({ topic: 'kept', custom: { a: 1 }, statusCode: 202, payload: event.expected });
      expect(msg.finance).toMatchObject({ id: 'evt-ER-000010-1', attempt: 1 });
    });

    it('keeps at most 256 events in flight: the others wait in the store and leave, each once, as earlier ones finish', async () => {
      const { accepted } = await load();
      const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      const keyOf = (msg: any) => inboxKey(msg.finance.source, msg.finance.id);
      const total = DEFAULT_MAX_IN_FLIGHT + 20;
      for (let seed = 1000; seed < 1000 + total; seed += 1) {
        const event = signed(seed);
        helper.getNode('in').receive({ payload: event.rawBody, headers: event.headers });
      }
      await accepted.waitFor(DEFAULT_MAX_IN_FLIGHT);
      while ((await store().countOpen()) < total) await pause(50);
      await pause(300);
      expect(accepted.messages).toHaveLength(DEFAULT_MAX_IN_FLIGHT);

      // Ten finish and five are parked (an approval waiting for a person): fifteen more leave, first come first.
      const first = accepted.messages.slice(0, 15);
      await Promise.all(first.slice(0, 10).map((msg) => store().finish(keyOf(msg), { status: 'posted' })));
      await Promise.all(first.slice(10).map((msg) => store().holdLease(keyOf(msg), 60_000)));
      await accepted.waitFor(DEFAULT_MAX_IN_FLIGHT + 15);
      await pause(300);
      expect(accepted.messages).toHaveLength(DEFAULT_MAX_IN_FLIGHT + 15);
      const later = accepted.messages.slice(DEFAULT_MAX_IN_FLIGHT);
      expect(later.map((msg) => msg.finance.attempt)).toEqual(later.map(() => 1));

      const inFlight = accepted.messages.slice(15);
      await Promise.all(inFlight.map((msg) => store().finish(keyOf(msg), { status: 'posted' })));
      await accepted.waitFor(total);
      const ids = accepted.messages.map((msg) => msg.finance.id);
      expect(new Set(ids).size).toBe(total);
      expect(ids).toHaveLength(total);
    }, 60_000);

    it('reads the headers of a core http in message and sends a refusal to output 2 with the original payload', async () => {
      const { rejected } = await load();
      const event = signed(11, 'forged');
      const payload = event.rawBody.toString();
      helper.getNode('in').receive({ payload, req: { headers: event.headers } });
      const [msg] = await rejected.waitFor(1);
      expect(msg).toMatchObject({ payload, statusCode: 401, problem: { code: 'SIGNATURE_INVALID' } });
    });

    it('emits nothing for a duplicate, and answers an upstream http in request itself', async () => {
      const { accepted, completed } = await load();
      const event = signed(12);
      helper.getNode('in').receive({ payload: event.rawBody, headers: event.headers });
      await completed.waitFor(1);
      const written: { status?: number; headers: Record<string, unknown>; body?: string } = { headers: {} };
      const response = {
        headersSent: false,
        destroyed: false,
        set statusCode(value: number) {
          written.status = value;
        },
        setHeader: (name: string, value: unknown) => (written.headers[name] = value),
        end: (body: string) => (written.body = body),
      };
      const shown = statusMatching('in', (status) => status.text === 'dup 1');
      helper.getNode('in').receive({ payload: event.rawBody, headers: event.headers, res: { _res: response } });
      await completed.waitFor(2);
      expect(accepted.messages).toHaveLength(1);
      expect(written).toMatchObject({ status: 200, headers: { 'Content-Type': 'application/json' } });
      expect(JSON.parse(written.body!)).toMatchObject({ status: 'duplicate', id: 'evt-ER-000012-1' });
      await shown;
    });

    it('reports a parsed object payload under a signature scheme as CONFIG_INVALID to Catch', async () => {
      const { caught } = await load();
      const event = signed(13);
      helper.getNode('in').receive({ payload: event.body, headers: event.headers });
      const [msg] = await caught.waitFor(1);
      expect(msg.error.code).toBe('CONFIG_INVALID');
      expect(msg.error.message).toMatch(/Do not parse request body/);
    });

    it('reports a full inbox as STORE_FULL to Catch with statusCode 503', async () => {
      await helper.load(NODES, flow({ mode: 'input' }, { maxInboxEntries: 10 }), credentials);
      const caught = collect('caught');
      await fillInbox(10);
      const event = signed(14);
      helper.getNode('in').receive({ payload: event.rawBody, headers: event.headers });
      const [msg] = await caught.waitFor(1);
      expect(msg.error.code).toBe('STORE_FULL');
      expect(msg).toMatchObject({ statusCode: 503, problem: { code: 'STORE_FULL' } });
    });
  });

  describe('mqtt mode', () => {
    const clientIds: string[] = [];
    let publisher: MqttClient;
    beforeAll(async () => {
      publisher = await connectAsync(BROKER, { protocolVersion: 5, clientId: `finance-sync-test-pub-${RUN}` });
    });
    afterAll(async () => {
      await publisher.endAsync();
      // Ends the persistent sessions the tests created, so the broker stops keeping messages for them.
      for (const clientId of clientIds) {
        const client = await connectAsync(BROKER, { protocolVersion: 5, clientId, clean: true });
        await client.endAsync();
      }
    });

    function mqttFlow(name: string, store: Record<string, unknown> = {}) {
      const clientId = `finance-sync-test-${RUN}-${name}`;
      if (!clientIds.includes(clientId)) clientIds.push(clientId);
      const topic = `finance-sync-test/${RUN}/${name}`;
      return { topic, flow: flow({ mode: 'mqtt', broker: BROKER, topic: `${topic}/#`, clientId }, store) };
    }

    async function loadConnected(flowNodes: object[]) {
      await helper.load(NODES, flowNodes, credentials);
      const collectors = { accepted: collect('accepted'), rejected: collect('rejected') };
      await statusMatching('in', (status) => status.text === 'connected');
      return collectors;
    }

    const publish = (topic: string, event: { rawBody: Buffer; headers: Record<string, string> }) =>
      publisher.publishAsync(`${topic}/expenses`, event.rawBody, {
        qos: 1,
        properties: { userProperties: event.headers },
      });

    it('accepts a signed event once, emits it, and does not emit a duplicate publish again', async () => {
      const { topic, flow: nodes } = mqttFlow('accept');
      const { accepted } = await loadConnected(nodes);
      const event = signed(20);
      await publish(topic, event);
      const [msg] = await accepted.waitFor(1);
      expect(msg.payload).toEqual(event.expected);
      expect(msg.finance).toMatchObject({ id: 'evt-ER-000020-1', attempt: 1 });

      await publish(topic, event);
      await publish(topic, signed(21));
      const messages = await accepted.waitFor(2);
      expect(messages.map((message) => message.finance.id)).toEqual(['evt-ER-000020-1', 'evt-ER-000021-1']);
      expect(await store().countOpen()).toBe(2);
    });

    it('sends an invalid event to output 2 and acknowledges it, so it is not delivered again', async () => {
      const { topic, flow: nodes } = mqttFlow('reject');
      const { rejected } = await loadConnected(nodes);
      await publish(topic, signed(22, 'forged'));
      const [msg] = await rejected.waitFor(1);
      expect(msg).toMatchObject({
        topic: `${topic}/expenses`,
        problem: { code: 'SIGNATURE_INVALID' },
        statusCode: 401,
      });

      await helper.unload();
      const again = await loadConnected(nodes);
      await publish(topic, signed(23));
      // An unacknowledged message would come back first, on the resumed session.
      const [next] = await again.accepted.waitFor(1);
      expect(next.finance.id).toBe('evt-ER-000023-1');
      expect(again.rejected.messages).toHaveLength(0);
    });

    it('does not acknowledge while the inbox is full: the broker delivers the event again after a restart', async () => {
      const { topic, flow: nodes } = mqttFlow('full', { maxInboxEntries: 10 });
      await loadConnected(nodes);
      await fillInbox(10);
      const retrying = statusMatching('in', (status) => status.text === 'STORE_FULL');
      await publish(topic, signed(24));
      expect(await retrying).toEqual({ fill: 'yellow', shape: 'ring', text: 'STORE_FULL' });
      await helper.unload();

      const direct = openStore({ path: storePath });
      await direct.finish('fill-0', { status: 'posted' });
      await direct.close();

      const again = await loadConnected(nodes);
      const [msg] = await again.accepted.waitFor(1);
      expect(msg.finance.id).toBe('evt-ER-000024-1');
      expect(await store().countOpen()).toBe(10);
    });

    it('commits as soon as the store has room again, without a restart', async () => {
      const { topic, flow: nodes } = mqttFlow('drain', { maxInboxEntries: 10 });
      const { accepted } = await loadConnected(nodes);
      await fillInbox(10);
      const retrying = statusMatching('in', (status) => status.text === 'STORE_FULL');
      await publish(topic, signed(25));
      await retrying;
      await store().finish('fill-0', { status: 'posted' });
      const [msg] = await accepted.waitFor(1);
      expect(msg.finance.id).toBe('evt-ER-000025-1');
    });

    it('shows a red ring when the broker cannot be reached', async () => {
      const nodes = flow({ mode: 'mqtt', broker: 'mqtt://127.0.0.1:1', topic: 'finance-sync-test/unreachable' });
      await helper.load(NODES, nodes, credentials);
      expect(await statusMatching('in', (status) => status.fill === 'red')).toEqual({
        fill: 'red',
        shape: 'ring',
        text: 'ECONNREFUSED',
      });
    });
  });
});
