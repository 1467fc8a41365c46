import type { PostingRef, PostingRequest } from '../../../lib/erp/dialect';
import { FinanceError } from '../../../lib/errors';
import {
  DEFAULT_TAKEOVER_AFTER_MS,
  LedgerWriter,
  NEXT_KEY_NAMESPACE,
  UNSETTLED_NAMESPACE,
  idempotencyKeyFor,
  isRefusal,
  mayStillBeApplied,
  provesNothingWritten,
  type IdempotentWrite,
} from '../../../lib/posting/idempotent-write';
import { noteRequestTimeout } from '../../../lib/erp/request-timeouts';
import { HOLDER_NAMESPACE, PROCESS_ID } from '../../../lib/posting/attempt-liveness';
import { ledgerKey, type FinanceStore, type LedgerKeyParts } from '../../../lib/reliability/store';
import { FakeErp, manualClock, storeFolder, type ManualClock } from './fixtures';

const TAKEOVER_MS = 60_000;
/** How long the ERP may go on applying a request after the client stopped waiting (settleAfterMs). */
const SETTLE_MS = 5_000;
const parts: LedgerKeyParts = {
  source: 'concur',
  docType: 'ExpenseReport',
  docId: 'RPT-1',
  version: 1,
  operation: 'post',
};
const KEY = ledgerKey(parts);
/** The owner of this process's first attempt in a test: node prefix, process, attempt. */
const FIRST = `node-1:${PROCESS_ID}:a1`;
const posting: PostingRequest = {
  kind: 'journal',
  externalReference: 'concur:RPT-1',
  employeeId: 'E1011',
  postingDate: '2026-03-10',
  currency: 'EUR',
  lines: [{ lineId: '1', amount: { amount: '10.00', currency: 'EUR' }, dimensions: { costCenter: 'CC-200' } }],
};

