import { ledgerKey, type FinanceStore } from '../../../lib/reliability/store';
import { BACKENDS, manualClock, storeSandbox, type Clock } from './store-fixture';

const DAY = 24 * 60 * 60 * 1000;

describe.each(BACKENDS)('ledger (%s)', (backend) => {
  const sandbox = storeSandbox('ledger', backend);
  let clock: Clock;
  let store: FinanceStore;
  const key = ledgerKey({ source: 'coupa', docType: 'requisition', docId: 'R-1', version: 3, operation: 'create-po' });

  beforeEach(() => {
    clock = manualClock();
    store = sandbox.open({ path: sandbox.newPath(), now: clock.now, ledgerRetentionMs: 30 * DAY });
  });
  afterEach(() => store.close());
  afterAll(() => sandbox.cleanup());

  it('builds keys as source:docType:docId:version:operation, escaping colons inside parts', () => {
    expect(key).toBe('coupa:requisition:R-1:3:create-po');
    const tricky = ledgerKey({ source: 'a:b', docType: 'c', docId: '50%', version: '1', operation: 'post' });
    const other = ledgerKey({ source: 'a', docType: 'b:c', docId: '50%', version: '1', operation: 'post' });
    expect(tricky).toBe('a%3Ab:c:50%25:1:post');
    expect(tricky).not.toBe(other);
  });

  it('begin starts once; a second begin sees the in-flight marker with its owner and start time', async () => {
    expect(await store.ledgerBegin(key, 'host-a')).toEqual({ state: 'started' });
    clock.advance(10);
    expect(await store.ledgerBegin(key, 'host-b')).toEqual({
      state: 'in-flight',
      since: clock.now() - 10,
      owner: 'host-a',
    });
    expect(await store.ledgerGet(key)).toEqual({ state: 'in-flight', owner: 'host-a', since: clock.now() - 10 });
  });

  it('concurrent begins let exactly one caller write', async () => {
    const results = await Promise.all(Array.from({ length: 50 }, (_, i) => store.ledgerBegin(key, `worker-${i}`)));
    expect(results.filter((result) => result.state === 'started')).toHaveLength(1);
  });

  it('done records the ERP reference; later begins answer it and it is not replaced', async () => {
    await store.ledgerBegin(key, 'host-a');
    const done = await store.ledgerDone(key, { documentId: 'PO-1001', etag: 'W/"1"' });
    expect(done).toEqual({ state: 'done', ref: { documentId: 'PO-1001', etag: 'W/"1"' }, at: clock.now() });
    expect(await store.ledgerBegin(key, 'host-b')).toEqual({
      state: 'done',
      ref: { documentId: 'PO-1001', etag: 'W/"1"' },
    });
    expect((await store.ledgerDone(key, { documentId: 'PO-9999' })).state).toBe('done');
    expect(await store.ledgerGet(key)).toMatchObject({ ref: { documentId: 'PO-1001' } });
  });

  it('abort removes an in-flight marker (only its owner’s when named) so the write can start again', async () => {
    await store.ledgerBegin(key, 'host-a');
    expect(await store.ledgerAbort(key, 'host-b')).toBe(false);
    expect(await store.ledgerAbort(key, 'host-a')).toBe(true);
    expect(await store.ledgerGet(key)).toBeUndefined();
    expect(await store.ledgerBegin(key, 'host-b')).toEqual({ state: 'started' });
    expect(await store.ledgerAbort(key)).toBe(true);
  });

  it('abort never removes a done record', async () => {
    await store.ledgerBegin(key, 'host-a');
    await store.ledgerDone(key, 'PO-1');
    expect(await store.ledgerAbort(key)).toBe(false);
    expect(await store.ledgerGet(key)).toMatchObject({ state: 'done', ref: 'PO-1' });
  });

  it('takeOver replaces a stale in-flight marker and reports the previous owner', async () => {
    await store.ledgerBegin(key, 'host-a');
    const since = clock.now();
    clock.advance(59_999);
    expect(await store.ledgerTakeOver(key, 'host-b', 60_000)).toEqual({ state: 'in-flight', since, owner: 'host-a' });
    clock.advance(1);
    expect(await store.ledgerTakeOver(key, 'host-b', 60_000)).toEqual({
      state: 'taken-over',
      previousOwner: 'host-a',
      previousSince: since,
    });
    expect(await store.ledgerGet(key)).toEqual({ state: 'in-flight', owner: 'host-b', since: clock.now() });
    // The old owner can no longer remove the new owner's marker.
    expect(await store.ledgerAbort(key, 'host-a')).toBe(false);
  });

  it('takeOver starts a write when there is no marker and leaves a done write alone', async () => {
    expect(await store.ledgerTakeOver(key, 'host-b', 1000)).toEqual({ state: 'started' });
    await store.ledgerDone(key, 'PO-7');
    clock.advance(10 * DAY);
    expect(await store.ledgerTakeOver(key, 'host-c', 1000)).toEqual({ state: 'done', ref: 'PO-7' });
  });

  it('purges done records after the retention period but never in-flight markers', async () => {
    const inFlight = `${key}-other`;
    await store.ledgerBegin(key, 'host-a');
    await store.ledgerDone(key, 'PO-1');
    await store.ledgerBegin(inFlight, 'host-a');
    clock.advance(30 * DAY);
    expect(await store.purgeExpired()).toEqual({ inbox: 0, ledger: 1, kv: 0, leases: 0 });
    expect(await store.ledgerGet(key)).toBeUndefined();
    expect(await store.ledgerGet(inFlight)).toMatchObject({ state: 'in-flight' });
  });

  it('keeps done records for ever by default: a replay years later finds the write done', async () => {
    const keeping = sandbox.open({ path: sandbox.newPath(), now: clock.now });
    try {
      await keeping.ledgerBegin(key, 'host-a');
      await keeping.ledgerDone(key, 'JE-1');
      clock.advance(3 * 365 * DAY);
      expect(await keeping.purgeExpired()).toEqual({ inbox: 0, ledger: 0, kv: 0, leases: 0 });
      expect(await keeping.ledgerBegin(key, 'host-b')).toEqual({ state: 'done', ref: 'JE-1' });
    } finally {
      await keeping.close();
    }
  });

  it('purges a record done with its own retention after that, whatever the store keeps the others for', async () => {
    const marker = `${key}-marker`;
    const keeping = sandbox.open({ path: sandbox.newPath(), now: clock.now });
    try {
      for (const each of [store, keeping]) {
        await each.ledgerBegin(marker, 'host-a');
        await each.ledgerDone(marker, { completed: true }, { retainMs: 7 * DAY });
        await each.ledgerBegin(key, 'host-a');
        await each.ledgerDone(key, 'PO-1');
        // Done already: neither the first reference nor its retention changes.
        await each.ledgerDone(marker, 'again', { retainMs: 365 * DAY });
      }
      clock.advance(7 * DAY - 1);
      expect(await store.purgeExpired()).toMatchObject({ ledger: 0 });
      expect(await keeping.purgeExpired()).toMatchObject({ ledger: 0 });
      clock.advance(1);
      for (const each of [store, keeping]) {
        expect(await each.purgeExpired()).toMatchObject({ ledger: 1 });
        expect(await each.ledgerGet(marker)).toBeUndefined();
        expect(await each.ledgerGet(key)).toMatchObject({ state: 'done', ref: 'PO-1' });
      }
      // The ERP write keeps the store's retention: 30 days here, for ever by default.
      clock.advance(23 * DAY);
      expect(await store.purgeExpired()).toMatchObject({ ledger: 1 });
      expect(await keeping.purgeExpired()).toMatchObject({ ledger: 0 });
      expect(await keeping.ledgerGet(key)).toMatchObject({ state: 'done', ref: 'PO-1' });
    } finally {
      await keeping.close();
    }
  });

  it('rejects bad keys and owners with SCHEMA_INVALID', async () => {
    await expect(store.ledgerBegin('', 'host-a')).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    await expect(store.ledgerBegin(key, '')).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    await expect(store.ledgerTakeOver(key, 'host-a', -1)).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    await expect(store.ledgerDone(key, 'PO-1', { retainMs: 0 })).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    await expect(store.ledgerDone(key, 'PO-1', { retainMs: 1.5 })).rejects.toMatchObject({ code: 'SCHEMA_INVALID' });
    expect(await store.ledgerGet(key)).toBeUndefined();
  });
});
