import * as path from 'node:path';
import { helper, tempDir } from '../support/node-red';
import financeDeadLetter = require('../../nodes/finance-dead-letter/finance-dead-letter');
import financeStore = require('../../nodes/finance-store/finance-store');
import type { Node } from 'node-red';
import type { DeadLetterQueue } from '../../lib/reliability/dead-letter-commands';
import { DLQ_MESSAGE_NAMESPACE, DLQ_NAMESPACE, type DeadLetter } from '../../lib/reliability/dead-letters';
import { DeadLetters } from '../../lib/reliability/dead-letters';
import { RetryScheduler } from '../../lib/reliability/retry-scheduler';
import { inboxKey, openStore } from '../../lib/reliability/store';
import { observations } from '../../lib/observe/hub';
import type { Observation } from '../../lib/observe/observation';
import type { FinanceStoreNode } from '../../nodes/shared/config-nodes';

const functionNode = require('@node-red/nodes/core/function/10-function.js');

type Msg = Record<string, any>;
interface DeadLetterNode extends Node {
  queue(): DeadLetterQueue;
}

const BEARER = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJlcnAifQ.c2VjcmV0LXNpZ25hdHVyZQ';
const SOURCE = 'https://concur.example.com';

/** A function node that fails the way an ERP node does: done(err) with a code, the error text echoing a token. */
const FAILING_CODE = `
const err = new Error('The ERP refused the posting (sent Authorization: Bearer ${BEARER}).');
err.code = 'ERP_REJECTED';
node.error(err, msg);
return null;`;

function event(n: number, extra: Msg = {}): Msg {
  return {
    topic: 'expense',
    payload: { id: `ER-${n}`, total: { amount: '10.00', currency: 'EUR' } },
    finance: {
      id: `evt-${n}`,
      source: SOURCE,
      type: 'expense.submitted',
      correlationId: `corr-${n}`,
      docType: 'expenseReport',
      docId: `ER-${n}`,
      attempt: 3,
    },
    headers: { authorization: `Bearer ${BEARER}` },
    ...extra,
  };
}

async function waitFor(condition: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i += 1) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** Collects what a helper node receives. */
function collect(id: string, accept: (msg: Msg) => boolean = () => true): Msg[] {
  const received: Msg[] = [];
  helper.getNode(id).on('input', (msg: Msg) => {
    if (accept(msg)) received.push(msg);
  });
  return received;
}

