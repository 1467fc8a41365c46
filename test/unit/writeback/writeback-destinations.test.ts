/**
 * Two write-back nodes of one target type on one store (two webhooks telling two systems) each tell their own
 * system: the destination is part of the ledger key and of the version guard's key. And what an earlier
 * version of the pack recorded under the keys without it: its ledger entries are not taken for this
 * destination's (a write-back replayed after the upgrade is sent again, not lost), its version records still
 * keep a parked older version from landing after a newer one.
 */
import type { ErpHttp, ErpRequest, ErpResponse } from '../../../lib/erp/client';
import { FinanceError } from '../../../lib/errors';
import { documentLedgerKey, LedgerWriter } from '../../../lib/posting/idempotent-write';
import type { FinanceStore } from '../../../lib/reliability/store';
import { LatestVersionGuard, WRITEBACK_VERSIONS_NAMESPACE } from '../../../lib/writeback/latest-version';
import { writebackDestination, writebackSettings } from '../../../lib/writeback/settings';
import { createWebhookTarget } from '../../../lib/writeback/webhook-target';
import { destinationDigest, performWriteback } from '../../../lib/writeback/writeback';
import { storeFolder } from '../posting/fixtures';

type Body = Record<string, unknown>;

/** A source system's API: what it received, and an answer per request (503 while `unavailable`). */
function sourceSystem() {
  const received: Array<{ body: Body; idempotencyKey?: string }> = [];
  const api = {
    unavailable: false,
    received,
    async request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
      if (api.unavailable) {
        throw new FinanceError('ERP_UNAVAILABLE', 'The source is busy (test).', { retryable: true, httpStatus: 503 });
      }
      received.push({ body: request.body as Body, idempotencyKey: request.idempotencyKey });
      return { status: 201, data: {} as T, headers: {}, durationMs: 1 };
    },
  };
  return api as typeof api & ErpHttp;
}

const report = (version: number, id = 'RPT-2') => ({
  docType: 'ExpenseReport',
  sourceRef: { system: 'concur', id, version },
});
const erp = { system: 'erp', dialect: 'sandbox', documentType: 'journal', documentId: 'd-1', number: 'JNL-9' };
const webhook = (source: string) => writebackDestination(writebackSettings({ target: 'webhook' }), source);

