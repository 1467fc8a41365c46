/**
 * Coupa polling through the real intake and a real LMDB store: a requisition revised in the same second as the
 * revision already committed (Coupa stamps whole seconds) is a new event with a higher version, not a duplicate
 * that is then marked exported and lost.
 */
import type { ErpHttp, ErpRequest } from '../../../lib/erp/client';
import { startCoupaPolling } from '../../../lib/intake/coupa-polling';
import type { IntakeResult } from '../../../lib/intake/intake';
import type { FinanceStore } from '../../../lib/reliability/store';
import { createCoupaProfile } from '../../../lib/sources/profiles/coupa';
import { storeSandbox } from './fixtures';

const T = '2026-03-02T10:00:00+00:00';

function requisition(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: 7,
    status: 'approved',
    'updated-at': T,
    'created-at': T,
    exported: false,
    'requested-by': { 'employee-number': 'E1' },
    currency: { code: 'EUR' },
    'requisition-lines': [
      {
        'line-num': 1,
        description: 'Pens',
        quantity: '1',
        'unit-price': '10.00',
        total: '10.00',
        supplier: { number: 'S1' },
        account: { code: 'A' },
      },
    ],
    ...overrides,
  };
}

/** Coupa in memory, one requisition; `onMark` runs before an export mark is made. */
function fakeCoupa(document: Record<string, unknown>, onMark: (document: Record<string, unknown>) => void) {
  return {
    request: async <R>(request: ErpRequest) => {
      if (request.method === 'GET') {
        const page = document.exported === false ? [structuredClone(document)] : [];
        return { status: 200, headers: {}, data: page as R };
      }
      onMark(document);
      document.exported = (request.query as Record<string, unknown>).exported === 'true';
      return { status: 200, headers: {}, data: structuredClone(document) as R };
    },
  } as ErpHttp;
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('Coupa polling: a revision in the same second as the one committed', () => {
  const sandbox = storeSandbox('coupa-same-second');
  let store: FinanceStore;
  beforeEach(() => {
    store = sandbox.open();
  });
  afterAll(() => sandbox.cleanup());

  function poll(http: ErpHttp, results: IntakeResult[]) {
    return startCoupaPolling({
      http,
      profile: createCoupaProfile(),
      resource: 'requisitions',
      store: () => store,
      key: 'node-1',
      intervalMs: 50,
      maxBytes: 1_000_000,
      onResult: (result) => results.push(result),
    });
  }

  const summary = (results: IntakeResult[]) =>
    results.map((result) =>
      result.outcome === 'accepted' || result.outcome === 'duplicate'
        ? `${result.outcome}:${result.envelope.type}`
        : result.outcome,
    );

  it('commits the cancellation the export mark answers with (same updated-at)', async () => {
    const document = requisition();
    let cancelled = false;
    const results: IntakeResult[] = [];
    const polling = poll(
      fakeCoupa(document, (record) => {
        if (!cancelled) {
          cancelled = true;
          record.status = 'cancelled';
        }
      }),
      results,
    );
    await until(() => results.length >= 2);
    await polling.stop();
    expect(summary(results)).toEqual(['accepted:coupa.requisition.approved', 'accepted:coupa.requisition.cancelled']);
    const [approved, cancellation] = results as Array<Extract<IntakeResult, { outcome: 'accepted' }>>;
    expect(cancellation.envelope.version).toBeGreaterThan(approved.envelope.version!);
  });

  it('takes the cancellation polled in a later round as a new event, not a duplicate', async () => {
    const document = requisition();
    const results: IntakeResult[] = [];
    const polling = poll(
      fakeCoupa(document, () => undefined),
      results,
    );
    await until(() => results.length >= 1 && document.exported === true);
    // Cancelled later within the same second; Coupa resets exported.
    Object.assign(document, { status: 'cancelled', exported: false });
    await until(() => results.length >= 2 && document.exported === true);
    await polling.stop();
    expect(summary(results)).toEqual(['accepted:coupa.requisition.approved', 'accepted:coupa.requisition.cancelled']);
  });
});
