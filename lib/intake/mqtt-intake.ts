/**
 * Intake from an MQTT subscription with the PUBACK sent only after the commit (DESIGN principle 2).
 *
 * mqtt.js sends the PUBACK of a QoS 1 message when `client.handleMessage(packet, callback)` calls back, and
 * hands the connection's next packet over only after that, so the broker keeps every message this host has
 * not committed. The session is persistent (fixed client id, clean start off, a session expiry), so
 * unacknowledged messages come back after a restart, a redeploy, a disabled node or a lost connection. Closing never
 * ends the session: Node-RED closes a disabled node as it closes a deleted one, and the session of a deleted node
 * simply expires.
 *
 * The session also keeps its subscriptions, so the filter it is subscribed to is remembered in the store (kv
 * SUBSCRIPTIONS_NAMESPACE, by client id); a filter the node no longer has is unsubscribed on the next connection,
 * or its messages would still be accepted. A subscription the broker grants only at QoS 0 is refused: nothing would
 * keep a message until it is committed.
 *
 * - accepted, duplicate, rejected: committed (or definitely refused), so acknowledged; a refused message is
 *   acknowledged too, or it would come back forever. So nothing is refused for having waited in the session: a
 *   signed timestamp's age is not checked against the webhook's tolerance (IncomingEvent.heldByBroker).
 * - failed (store full or unavailable): not acknowledged; the commit is retried with backoff while the
 *   broker holds the message. If the connection drops meanwhile, the message will come again on the next
 *   connection and this attempt stops: an acknowledgement never crosses connections, where its packet id
 *   could name another message.
 */
import { connect, type IClientOptions, type IPublishPacket, type ISubscriptionGrant, type MqttClient } from 'mqtt';
import { FinanceError } from '../errors';
import type { FinanceStore } from '../reliability/store';
import type { TlsOptions } from '../erp/config';
import type { HeaderMap } from '../sources/headers';
import { publishedEventOf } from './event-publisher';
import type {
  CheckResult,
  ClaimResult,
  IncomingEvent,
  Intake,
  IntakeAccepted,
  IntakeDuplicate,
  IntakeFailed,
  IntakeRejected,
} from './intake';
import type { MqttSettings } from './event-in-settings';

/** How long the broker keeps this host's session, and the messages waiting in it, while the host is away. */
export const SESSION_EXPIRY_SECONDS = 7 * 24 * 60 * 60;

/**
 * The store's kv namespace of the topic filters each broker session (key: the client id) may be subscribed to.
 * Kept without expiry: a session may outlive any fixed time while it stays connected.
 */
export const SUBSCRIPTIONS_NAMESPACE = 'intake-mqtt-subscriptions';

interface Backoff {
  initialMs: number;
  maxMs: number;
}

export interface MqttIntakeOptions extends MqttSettings {
  username?: string;
  password?: string;
  tls?: TlsOptions;
  intake: Intake;
  /** Where the filters of the session are remembered (SUBSCRIPTIONS_NAMESPACE); may throw when it is unavailable. */
  store(): Pick<FinanceStore, 'kvGet' | 'kvPut'>;
  /**
   * With `claim`: called after the acknowledgement of a message that named an inbox entry (event-publisher.ts)
   * and was taken over, found taken, or not found. Must not throw.
   */
  onClaim?(result: Exclude<ClaimResult, IntakeFailed>, message: { topic: string }): void;
  /** Called after the acknowledgement, for every message that has its outcome. Must not throw. */
  onResult(
    result: IntakeAccepted | IntakeDuplicate | IntakeRejected,
    message: { topic: string; rawBody: Buffer },
  ): void;
  onState(state: MqttIntakeState): void;
}

export type MqttIntakeState =
  | { state: 'connecting' }
  | { state: 'connected' }
  | { state: 'disconnected' }
  | { state: 'retrying'; error: FinanceError; delayMs: number }
  | { state: 'error'; error: Error };

/** Commit retries while the store cannot take a message. */
const RETRY: Backoff = { initialMs: 500, maxMs: 30_000 };
/** Waits between connection attempts. */
const RECONNECT: Backoff = { initialMs: 1_000, maxMs: 60_000 };

