/**
 * Scale-out hand-off (DESIGN section 7): an intake in publish mode commits each accepted event to the shared
 * store, leased to itself, and then publishes a message that names the inbox entry, at QoS 1, to a topic the
 * pipelines on every host consume through a shared subscription. The consumer that gets the message takes the
 * entry over (Intake.claim); the document itself never travels through the broker, only its envelope and key.
 *
 * Nothing is lost: a publish that fails, or a message that no consumer claims (the broker lost it, the consumer
 * died first), leaves the entry leased to the publishing intake until that lease runs out; then recovery of that
 * intake on any host publishes it again. Nothing is processed twice: only the first claim takes the entry over;
 * a message delivered again finds it taken.
 *
 * The client uses a clean start: what is not acknowledged is published again by recovery, so no session needs
 * to survive a restart.
 */
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { TlsOptions } from '../erp/config';
import { inboxKey } from '../reliability/store';
import type { PublishSettings } from './event-in-settings';

/** MQTT 5 user properties that name the inbox entry (its key contains a NUL, which MQTT strings may not). */
export const PUBLISHED_SOURCE = 'finance-source';
export const PUBLISHED_ID = 'finance-id';
/** The node id of the publishing intake: the lease owner a consumer takes the entry over from. */
export const PUBLISHED_BY = 'finance-published-by';

export interface PublishedEvent {
  key: string;
  fromNodeId: string;
}

/** The entry a published message names, or undefined for any other message (handled as an ordinary event). */
export function publishedEventOf(
  userProperties: Record<string, string | string[]> | undefined,
): PublishedEvent | undefined {
  const one = (name: string) => {
    const value = userProperties?.[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  const source = one(PUBLISHED_SOURCE);
  const id = one(PUBLISHED_ID);
  const fromNodeId = one(PUBLISHED_BY);
  if (source === undefined || id === undefined || fromNodeId === undefined) return undefined;
  return { key: inboxKey(source, id), fromNodeId };
}

export interface EventPublisherOptions extends PublishSettings {
  /** The publishing intake's node id (its lease owner's node id). */
  nodeId: string;
  username?: string;
  password?: string;
  tls?: TlsOptions;
  onState(state: 'connecting' | 'connected' | 'disconnected', error?: Error): void;
}

export class EventPublisher {
  readonly #options: EventPublisherOptions;
  readonly #client: MqttClient;

  /** Connects in the background and reconnects; publishes made meanwhile are sent once connected. */
  constructor(options: EventPublisherOptions) {
    this.#options = options;
    const { url, clientId, username, password, tls } = options;
    const clientOptions: IClientOptions = {
      clientId,
      protocolVersion: 5,
      clean: true,
      reconnectPeriod: 1_000,
      connectTimeout: 30_000,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...((tls ?? {}) as Partial<IClientOptions>),
    };
    options.onState('connecting');
    this.#client = connect(url, clientOptions);
    this.#client.on('connect', () => options.onState('connected'));
    this.#client.on('offline', () => options.onState('disconnected'));
    // mqtt.js emits 'error' for refused connections (bad credentials); without a listener it would throw.
    this.#client.on('error', (error) => options.onState('disconnected', error));
  }

  /** Resolves on the broker's PUBACK. A rejection needs no action: the entry's lease running out publishes it again. */
  async publish(envelope: Record<string, unknown>): Promise<void> {
    const { source, id } = envelope;
    if (typeof source !== 'string' || typeof id !== 'string') {
      throw new Error('An inbox entry without source and id cannot be published.');
    }
    await this.#client.publishAsync(this.#options.topic, JSON.stringify(envelope), {
      qos: 1,
      properties: {
        contentType: 'application/json',
        userProperties: { [PUBLISHED_SOURCE]: source, [PUBLISHED_ID]: id, [PUBLISHED_BY]: this.#options.nodeId },
      },
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#client.end(true, {}, () => resolve()));
  }
}