describe('LedgerWriter: the ledger protocol of an ERP write', () => {
  const folder = storeFolder('ledger');
  let clock: ManualClock;
  let store: FinanceStore;
  let erp: FakeErp;
  let attempt: number;
  let writer: LedgerWriter;

  function request(): IdempotentWrite<PostingRef> {
    return {
      key: parts,
      correlationId: 'corr-1',
      write: (ctx) => erp.post(posting, ctx),
      lookup: (ctx) => erp.findByReference('posting', posting.externalReference, ctx),
    };
  }

  beforeEach(() => {
    clock = manualClock();
    store = folder.open(clock.now);
    erp = new FakeErp();
    attempt = 0;
    writer = new LedgerWriter(store, {
      ownerPrefix: 'node-1',
      takeoverAfterMs: TAKEOVER_MS,
      settleAfterMs: SETTLE_MS,
      newAttemptId: () => `a${++attempt}`,
      now: clock.now,
    });
  });
  afterAll(() => folder.cleanup());

  it('writes once on success, records the reference and sends an Idempotency-Key derived from the ledger key', async () => {
    const result = await writer.write(request());
    expect(result).toEqual({ outcome: 'written', ref: expect.objectContaining({ number: 'JNL-000001' }) });
    expect(await store.ledgerGet(KEY)).toMatchObject({ state: 'done', ref: { documentId: 'doc-1' } });
    expect(erp.calls).toEqual([
      {
        op: 'post',
        externalReference: 'concur:RPT-1',
        ctx: { correlationId: 'corr-1', idempotencyKey: idempotencyKeyFor(KEY) },
      },
    ]);
    expect(idempotencyKeyFor(KEY)).toMatch(/^fs1-[A-Za-z0-9_-]{43}$/);
  });

  it('answers a done write from the ledger without calling the ERP and counts a prevented duplicate', async () => {
    await writer.write(request());
    const again = await writer.write(request());
    expect(again).toEqual({ outcome: 'duplicate', ref: expect.objectContaining({ documentId: 'doc-1' }) });
    expect(erp.calls).toHaveLength(1);
    expect(writer.stats()).toEqual({ written: 1, found: 0, duplicatesPrevented: 1, refused: 0 });
  });

  it('reports a refusal as an outcome, removes the marker, and lets a corrected retry write', async () => {
    erp.then('refuse');
    const refused = await writer.write(request());
    expect(refused.outcome).toBe('refused');
    expect(refused.outcome === 'refused' && refused.error.code).toBe('ERP_REJECTED');
    expect(await store.ledgerGet(KEY)).toBeUndefined();
    expect(erp.documents.size).toBe(0);

    expect((await writer.write(request())).outcome).toBe('written');
    expect(erp.count('find')).toBe(0);
  });

  it('timeout after the write: once the ERP has settled, the next attempt takes over, finds the document and does not write again', async () => {
    erp.then('timeout-after-write');
    await expect(writer.write(request())).rejects.toMatchObject({ code: 'ERP_TIMEOUT' });
    expect(await store.ledgerGet(KEY)).toMatchObject({ state: 'in-flight', owner: FIRST });
    expect(await store.kvGet(UNSETTLED_NAMESPACE, KEY)).toEqual({
      owner: FIRST,
      code: 'ERP_TIMEOUT',
      settlesAt: clock.now() + SETTLE_MS,
    });

    clock.advance(SETTLE_MS);
    const retry = await writer.write(request());
    expect(retry).toEqual({ outcome: 'found', ref: expect.objectContaining({ documentId: 'doc-1' }) });
    expect(erp.count('post')).toBe(1);
    expect(erp.documents.size).toBe(1);
    expect(await store.ledgerGet(KEY)).toMatchObject({ state: 'done', ref: { documentId: 'doc-1' } });
  });

  it('timeout before the write: the next attempt looks up, finds nothing and writes once', async () => {
    erp.then('timeout-before-write');
    await expect(writer.write(request())).rejects.toMatchObject({ code: 'ERP_TIMEOUT', retryable: true });
    clock.advance(SETTLE_MS);
    const retry = await writer.write(request());
    expect(retry.outcome).toBe('written');
    expect(erp.calls.map((call) => call.op)).toEqual(['post', 'find', 'post']);
    expect(erp.documents.size).toBe(1);
    // Every attempt of one write carries the same key, so an ERP that honours it would replay, not repeat.
    expect(new Set(erp.calls.map((call) => call.ctx.idempotencyKey))).toEqual(new Set([idempotencyKeyFor(KEY)]));
  });

  it('after a timeout the ERP may still be applying the write: until it has settled, an attempt sends nothing and says when to come back', async () => {
    erp.then('timeout-before-write');
    await expect(writer.write(request())).rejects.toMatchObject({ code: 'ERP_TIMEOUT' });
    clock.advance(SETTLE_MS - 1_000);

    const early = await writer.write(request()).catch((err: unknown) => err);
    expect(early).toMatchObject({
      code: 'ERP_CONFLICT',
      retryable: true,
      retryAfterMs: 1_000,
      details: { owner: FIRST, sent: false },
    });
    expect((early as Error).message).toMatch(/may still be applying it.*only from/);
    expect(erp.calls.map((call) => call.op)).toEqual(['post']); // no lookup that could miss a write in progress
    expect(await store.ledgerGet(KEY)).toMatchObject({ state: 'in-flight', owner: FIRST });

    clock.advance(1_000);
    expect((await writer.write(request())).outcome).toBe('written');
    expect(erp.calls.map((call) => call.op)).toEqual(['post', 'find', 'post']);
  });

  it('a request that never reached the ERP (connection refused) needs no settling: the retry looks up at once', async () => {
    erp.then('connection-refused');
    await expect(writer.write(request())).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE' });
    expect(await store.kvGet(UNSETTLED_NAMESPACE, KEY)).toMatchObject({ owner: FIRST, settlesAt: clock.now() });
    expect((await writer.write(request())).outcome).toBe('written');
    expect(erp.calls.map((call) => call.op)).toEqual(['post', 'find', 'post']);
  });

  it.each([
    ['401', new FinanceError('ERP_AUTH_FAILED', 'ERP "fake" answered 401.', { httpStatus: 401 })],
    ['429', new FinanceError('ERP_RATE_LIMITED', 'ERP "fake" answered 429.', { httpStatus: 429, retryable: true })],
  ])(
    'a lookup answered %s proves nothing about the earlier write: the marker stays and the next attempt looks up again',
    async (_status, lookupError) => {
      erp.then('timeout-after-write');
      await expect(writer.write(request())).rejects.toMatchObject({ code: 'ERP_TIMEOUT' });
      clock.advance(SETTLE_MS);
      erp.failFinds(lookupError);
      await expect(writer.write(request())).rejects.toBe(lookupError);
      expect(await store.ledgerGet(KEY)).toMatchObject({ state: 'in-flight' });
      expect(await store.kvGet(NEXT_KEY_NAMESPACE, KEY)).toBeUndefined(); // the earlier write's key is kept

      // The failed attempt only read, so the next one need not wait to look up.
      expect((await writer.write(request())).outcome).toBe('found');
      expect(erp.calls.map((call) => call.op)).toEqual(['post', 'find', 'find']);
      expect(erp.documents.size).toBe(1);
    },
  );

  it('a 5xx of the ERP itself leaves the marker like a timeout: the retry looks up first, at once (the ERP is done with it)', async () => {
    erp.then('unavailable');
    await expect(writer.write(request())).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE' });
    expect(await store.ledgerGet(KEY)).toMatchObject({ state: 'in-flight' });
    expect((await writer.write(request())).outcome).toBe('written');
    expect(erp.calls.map((call) => call.op)).toEqual(['post', 'find', 'post']);
  });

  it.each([
    ['a refusal (422)', 'refuse', 'refused'],
    ['a 401', 'unauthorized', 'ERP_AUTH_FAILED'],
  ] as const)(
    'after %s the key is retired: later attempts send a new one, the same every time, until the next final answer',
    async (_what, behaviour, outcome) => {
      erp.then(behaviour, 'timeout-before-write', 'refuse');
      const first = await writer.write(request()).catch((err: FinanceError) => ({ outcome: err.code }));
      expect(first.outcome).toBe(outcome);
      await expect(writer.write(request())).rejects.toMatchObject({ code: 'ERP_TIMEOUT' });
      clock.advance(SETTLE_MS);
      expect((await writer.write(request())).outcome).toBe('refused');
      expect((await writer.write(request())).outcome).toBe('written');

      const keys = erp.calls.filter((call) => call.op === 'post').map((call) => call.ctx.idempotencyKey);
      // An ERP that keeps its answer under a key would otherwise refuse the corrected document forever.
      expect(keys[0]).toBe(idempotencyKeyFor(KEY));
      expect(keys[1]).not.toBe(keys[0]);
      expect(keys[2]).toBe(keys[1]); // the attempt after the timeout: the same write, perhaps already applied
      expect(keys[3]).not.toBe(keys[2]);
      expect(new Set(keys).size).toBe(3);
      expect(keys.every((key) => /^fs1-[A-Za-z0-9_-]{43}$/.test(key!))).toBe(true);
      expect(await store.kvGet(NEXT_KEY_NAMESPACE, KEY)).toEqual({ idempotencyKey: keys[3] });
    },
  );

  it.each([
    ['a 429: the rate limit answered before the key was looked at', 'rate-limited'],
    ['a 409: the first request with the key may still be running', 'conflict'],
  ] as const)('after %s, the key stays', async (_what, behaviour) => {
    erp.then(behaviour);
    await writer.write(request()).catch(() => undefined);
    expect((await writer.write(request())).outcome).toBe('written');
    const keys = erp.calls.filter((call) => call.op === 'post').map((call) => call.ctx.idempotencyKey);
    expect(keys).toEqual([idempotencyKeyFor(KEY), idempotencyKeyFor(KEY)]);
    expect(await store.kvGet(NEXT_KEY_NAMESPACE, KEY)).toBeUndefined();
  });

  it('an answer that proves nothing was written (401) removes the marker; the retry writes without a lookup', async () => {
    erp.then('unauthorized');
    await expect(writer.write(request())).rejects.toMatchObject({ code: 'ERP_AUTH_FAILED' });
    expect(await store.ledgerGet(KEY)).toBeUndefined();
    expect((await writer.write(request())).outcome).toBe('written');
    expect(erp.calls.map((call) => call.op)).toEqual(['post', 'post']);
  });

  it('crash with an in-flight marker: after the takeover timeout the lookup finds the document', async () => {
    // A host began the write, the ERP applied it, and the host died before recording it.
    await store.ledgerBegin(KEY, 'crashed-host:x');
    await erp.post(posting, { correlationId: 'corr-0' });
    erp.calls.length = 0;

    clock.advance(TAKEOVER_MS);
    const result = await writer.write(request());
    expect(result).toEqual({ outcome: 'found', ref: expect.objectContaining({ documentId: 'doc-1' }) });
    expect(erp.calls.map((call) => call.op)).toEqual(['find']);
    expect(await store.ledgerGet(KEY)).toMatchObject({ state: 'done' });
  });

  it('crash with an in-flight marker: the lookup finds nothing, so the takeover writes once', async () => {
    await store.ledgerBegin(KEY, 'crashed-host:x');
    clock.advance(TAKEOVER_MS);
    expect((await writer.write(request())).outcome).toBe('written');
    expect(erp.calls.map((call) => call.op)).toEqual(['find', 'post']);
    expect(erp.documents.size).toBe(1);
  });

  it('a recent marker of an attempt that may still run: a retryable ERP_CONFLICT, and nothing is sent', async () => {
    await store.ledgerBegin(KEY, 'other-host:y');
    clock.advance(TAKEOVER_MS - 1);
    const error = await writer.write(request()).catch((err: unknown) => err);
    expect(error).toBeInstanceOf(FinanceError);
    expect(error).toMatchObject({ code: 'ERP_CONFLICT', retryable: true, details: { owner: 'other-host:y' } });
    expect((error as Error).message).toMatch(/right now.*retry/);
    expect(erp.calls).toHaveLength(0);
  });

  it('a concurrent second attempt does not write; after the first finishes, a third answers from the ledger', async () => {
    let release!: () => void;
    erp.then({ hold: new Promise<void>((resolve) => (release = resolve)) });
    const first = writer.write(request());
    await waitFor(() => erp.count('post') === 1);

    await expect(writer.write(request())).rejects.toMatchObject({ code: 'ERP_CONFLICT', retryable: true });
    release();
    expect((await first).outcome).toBe('written');
    expect((await writer.write(request())).outcome).toBe('duplicate');
    expect(erp.count('post')).toBe(1);
  });

  it('an unsettled note never lets an attempt take over a marker that a different, live attempt holds', async () => {
    erp.then('timeout-before-write');
    await expect(writer.write(request())).rejects.toMatchObject({ code: 'ERP_TIMEOUT' });
    // The marker changed hands after the note was written (another attempt took it over and is writing now).
    expect(await store.ledgerTakeOver(KEY, 'host-b:live', 0)).toMatchObject({ state: 'taken-over' });
    expect(await store.kvGet(UNSETTLED_NAMESPACE, KEY)).toMatchObject({ owner: FIRST, code: 'ERP_TIMEOUT' });
    clock.advance(SETTLE_MS);
    await expect(writer.write(request())).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
      details: { owner: 'host-b:live' },
    });
    expect(erp.count('post')).toBe(1);
  });

  it('two attempts racing to take over the same noted marker: only the one that replaced the noted owner writes', async () => {
    erp.then('timeout-before-write');
    await expect(writer.write(request())).rejects.toMatchObject({ code: 'ERP_TIMEOUT' });
    // Let another attempt take the noted marker over just before this attempt does (between its read and its takeover).
    const racing = raceOnNoteRead(store, () => store.ledgerTakeOver(KEY, 'host-b:racer', 0));
    clock.advance(SETTLE_MS);
    const racer = new LedgerWriter(racing, { ownerPrefix: 'node-1', takeoverAfterMs: TAKEOVER_MS, now: clock.now });
    await expect(racer.write(request())).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
      details: { owner: 'host-b:racer' },
    });
    expect(erp.count('post')).toBe(1);
    // The racer, which may be writing, still records its outcome.
    await store.ledgerDone(KEY, { documentId: 'doc-by-racer' });
    expect((await writer.write(request())).outcome).toBe('duplicate');
  });

  it('if recording the reference fails after a successful write, the marker stays and a later attempt finds it', async () => {
    const failingDone = storeWith(store, {
      ledgerDone: () => Promise.reject(new FinanceError('STORE_UNAVAILABLE', 'disk full')),
    });
    const flaky = new LedgerWriter(failingDone, { ownerPrefix: 'node-1', takeoverAfterMs: TAKEOVER_MS });
    await expect(flaky.write(request())).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(await store.ledgerGet(KEY)).toMatchObject({ state: 'in-flight' });

    // The attempt ended in this process, so its marker is taken over at once: the lookup finds the document.
    expect((await writer.write(request())).outcome).toBe('found');
    expect(erp.count('post')).toBe(1);
  });

  describe('markers of attempts that are over', () => {
    const otherProcess = '0b0b0b0b-1111-4222-8333-444455556666';

    it('a marker left by a process that is gone (no heartbeat) is taken over at once, lookup first', async () => {
      // Another process began the write, the ERP applied it, and the process was killed.
      await store.ledgerBegin(KEY, `node-1:${otherProcess}:x`);
      await erp.post(posting, { correlationId: 'corr-0' });
      erp.calls.length = 0;

      expect((await writer.write(request())).outcome).toBe('found');
      expect(erp.calls.map((call) => call.op)).toEqual(['find']);
    });

    it('a marker of a process with a live heartbeat waits for the takeover timeout, uncounted by retries', async () => {
      await store.kvPut(HOLDER_NAMESPACE, otherProcess, { renewedAt: 'now' }, 30_000);
      await store.ledgerBegin(KEY, `node-1:${otherProcess}:x`);
      await expect(writer.write(request())).rejects.toMatchObject({
        code: 'ERP_CONFLICT',
        retryable: true,
        details: { sent: false },
      });
      // The heartbeat was not renewed: the process is gone.
      clock.advance(30_000);
      expect((await writer.write(request())).outcome).toBe('written');
      expect(erp.calls.map((call) => call.op)).toEqual(['find', 'post']);
    });

    it('keeps this process alive until the longest request timeout of its clients has passed since the last renewal', async () => {
      // A client of this process waits up to 120 s for an answer: a request sent just before a crash may still be
      // inside the ERP that long, so another process must not look the document up and write it again before.
      // And the ERP may go on applying it as long again after the client stopped waiting (settleAfterMs).
      noteRequestTimeout(120_000);
      let release!: () => void;
      erp.then({ hold: new Promise<void>((resolve) => (release = resolve)) });
      const first = writer.write(request());
      await waitFor(() => erp.count('post') === 1);
      clock.advance(245_000);
      expect(await store.kvGet(HOLDER_NAMESPACE, PROCESS_ID)).toEqual({ renewedAt: expect.any(String) });
      clock.advance(6_000);
      expect(await store.kvGet(HOLDER_NAMESPACE, PROCESS_ID)).toBeUndefined();
      release();
      expect((await first).outcome).toBe('written');
    });

    it('keeps this process alive in the store while it writes', async () => {
      let release!: () => void;
      erp.then({ hold: new Promise<void>((resolve) => (release = resolve)) });
      const first = writer.write(request());
      await waitFor(() => erp.count('post') === 1);
      expect(await store.kvGet(HOLDER_NAMESPACE, PROCESS_ID)).toEqual({ renewedAt: expect.any(String) });
      // A live attempt of this process is never taken over, whatever its marker's age.
      clock.advance(TAKEOVER_MS - 1);
      await expect(writer.write(request())).rejects.toMatchObject({ code: 'ERP_CONFLICT' });
      release();
      expect((await first).outcome).toBe('written');
    });
  });

  it('a write without a lookup (a repeatable update) simply writes again after a takeover', async () => {
    erp.then('timeout-after-write');
    const repeatable = { ...request(), lookup: undefined };
    await expect(writer.write(repeatable)).rejects.toMatchObject({ code: 'ERP_TIMEOUT' });
    clock.advance(SETTLE_MS);
    expect((await writer.write(repeatable)).outcome).toBe('written');
    expect(erp.calls.map((call) => call.op)).toEqual(['post', 'post']);
  });

  it('rejects a takeover timeout that is not a positive whole number of ms', () => {
    expect(() => new LedgerWriter(store, { ownerPrefix: 'x', takeoverAfterMs: 0 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID' }),
    );
    expect(DEFAULT_TAKEOVER_AFTER_MS).toBeGreaterThan(60_000);
  });
});

