import { FinanceError } from '../../../lib/errors';
import { replayMessage } from '../../../lib/reliability/dead-letter-replay';
import { DeadLetters, DLQ_NAMESPACE, type DeadLetter } from '../../../lib/reliability/dead-letters';
import { inboxKey, type FinanceStore } from '../../../lib/reliability/store';
import { catchMessage, manualTime, START, storeFolder, type TestClock } from './fixture';

const DAY_MS = 24 * 60 * 60 * 1000;

describe('dead letters', () => {
  const folder = storeFolder('letters');
  let clock: TestClock;
  let storePath: string;
  let store: FinanceStore;
  let letters: DeadLetters;

  beforeEach(() => {
    clock = manualTime();
    storePath = folder.newPath();
    store = folder.open(storePath, clock.now);
    letters = new DeadLetters({ store, queue: 'dl-node', now: clock.now });
  });
  afterAll(() => folder.cleanup());

  describe('adding', () => {
    it('keeps a Catch message with its error, document and envelope facts', async () => {
      const result = await letters.add(catchMessage({ code: 'ERP_REJECTED', attempt: 3 }));

      expect(result.status).toBe('added');
      const letter = result.letter;
      expect(letter.id).toMatch(/^\d{13}-[0-9a-f]{8}$/);
      expect(letter).toMatchObject({
        createdAt: '2025-03-01T09:00:00.000Z',
        lastFailedAt: '2025-03-01T09:00:00.000Z',
        attempts: 3,
        correlationId: 'corr-evt-1',
        source: 'https://concur.example.com',
        docType: 'expenseReport',
        docId: 'ER-1',
        status: 'open',
        replayCount: 0,
        error: {
          code: 'ERP_REJECTED',
          message: 'The ERP refused the posting.',
          nodeId: 'post-node',
          nodeType: 'finance-post',
          nodeName: 'post expense',
        },
      });
      expect(letter.original).toEqual({
        topic: 'expense',
        payload: { id: 'ER-1', total: { amount: '120.50', currency: 'EUR' } },
        finance: expect.objectContaining({ id: 'evt-1', attempt: 3 }),
      });
      expect(await letters.get(letter.id)).toEqual(letter);
      expect(await letters.count({ status: 'open' })).toBe(1);
    });

    it('keeps the results of earlier steps but not req/res, internals or the error itself', async () => {
      const msg = catchMessage({
        extra: {
          budget: { status: 'within' },
          approval: { state: 'approved' },
          erp: { documentId: 'JE-9' },
          req: { headers: {} },
          res: { statusCode: 200 },
          _event: 'node:abc',
          _linkSource: ['x'],
        },
      });
      const { letter } = await letters.add(msg);

      expect(Object.keys(letter.original ?? {}).sort()).toEqual([
        'approval',
        'budget',
        'erp',
        'finance',
        'payload',
        'topic',
      ]);
    });

    it('reads a FinanceError in msg.error, with its HTTP status and ERP body', async () => {
      const error = new FinanceError('ERP_REJECTED', 'ERP "main" answered 422 to POST /journals.', {
        httpStatus: 422,
        details: { erpBody: { error: { code: 'BadRequest', message: 'Account 9999 is blocked' } } },
      });
      const { letter } = await letters.add({ _msgid: 'm', payload: { id: 'ER-2' }, error });

      expect(letter.error).toEqual({
        code: 'ERP_REJECTED',
        message: 'ERP "main" answered 422 to POST /journals.',
        httpStatus: 422,
        erpBody: { error: { code: 'BadRequest', message: 'Account 9999 is blocked' } },
      });
      const fromJson = await letters.add({ _msgid: 'n', payload: {}, error: error.toJSON() });
      expect(fromJson.letter.error.httpStatus).toBe(422);
      expect(fromJson.letter.error.erpBody).toEqual(letter.error.erpBody);
    });

    it('reads the HTTP status and ERP body a node of the pack put in msg.failure next to a Catch message', async () => {
      const failure = new FinanceError('ERP_UNAVAILABLE', 'The ERP refused the posting.', {
        httpStatus: 503,
        retryable: true,
        details: { erpBody: { title: 'down', access_token: '[REDACTED]' } },
      }).toJSON();
      const { letter } = await letters.add(catchMessage({ code: 'ERP_UNAVAILABLE', extra: { failure } }));

      expect(letter.error).toMatchObject({
        code: 'ERP_UNAVAILABLE',
        httpStatus: 503,
        erpBody: { title: 'down', access_token: '[REDACTED]' },
        nodeId: 'post-node',
      });
      expect(letter.original).not.toHaveProperty('failure');
    });

    it('takes the code from msg.failure when the Catch message has none (Node-RED before 4.1)', async () => {
      const failure = { code: 'ERP_TIMEOUT', message: 'The ERP refused the posting.', httpStatus: 504 };
      const { letter } = await letters.add(catchMessage({ extra: { failure } }));
      expect(letter.error).toMatchObject({ code: 'ERP_TIMEOUT', httpStatus: 504 });
    });

    it('ignores a msg.failure left from an earlier failure of the message', async () => {
      const stale = {
        code: 'ERP_UNAVAILABLE',
        message: 'an earlier failure',
        httpStatus: 503,
        details: { erpBody: 'x' },
      };
      for (const [msgId, code] of [
        ['a', 'ERP_UNAVAILABLE'],
        ['b', 'ERP_REJECTED'],
        ['c', undefined],
      ]) {
        const { letter } = await letters.add(catchMessage({ msgId, code, extra: { failure: stale } }));
        expect(letter.error).not.toHaveProperty('httpStatus');
        expect(letter.error).not.toHaveProperty('erpBody');
        expect(letter.error.code).toBe(code);
      }
      const sameTextOtherCode = { ...stale, message: 'The ERP refused the posting.' };
      const { letter } = await letters.add(
        catchMessage({ msgId: 'd', code: 'ERP_REJECTED', extra: { failure: sameTextOtherCode } }),
      );
      expect(letter.error).not.toHaveProperty('httpStatus');
    });

    it('accepts an error given as text and keeps a message without an envelope', async () => {
      const { letter } = await letters.add({ payload: 42, error: 'Error: something broke' });
      expect(letter.error).toEqual({ message: 'something broke' });
      expect(letter.attempts).toBe(1);
      expect(letter.source).toBeUndefined();
      expect(letter.original).toEqual({ payload: 42 });
    });

    it('refuses what is not a failed message', async () => {
      await expect(letters.add({ payload: 1 })).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
      await expect(letters.add(null)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
      await expect(letters.add({ error: 7 })).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
      expect(await letters.count()).toBe(0);
    });

    it('makes one letter when the same Catch message arrives twice', async () => {
      const first = await letters.add(catchMessage({ msgId: 'm-1' }));
      const again = await letters.add(catchMessage({ msgId: 'm-1' }));

      expect(again).toEqual({ status: 'duplicate', letter: first.letter, originalBytes: first.originalBytes });
      expect(await letters.count()).toBe(1);
    });

    it('makes a new letter for another message, another failing node or another attempt', async () => {
      await letters.add(catchMessage({ msgId: 'm-1' }));
      await letters.add(catchMessage({ msgId: 'm-2' }));
      await letters.add(catchMessage({ msgId: 'm-1', nodeId: 'writeback-node' }));
      await letters.add(catchMessage({ msgId: 'm-1', attempt: 2 }));
      expect(await letters.count({ status: 'open' })).toBe(4);
    });

    it('finishes the event in the inbox as dead-lettered, so recovery does not emit it again', async () => {
      const key = inboxKey('https://concur.example.com', 'evt-7');
      await store.accept({ key, envelope: { id: 'evt-7' }, payload: {} });

      const { letter } = await letters.add(catchMessage({ eventId: 'evt-7', code: 'ERP_REJECTED' }));

      const entry = await store.get(key);
      expect(entry?.state).toBe('final');
      expect(entry?.outcome).toMatchObject({
        status: 'dead-lettered',
        detail: { deadLetterId: letter.id, code: 'ERP_REJECTED' },
      });
      expect(await store.countOpen()).toBe(0);
    });

    it('keeps letters of one millisecond in arrival order', async () => {
      for (const id of ['a', 'b', 'c', 'd']) await letters.add(catchMessage({ msgId: id, docId: id }));
      const page = await letters.list();
      expect(page.letters.map((letter) => letter.docId)).toEqual(['a', 'b', 'c', 'd']);
    });

    it('keeps the letters of each queue apart', async () => {
      const other = new DeadLetters({ store, queue: 'other-node', now: clock.now });
      await letters.add(catchMessage({ msgId: 'x' }));
      await other.add(catchMessage({ msgId: 'x' }));
      expect(await letters.count()).toBe(1);
      expect(await other.count()).toBe(1);
      expect((await other.list()).letters).toHaveLength(1);
    });

    it('refuses a queue name that could reach into other keys', () => {
      expect(() => new DeadLetters({ store, queue: 'a/b' })).toThrow(FinanceError);
      expect(() => new DeadLetters({ store, queue: '' })).toThrow(/needs a name/);
    });
  });

  describe('secrets', () => {
    const bearer = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJlLXNlY3JldA';
    const password = 'Winter2025!hunter2';

    it('never stores a bearer token or a password from the ERP body or the message, at any depth', async () => {
      const error = new FinanceError(
        'ERP_AUTH_FAILED',
        `ERP "main" answered 401. Sent Authorization: Bearer ${bearer}`,
        {
          httpStatus: 401,
          details: {
            erpBody: {
              error: { message: `invalid token Bearer ${bearer}` },
              echo: { request: { headers: { Authorization: `Bearer ${bearer}` }, form: { password } } },
            },
          },
        },
      );
      const msg = {
        _msgid: 'secret-msg',
        payload: {
          id: 'ER-3',
          note: `copied header: Bearer ${bearer}`,
          connection: { user: 'svc', password, client_secret: 'cs-123456', apiKey: 'ak-987654' },
        },
        headers: { cookie: 'session=abcdef123456', 'X-Api-Key': 'ak-987654' },
        finance: { id: 'evt-s', source: 's', docType: 'expenseReport', docId: 'ER-3', attempt: 1 },
        error,
      };

      const { letter } = await letters.add(msg);

      const stored = JSON.stringify(await store.kvList(DLQ_NAMESPACE, { limit: 1000 }));
      for (const secret of [bearer, password, 'cs-123456', 'ak-987654', 'abcdef123456']) {
        expect(stored).not.toContain(secret);
        expect(JSON.stringify(letter)).not.toContain(secret);
      }
      expect(stored).toContain('[REDACTED]');
      expect(letter.original?.payload).toMatchObject({
        id: 'ER-3',
        note: 'copied header: Bearer [REDACTED]',
        connection: { user: 'svc', password: '[REDACTED]' },
      });
    });
  });

  describe('listing', () => {
    async function addAt(offsetMs: number, options: Parameters<typeof catchMessage>[0]): Promise<DeadLetter> {
      clock.advance(offsetMs);
      return (await letters.add(catchMessage(options))).letter;
    }

    it('filters by status, code, source, document type and time', async () => {
      const a = await addAt(0, { msgId: 'a', code: 'ERP_REJECTED', docType: 'expenseReport' });
      const b = await addAt(1000, { msgId: 'b', code: 'ERP_TIMEOUT', docType: 'purchaseOrder', source: 'coupa' });
      const c = await addAt(DAY_MS, { msgId: 'c', code: 'ERP_REJECTED', docType: 'purchaseOrder' });
      await letters.markReplayed(a.id);

      const ids = async (query: Parameters<DeadLetters['list']>[0]) =>
        (await letters.list(query)).letters.map((letter) => letter.id);
      expect(await ids({})).toEqual([a.id, b.id, c.id]);
      expect(await ids({ status: 'open' })).toEqual([b.id, c.id]);
      expect(await ids({ status: 'replayed' })).toEqual([a.id]);
      expect(await ids({ code: 'ERP_REJECTED' })).toEqual([a.id, c.id]);
      expect(await ids({ source: 'coupa' })).toEqual([b.id]);
      expect(await ids({ docType: 'purchaseOrder', code: 'ERP_REJECTED' })).toEqual([c.id]);
      expect(await ids({ since: START + 1000 })).toEqual([b.id, c.id]);
      expect(await ids({ since: START + DAY_MS })).toEqual([c.id]);
      expect(await ids({ code: 'CIRCUIT_OPEN' })).toEqual([]);
    });

    it('pages with a cursor until there is none', async () => {
      const added: string[] = [];
      for (let i = 0; i < 5; i += 1) added.push((await addAt(10, { msgId: `p${i}` })).id);

      const seen: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await letters.list({ limit: 2, cursor });
        seen.push(...page.letters.map((letter) => letter.id));
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor !== undefined);

      expect(seen).toEqual(added);
      expect(pages).toBe(3);
    });

    it('pages through a filter, and refuses a cursor that is not one', async () => {
      for (let i = 0; i < 4; i += 1) await addAt(10, { msgId: `f${i}`, code: i % 2 ? 'ERP_TIMEOUT' : 'ERP_REJECTED' });
      const first = await letters.list({ code: 'ERP_TIMEOUT', limit: 1 });
      const second = await letters.list({ code: 'ERP_TIMEOUT', limit: 1, cursor: first.nextCursor });
      expect([...first.letters, ...second.letters].map((letter) => letter.error.code)).toEqual([
        'ERP_TIMEOUT',
        'ERP_TIMEOUT',
      ]);
      expect(second.letters[0].id > first.letters[0].id).toBe(true);
      await expect(letters.list({ cursor: '../../ledger' })).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    });

    it('answers undefined for an unknown or malformed id', async () => {
      expect(await letters.get('1740819600000-00000000')).toBeUndefined();
      expect(await letters.get('not an id')).toBeUndefined();
    });
  });

  describe('replay marking', () => {
    it('marks a letter replayed and counts its replays', async () => {
      const { letter } = await letters.add(catchMessage({}));
      clock.advance(5000);

      const marked = await letters.markReplayed(letter.id);
      const again = await letters.markReplayed(letter.id);

      expect(marked).toMatchObject({ status: 'replayed', replayCount: 1, replayedAt: '2025-03-01T09:00:05.000Z' });
      expect(again?.replayCount).toBe(2);
      expect(await letters.count({ status: 'open' })).toBe(0);
      expect(await letters.count({ status: 'replayed' })).toBe(1);
      expect(await letters.markReplayed('1740819600000-00000000')).toBeUndefined();
    });

    it('reopens the same letter when its replay fails again, once per delivery', async () => {
      const { letter } = await letters.add(catchMessage({ msgId: 'first', attempt: 3, code: 'ERP_TIMEOUT' }));
      const marked = (await letters.markReplayed(letter.id)) as DeadLetter;
      const replayed = replayMessage(marked);
      clock.advance(60_000);
      const failedAgain = {
        ...replayed,
        _msgid: 'second',
        error: { message: 'FinanceError: still refused', code: 'ERP_REJECTED', source: { id: 'post-node' } },
      };

      const reopened = await letters.add(failedAgain);
      const duplicate = await letters.add(failedAgain);

      expect(reopened.status).toBe('reopened');
      expect(reopened.letter).toMatchObject({
        id: letter.id,
        status: 'open',
        attempts: 4,
        replayCount: 1,
        createdAt: letter.createdAt,
        lastFailedAt: '2025-03-01T09:01:00.000Z',
        error: { code: 'ERP_REJECTED', message: 'still refused' },
      });
      expect(reopened.letter.original).toEqual(letter.original);
      expect(duplicate.status).toBe('duplicate');
      expect(await letters.count()).toBe(1);
      expect(await letters.count({ status: 'open' })).toBe(1);
    });
  });

  describe('purging', () => {
    it('purges by ids: the letter keeps its facts, loses its message and ERP body, and cannot be replayed', async () => {
      const error = new FinanceError('ERP_REJECTED', 'refused', { httpStatus: 400, details: { erpBody: { a: 1 } } });
      const { letter } = await letters.add({ _msgid: 'p', payload: { id: 'ER-1' }, error });
      const kept = await letters.add(catchMessage({ msgId: 'other' }));

      const result = await letters.purge({ ids: [letter.id, '1740819600000-00000000'] });

      expect(result).toEqual({ purged: 1, ids: [letter.id] });
      const purged = await letters.get(letter.id);
      expect(purged).toMatchObject({
        status: 'purged',
        purgedAt: '2025-03-01T09:00:00.000Z',
        error: { code: 'ERP_REJECTED' },
      });
      expect(purged?.original).toBeUndefined();
      expect(purged?.error.erpBody).toBeUndefined();
      expect(await letters.markReplayed(letter.id)).toBeUndefined();
      expect(await letters.purge({ ids: [letter.id] })).toEqual({ purged: 0, ids: [] });
      expect((await letters.get(kept.letter.id))?.status).toBe('open');
      expect(await letters.count({ status: 'purged' })).toBe(1);
      expect(await letters.count({ status: 'open' })).toBe(1);
    });

    it('purges by filter', async () => {
      await letters.add(catchMessage({ msgId: 'a', code: 'ERP_REJECTED' }));
      await letters.add(catchMessage({ msgId: 'b', code: 'ERP_TIMEOUT' }));
      await letters.add(catchMessage({ msgId: 'c', code: 'ERP_REJECTED' }));

      const result = await letters.purge({ filter: { code: 'ERP_REJECTED' } });

      expect(result.purged).toBe(2);
      expect((await letters.list({ status: 'open' })).letters.map((letter) => letter.error.code)).toEqual([
        'ERP_TIMEOUT',
      ]);
    });

    it('keeps a purged failure from coming back when the same Catch message arrives again', async () => {
      const { letter } = await letters.add(catchMessage({ msgId: 'gone' }));
      await letters.purge({ ids: [letter.id] });
      const again = await letters.add(catchMessage({ msgId: 'gone' }));
      expect(again.status).toBe('duplicate');
      expect(await letters.count()).toBe(1);
    });
  });

  describe('retention', () => {
    it('removes replayed and purged letters older than the maximum age; open ones stay, however old', async () => {
      const oldOpen = (await letters.add(catchMessage({ msgId: 'old' }))).letter;
      const oldReplayed = (await letters.add(catchMessage({ msgId: 'old-2' }))).letter;
      await letters.markReplayed(oldReplayed.id);
      const oldPurged = (await letters.add(catchMessage({ msgId: 'old-3' }))).letter;
      await letters.purge({ ids: [oldPurged.id] });
      clock.advance(20 * DAY_MS);
      const young = (await letters.add(catchMessage({ msgId: 'young' }))).letter;
      await letters.markReplayed(young.id);
      clock.advance(11 * DAY_MS);

      const result = await letters.enforceRetention({ maxAgeDays: 30, maxEntries: 100 });

      expect(result).toEqual({ removed: 2, open: 1 });
      // The open letter is an accepted event nobody has resolved: removing it would lose it.
      expect(await letters.get(oldOpen.id)).toMatchObject({ status: 'open' });
      expect(await letters.get(oldReplayed.id)).toBeUndefined();
      expect(await letters.get(oldPurged.id)).toBeUndefined();
      expect(await letters.get(young.id)).toBeDefined();
      expect(await letters.count()).toBe(2);
    });

    it('removes the oldest replayed or purged letters beyond the maximum number, skipping open ones', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 7; i += 1) ids.push((await letters.add(catchMessage({ msgId: `n${i}` }))).letter.id);
      for (const id of [ids[1], ids[2], ids[4], ids[5], ids[6]]) await letters.markReplayed(id);

      expect(await letters.enforceRetention({ maxAgeDays: 30, maxEntries: 2 })).toEqual({ removed: 3, open: 2 });
      expect((await letters.list()).letters.map((letter) => letter.id)).toEqual([ids[0], ids[3], ids[5], ids[6]]);
      expect(await letters.enforceRetention({ maxAgeDays: 30, maxEntries: 2 })).toEqual({ removed: 0, open: 2 });
    });

    it('keeps open letters beyond the maximum number and says how many there are', async () => {
      for (let i = 0; i < 4; i += 1) await letters.add(catchMessage({ msgId: `o${i}` }));
      clock.advance(400 * DAY_MS);
      expect(await letters.enforceRetention({ maxAgeDays: 30, maxEntries: 2 })).toEqual({ removed: 0, open: 4 });
      expect(await letters.count({ status: 'open' })).toBe(4);
    });

    it('removes the natural keys with the letters, so nothing is left behind', async () => {
      const { letter } = await letters.add(catchMessage({ msgId: 'k' }));
      await letters.markReplayed(letter.id);
      clock.advance(31 * DAY_MS);
      await letters.enforceRetention({ maxAgeDays: 30, maxEntries: 100 });
      expect(await store.kvList(DLQ_NAMESPACE)).toEqual([]);
    });

    it('refuses limits that are not limits', async () => {
      await expect(letters.enforceRetention({ maxAgeDays: 0, maxEntries: 10 })).rejects.toMatchObject({
        code: 'CONFIG_INVALID',
      });
    });
  });

  describe('restarts', () => {
    it('finds its letters and counts again after the store is reopened', async () => {
      const { letter } = await letters.add(catchMessage({ msgId: 'r1' }));
      const replayed = await letters.add(catchMessage({ msgId: 'r2' }));
      await letters.markReplayed(replayed.letter.id);
      await store.close();

      const reopened = folder.open(storePath, clock.now);
      const after = new DeadLetters({ store: reopened, queue: 'dl-node', now: clock.now });

      expect(await after.get(letter.id)).toEqual(letter);
      expect(await after.count({ status: 'open' })).toBe(1);
      expect(await after.count({ status: 'replayed' })).toBe(1);
      expect((await after.add(catchMessage({ msgId: 'r1' }))).status).toBe('duplicate');
    });

    it('reports a closed store as STORE_UNAVAILABLE', async () => {
      await store.close();
      await expect(letters.add(catchMessage({}))).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    });
  });
});
