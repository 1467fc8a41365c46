/**
 * Intake from an MQTT subscription with the PUBACK sent only after the commit (DESIGN principle 2).
 *
 * mqtt.js sends the PUBACK of a QoS 1 message when `client.handleMessage(packet, callback)` calls back, and
 * hands the connection's next packet over only after that, so the broker keeps every message this host has
 * not committed. The session is persistent (fixed client id, clean start off, a session expiry), so
 * unacknowledged messages come back after a restart or a lost connection.
 *
 * - accepted, duplicate, rejected: committed (or definitely refused), so acknowledged; a refused message is
 *   acknowledged too, or it would come back forever.
 * - failed (store full or unavailable): not acknowledged; the commit is retried with backoff while the
 *   broker holds the message. If the connection drops meanwhile, the message will come again on the next
 *   connection and this attempt stops: an acknowledgement never crosses connections, where its packet id
 *   could name another message.
 */
import { connect, type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { FinanceError } from '../errors';
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

interface Backoff {
  initialMs: number;
  maxMs: number;
}

export interface MqttIntakeOptions extends MqttSettings {
  username?: string;
  password?: string;
  tls?: TlsOptions;
  intake: Intake;
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

  constructor(options: MqttIntakeOptions) {
    this.#options = options;
  }

  start(): void {
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
    this.#report({ state: 'connecting' });
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
   * Stops the subscription. Messages not yet committed stay with the broker. When the node was removed
   * (not just redeployed) the session is ended too, so the broker stops keeping messages for it.
   */
  close(removed = false): Promise<void> {
    this.#closed = true;
    for (const wake of this.#sleeping) wake();
    const client = this.#client;
    if (!client) return Promise.resolve();
    return new Promise((resolve) => {
      client.end(false, removed ? { reasonCode: 0, properties: { sessionExpiryInterval: 0 } } : {}, () => resolve());
      // mqtt.js hands the next packet over only after the last one's handleMessage called back, and after close
      // nothing calls back (no PUBACK for what is not committed): with messages queued its parser stays blocked,
      // the socket never finishes reading, and end() never calls back (a redeploy stalls until Node-RED gives up).
      // Once the DISCONNECT is written (its session expiry matters when the node was removed) the socket is
      // destroyed; what was not acknowledged stays in the session and the broker delivers it again.
      forceAfterDisconnect(client);
    });
  }

  /** After close() nothing is reported: the node's status is cleared and its log is no place for shutdown noise. */
  #report(state: MqttIntakeState): void {
    if (!this.#closed) this.#options.onState(state);
  }

  #subscribe(client: MqttClient): void {
    // rh 1: retained messages only for a new subscription, not again on every reconnection.
    client.subscribe(this.#options.topic, { qos: 1, rh: 1 }, (err, granted) => {
      const refused = granted?.find((grant) => grant.qos >= 128);
      if (!err && !refused) {
        this.#report({ state: 'connected' });
      } else {
        const reason = err ? err.message : `reason code ${refused?.qos}`;
        this.#report({
          state: 'error',
          error: new FinanceError(
            'CONFIG_INVALID',
            `The broker refused the subscription to "${this.#options.topic}" (${reason}). Check the topic and ` +
              "the user's permissions on the broker.",
          ),
        });
      }
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

function isFailed(result: { outcome: string }): result is IntakeFailed {
  return result.outcome === 'failed';
}
