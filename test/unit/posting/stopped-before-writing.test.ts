/**
 * A write the dialect stopped before its first writing request (details.written false: its own checks refused
 * the document, or a read failed) leaves no marker behind, so the next attempt starts afresh instead of waiting
 * for an ERP that never got anything. An error without that word still keeps the marker: the pack cannot tell
 * from a code alone whether an earlier request of the write went out.
 */
import type { CallContext, PostingRef } from '../../../lib/erp/dialect';
import { FinanceError } from '../../../lib/errors';
import {
  LedgerWriter,
  NEXT_KEY_NAMESPACE,
  UNSETTLED_NAMESPACE,
  provesNothingWritten,
  stoppedBeforeWriting,
  type IdempotentWrite,
} from '../../../lib/posting/idempotent-write';
import { ledgerKey, type FinanceStore, type LedgerKeyParts } from '../../../lib/reliability/store';
import { manualClock, storeFolder, type ManualClock } from './fixtures';

const SETTLE_MS = 5_000;
const parts: LedgerKeyParts = {
  source: 'ramp',
  docType: 'ExpenseReport',
  docId: 'tx-4',
  version: 1,
  operation: 'post',
};
const KEY = ledgerKey(parts);
const REF: PostingRef = { system: 'erp', dialect: 'fake', documentType: 'posting', documentId: 'doc-1' };

describe('LedgerWriter: a write that stopped before writing', () => {
  const folder = storeFolder('stopped');
  let clock: ManualClock;
  let store: FinanceStore;
  let writer: LedgerWriter;
  beforeEach(() => {
    clock = manualClock();
    store = folder.open(clock.now);
    writer = new LedgerWriter(store, { ownerPrefix: 'node-1', settleAfterMs: SETTLE_MS, now: clock.now });
  });
  afterAll(() => folder.cleanup());

  const failing = (error: FinanceError, calls: CallContext[]): IdempotentWrite<PostingRef> => ({
    key: parts,
    correlationId: 'corr-1',
    write: async (ctx) => {
      calls.push(ctx);
      throw error;
    },
    lookup: async () => null,
  });

  it('releases the marker, keeps the Idempotency-Key and throws the error as it came', async () => {
    const calls: CallContext[] = [];
    const local = new FinanceError('SCHEMA_INVALID', 'Posting for Business Central: a payable needs a vendor.', {
      details: { written: false },
    });
    await expect(writer.write(failing(local, calls))).rejects.toBe(local);
    expect(await store.ledgerGet(KEY)).toBeUndefined();
    expect(await store.kvGet(UNSETTLED_NAMESPACE, KEY)).toBeUndefined();
    expect(await store.kvGet(NEXT_KEY_NAMESPACE, KEY)).toBeUndefined();
    // The next attempt starts at once, without a settle wait or a lookup, and writes with the same key.
    const written = await writer.write({ key: parts, correlationId: 'corr-2', write: async () => REF });
    expect(written).toEqual({ outcome: 'written', ref: REF });
  });

  it('keeps the marker for the same error without the word of the dialect', async () => {
    const calls: CallContext[] = [];
    const unknown = new FinanceError('SCHEMA_INVALID', 'Posting: the ERP answered a shape it does not know.');
    await expect(writer.write(failing(unknown, calls))).rejects.toBe(unknown);
    expect(await store.ledgerGet(KEY)).toMatchObject({ state: 'in-flight' });
    await expect(writer.write({ key: parts, correlationId: 'corr-2', write: async () => REF })).rejects.toMatchObject({
      code: 'ERP_CONFLICT',
      details: { sent: false },
    });
  });

  it('is told by details.written false only', () => {
    const marked = new FinanceError('ERP_TIMEOUT', 'a read timed out', {
      retryable: true,
      details: { written: false },
    });
    expect(stoppedBeforeWriting(marked)).toBe(true);
    expect(provesNothingWritten(marked)).toBe(true);
    expect(provesNothingWritten(new FinanceError('ERP_TIMEOUT', 'x', { retryable: true }))).toBe(false);
    expect(stoppedBeforeWriting(new FinanceError('SCHEMA_INVALID', 'x', { details: { sent: false } }))).toBe(false);
    expect(stoppedBeforeWriting(new Error('x'))).toBe(false);
  });
});
