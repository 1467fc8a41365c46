/**
 * Within one version, a write-back retried after a later status of the document was written back is answered
 * superseded and not sent (an `approved` that failed while the report was posted must not land last), by the
 * rank of the statuses in the lifecycle (outcome.ts, WRITEBACK_STATUS_RANKS). Statuses of one rank, a later
 * status than the one written, and custom statuses go out as before. Documents without a version are kept in
 * rank order alone.
 */
import type { ErpHttp, ErpRequest, ErpResponse } from '../../../lib/erp/client';
import { FinanceError } from '../../../lib/errors';
import { LedgerWriter } from '../../../lib/posting/idempotent-write';
import type { FinanceStore } from '../../../lib/reliability/store';
import { createConcurTarget } from '../../../lib/writeback/concur-target';
import { isSuperseded, LatestVersionGuard, WRITEBACK_VERSIONS_NAMESPACE } from '../../../lib/writeback/latest-version';
import { writebackRank } from '../../../lib/writeback/outcome';
import { destinationDigest, performWriteback } from '../../../lib/writeback/writeback';
import { storeFolder } from '../posting/fixtures';

type Msg = Record<string, unknown>;
const DESTINATION = 'concur|source=src|number=custom15|status=custom16';

/** Concur as the source: the custom16 (status) values it accepted, in order; 503 for the statuses in `failing`. */
function concur() {
  const statuses: string[] = [];
  const failing = new Set<string>();
  const http: ErpHttp = {
    async request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
      const customData = (request.body as { customData: Array<{ id: string; value: string }> }).customData;
      const status = customData.find((field) => field.id === 'custom16')!.value;
      if (failing.has(status)) {
        throw new FinanceError('ERP_UNAVAILABLE', 'Concur is busy (test).', { retryable: true, httpStatus: 503 });
      }
      statuses.push(status);
      return { status: 204, data: '' as T, headers: {}, durationMs: 1 };
    },
  };
  return { http, statuses, failing };
}

const report = (version?: number, id = 'RPT-9') => ({
  docType: 'ExpenseReport',
  sourceRef: { system: 'concur', id, ...(version === undefined ? {} : { version }) },
});
const erp = { system: 'erp', dialect: 'sandbox', documentType: 'journal', documentId: 'd1', number: 'JNL-1' };
const approval = (state: string) => ({ state });