describe('finance-dead-letter node', () => {
  const temp = tempDir('dead-letter-node');
  let storePath: string;
  let counter = 0;

  beforeEach(() => {
    storePath = path.join(temp.dir, `store-${++counter}`);
  });
  afterEach(async () => {
    await helper.unload();
  });
  afterAll(() => temp.remove());

  function flow(options: { ratePerSecond?: number; store?: string } = {}): Msg[] {
    // Flow nodes carry x and y: without them Node-RED takes a node for a config node, and a Catch node's scope
    // pointing at one makes the flow fail to start.
    const at = { z: 'tab', x: 100, y: 100 };
    return [
      { id: 'tab', type: 'tab' },
      { id: 'store', type: 'finance-store', path: storePath },
      { id: 'fail', type: 'function', ...at, name: 'post expense', func: FAILING_CODE, outputs: 1, wires: [[]] },
      // One Catch node for both (the test helper registers the core Catch node once per Catch in a flow):
      // the dead-letter node must ignore its own failures instead of looping.
      { id: 'catch', type: 'catch', ...at, scope: ['fail', 'dl'], wires: [['dl', 'errors']] },
      {
        id: 'dl',
        type: 'finance-dead-letter',
        ...at,
        name: 'dead letters',
        store: options.store ?? 'store',
        maxAgeDays: 30,
        maxEntries: 1000,
        ratePerSecond: options.ratePerSecond ?? 50,
        wires: [['replayed'], ['result']],
      },
      { id: 'replayed', type: 'helper', ...at },
      { id: 'result', type: 'helper', ...at },
      { id: 'errors', type: 'helper', ...at },
    ];
  }

  async function load(options: { ratePerSecond?: number; store?: string } = {}) {
    // The helper loads the core Catch node itself when a flow has one.
    await helper.load([financeStore, financeDeadLetter, functionNode], flow(options));
    const dl = helper.getNode('dl') as DeadLetterNode;
    return {
      dl,
      replayed: collect('replayed'),
      result: collect('result'),
      // Failures of the dead-letter node itself (the Catch node also reports those of the function node).
      errors: collect('errors', (msg) => msg.error.source.id === 'dl'),
      store: (helper.getNode('store') as FinanceStoreNode).store(),
    };
  }

  /** Fails `count` events through the function node and waits until they are dead letters (read whole). */
  async function failEvents(dl: DeadLetterNode, count: number): Promise<DeadLetter[]> {
    for (let n = 1; n <= count; n += 1) helper.getNode('fail').receive(event(n));
    await waitFor(async () => (await dl.queue().letters.count()) === count, `${count} dead letters`);
    const listed = (await dl.queue().letters.list()).letters;
    return Promise.all(listed.map(async (letter) => (await dl.queue().letters.get(letter.id)) as DeadLetter));
  }

  async function command(topic: string, payload: unknown, result: Msg[]): Promise<any> {
    const before = result.length;
    helper.getNode('dl').receive({ topic, payload });
    await waitFor(() => result.length > before, `the answer to ${topic}`);
    return result[result.length - 1].payload;
  }

  it('keeps a failure from a Catch node with its original message, error code and node, minus secrets', async () => {
    const { dl, store } = await load();
    const statuses: Msg[] = [];
    helper.getNode('dl').on('call:status', (call: { args: Msg[] }) => statuses.push(call.args[0]));
    await store.accept({ key: inboxKey(SOURCE, 'evt-1'), envelope: { id: 'evt-1' }, payload: {} });

    const [letter] = await failEvents(dl, 1);

    expect(letter).toMatchObject({
      status: 'open',
      attempts: 3,
      correlationId: 'corr-1',
      source: SOURCE,
      docType: 'expenseReport',
      docId: 'ER-1',
      error: { code: 'ERP_REJECTED', nodeId: 'fail', nodeType: 'function', nodeName: 'post expense' },
    });
    expect(letter.error.message).toMatch(/^The ERP refused the posting \(sent Authorization: Bearer \[REDACTED\]\)/);
    expect(letter.original).toEqual({
      ...event(1),
      headers: { authorization: '[REDACTED]' },
    });
    expect(JSON.stringify(await store.kvList(DLQ_NAMESPACE))).not.toContain(BEARER);
    expect(JSON.stringify(await store.kvList(DLQ_MESSAGE_NAMESPACE))).not.toContain(BEARER);

    // The status is set once the message is handled, i.e. after its event was finished in the inbox.
    await waitFor(() => statuses.some((status) => status.text === '1 open'), 'the open count in the status');
    expect(statuses.find((status) => status.text === '1 open')).toMatchObject({ fill: 'yellow', shape: 'dot' });
    const entry = await store.get(inboxKey(SOURCE, 'evt-1'));
    expect(entry?.outcome).toMatchObject({ status: 'dead-lettered', detail: { deadLetterId: letter.id } });
  });

  it('lists letters on the second output', async () => {
    const { dl, result } = await load();
    const letters = await failEvents(dl, 3);

    const page = await command('list', { limit: 2 }, result);

    expect(page.letters.map((letter: DeadLetter) => letter.id)).toEqual(letters.slice(0, 2).map((l) => l.id));
    expect(page.nextCursor).toBe(letters[1].id);
  });

  it('replays one letter, then a filter, then all open ones, as the original messages on output 1', async () => {
    const { dl, replayed, result } = await load();
    const letters = await failEvents(dl, 3);
    const seen: Observation[] = [];
    const stopWatching = observations.subscribe((observation) => seen.push(observation));

    const one = await command('replay', { id: letters[1].id }, result);
    expect(one).toMatchObject({ ids: [letters[1].id], queued: 1 });
    await waitFor(() => replayed.length === 1, 'one replay');
    stopWatching();
    // A replay leaves outside any input; the audit trail and the metrics must still see it.
    expect(seen.filter((observation) => observation.output === 'replayed')).toEqual([
      expect.objectContaining({ kind: 'outcome', node: expect.objectContaining({ type: 'finance-dead-letter' }) }),
    ]);
    expect(replayed[0]).toMatchObject({
      payload: event(2).payload,
      topic: 'expense',
      finance: { ...event(2).finance, attempt: 1 },
      replay: { deadLetterId: letters[1].id, replayCount: 1 },
    });
    expect(replayed[0].error).toBeUndefined();

    await command('replay', { docType: 'expenseReport' }, result);
    await waitFor(() => replayed.length === 3, 'the filtered replays');
    expect(replayed.slice(1).map((msg) => msg.payload.id)).toEqual(['ER-1', 'ER-3']);

    const none = await command('replay', 'all', result);
    expect(none).toMatchObject({ ids: [], queued: 0 });
    expect(await dl.queue().letters.count({ status: 'replayed' })).toBe(3);
  });

  it('replays no faster than its rate, in order', async () => {
    const { dl, replayed, result } = await load({ ratePerSecond: 2 });
    await failEvents(dl, 3);
    const times: number[] = [];
    helper.getNode('replayed').on('input', () => times.push(performance.now()));

    await command('replay', 'all', result);
    await waitFor(() => replayed.length === 3, 'three replays');

    expect(replayed.map((msg) => msg.payload.id)).toEqual(['ER-1', 'ER-2', 'ER-3']);
    // At 2 per second, the third message cannot leave within a second of the first.
    expect(times[2] - times[0]).toBeGreaterThanOrEqual(900);
  });

  it('reopens a letter whose replay fails again', async () => {
    const { dl, replayed, result } = await load();
    const [letter] = await failEvents(dl, 1);
    await command('replay', 'all', result);
    await waitFor(() => replayed.length === 1, 'the replay');

    helper.getNode('fail').receive(replayed[0]);
    await waitFor(async () => (await dl.queue().letters.count({ status: 'open' })) === 1, 'the reopened letter');

    expect(await dl.queue().letters.get(letter.id)).toMatchObject({ status: 'open', attempts: 4, replayCount: 1 });
    expect(await dl.queue().letters.count()).toBe(1);
  });

  it('purges and answers stats', async () => {
    const { dl, result } = await load();
    const letters = await failEvents(dl, 2);

    expect(await command('purge', { ids: [letters[0].id] }, result)).toEqual({ purged: 1, ids: [letters[0].id] });
    expect(await command('stats', undefined, result)).toEqual({
      open: 1,
      replayed: 0,
      purged: 1,
      total: 2,
      replaying: 0,
    });
    expect((await dl.queue().letters.get(letters[0].id))?.original).toBeUndefined();
  });

  it('keeps its letters across a restart', async () => {
    const first = await load();
    const letters = await failEvents(first.dl, 2);
    await helper.unload();

    const second = await load();
    const kept = (await second.dl.queue().letters.list()).letters;
    expect(await Promise.all(kept.map((letter) => second.dl.queue().letters.get(letter.id)))).toEqual(letters);
  });

  it('reports bad input to Catch with a code, and never keeps or re-runs its own failures', async () => {
    const { dl, errors, result } = await load();
    const warnings: unknown[] = [];
    helper.getNode('dl').on('call:warn', (call: { args: unknown[] }) => warnings.push(call.args[0]));

    dl.receive({ payload: 'no error, no command' });
    await waitFor(() => errors.length === 1 && warnings.length === 1, 'the error and its echo');
    expect(errors[0].error).toMatchObject({ code: 'SCHEMA_INVALID', source: { id: 'dl' } });

    // The Catch message of a failed command keeps its topic: re-running it would loop.
    dl.receive({ topic: 'replay', payload: { stauts: 'open' } });
    await waitFor(() => errors.length === 2 && warnings.length === 2, 'the second error and its echo');
    expect(errors[1].error.message).toMatch(/unknown field\(s\) stauts/);

    // By the time a later command is answered, a loop would have produced more errors.
    expect(await command('stats', undefined, result)).toMatchObject({ total: 0 });
    expect(errors).toHaveLength(2);
    expect(warnings[0]).toMatch(/its own errors; they are not kept/);
  });

  it('says so when no store is chosen', async () => {
    const { dl, errors } = await load({ store: '' });
    expect(() => dl.queue()).toThrow(/Choose a finance store/);
    dl.receive({ topic: 'stats' });
    await waitFor(() => errors.length === 1, 'the error');
    expect(errors[0].error.code).toBe('CONFIG_INVALID');
  });

  it('keeps a failure whose topic is a command name as a letter, and runs nothing', async () => {
    const { dl, result } = await load();
    const [kept] = await failEvents(dl, 1);
    // Failed messages whose topics happen to be commands, "purge" with {all: true} among them.
    const fail = helper.getNode('fail');
    fail.receive({ ...event(2), topic: 'list' });
    fail.receive({ ...event(3), topic: 'stats' });
    fail.receive({ ...event(4), topic: 'purge', payload: { all: true } });
    await waitFor(async () => (await dl.queue().letters.count({ status: 'open' })) === 4, 'four open letters');
    expect(result).toEqual([]);
    expect(await dl.queue().letters.count({ status: 'purged' })).toBe(0);
    expect((await dl.queue().letters.get(kept.id))?.status).toBe('open');
    const page = (await dl.queue().letters.list()).letters;
    expect(page.map((letter) => letter.docId)).toEqual(['ER-1', 'ER-2', 'ER-3', 'ER-4']);
    expect((await dl.queue().letters.get(page[3].id))?.original).toMatchObject({
      topic: 'purge',
      payload: { all: true },
    });
    // Without msg.error, the topic is a command.
    expect(await command('stats', undefined, result)).toMatchObject({ open: 4, purged: 0 });
  });

  it('keeps a letter of more than 1 MB with one warning; lists give its size, reading it by id gives it whole', async () => {
    const { dl } = await load();
    const warnings: string[] = [];
    helper.getNode('dl').on('call:warn', (call: { args: unknown[] }) => warnings.push(String(call.args[0])));
    helper.getNode('fail').receive(event(1, { attachment: 'x'.repeat(1_500_000) }));
    await waitFor(async () => (await dl.queue().letters.count()) === 1, 'the letter');
    await waitFor(() => warnings.length === 1, 'the warning');
    expect(warnings[0]).toMatch(/holds a message of 1\.\d MB\. It is kept/);

    const list = await helper.request().get('/finance-dead-letter/dl/letters').expect(200);
    expect(list.body.letters[0]).not.toHaveProperty('original');
    expect(list.body.letters[0].originalBytes).toBeGreaterThan(1_500_000);
    expect(JSON.stringify(list.body).length).toBeLessThan(10_000);
    const one = await helper.request().get(`/finance-dead-letter/dl/letters/${list.body.letters[0].id}`).expect(200);
    expect(one.body.original.attachment).toHaveLength(1_500_000);
  });

  it('warns once at start about letters and parked retries of nodes that are not deployed', async () => {
    // What a flow leaves behind when it is imported again as a copy: its nodes got new ids.
    const before = openStore({ path: storePath });
    await new DeadLetters({ store: before, queue: 'old-dl' }).add(event(1, { error: { message: 'refused' } }));
    await new DeadLetters({ store: before, queue: 'old-dl' }).add(event(2, { error: { message: 'refused' } }));
    await new RetryScheduler(before, { namespace: 'retry:old-retry' }).schedule({
      id: 'm1',
      dueAt: Date.now() + 3_600_000,
      attempt: 2,
      msg: { payload: 1 },
    });
    await before.close();

    const { dl } = await load();
    await failEvents(dl, 1);
    const warned = () =>
      helper
        .log()
        .args.map((args: [{ msg?: unknown }]) => String(args[0].msg))
        .filter((text: string) => text.includes('not deployed'));
    await waitFor(() => warned().length > 0, 'the warning');
    expect(warned()).toHaveLength(1);
    expect(warned()[0]).toContain('dead-letter node old-dl: 2 open letter(s)');
    expect(warned()[0]).toContain('node old-retry: 1 parked retry');
    // Its own queue is deployed: not named.
    expect(warned()[0]).not.toMatch(/node dl:/);
  });

  it('adopts the letters of a dead-letter node replaced by a copy, once, and refuses a node still deployed', async () => {
    const before = openStore({ path: storePath });
    const old = new DeadLetters({ store: before, queue: 'old-dl' });
    const kept = (await old.add(event(1, { error: { message: 'refused' } }))).letter;
    await before.close();

    const { dl, result, errors } = await load();
    const answer = await command('adopt', { from: 'old-dl' }, result);

    expect(answer).toEqual({
      from: 'old-dl',
      letters: { moved: 1, ids: [kept.id], busy: [] },
      retries: { moved: 0, busy: 0, left: 0 },
    });
    expect((await dl.queue().letters.get(kept.id))?.original).toMatchObject({ payload: { id: 'ER-1' } });
    expect((await command('adopt', { from: 'old-dl' }, result)).letters.moved).toBe(0);

    helper.getNode('dl').receive({ topic: 'adopt', payload: { from: 'fail' } });
    await waitFor(() => errors.length === 1, 'the refusal');
    expect(errors[0].error.message).toMatch(/Node fail is deployed in this Node-RED/);
    expect(errors[0].error.code).toBe('SCHEMA_INVALID');
  });

  describe('admin API', () => {
    it('lists, reads, replays and purges letters, and answers stats', async () => {
      const { dl, replayed } = await load();
      const letters = await failEvents(dl, 3);

      const list = await helper.request().get('/finance-dead-letter/dl/letters?status=open&limit=2').expect(200);
      expect(list.body.letters.map((letter: DeadLetter) => letter.id)).toEqual([letters[0].id, letters[1].id]);
      const next = await helper
        .request()
        .get(`/finance-dead-letter/dl/letters?status=open&limit=2&cursor=${list.body.nextCursor}`)
        .expect(200);
      expect(next.body.letters.map((letter: DeadLetter) => letter.id)).toEqual([letters[2].id]);

      const one = await helper.request().get(`/finance-dead-letter/dl/letters/${letters[0].id}`).expect(200);
      expect(one.body).toEqual(letters[0]);

      const replay = await helper
        .request()
        .post('/finance-dead-letter/dl/replay')
        .send({ ids: [letters[2].id] });
      expect(replay.status).toBe(200);
      expect(replay.body).toMatchObject({ ids: [letters[2].id], queued: 1 });
      await waitFor(() => replayed.length === 1, 'the replay');
      expect(replayed[0].payload.id).toBe('ER-3');

      const purge = await helper.request().post('/finance-dead-letter/dl/purge').send({ all: true }).expect(200);
      expect(purge.body).toEqual({ purged: 3, ids: letters.map((letter) => letter.id) });

      const stats = await helper.request().get('/finance-dead-letter/dl/stats').expect(200);
      expect(stats.body).toEqual({ open: 0, replayed: 0, purged: 3, total: 3, replaying: 0 });
    });

    it('answers 404 for an unknown node, a node of another type and an unknown letter', async () => {
      await load();
      for (const url of [
        '/finance-dead-letter/nope/letters',
        '/finance-dead-letter/store/stats',
        '/finance-dead-letter/dl/letters/1740819600000-00000000',
        '/finance-dead-letter/dl/letters/not-an-id',
      ]) {
        const answer = await helper.request().get(url);
        expect(answer.status).toBe(404);
        expect(answer.headers['content-type']).toMatch(/^application\/problem\+json/);
        expect(JSON.parse(answer.text)).toMatchObject({ status: 404, title: 'Not Found' });
      }
    });

    it('answers 400 problem+json for a request it cannot act on', async () => {
      await load();
      const replay = await helper.request().post('/finance-dead-letter/dl/replay').send({});
      expect(replay.status).toBe(400);
      expect(JSON.parse(replay.text)).toMatchObject({ status: 400, code: 'SCHEMA_INVALID' });

      const list = await helper.request().get('/finance-dead-letter/dl/letters?status=closed');
      expect(list.status).toBe(400);
      expect(JSON.parse(list.text).detail).toMatch(/status must be one of/);
    });
  });
});
