/**
 * Write-back as an MQTT status event: the pack's own mqtt.js client publishes one JSON message per outcome
 * with QoS 1 (the broker acknowledges it; at-least-once) and retain off (a status event is news, not state a
 * late subscriber should receive as current). A publish that times out may still reach the broker later, and
 * its retry publishes again, so subscribers de-duplicate on `idempotencyKey`, which is the same for every
 * attempt of one write-back. A versioned document's events carry its `version` (sourceRef.version), so
 * subscribers can also drop an event older than the last one they applied.
 */
import { randomUUID } from 'node:crypto';
import { connect, type MqttClient } from 'mqtt';
import { FinanceError } from '../errors';
import type { WritebackOutcome } from './outcome';
import type { WritebackDelivery, WritebackRequest, WritebackTarget } from './target';

export interface MqttTargetOptions {
  /** mqtt://, mqtts://, ws:// or wss:// address of the broker, without credentials. */
  brokerUrl: string;
  /** Topic with placeholders {system}, {documentId}, {status}, e.g. "finance/writeback/{system}/{documentId}". */
  topicTemplate: string;
  username?: string;
  password?: string;
  /** How long to wait for the broker's PUBACK. Default 10 s. */
  publishTimeoutMs?: number;
  /** Reports the connection state, for the node status. */
  onState?: (state: 'connecting' | 'connected' | 'disconnected', error?: Error) => void;
}

export const MQTT_PROTOCOLS = ['mqtt:', 'mqtts:', 'ws:', 'wss:'] as const;
const TOPIC_FIELDS = ['system', 'documentId', 'status'] as const;
type TopicField = (typeof TOPIC_FIELDS)[number];
const PLACEHOLDER = /\{([^{}]*)\}/g;
const DEFAULT_PUBLISH_TIMEOUT_MS = 10_000;
const RECONNECT_PERIOD_MS = 5_000;

export class MqttWritebackTarget implements WritebackTarget {
  readonly name = 'mqtt';
  readonly #client: MqttClient;
  readonly #topic: (outcome: WritebackOutcome) => string;
  readonly #broker: string;
  readonly #publishTimeoutMs: number;

  /** Connects in the background (and reconnects); sends fail fast while the broker is unreachable. */
  constructor(options: MqttTargetOptions) {
    this.#broker = checkBrokerUrl(options.brokerUrl);
    this.#topic = compileTopicTemplate(options.topicTemplate);
    this.#publishTimeoutMs = options.publishTimeoutMs ?? DEFAULT_PUBLISH_TIMEOUT_MS;
    const onState = options.onState ?? (() => undefined);
    onState('connecting');
    this.#client = connect(this.#broker, {
      clientId: `finance-writeback-${randomUUID()}`,
      username: options.username,
      password: options.password,
      reconnectPeriod: RECONNECT_PERIOD_MS,
      connectTimeout: 10_000,
    });
    this.#client.on('connect', () => onState('connected'));
    this.#client.on('offline', () => onState('disconnected'));
    // mqtt.js emits 'error' for refused connections (bad credentials); without a listener it would throw.
    this.#client.on('error', (error) => onState('disconnected', error));
  }

  /** How long a publish waits for the broker's PUBACK: the longest one write-back to this target can take. */
  get publishTimeoutMs(): number {
    return this.#publishTimeoutMs;
  }

  get connected(): boolean {
    return this.#client.connected;
  }

  async send(request: WritebackRequest): Promise<WritebackDelivery> {
    if (!this.#client.connected) {
      throw new FinanceError(
        'ERP_UNAVAILABLE',
        `The MQTT broker ${this.#broker} is not connected, so the status of ${request.outcome.documentId} was not published. The call is retryable; check the broker address and credentials if this lasts.`,
        { retryable: true },
      );
    }
    const topic = this.#topic(request.outcome);
    const body = JSON.stringify({
      ...request.outcome,
      // Subscribers order a versioned document's events by it: a late event of an older version is stale.
      ...(request.version === undefined ? {} : { version: request.version }),
      idempotencyKey: request.idempotencyKey,
      at: request.at,
    });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(
          new FinanceError(
            'ERP_TIMEOUT',
            `The MQTT broker ${this.#broker} did not acknowledge the status of ${request.outcome.documentId} on ${topic} within ${this.#publishTimeoutMs} ms. The call is retryable; the message may still arrive, so subscribers de-duplicate on idempotencyKey.`,
            { retryable: true, details: { topic } },
          ),
        );
      }, this.#publishTimeoutMs);
      this.#client.publish(topic, body, { qos: 1, retain: false }, (error) => {
        clearTimeout(timer);
        if (!error) return resolve();
        reject(
          new FinanceError(
            'ERP_UNAVAILABLE',
            `Publishing the status of ${request.outcome.documentId} to ${topic} on ${this.#broker} failed (${error.message}). The call is retryable.`,
            { retryable: true, cause: error, details: { topic } },
          ),
        );
      });
    });
    return 'sent';
  }

  /** Disconnects at once; publishes still waiting for their PUBACK fail and are retried by their flow. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#client.end(true, () => resolve());
    });
  }
}

/**
 * Checks a topic template once, at deploy, and returns the function that fills it in. Values are made safe
 * as single topic levels: "/" would add levels, "+" and "#" are wildcards a publish may not contain.
 */
export function compileTopicTemplate(template: string): (outcome: WritebackOutcome) => string {
  const trimmed = typeof template === 'string' ? template.trim() : '';
  const literal = trimmed.replace(PLACEHOLDER, '');
  // MQTT topics may not contain U+0000 (MQTT 3.1.1 section 4.7.3) any more than wildcards.
  // eslint-disable-next-line no-control-regex
  if (trimmed === '' || /[+#\u0000]/.test(literal) || trimmed.startsWith('$')) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `The MQTT topic "${trimmed}" is not a topic a status can be published to: it must not be empty, start with "$" or contain the wildcards + and #. Use e.g. finance/writeback/{system}/{documentId}.`,
      { details: { field: 'topic' } },
    );
  }
  for (const [, name] of trimmed.matchAll(PLACEHOLDER)) {
    if (!(TOPIC_FIELDS as readonly string[]).includes(name)) {
      throw new FinanceError(
        'CONFIG_INVALID',
        `The MQTT topic placeholder {${name}} is not known; use ${TOPIC_FIELDS.map((field) => `{${field}}`).join(', ')}.`,
        { details: { field: 'topic' } },
      );
    }
  }
  return (outcome) =>
    // eslint-disable-next-line no-control-regex
    trimmed.replace(PLACEHOLDER, (_match, name: TopicField) => outcome[name].replace(/[/+#\u0000]/g, '_') || '_');
}

export function checkBrokerUrl(value: string): string {
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !(MQTT_PROTOCOLS as readonly string[]).includes(url.protocol)) {
    throw new FinanceError(
      'CONFIG_INVALID',
      `The MQTT broker must be an address such as mqtt://broker.example.com:1883 (mqtt, mqtts, ws or wss).`,
      { details: { field: 'brokerUrl' } },
    );
  }
  if (url.username || url.password) {
    throw new FinanceError(
      'CONFIG_INVALID',
      'The MQTT broker address must not contain a user name or password; enter them in the credential fields.',
      { details: { field: 'brokerUrl' } },
    );
  }
  return value;
}
