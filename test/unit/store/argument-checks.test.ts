/**
 * Arguments both backends refuse alike, as bad input (SCHEMA_INVALID, not retried), where PostgreSQL used to
 * store something else than it was given or fail with a retryable STORE_UNAVAILABLE.
 */
import { FinanceError } from '../../../lib/errors';
import { inboxKey, type FinanceStore } from '../../../lib/reliability/store';
import { MAX_KEY_BYTES, requireKvPrefix } from '../../../lib/reliability/store-arguments';
import { intakeFor, sampleBody, signed, storeSandbox as intakeSandbox } from '../intake/fixtures';
import { BACKENDS, manualClock, storeSandbox } from './store-fixture';

async function refusal(call: () => Promise<unknown>): Promise<FinanceError> {
  const err = await call().then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(err).toBeInstanceOf(FinanceError);
  expect(err).toMatchObject({ code: 'SCHEMA_INVALID' });
  expect((err as FinanceError).retryable).toBeFalsy();
  return err as FinanceError;
}

describe.each(BACKENDS)('store arguments (%s)', (backend) => {
  const sandbox = storeSandbox(`args-${backend}`, backend);
  let store: FinanceStore;
  beforeEach(() => {
    store = sandbox.open({ path: sandbox.newPath(), now: manualClock().now });
  });
  afterAll(() => sandbox.cleanup());

  describe('keys that are not well-formed UTF-16 (lone surrogates, e.g. from JSON "\\ud800")', () => {
    const lone = ['INV-7\ud800', 'INV-7\udc00', '\udc00\ud800'];

    it('are refused in the inbox, the ledger, the kv space and lease names', async () => {
      for (const id of lone) {
        const err = await refusal(() => store.accept({ key: inboxKey('coupa', id), envelope: {}, payload: null }));
        expect(err.message).toMatch(/inbox key holds a lone UTF-16 surrogate \(U\+D[8C]00\) at position \d+/);
        await refusal(() => store.ledgerBegin(`coupa:expense-report:${id}:1:post`, 'host-a'));
        await refusal(() => store.kvPut('ns', id, 1));
        await refusal(() => store.kvPut(id, 'key', 1));
        await refusal(() => store.claimLease(id, 'host-a', 1000));
      }
      expect(await store.countOpen()).toBe(0);
    });

    it('are refused as a kv listing prefix', async () => {
      await store.kvPut('ns', 'INV-7\ufffd-a', 1);
      for (const id of lone) {
        const err = await refusal(() => store.kvList('ns', { prefix: id }));
        expect(err.message).toMatch(/key prefix holds a lone UTF-16 surrogate \(U\+D[8C]00\) at position \d+/);
      }
      // The same prefix well-formed: U+FFFD is a character like any other.
      expect(await store.kvList('ns', { prefix: 'INV-7\ufffd' })).toEqual([{ key: 'INV-7\ufffd-a', value: 1 }]);
    });

    it('leave U+FFFD and surrogate pairs as distinct keys', async () => {
      for (const id of ['INV-7\ufffd', 'INV-7\ud83d\udcb6', 'INV-7\ud83d\udcb7']) {
        expect(await store.accept({ key: inboxKey('coupa', id), envelope: {}, payload: id })).toMatchObject({
          status: 'accepted',
        });
      }
      expect(await store.countOpen()).toBe(3);
    });
  });

  describe('numbers that are not safe integers', () => {
    const notWhole = [0.5, 1500.5, 1e20, Number.MAX_SAFE_INTEGER + 1];

    it('are refused as durations: leases, ttls, take-overs', async () => {
      await store.accept({ key: 'k', envelope: {}, payload: null, lease: { owner: 'n1@p', ms: 0 } });
      for (const ms of notWhole) {
        await refusal(() => store.accept({ key: 'k2', envelope: {}, payload: null, lease: { owner: 'o', ms } }));
        await refusal(() => store.lease('k', 'o', ms));
        await refusal(() => store.leaseIfExpired('k', 'o', ms));
        await refusal(() => store.renewLease('k', 'o', ms));
        await refusal(() => store.takeOverLease('k', 'n1', 'n2@p', ms));
        await refusal(() => store.kvPut('ns', 'k', 1, ms));
        await refusal(() => store.claimLease('job', 'host-a', ms));
      }
      expect(await store.countOpen()).toBe(1);
    });
  });
});

describe('PostgreSQL store: numbers its bigint columns cannot hold', () => {
  const sandbox = storeSandbox('args-pg-times', 'postgres');
  afterAll(() => sandbox.cleanup());

  it('refuses them as bad input for times, holds and grace periods too', async () => {
    const store = sandbox.open({ path: sandbox.newPath() });
    await store.accept({ key: 'k', envelope: {}, payload: null });
    for (const value of [1_700_000_000_000.5, 1e20]) {
      await refusal(() => store.accept({ key: 'k2', envelope: {}, payload: null, receivedAt: value }));
      await refusal(() => store.holdLease('k', value));
      await refusal(() => store.expiredLeases(10, value));
    }
    expect(await store.countOpen()).toBe(1);
  });
});

describe('intake: event ids and sources that are not well-formed UTF-16', () => {
  const sandbox = intakeSandbox('well-formed');
  afterAll(() => sandbox.cleanup());

  it('refuses them with a 400 that names the field, before the store sees them', async () => {
    const store = sandbox.open();
    const intake = intakeFor(store);
    const body = sampleBody(60);
    body.id = 'evt-\ud800-1';
    const result = await intake.receive(signed(body));
    expect(result).toMatchObject({ outcome: 'rejected', httpStatus: 400, problem: { code: 'SCHEMA_INVALID' } });
    if (result.outcome !== 'rejected') throw new Error('not rejected');
    expect(result.problem.detail).toBe(
      'The body has the unpaired surrogate U+D800 in the text at /id (position 4): it is half of a character (an ' +
        'emoji cut in two, for example) and has no UTF-8 form, so it cannot be stored as sent. Send well-formed text.',
    );
    const source = sampleBody(61);
    source.source = 'urn:x:\udc00';
    expect(intake.check(signed(source))).toMatchObject({
      outcome: 'rejected',
      httpStatus: 400,
      problem: { detail: expect.stringContaining('The body has the unpaired surrogate U+DC00 in the text at /source') },
    });
    expect(await store.countOpen()).toBe(0);
  });
});

describe('requireKvPrefix, the kv listing prefix check of both backends', () => {
  it('refuses a lone surrogate with the words a key gets, and accepts well-formed text', () => {
    expect(() => requireKvPrefix('ns', 'INV-7\ud800')).toThrow(
      'The key prefix holds a lone UTF-16 surrogate (U+D800) at position 5; keys must be well-formed Unicode text.',
    );
    expect(() => requireKvPrefix('ns', '\udc00')).toThrow(/U\+DC00\) at position 0/);
    for (const prefix of ['', 'INV-7\ufffd', 'INV-7\ud83d\udcb6']) expect(requireKvPrefix('ns', prefix)).toBe(prefix);
  });

  it('still refuses what it refused before: no string, or too long with the namespace', () => {
    expect(() => requireKvPrefix('ns', 7)).toThrow('The prefix must be a string');
    expect(() => requireKvPrefix('ns', 'x'.repeat(MAX_KEY_BYTES - 1))).toThrow(`at most ${MAX_KEY_BYTES} bytes`);
  });
});
