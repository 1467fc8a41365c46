/**
 * Publishes master data changes as retained MQTT messages, one topic per record (`<prefix>/<kind>/<id>`), so
 * a subscriber that connects later receives the current copy of every record at once. The payload is the
 * record after the change as JSON; a removal publishes an empty retained message, which clears the topic
 * (MQTT 3.1.1 section 3.3.1.3). QoS 1: a publish resolves when the broker has acknowledged it.
 */
import { randomUUID } from 'node:crypto';
import { connect, type MqttClient } from 'mqtt';
import { FinanceError } from '../errors';
import { checkBrokerUrl } from '../writeback/mqtt-target';
import type { MasterDataChange } from './changes';

export interface RetainedPublisherOptions {
  brokerUrl: string;
  /** Topic prefix without wildcards, e.g. "finance/masterdata". */
  topicPrefix: string;
  username?: string;
  password?: string;
  publishTimeoutMs?: number;
  onState?: (state: 'connecting' | 'connected' | 'disconnected', error?: Error) => void;
}

export function checkTopicPrefix(prefix: string): string {
  const trimmed = typeof prefix === 'string' ? prefix.trim().replace(/\/+$/, '') : '';
  // eslint-disable-next-line no-control-regex
  if (trimmed === '' || /[+#\u0000]/.test(trimmed) || trimmed.startsWith('$')) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `The MQTT topic prefix "${trimmed}" cannot be published to: it must not be empty, start with "$" or contain ` +
        'the wildcards + and #. Use e.g. finance/masterdata.',
      { details: { field: 'topicPrefix' } },
    );
  }
  return trimmed;
}

/**
 * The topic of one record. The id becomes one topic level with the characters MQTT gives a meaning (/ + #),
 * NUL and % percent-encoded: reversible, so two ids never share a topic ("A/B" and "A_B" did, when / became _,
 * and the removal of one cleared the other's retained copy).
 */
export function recordTopic(prefix: string, change: Pick<MasterDataChange, 'kind' | 'id'>): string {
  const percent = (c: string) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
  // eslint-disable-next-line no-control-regex
  const level = change.id.replace(/[%/+#\u0000]/g, percent);
  return `${prefix}/${change.kind}/${level}`;
}

export class RetainedPublisher {
  readonly #client: MqttClient;
  readonly #prefix: string;
  readonly #broker: string;
  readonly #timeoutMs: number;

  constructor(options: RetainedPublisherOptions) {
    this.#broker = checkBrokerUrl(options.brokerUrl);
    this.#prefix = checkTopicPrefix(options.topicPrefix);
    this.#timeoutMs = options.publishTimeoutMs ?? 10_000;
    const onState = options.onState ?? (() => undefined);
    onState('connecting');
    this.#client = connect(this.#broker, {
      clientId: `finance-master-data-${randomUUID()}`,
      username: options.username,
      password: options.password,
      reconnectPeriod: 5_000,
      connectTimeout: 10_000,
    });
    this.#client.on('connect', () => onState('connected'));
    this.#client.on('offline', () => onState('disconnected'));
    this.#client.on('error', (error) => onState('disconnected', error));
  }

  /** Publishes one change; mqtt.js queues it while (re)connecting, and it fails after the timeout. */
  publish(change: MasterDataChange): Promise<void> {
    const topic = recordTopic(this.#prefix, change);
    const body = change.change === 'removed' || change.after === undefined ? '' : JSON.stringify(change.after);
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new FinanceError(
              'ERP_TIMEOUT',
              `The MQTT broker ${this.#broker} did not acknowledge ${topic} within ${this.#timeoutMs} ms; the sync ` +
                'stopped and the next one publishes the change again. Check the broker.',
              { retryable: true, details: { topic } },
            ),
          ),
        this.#timeoutMs,
      );
      this.#client.publish(topic, body, { qos: 1, retain: true }, (error) => {
        clearTimeout(timer);
        if (!error) return resolve();
        reject(
          new FinanceError('ERP_UNAVAILABLE', `Publishing ${topic} to ${this.#broker} failed (${error.message}).`, {
            retryable: true,
            cause: error,
            details: { topic },
          }),
        );
      });
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#client.end(true, () => resolve());
    });
  }
}
