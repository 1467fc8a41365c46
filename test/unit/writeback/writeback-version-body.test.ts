/**
 * The event targets (webhook, MQTT) carry a versioned document's version, so a receiver can keep statuses in
 * version order too; an unversioned document's body is unchanged.
 */
import { randomUUID } from 'node:crypto';
import { connect, type MqttClient } from 'mqtt';
import type { ErpHttp, ErpRequest, ErpResponse } from '../../../lib/erp/client';
import { LedgerWriter } from '../../../lib/posting/idempotent-write';
import { MqttWritebackTarget } from '../../../lib/writeback/mqtt-target';
import type { WritebackTarget } from '../../../lib/writeback/target';
import { createWebhookTarget } from '../../../lib/writeback/webhook-target';
import { performWriteback, type WritebackInput } from '../../../lib/writeback/writeback';
import { storeFolder } from '../posting/fixtures';

/** The real Mosquitto broker of the test host. */
const BROKER = 'mqtt://127.0.0.1:1883';

const erp = { system: 'erp', dialect: 'sandbox', documentType: 'purchaseOrder', documentId: 'po-1', number: 'PO-42' };
const input = (sourceRef: { system: string; id: string; version?: number }): WritebackInput => ({
  message: { payload: { docType: 'Requisition', sourceRef }, erp, purchaseOrder: { action: 'cancelled' } },
  destination: 'version-body-test',
  correlationId: 'corr-version',
  now: new Date('2026-03-11T10:00:00Z'),
});

describe('the version in write-back events', () => {
  const folder = storeFolder('writeback-version-body');
  let writer: LedgerWriter;

  beforeEach(() => {
    writer = new LedgerWriter(folder.open(Date.now), { ownerPrefix: 'wb', settleAfterMs: 0 });
  });
  afterAll(() => folder.cleanup());

  describe('webhook', () => {
    const bodies: unknown[] = [];
    const http: ErpHttp = {
      async request<T>(request: ErpRequest): Promise<ErpResponse<T>> {
        bodies.push(request.body);
        return { status: 200, data: {} as T, headers: {}, durationMs: 1 };
      },
    };
    beforeEach(() => {
      bodies.length = 0;
    });

    it('POSTs the version of a versioned document', async () => {
      await performWriteback(writer, createWebhookTarget(http), input({ system: 'coupa', id: '4001', version: 3 }));
      expect(bodies).toEqual([
        { system: 'coupa', documentId: '4001', status: 'cancelled', erpRef: expect.any(Object), version: 3 },
      ]);
    });

    it('POSTs no version for a document without one', async () => {
      await performWriteback(writer, createWebhookTarget(http), input({ system: 'coupa', id: '4002' }));
      expect(bodies).toEqual([
        { system: 'coupa', documentId: '4002', status: 'cancelled', erpRef: expect.any(Object) },
      ]);
    });
  });

  describe('MQTT, against the real broker', () => {
    const prefix = `fix-wb-${randomUUID()}`;
    let subscriber: MqttClient;
    let target: MqttWritebackTarget;

    beforeAll(async () => {
      subscriber = connect(BROKER, { clientId: `sub-${randomUUID()}` });
      await new Promise<void>((resolve, reject) => {
        subscriber.once('connect', () => resolve());
        subscriber.once('error', reject);
      });
      await subscriber.subscribeAsync(`${prefix}/#`, { qos: 1 });
      target = new MqttWritebackTarget({ brokerUrl: BROKER, topicTemplate: `${prefix}/{documentId}` });
      while (!target.connected) await new Promise((resolve) => setTimeout(resolve, 5));
    });
    afterAll(async () => {
      await target.close();
      await subscriber.endAsync(true);
    });

    const published = async (
      mqttTarget: WritebackTarget,
      sourceRef: { system: string; id: string; version?: number },
    ) => {
      const received = new Promise<Record<string, unknown>>((resolve) => {
        subscriber.once('message', (_topic, payload) => resolve(JSON.parse(payload.toString('utf8'))));
      });
      await performWriteback(writer, mqttTarget, input(sourceRef));
      return received;
    };

    it('publishes the version of a versioned document', async () => {
      expect(await published(target, { system: 'coupa', id: '4003', version: 3 })).toMatchObject({
        documentId: '4003',
        status: 'cancelled',
        version: 3,
      });
    });

    it('publishes no version for a document without one', async () => {
      const event = await published(target, { system: 'coupa', id: '4004' });
      expect(event).toMatchObject({ documentId: '4004', status: 'cancelled' });
      expect(event).not.toHaveProperty('version');
    });
  });
});