export class MqttIntake {
  readonly #options: MqttIntakeOptions;
  #client: MqttClient | undefined;
  /** Counts lost connections; a message is acknowledged only on the connection it came on. */
  #connection = 0;
  #closed = false;
  readonly #sleeping = new Set<() => void>();
  /** Filters the session may still be subscribed to that the configuration no longer has. */
  #staleFilters: string[] = [];
  /** The store work in progress: close() waits for it, so the next deploy reads what this one wrote. */
  #recording: Promise<void> = Promise.resolve();

  constructor(options: MqttIntakeOptions) {
    this.#options = options;
  }

  /** Records the configured filter in the store, then connects. */
  start(): void {
    this.#report({ state: 'connecting' });
    this.#recording = this.#recordFilter()
      .then((stale) => {
        this.#staleFilters = stale;
        if (!this.#closed) this.#connect();
      })
      .catch((err: Error) => this.#report({ state: 'error', error: err }));
  }

  /**
   * Adds the configured filter to the session's record before it is subscribed, so the record always holds every
   * filter the session may have (a crash at any point forgets none), and returns the other filters in it. Waits
   * with backoff while the store is unavailable: nothing could be committed meanwhile anyway.
   */
  async #recordFilter(): Promise<string[]> {
    const { clientId, topic } = this.#options;
    let delayMs = RETRY.initialMs;
    while (!this.#closed) {
      try {
        const store = this.#options.store();
        const recorded = filtersIn(await store.kvGet(SUBSCRIPTIONS_NAMESPACE, clientId));
        const stale = recorded.filter((filter) => filter !== topic);
        if (!recorded.includes(topic)) await store.kvPut(SUBSCRIPTIONS_NAMESPACE, clientId, [...stale, topic]);
        return stale;
      } catch (err) {
        this.#report({ state: 'error', error: recordFailure(err, delayMs) });
        await this.#sleep(delayMs);
        delayMs = Math.min(delayMs * 2, RETRY.maxMs);
      }
    }
    return [];
  }

  #connect(): void {
    const { url, clientId, username, password, tls } = this.#options;
    const clientOptions: IClientOptions = {
      clientId,
      protocolVersion: 5,
      clean: false,
      properties: { sessionExpiryInterval: SESSION_EXPIRY_SECONDS },
      // Subscribed here, on every connection (see 'connect' below).
      resubscribe: false,
      reconnectPeriod: RECONNECT.initialMs,
      connectTimeout: 30_000,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      // The tls-config node fills ca as one list of strings or Buffers, which mqtt.js accepts at run time.
      ...((tls ?? {}) as Partial<IClientOptions>),
    };
    const client = connect(url, clientOptions);
    this.#client = client;
    client.handleMessage = (packet: IPublishPacket, callback: () => void) => {
      this.#handle(client, packet, callback).catch((err: Error) => this.#report({ state: 'error', error: err }));
    };
    client.on('connect', () => {
      client.options.reconnectPeriod = RECONNECT.initialMs;
      // Subscribed on every connection, a kept session too: mosquitto 2.0 restores a persistent session after a
      // restart without its shared-subscription membership (measured in test/multihost/scale-out.test.ts: the
      // hosts got no message after a broker restart). Subscribing again to a subscription the session has is
      // harmless (it is replaced; rh 1 sends no retained message again). "connected" is reported once it took.
      this.#subscribe(client);
    });
    client.on('reconnect', () => {
      // Each attempt doubles the wait before the next one, up to the maximum; a connection resets it.
      client.options.reconnectPeriod = Math.min((client.options.reconnectPeriod ?? 0) * 2, RECONNECT.maxMs);
      this.#report({ state: 'connecting' });
    });
    client.on('close', () => {
      this.#connection += 1;
      this.#report({ state: 'disconnected' });
    });
    client.on('error', (error) => this.#report({ state: 'error', error }));
  }

  /**
   * Stops the subscription and keeps the session: messages not yet committed, and those published until the node
   * runs again (a disabled node or tab, a redeploy), wait in it; a deleted node's session expires.
   */
  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#sleeping) wake();
    await Promise.all([this.#recording, this.#disconnect()]);
  }

  #disconnect(): Promise<void> {
    const client = this.#client;
    if (!client) return Promise.resolve();
    return new Promise((resolve) => {
      client.end(false, {}, () => resolve());
      // mqtt.js hands the next packet over only after the last one's handleMessage called back, and after close
      // nothing calls back (no PUBACK for what is not committed): with messages queued its parser stays blocked,
      // the socket never finishes reading, and end() never calls back (a redeploy stalls until Node-RED gives up).
      // Once the DISCONNECT is written the socket is destroyed; what was not acknowledged stays in the session and
      // the broker delivers it again.
      forceAfterDisconnect(client);
    });
  }

  /** After close() nothing is reported: the node's status is cleared and its log is no place for shutdown noise. */
  #report(state: MqttIntakeState): void {
    if (!this.#closed) this.#options.onState(state);
  }

  /** Drops the filters the configuration no longer has (sent first, so the broker handles it first), then subscribes. */
  #subscribe(client: MqttClient): void {
    if (this.#staleFilters.length > 0) this.#unsubscribeStale(client, this.#staleFilters);
    const topic = this.#options.topic;
    // rh 1: retained messages only for a new subscription, not again on every reconnection.
    client.subscribe(topic, { qos: 1, rh: 1 }, (err, granted) => {
      const problem = subscriptionProblem(topic, err, granted);
      if (!problem) return this.#report({ state: 'connected' });
      this.#report({ state: 'error', error: problem });
      // Granted at QoS 0: dropped again, so no event is taken without a PUBACK that waits for its commit.
      if (!err && granted?.[0]?.qos === 0) client.unsubscribe(topic);
    });
  }

  /** Unsubscribes `stale`; once the broker confirms, only the configured filter is left in the record. */
  #unsubscribeStale(client: MqttClient, stale: string[]): void {
    client.unsubscribe(stale, (err, packet) => {
      // The connection went before the answer: the filters stay stale and are unsubscribed on the next one.
      if (err) return;
      const codes = (packet as { granted?: number[] } | undefined)?.granted ?? [];
      const refused = codes.find((code) => code >= 128);
      if (refused !== undefined) {
        this.#report({ state: 'error', error: unsubscribeFailure(stale, refused) });
        return;
      }
      if (this.#closed) return;
      this.#staleFilters = [];
      const { clientId, topic } = this.#options;
      // Best effort: a record that still names the stale filters only makes the next start unsubscribe them again.
      this.#recording = this.#recording
        .then(() => this.#options.store().kvPut(SUBSCRIPTIONS_NAMESPACE, clientId, [topic]))
        .catch(() => undefined);
    });
  }

  async #handle(client: MqttClient, packet: IPublishPacket, acknowledge: () => void): Promise<void> {
    const published = this.#options.claim ? publishedEventOf(packet.properties?.userProperties) : undefined;
    if (published) {
      // A message that names an entry another intake committed: taken over, then acknowledged.
      const { key, fromNodeId } = published;
      return this.#untilStored(
        client,
        acknowledge,
        () => this.#options.intake.claim(key, fromNodeId),
        (result) => this.#options.onClaim?.(result, { topic: packet.topic }),
      );
    }
    const event: IncomingEvent = {
      rawBody: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload),
      headers: headersOf(packet),
      // The session keeps messages while the node is stopped (SESSION_EXPIRY_SECONDS): a signed timestamp older
      // than the webhook's tolerance is no reason to refuse, and so to drop, one of them.
      heldByBroker: true,
    };
    const intake = this.#options.intake;
    let checked: CheckResult | undefined;
    return this.#untilStored(
      client,
      acknowledge,
      () => {
        // A failed check (a setting that went wrong) is checked again; a checked event only needs its commit.
        if (checked === undefined || checked.outcome === 'failed') checked = intake.check(event);
        return checked.outcome === 'checked' ? intake.commit(checked.event) : Promise.resolve(checked);
      },
      (result) => this.#options.onResult(result, { topic: packet.topic, rawBody: event.rawBody }),
    );
  }

  /**
   * Runs `attempt` (commit or take over) until the store has taken the message, waiting with backoff while it
   * is full or unavailable; then acknowledges it and hands the result on. Without an acknowledgement the broker
   * delivers the message again, so giving up when the intake closes or the connection is replaced loses nothing.
   */
  async #untilStored<R extends { outcome: string }>(
    client: MqttClient,
    acknowledge: () => void,
    attempt: () => Promise<R | IntakeFailed>,
    deliver: (result: R) => void,
  ): Promise<void> {
    const connection = this.#connection;
    let delayMs = RETRY.initialMs;
    for (;;) {
      const result = await attempt();
      if (this.#closed) return;
      if (!isFailed(result)) {
        if (connection === this.#connection && client.connected) acknowledge();
        deliver(result);
        return;
      }
      if (connection !== this.#connection) return;
      this.#report({ state: 'retrying', error: result.error, delayMs });
      await this.#sleep(delayMs);
      if (this.#closed || connection !== this.#connection) return;
      delayMs = Math.min(delayMs * 2, RETRY.maxMs);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#sleeping.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.#sleeping.add(wake);
    });
  }
}

/** How long a closing client may take to write its DISCONNECT before its socket is destroyed anyway. */
const DISCONNECT_WAIT_MS = 1_000;

/** Destroys the client's socket once its DISCONNECT is written (the 'finish' of its writable side), or soon after. */
function forceAfterDisconnect(client: MqttClient): void {
  const stream = client.stream;
  if (!stream || stream.destroyed) return;
  const destroy = (): void => {
    clearTimeout(timer);
    stream.destroy();
  };
  const timer = setTimeout(destroy, DISCONNECT_WAIT_MS);
  timer.unref();
  stream.once('finish', destroy);
}

/** MQTT 5 user properties and the content type play the part of HTTP headers (signatures travel in them). */
function headersOf(packet: IPublishPacket): HeaderMap {
  const properties = packet.properties;
  const headers: HeaderMap = { ...(properties?.userProperties ?? {}) };
  if (properties?.contentType) headers['content-type'] = properties.contentType;
  return headers;
}

/** Why a subscription cannot take events: refused, or granted only at QoS 0; undefined when granted at QoS 1. */
function subscriptionProblem(
  topic: string,
  err: Error | null,
  granted: ISubscriptionGrant[] | undefined,
): FinanceError | undefined {
  const qos = granted?.[0]?.qos;
  if (err || qos === undefined || qos >= 128) {
    const reason = err ? err.message : `reason code ${qos}`;
    return new FinanceError(
      'CONFIG_INVALID',
      `The broker refused the subscription to "${topic}" (${reason}). Check the topic and the user's permissions on ` +
        'the broker.',
    );
  }
  if (qos < 1) {
    return new FinanceError(
      'CONFIG_INVALID',
      `The broker granted QoS 0 for "${topic}"; the intake needs QoS 1 (at least once) to lose nothing: at QoS 0 ` +
        'the broker neither keeps a message until it is committed nor delivers it again. Allow QoS 1 on the ' +
        'broker (mosquitto: max_qos).',
    );
  }
  return undefined;
}

function unsubscribeFailure(stale: string[], reasonCode: number): FinanceError {
  return new FinanceError(
    'CONFIG_INVALID',
    `The broker refused to unsubscribe the topic filters this node no longer has (${stale.join(', ')}; reason ` +
      `code ${reasonCode}): their messages may still be accepted. Check the user's permissions on the broker.`,
  );
}

function recordFailure(err: unknown, delayMs: number): FinanceError {
  const message = err instanceof Error ? err.message : String(err);
  return new FinanceError(
    err instanceof FinanceError ? err.code : 'STORE_UNAVAILABLE',
    `Not subscribed yet: the store did not say which topic filters this broker session has (${message}). ` +
      `Trying again in ${delayMs} ms.`,
  );
}

/** The record's filters; anything else (no record) as none. */
function filtersIn(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((filter): filter is string => typeof filter === 'string') : [];
}

function isFailed(result: { outcome: string }): result is IntakeFailed {
  return result.outcome === 'failed';
}