describe('write-back destinations on one store', () => {
  const folder = storeFolder('writeback-destinations');
  let store: FinanceStore;

  /** A finance-writeback node: its own ledger writer and guard on the shared store, as the node builds them. */
  function node(id: string, source: string) {
    const system = sourceSystem();
    const writer = new LedgerWriter(store, { ownerPrefix: id, settleAfterMs: 0 });
    const guard = new LatestVersionGuard(store, { holderPrefix: id });
    const target = createWebhookTarget(system, 'api/v1/writebacks');
    const write = (message: Record<string, unknown>) =>
      performWriteback(
        writer,
        target,
        { message, destination: webhook(source), correlationId: 'c', now: new Date() },
        guard,
      );
    return { system, write };
  }

  beforeEach(() => {
    store = folder.open(Date.now);
  });
  afterAll(() => folder.cleanup());

  it('two webhook nodes with their own sources each tell their system', async () => {
    const a = node('node-a', 'source-a');
    const b = node('node-b', 'source-b');
    const message = { payload: report(1), erp };
    expect(await a.write(message)).toMatchObject({ outcome: 'done', duplicate: false, writeback: { sent: true } });
    expect(await b.write(message)).toMatchObject({ outcome: 'done', duplicate: false, writeback: { sent: true } });
    expect(a.system.received).toHaveLength(1);
    expect(b.system.received).toHaveLength(1);
    // Each system's Idempotency-Key is its own: the ledger keys differ.
    expect(a.system.received[0].idempotencyKey).not.toBe(b.system.received[0].idempotencyKey);
    // A repeated message is still sent once per system.
    expect(await b.write(message)).toMatchObject({ duplicate: true });
    expect(b.system.received).toHaveLength(1);
  });

  it('keeps versions in order per destination: a newer version told to one system does not supersede the other', async () => {
    const a = node('node-a', 'source-a');
    const b = node('node-b', 'source-b');
    b.system.unavailable = true;
    await expect(b.write({ payload: report(1), erp })).rejects.toMatchObject({ code: 'ERP_UNAVAILABLE' });
    await a.write({ payload: report(2), erp });
    b.system.unavailable = false;
    // System b never heard of version 2: its version 1 is news there.
    expect(await b.write({ payload: report(1), erp })).toMatchObject({ writeback: { sent: true } });
    expect(b.system.received.map((r) => r.body.version)).toEqual([1]);
  });

  it('two nodes telling the same place share the record: the same write-back goes out once', async () => {
    const a = node('node-a', 'source-a');
    const again = node('node-a2', 'source-a');
    await a.write({ payload: report(1), erp });
    expect(await again.write({ payload: report(1), erp })).toMatchObject({ duplicate: true });
    expect(again.system.received).toHaveLength(0);
  });

  it('after the upgrade, a write-back recorded under the key without the destination is sent again, not lost', async () => {
    // What an earlier version recorded: the ledger entry `writeback-webhook-posted` (shared by every webhook node).
    const writer = new LedgerWriter(store, { ownerPrefix: 'old', settleAfterMs: 0 });
    const old = await writer.write({
      key: documentLedgerKey(report(1), 'writeback-webhook-posted'),
      correlationId: 'c',
      write: async () => ({ target: 'webhook', status: 'posted', at: 'then', sent: true }),
    });
    expect(old.outcome).toBe('written');
    const b = node('node-b', 'source-b');
    expect(await b.write({ payload: report(1), erp })).toMatchObject({ duplicate: false, writeback: { sent: true } });
    expect(b.system.received).toHaveLength(1);
  });

  it('after the upgrade, an older version is not sent after a newer one recorded under the earlier key', async () => {
    await store.kvPut(WRITEBACK_VERSIONS_NAMESPACE, 'webhook:concur:ExpenseReport:RPT-2', 3);
    const b = node('node-b', 'source-b');
    expect(await b.write({ payload: report(2), erp })).toMatchObject({ writeback: { sent: false, superseded: true } });
    expect(await b.write({ payload: report(3), erp })).toMatchObject({ writeback: { sent: true } });
    expect(b.system.received.map((r) => r.body.version)).toEqual([3]);
    // Recorded under the new key; the earlier record is left as it was.
    const newKey = `webhook-${destinationDigest(webhook('source-b'))}:concur:ExpenseReport:RPT-2`;
    expect(await store.kvGet(WRITEBACK_VERSIONS_NAMESPACE, newKey)).toMatchObject({ version: 3, status: 'posted' });
    expect(await store.kvGet(WRITEBACK_VERSIONS_NAMESPACE, 'webhook:concur:ExpenseReport:RPT-2')).toBe(3);
  });
});

describe('writebackDestination', () => {
  it('names the source and what is written there, or the broker and topic', () => {
    const concur = writebackSettings({ target: 'concur', numberField: 'custom15', statusField: 'custom16' });
    expect(writebackDestination(concur, 'src-1')).toBe('concur|source=src-1|number=custom15|status=custom16');
    expect(writebackDestination(writebackSettings({ target: 'webhook', path: '/hooks/status' }), 'src-1')).toBe(
      'webhook|source=src-1|path=hooks/status',
    );
    const mqtt = writebackSettings({ target: 'mqtt', brokerUrl: 'mqtt://b:1883', topic: 'fin/{documentId}' });
    expect(writebackDestination(mqtt, 'ignored')).toBe('mqtt|broker=mqtt://b:1883|topic=fin/{documentId}');
    expect(destinationDigest('a')).toMatch(/^[0-9a-f]{12}$/);
    expect(destinationDigest('a')).not.toBe(destinationDigest('b'));
  });
});
