/**
 * Two hosts run the same polling finance-event-in on one shared PostgreSQL store (scale-out): each round runs
 * under the poll record's lease, so while one host polls the other skips its round and touches neither Coupa nor
 * the record. Without that, the second host's round saved the record it had read before the first host noted an
 * export mark to take back, and the cancelled revision that mark hid was never taken back.
 */
import { FinanceError } from '../../../lib/errors';
import type { ErpHttp, ErpRequest } from '../../../lib/erp/client';
import { startCoupaPolling, type CoupaPolling } from '../../../lib/intake/coupa-polling';
import type { IntakeResult } from '../../../lib/intake/intake';
import { POLL_STATE_NAMESPACE } from '../../../lib/intake/polling';
import type { FinanceStore } from '../../../lib/reliability/store';
import { createCoupaProfile } from '../../../lib/sources/profiles/coupa';
import { storeSandbox } from '../store/store-fixture';

const T1 = '2026-03-02T10:00:00+00:00';
const T2 = '2026-03-02T10:00:05+00:00';

function requisition(id: number): Record<string, unknown> {
  return {
    id,
    status: 'approved',
    'updated-at': T1,
    'created-at': T1,
    exported: false,
    'requested-by': { 'employee-number': 'E1' },
    currency: { code: 'EUR' },
    'requisition-lines': [
      {
        'line-num': 1,
        description: `Pens ${id}`,
        quantity: '1',
        'unit-price': '10.00',
        total: '10.00',
        supplier: { number: 'S1' },
        account: { code: 'A' },
      },
    ],
  };
}

async function until(condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('Coupa polling on two hosts sharing a PostgreSQL store', () => {
  const sandbox = storeSandbox('fi_polling_hosts', 'postgres');
  const path = sandbox.newPath();
  let storeA: FinanceStore;
  let storeB: FinanceStore;
  const running: CoupaPolling[] = [];

  beforeAll(() => {
    storeA = sandbox.open({ path });
    storeB = sandbox.open({ path });
  });
  afterAll(async () => {
    await Promise.all(running.map((polling) => polling.stop()));
    await sandbox.cleanup();
  });

  it('polls on one host at a time, so the take-back noted by one is not overwritten by the other', async () => {
    const coupa = new Map<number, Record<string, unknown>>([
      [7, requisition(7)],
      [8, requisition(8)],
    ]);
    const requestsBy: Record<'A' | 'B', string[]> = { A: [], B: [] };
    let releaseMark!: () => void;
    const markMayLand = new Promise<void>((resolve) => (releaseMark = resolve));
    let markOf7Seen = false;
    let takeBackFails = true;
    let storeDown = false;

    /** One Coupa, seen by each host through its own connection. */
    const httpOf = (host: 'A' | 'B'): ErpHttp =>
      ({
        request: async <R>(request: ErpRequest) => {
          const query = (request.query ?? {}) as Record<string, unknown>;
          requestsBy[host].push(
            `${request.method} ${request.path}${query.exported ? `?exported=${query.exported}` : ''}`,
          );
          if (request.method === 'GET') {
            const page = [...coupa.values()].filter((document) => document.exported === false);
            return { status: 200, headers: {}, data: structuredClone(page) as R };
          }
          const document = coupa.get(Number(request.path.split('/').pop()))!;
          if (document.id === 7 && query.exported === 'true' && !markOf7Seen) {
            markOf7Seen = true;
            await markMayLand;
            // The buyer cancelled 7 between the read and the mark: the mark's answer shows the revision.
            Object.assign(document, { status: 'cancelled', 'updated-at': T2 });
          }
          if (query.exported === 'false' && takeBackFails) {
            throw new FinanceError('ERP_UNAVAILABLE', 'Coupa answered 503', { retryable: true, httpStatus: 503 });
          }
          document.exported = query.exported === 'true';
          return { status: 200, headers: {}, data: structuredClone(document) as R };
        },
      }) as ErpHttp;

    /** The store of a host; its commits of the cancelled revision fail while `storeDown`. */
    const storeOf = (store: FinanceStore): FinanceStore =>
      new Proxy(store, {
        get(target, name) {
          if (name === 'accept') {
            return async (input: { payload?: { status?: unknown } }) => {
              if (storeDown && input.payload?.status === 'cancelled') {
                throw new FinanceError('STORE_UNAVAILABLE', 'store busy', { retryable: true });
              }
              return target.accept(input as Parameters<FinanceStore['accept']>[0]);
            };
          }
          const value = Reflect.get(target, name, target) as unknown;
          return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
        },
      });

    const requestsA = () => requestsBy.A;
    const results: IntakeResult[] = [];
    const skipped: Record<'A' | 'B', number> = { A: 0, B: 0 };
    const host = (name: 'A' | 'B', store: FinanceStore) =>
      startCoupaPolling({
        http: httpOf(name),
        profile: createCoupaProfile(),
        resource: 'requisitions',
        store: () => storeOf(store),
        key: 'poll-node',
        intervalMs: 50,
        maxBytes: 1_000_000,
        holder: `host-${name}`,
        onResult: (result) => results.push(result),
        onSkip: () => (skipped[name] += 1),
      });

    storeDown = true;
    running.push(host('A', storeA));
    // A's round is at the mark of 7, its take-back note saved; now host B starts and ticks while A's round runs.
    await until(() => markOf7Seen);
    running.push(host('B', storeB));
    await until(() => skipped.B >= 3);
    expect(requestsBy.B).toEqual([]);

    // The mark lands; the cancelled revision cannot be committed and taking the mark back fails: the note stays.
    releaseMark();
    await until(() => requestsA().includes('PUT /api/requisitions/7?exported=false'));
    await new Promise((resolve) => setTimeout(resolve, 100));
    const record = (await storeA.kvGet(POLL_STATE_NAMESPACE, 'poll-node:requisitions')) as {
      cursor?: { unmark?: number[] };
    };
    expect(record.cursor?.unmark).toEqual([7]);
    expect(requestsBy.B).toEqual([]);

    // Coupa and the store recover: the mark is taken back and the cancellation committed.
    takeBackFails = false;
    storeDown = false;
    await until(() =>
      results.some((result) => result.outcome === 'accepted' && result.envelope.type === 'coupa.requisition.cancelled'),
    );
    await Promise.all(running.splice(0).map((polling) => polling.stop()));
    const accepted = results.flatMap((result) => (result.outcome === 'accepted' ? [result.envelope.type] : []));
    expect(accepted.sort()).toEqual([
      'coupa.requisition.approved',
      'coupa.requisition.approved',
      'coupa.requisition.cancelled',
    ]);
    expect(coupa.get(7)).toMatchObject({ status: 'cancelled', exported: true });
  }, 30_000);
});