describe('write-back order of the statuses within one version', () => {
  const folder = storeFolder('writeback-status-order');
  let store: FinanceStore;
  let source: ReturnType<typeof concur>;
  let write: (message: Msg) => ReturnType<typeof performWriteback>;

  beforeEach(() => {
    store = folder.open(Date.now);
    source = concur();
    const writer = new LedgerWriter(store, { ownerPrefix: 'wb', settleAfterMs: 0 });
    const guard = new LatestVersionGuard(store, { holderPrefix: 'wb' });
    const target = createConcurTarget(source.http, { numberField: 'custom15', statusField: 'custom16' });
    write = (message) =>
      performWriteback(
        writer,
        target,
        { message, destination: DESTINATION, correlationId: 'c', userId: 'U1', now: new Date() },
        guard,
      );
  });
  afterAll(() => folder.cleanup());

  /** `status` of `payload` fails once (parked), then `then` runs, then the parked write-back is retried. */
  async function parkedWhile(payload: Msg['payload'], status: string, message: Msg, then: () => Promise<unknown>) {
    source.failing.add(status);
    await expect(write({ ...message, payload })).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE' });
    source.failing.delete(status);
    await then();
    return write({ ...message, payload });
  }

  it('does not send an approved retried after the posted of the same version', async () => {
    const retry = await parkedWhile(report(7), 'approved', { approval: approval('approved') }, () =>
      write({ payload: report(7), erp }),
    );
    expect(retry).toMatchObject({ outcome: 'done', writeback: { status: 'approved', sent: false, superseded: true } });
    expect(source.statuses).toEqual(['posted']);
  });

  it('does not send a rejected retried after the report started over and was posted under the same version', async () => {
    const retry = await parkedWhile(report(7), 'rejected', { approval: approval('rejected') }, () =>
      write({ payload: report(7), erp }),
    );
    expect(retry).toMatchObject({ writeback: { status: 'rejected', sent: false, superseded: true } });
    expect(source.statuses).toEqual(['posted']);
  });

  it('sends a later status of the same version: posted after rejected (started over), returned after approved', async () => {
    await write({ payload: report(3), approval: approval('rejected') });
    expect(await write({ payload: report(3), erp })).toMatchObject({ writeback: { sent: true } });
    await write({ payload: report(4, 'RPT-4'), approval: approval('approved') });
    expect(await write({ payload: report(4, 'RPT-4'), approval: approval('returned') })).toMatchObject({
      writeback: { sent: true },
    });
    // Of one rank, in the order they come: a returned report rejected after its resubmission.
    expect(await write({ payload: report(4, 'RPT-4'), approval: approval('rejected') })).toMatchObject({
      writeback: { sent: true },
    });
    expect(source.statuses).toEqual(['rejected', 'posted', 'approved', 'returned', 'rejected']);
  });

  it('does not send an escalated retried after the decision, nor an ordered after the cancel of the version', async () => {
    const retry = await parkedWhile(report(2), 'escalated', { approval: approval('escalated') }, () =>
      write({ payload: report(2), approval: approval('approved') }),
    );
    expect(retry).toMatchObject({ writeback: { superseded: true } });
    const ordered = await parkedWhile(
      report(5, 'REQ-5'),
      'ordered',
      { erp, purchaseOrder: { action: 'created' } },
      () => write({ payload: report(5, 'REQ-5'), erp, purchaseOrder: { action: 'cancelled' } }),
    );
    expect(ordered).toMatchObject({ writeback: { status: 'ordered', superseded: true } });
    expect(source.statuses).toEqual(['approved', 'cancelled']);
  });

  it('keeps a document without a version in rank order alone', async () => {
    const retry = await parkedWhile(report(undefined, 'RPT-U'), 'approved', { approval: approval('approved') }, () =>
      write({ payload: report(undefined, 'RPT-U'), erp }),
    );
    expect(retry).toMatchObject({ writeback: { status: 'approved', superseded: true } });
    expect(source.statuses).toEqual(['posted']);
  });

  it('writes a custom status as before: in version order only, and without a version unguarded', async () => {
    await write({ payload: report(7), erp });
    expect(await write({ payload: report(7), approval: approval('on_hold') })).toMatchObject({
      writeback: { sent: true },
    });
    // The custom status leaves the rank recorded: a stale approved is still superseded after it.
    expect(await write({ payload: report(7), approval: approval('approved') })).toMatchObject({
      writeback: { superseded: true },
    });
    expect(await write({ payload: report(6), approval: approval('on_hold') })).toMatchObject({
      writeback: { superseded: true },
    });
    expect(await write({ payload: report(undefined, 'RPT-C'), approval: approval('on_hold') })).toMatchObject({
      writeback: { sent: true },
    });
    expect(source.statuses).toEqual(['posted', 'on_hold', 'on_hold']);
    const key = `concur-${destinationDigest(DESTINATION)}:concur:ExpenseReport:RPT-C`;
    expect(await store.kvGet(WRITEBACK_VERSIONS_NAMESPACE, key)).toBeUndefined();
  });

  it('reads a version recorded by an earlier version of the pack (a plain number) as a version without a rank', async () => {
    const key = `concur-${destinationDigest(DESTINATION)}:concur:ExpenseReport:RPT-9`;
    await store.kvPut(WRITEBACK_VERSIONS_NAMESPACE, key, 7);
    expect(await write({ payload: report(7), approval: approval('approved') })).toMatchObject({
      writeback: { sent: true },
    });
    expect(await store.kvGet(WRITEBACK_VERSIONS_NAMESPACE, key)).toEqual({ version: 7, rank: 2, status: 'approved' });
    await write({ payload: report(8), approval: approval('on_hold') });
    // A version without a rank is stored as the plain number earlier versions of the pack read.
    expect(await store.kvGet(WRITEBACK_VERSIONS_NAMESPACE, key)).toBe(8);
  });
});

describe('isSuperseded and the ranks', () => {
  it('orders by version first, then by rank when both statuses have one', () => {
    expect(isSuperseded({ version: 1, rank: 4 }, { version: 2, rank: 1 })).toBe(true);
    expect(isSuperseded({ version: 3, rank: 1 }, { version: 2, rank: 4 })).toBe(false);
    expect(isSuperseded({ version: 2, rank: 2 }, { version: 2, rank: 3 })).toBe(true);
    expect(isSuperseded({ version: 2, rank: 3 }, { version: 2, rank: 3 })).toBe(false);
    expect(isSuperseded({ version: 2 }, { version: 2, rank: 3 })).toBe(false);
    expect(isSuperseded({ version: 2, rank: 1 }, { version: 2 })).toBe(false);
    expect(isSuperseded({ rank: 2 }, { rank: 3 })).toBe(true);
    expect(isSuperseded({ rank: 2 }, undefined)).toBe(false);
  });

  it('ranks the statuses the pack writes back, and no other', () => {
    const ranks = [
      'pending_approval',
      'escalated',
      'approved',
      'returned',
      'rejected',
      'budget_exceeded',
      'posted',
      'ordered',
      'paid',
      'cancelled',
    ].map((status) => [status, writebackRank(status)]);
    expect(Object.fromEntries(ranks)).toEqual({
      pending_approval: 1,
      escalated: 1,
      approved: 2,
      returned: 2,
      rejected: 2,
      budget_exceeded: 2,
      posted: 3,
      ordered: 3,
      paid: 4,
      cancelled: 4,
    });
    expect(writebackRank('on_hold')).toBeUndefined();
    expect(writebackRank('toString')).toBeUndefined();
  });
});
