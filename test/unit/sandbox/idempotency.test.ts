import { IdempotencyStore, requestFingerprint } from '../../../lib/sandbox/idempotency';
import { DEMO, postingBody, purchaseOrderBody, startTestSandbox, until, type TestSandbox } from './helpers';

describe('sandbox Idempotency-Key', () => {
  let sandbox: TestSandbox;

  beforeEach(async () => {
    sandbox = await startTestSandbox();
  });

  afterEach(async () => {
    await sandbox.handle.close();
  });

  it('answers the same key and body with the stored response and writes once', async () => {
    const send = () =>
      sandbox.call('POST', `${DEMO}/purchaseOrders`, {
        body: purchaseOrderBody(),
        headers: { 'Idempotency-Key': 'key-1' },
      });
    const first = await send();
    const second = await send();
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.body).toEqual(first.body);
    expect(second.headers.get('etag')).toBe(first.headers.get('etag'));
    expect(second.headers.get('location')).toBe(first.headers.get('location'));
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    const state = await sandbox.call('GET', '/_sandbox/state');
    expect(state.body.purchaseOrders).toHaveLength(1);
    expect(state.body.counters).toMatchObject({ writes: 1, duplicateWritesPrevented: 1 });
  });

  it('replays a refusal too, instead of re-evaluating it', async () => {
    const send = () =>
      sandbox.call('POST', `${DEMO}/purchaseOrders`, {
        body: purchaseOrderBody({ supplierId: 'SUP-1009' }),
        headers: { 'Idempotency-Key': 'key-blocked' },
      });
    expect((await send()).status).toBe(422);
    await sandbox.call('PATCH', `${DEMO}/suppliers/SUP-1009`, { body: { status: 'active' } });
    const again = await send();
    expect(again.status).toBe(422);
    expect(again.body.code).toBe('SUPPLIER_BLOCKED');
  });

  it('refuses the same key with another body: 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const headers = { 'Idempotency-Key': 'key-2' };
    await sandbox.call('POST', `${DEMO}/postings`, { body: postingBody(), headers });
    const other = await sandbox.call('POST', `${DEMO}/postings`, {
      body: postingBody({ amount: '51.00' }),
      headers,
    });
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    const otherPath = await sandbox.call('POST', `${DEMO}/purchaseOrders`, { body: postingBody(), headers });
    expect(otherPath.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(sandbox.handle.state.counters.writes).toBe(1);
  });

  it('compares the raw bytes: the same JSON with other spacing is another body', async () => {
    const headers = { 'Idempotency-Key': 'key-bytes' };
    await sandbox.call('POST', '/api/v1/writebacks', {
      raw: '{"system":"concur","documentId":"R1","status":"posted"}',
      headers,
    });
    const spaced = await sandbox.call('POST', '/api/v1/writebacks', {
      raw: '{ "system": "concur", "documentId": "R1", "status": "posted" }',
      headers,
    });
    expect(spaced.status).toBe(422);
  });

  it('answers 409 IDEMPOTENCY_IN_PROGRESS while the first request with the key is still running', async () => {
    await sandbox.call('POST', '/_sandbox/faults', { body: { latencyMs: 60000 } });
    const headers = { 'Idempotency-Key': 'key-slow' };
    const slow = sandbox
      .call('POST', `${DEMO}/postings`, { body: postingBody(), headers })
      .catch((error: unknown) => error);
    await until(() => sandbox.handle.state.idempotency.isInProgress('key-slow'));

    const concurrent = await sandbox.call('POST', `${DEMO}/postings`, { body: postingBody(), headers });
    expect(concurrent.status).toBe(409);
    expect(concurrent.body.code).toBe('IDEMPOTENCY_IN_PROGRESS');
    expect(sandbox.handle.state.counters.writes).toBe(0);

    await sandbox.handle.close();
    expect(String(await slow)).toMatch(/fetch failed/);
  });

  it('applies a retry after a server-side failure instead of replaying the failure', async () => {
    sandbox.draws.push(0.1);
    await sandbox.call('POST', '/_sandbox/faults', { body: { errorRate: 0.5, errorStatus: 503 } });
    const headers = { 'Idempotency-Key': 'key-retry' };
    const failed = await sandbox.call('POST', `${DEMO}/postings`, { body: postingBody(), headers });
    expect(failed.status).toBe(503);
    const retried = await sandbox.call('POST', `${DEMO}/postings`, { body: postingBody(), headers });
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();
  });

  it('ignores Idempotency-Key on reads', async () => {
    const reply = await sandbox.call('GET', `${DEMO}/costCenters`, { headers: { 'Idempotency-Key': 'key-read' } });
    expect(reply.status).toBe(200);
    expect(sandbox.handle.state.idempotency.size).toBe(0);
  });
});

describe('IdempotencyStore', () => {
  it('forgets the oldest key beyond its capacity', () => {
    const store = new IdempotencyStore(2);
    const response = { status: 200, headers: {}, body: '{}' };
    for (const key of ['a', 'b', 'c']) {
      expect(store.begin(key, 'f').kind).toBe('new');
      store.complete(key, response);
    }
    expect(store.size).toBe(2);
    expect(store.begin('a', 'f').kind).toBe('new');
    expect(store.begin('c', 'f')).toEqual({ kind: 'replay', response });
  });

  it('fingerprints method, path and body', () => {
    const body = Buffer.from('{}');
    expect(requestFingerprint('POST', '/a', body)).toBe(requestFingerprint('POST', '/a', Buffer.from('{}')));
    expect(requestFingerprint('POST', '/a', body)).not.toBe(requestFingerprint('PATCH', '/a', body));
    expect(requestFingerprint('POST', '/a', body)).not.toBe(requestFingerprint('POST', '/b', body));
  });
});