describe('classifying ERP failures', () => {
  const error = (
    code: 'ERP_REJECTED' | 'ERP_CONFLICT' | 'ERP_UNAVAILABLE' | 'ERP_RATE_LIMITED' | 'ERP_NOT_FOUND' | 'ERP_TIMEOUT',
    httpStatus?: number,
    retryable = false,
  ) => new FinanceError(code, 'x', { httpStatus, retryable });

  it('refusals are final 4xx rejections and conflicts', () => {
    expect(isRefusal(error('ERP_REJECTED', 422))).toBe(true);
    expect(isRefusal(error('ERP_REJECTED', 400))).toBe(true);
    expect(isRefusal(error('ERP_CONFLICT', 409))).toBe(true);
    expect(isRefusal(error('ERP_CONFLICT', 409, true))).toBe(false);
    expect(isRefusal(error('ERP_REJECTED', 302))).toBe(false);
    expect(isRefusal(error('ERP_NOT_FOUND', 404))).toBe(false);
    expect(isRefusal(new Error('boom'))).toBe(false);
  });

  it('a request may still be applied after no answer or a gateway giving up, not after an answer of the ERP or no connection', () => {
    const transport = (transportCode: string) =>
      new FinanceError('ERP_UNAVAILABLE', 'x', { retryable: true, details: { transportCode } });
    expect(mayStillBeApplied(error('ERP_TIMEOUT', undefined, true))).toBe(true);
    expect(mayStillBeApplied(transport('ECONNRESET'))).toBe(true);
    expect(mayStillBeApplied(error('ERP_UNAVAILABLE', 504, true))).toBe(true);
    expect(mayStillBeApplied(error('ERP_UNAVAILABLE', 502, true))).toBe(true);
    expect(mayStillBeApplied(new Error('socket hang up'))).toBe(true);
    expect(mayStillBeApplied(error('ERP_UNAVAILABLE', 503, true))).toBe(false);
    expect(mayStillBeApplied(error('ERP_UNAVAILABLE', 500, true))).toBe(false);
    expect(mayStillBeApplied(transport('ECONNREFUSED'))).toBe(false);
    expect(mayStillBeApplied(new FinanceError('CIRCUIT_OPEN', 'x', { retryable: true }))).toBe(false);
    expect(mayStillBeApplied(new FinanceError('ERP_UNAVAILABLE', 'x', { details: { sent: false } }))).toBe(false);
  });

  it('only final 4xx answers and 429 prove that nothing was written', () => {
    expect(provesNothingWritten(error('ERP_NOT_FOUND', 404))).toBe(true);
    expect(provesNothingWritten(error('ERP_RATE_LIMITED', 429, true))).toBe(true);
    expect(provesNothingWritten(error('ERP_UNAVAILABLE', 409, true))).toBe(false); // earlier request still running
    expect(provesNothingWritten(error('ERP_UNAVAILABLE', 408, true))).toBe(false);
    expect(provesNothingWritten(error('ERP_UNAVAILABLE', 503, true))).toBe(false);
    expect(provesNothingWritten(error('ERP_TIMEOUT', undefined, true))).toBe(false);
    expect(provesNothingWritten(new Error('socket hang up'))).toBe(false);
  });
});

/** A view of `store` that runs `race` right after the unsettled note has been read. */
function raceOnNoteRead(store: FinanceStore, race: () => Promise<unknown>): FinanceStore {
  return storeWith(store, {
    kvGet: async (namespace: string, key: string) => {
      const value = await store.kvGet(namespace, key);
      if (namespace === UNSETTLED_NAMESPACE) await race();
      return value;
    },
  });
}

/** The same store with some methods replaced (the others still run on the real store). */
function storeWith(store: FinanceStore, overrides: Partial<FinanceStore>): FinanceStore {
  return Object.assign(Object.create(store) as FinanceStore, overrides);
}

async function waitFor(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setImmediate(resolve));
}
