/**
 * Coupa purchase orders polled through the real intake and a real LMDB store: a PO cancelled (or closed) without
 * Coupa raising its `version` (whether it does is not documented) is a new event, not a duplicate of the revision
 * already committed that is then marked exported and lost; the same revision read again is still a duplicate.
 */
import type { ErpHttp, ErpRequest } from '../../../lib/erp/client';
import { startCoupaPolling } from '../../../lib/intake/coupa-polling';
import type { IntakeResult } from '../../../lib/intake/intake';
import type { FinanceStore } from '../../../lib/reliability/store';
import { createCoupaProfile } from '../../../lib/sources/profiles/coupa';
import { storeSandbox } from './fixtures';

function purchaseOrder(): Record<string, unknown> {
  return {
    id: 501,
    'po-number': 'PO-501',
    'created-at': '2026-03-02T10:00:00+00:00',
    'updated-at': '2026-03-02T11:00:00+00:00',
    status: 'issued',
    version: 3,
    exported: false,
    currency: { code: 'EUR' },
    supplier: { number: 'SUP-1001' },
    'order-lines': [
      { 'line-num': 1, description: 'Pens', quantity: '1', price: '10.00', total: '10.00', account: { code: 'A' } },
    ],
  };
}

/** Coupa in memory, one purchase order; an export mark answers the document marked. */
function fakeCoupa(document: Record<string, unknown>): ErpHttp {
  return {
    request: async <R>(request: ErpRequest) => {
      if (request.method === 'GET') {
        const page = document.exported === false ? [structuredClone(document)] : [];
        return { status: 200, headers: {}, data: page as R };
      }
      document.exported = (request.query as Record<string, unknown>).exported === 'true';
      document['last-exported-at'] = new Date().toISOString();
      return { status: 200, headers: {}, data: structuredClone(document) as R };
    },
  } as ErpHttp;
}

async function until(condition: () => boolean, ms = 5_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('Coupa polling of purchase orders: a status change within one version', () => {
  const sandbox = storeSandbox('coupa-po-status');
  let store: FinanceStore;
  beforeEach(() => {
    store = sandbox.open();
  });
  afterAll(() => sandbox.cleanup());

  it('commits the cancellation and the close as new events; the same revision read again is a duplicate', async () => {
    const document = purchaseOrder();
    const results: IntakeResult[] = [];
    const polling = startCoupaPolling({
      http: fakeCoupa(document),
      profile: createCoupaProfile(),
      resource: 'purchase_orders',
      store: () => store,
      key: 'node-po',
      intervalMs: 50,
      maxBytes: 1_000_000,
      onResult: (result) => results.push(result),
    });
    const next = async (change: Record<string, unknown>) => {
      const count = results.length;
      // Coupa resets `exported` with the change; the version stays 3.
      Object.assign(document, change, { exported: false });
      await until(() => results.length > count && document.exported === true);
    };
    await until(() => results.length >= 1 && document.exported === true);
    await next({ status: 'cancelled', 'updated-at': '2026-03-02T11:05:00+00:00' });
    // The export flag reset alone (an export mark taken back): the same revision, a duplicate.
    await next({});
    await next({ status: 'closed' });
    await polling.stop();
    expect(
      results.map((result) =>
        result.outcome === 'accepted' || result.outcome === 'duplicate'
          ? `${result.outcome}:${result.envelope.type}@${String(result.envelope.version)}`
          : result.outcome,
      ),
    ).toEqual([
      'accepted:coupa.purchase_order.issued@3',
      'accepted:coupa.purchase_order.cancelled@3',
      'duplicate:coupa.purchase_order.cancelled@3',
      'accepted:coupa.purchase_order.closed@3',
    ]);
  });
});
