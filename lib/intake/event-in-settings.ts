/**
 * Turns the `finance-event-in` dialog into intake settings: how events arrive (own webhook, messages from
 * upstream nodes, own MQTT subscription, polling the source's API), the body limit, the lease and how often recovery runs. Checked once
 * at deploy; each mistake is a CONFIG_INVALID error that names the field.
 */
import { FinanceError } from '../errors';
import { integerSetting, optionalText, requiredText } from '../config/settings';
import { DEFAULT_MAX_JSON_BYTES } from '../model/safe-json';
import { defaultClientId, instanceId } from './instance';
import { COUPA_MAX_PAGE_SIZE, COUPA_RESOURCES, type CoupaResource } from '../sources/coupa-poller';

export const INTAKE_MODES = ['http', 'input', 'mqtt', 'poll'] as const;
export type IntakeMode = (typeof INTAKE_MODES)[number];

export const DEFAULT_LEASE_SECONDS = 300;
export const DEFAULT_RECOVERY_SECONDS = 10;
export const DEFAULT_POLL_SECONDS = 60;

export interface EventInDialogSettings {
  mode?: string;
  /** http mode: the endpoint path below Node-RED's httpNodeRoot (or on the own port). */
  path?: string;
  /** http mode: a port of the node's own instead of Node-RED's web server; empty for Node-RED's. */
  listenPort?: string | number;
  /** http mode with a port of its own: the address it listens on. */
  listenHost?: string;
  maxBytes?: string | number;
  leaseSeconds?: string | number;
  /** How often unfinished events whose lease ran out are looked for and emitted again. */
  recoverySeconds?: string | number;
  /** mqtt mode, and http mode when it publishes. */
  broker?: string;
  topic?: string;
  clientId?: string;
  /** http mode: publish every accepted event to the broker (scale-out), to this topic. */
  publish?: boolean | string;
  publishTopic?: string;
  /** mqtt mode: take over the inbox entry of an event an intake committed and published (scale-out). */
  claim?: boolean | string;
  /** poll mode: seconds between rounds, the Coupa resource, documents per page, the first cursor. */
  pollSeconds?: string | number;
  pollResource?: string;
  pollPageSize?: string | number;
  pollUpdatedAfter?: string;
}

export interface PollSettings {
  intervalMs: number;
  resource: CoupaResource;
  pageSize: number;
  /** Only documents updated after this instant are polled until a round saves a cursor of its own. */
  updatedAfter?: string;
}

export interface MqttSettings {
  url: string;
  /** A topic filter, possibly a shared subscription `$share/<group>/<filter>`. */
  topic: string;
  clientId: string;
  /**
   * Messages that name an inbox entry (published by an intake in publish mode) are taken over from that intake
   * (FinanceStore.takeOverLease) instead of being refused as duplicates of it.
   */
  claim: boolean;
}

/** Where an http intake in publish mode hands its accepted events. */
export interface PublishSettings {
  url: string;
  /** A plain topic (no wildcards, no $share): e.g. finance/expense/submitted. */
  topic: string;
  clientId: string;
}

export interface EventInSettings {
  mode: IntakeMode;
  /** http mode only. */
  path?: string;
  /** http mode only: the node's own HTTP server (lib/intake/own-listener.ts) instead of Node-RED's. */
  ownServer?: { host: string; port: number };
  /** http mode only: accepted events go to the broker instead of the node's output (scale-out). */
  publish?: PublishSettings;
  maxBytes: number;
  leaseMs: number;
  recoveryIntervalMs: number;
  /** mqtt mode only. */
  mqtt?: MqttSettings;
  /** poll mode only. */
  poll?: PollSettings;
}

// Letters, digits and - . _ ~ / only: no route parameters or wildcards, so one node owns exactly one path.
const PATH = /^\/[A-Za-z0-9\-._~/]*$/;
const BROKER_PROTOCOLS = ['mqtt:', 'mqtts:', 'ws:', 'wss:'];

/**
 * `instance` (instanceId(): host name and user directory) goes into the default client id, so each host running
 * the same flow has its own broker session, the same one after each restart.
 */
export function eventInSettings(
  settings: EventInDialogSettings,
  nodeId: string,
  instance: string = instanceId(),
): EventInSettings {
  const clientId = optionalText(settings.clientId) ?? defaultClientId(nodeId, instance);
  const mode = optionalText(settings.mode) ?? 'http';
  if (!(INTAKE_MODES as readonly string[]).includes(mode)) {
    throw invalid('mode', `Mode "${mode}" is not one of ${INTAKE_MODES.join(', ')}.`);
  }
  const common = {
    maxBytes: integerSetting(settings.maxBytes, 'Max body size (bytes)', {
      min: 1,
      max: 100 * 1024 * 1024,
      fallback: DEFAULT_MAX_JSON_BYTES,
    }),
    leaseMs:
      integerSetting(settings.leaseSeconds, 'Lease (s)', { min: 1, max: 86_400, fallback: DEFAULT_LEASE_SECONDS }) *
      1000,
    recoveryIntervalMs:
      integerSetting(settings.recoverySeconds, 'Recovery every (s)', {
        min: 1,
        max: 3600,
        fallback: DEFAULT_RECOVERY_SECONDS,
      }) * 1000,
  };
  switch (mode as IntakeMode) {
    case 'http':
      return {
        mode: 'http',
        path: endpointPath(settings.path),
        ...ownServer(settings),
        ...(isOn(settings.publish) && {
          publish: { url: brokerUrl(settings.broker), topic: publishTopic(settings.publishTopic), clientId },
        }),
        ...common,
      };
    case 'mqtt':
      return {
        mode: 'mqtt',
        mqtt: {
          url: brokerUrl(settings.broker),
          topic: topicFilter(settings.topic),
          // A stable client id is what makes the broker keep the session (and unacknowledged messages) across restarts.
          clientId,
          claim: isOn(settings.claim),
        },
        ...common,
      };
    case 'input':
      return { mode: 'input', ...common };
    case 'poll':
      return { mode: 'poll', poll: pollSettings(settings), ...common };
  }
}

function pollSettings(settings: EventInDialogSettings): PollSettings {
  const resource = optionalText(settings.pollResource) ?? 'requisitions';
  if (!(COUPA_RESOURCES as readonly string[]).includes(resource)) {
    throw invalid('pollResource', `Documents "${resource}" is not one of ${COUPA_RESOURCES.join(', ')}.`);
  }
  const updatedAfter = optionalText(settings.pollUpdatedAfter);
  if (updatedAfter !== undefined && !RFC_3339.test(updatedAfter)) {
    throw invalid(
      'pollUpdatedAfter',
      `Updated after "${updatedAfter}" is not a date-time with its offset, such as 2026-01-01T00:00:00+00:00.`,
    );
  }
  return {
    intervalMs:
      integerSetting(settings.pollSeconds, 'Poll every (s)', { min: 1, max: 86_400, fallback: DEFAULT_POLL_SECONDS }) *
      1000,
    resource: resource as CoupaResource,
    pageSize: integerSetting(settings.pollPageSize, 'Page size', {
      min: 1,
      max: COUPA_MAX_PAGE_SIZE,
      fallback: COUPA_MAX_PAGE_SIZE,
    }),
    ...(updatedAfter === undefined ? {} : { updatedAfter }),
  };
}

const RFC_3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})$/i;

function endpointPath(value: unknown): string {
  const text = requiredText(value, 'Path', 'enter the path senders post to, e.g. /finance/events');
  const path = text.startsWith('/') ? text : `/${text}`;
  if (!PATH.test(path)) {
    throw invalid(
      'path',
      `Path "${path}" may only contain letters, digits and - . _ ~ /; route parameters and wildcards are not allowed.`,
    );
  }
  return path;
}

export const DEFAULT_LISTEN_HOST = '127.0.0.1';
// An IPv4 or IPv6 address or a host name: no scheme, port or path.
const LISTEN_HOST = /^[A-Za-z0-9.\-:]+$/;

function ownServer(settings: EventInDialogSettings): { ownServer?: { host: string; port: number } } {
  const text =
    typeof settings.listenPort === 'number' ? String(settings.listenPort) : optionalText(settings.listenPort);
  if (text === undefined) return {};
  const port = integerSetting(text, 'Port', { min: 1, max: 65_535, fallback: 0 });
  const host = optionalText(settings.listenHost) ?? DEFAULT_LISTEN_HOST;
  if (!LISTEN_HOST.test(host)) {
    throw invalid(
      'listenHost',
      `Listen address "${host}" is not an address: enter an IP address such as 127.0.0.1 or 0.0.0.0, without a port.`,
    );
  }
  return { ownServer: { host, port } };
}

/** 127.0.0.0/8, ::1 and localhost: a listener only this host can reach. */
const LOOPBACK_HOST = /^(?:127(?:\.\d{1,3}){3}|::1|\[::1\]|localhost)$/i;

/**
 * Refuses an own-port listener open to other hosts for a source whose signature scheme is "none". On its own
 * port the webhook is outside Node-RED's httpNodeAuth: the signature is the only proof of the sender, so without
 * one anyone who can reach the port could post expense reports into budget checks, approvals and postings.
 */
export function checkOwnPortSigning(settings: EventInSettings, signatureScheme: string): void {
  if (settings.mode !== 'http' || settings.ownServer === undefined || signatureScheme !== 'none') return;
  if (LOOPBACK_HOST.test(settings.ownServer.host)) return;
  throw invalid(
    'listenHost',
    `The source's signature scheme is "none", so the own port on ${settings.ownServer.host} would accept unsigned ` +
      "events from any host that reaches it (Node-RED's HTTP authentication does not cover its own port). Choose a " +
      'signature scheme and secret in the finance-source node, or listen on 127.0.0.1 behind a proxy that ' +
      'authenticates the sender.',
  );
}

function brokerUrl(value: unknown): string {
  const text = requiredText(value, 'Broker URL', 'enter the broker address, e.g. mqtt://127.0.0.1:1883');
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('broker', 'Broker URL is not a URL; enter e.g. mqtt://broker.example.com:1883.');
  }
  if (!BROKER_PROTOCOLS.includes(url.protocol)) {
    throw invalid('broker', `Broker URL must start with ${BROKER_PROTOCOLS.map((p) => `${p}//`).join(', ')}.`);
  }
  if (url.username || url.password) {
    throw invalid(
      'broker',
      'Broker URL must not contain a user name or password; enter them in the credential fields.',
    );
  }
  return text;
}

/** MQTT topic filter rules (MQTT 5 section 4.7), plus the shared-subscription prefix. */
function topicFilter(value: unknown): string {
  const text = requiredText(value, 'Topic', 'enter the topic to subscribe to, e.g. finance/events/#');
  const shared = /^\$share\/([^/]*)\/(.*)$/.exec(text);
  if (text.startsWith('$share/') && (!shared || shared[1] === '' || /[+#]/.test(shared[1]) || shared[2] === '')) {
    throw invalid(
      'topic',
      'A shared subscription is written $share/<group>/<topic>, with a group name without + or #.',
    );
  }
  const filter = shared ? shared[2] : text;
  const levels = filter.split('/');
  const wrong = levels.some(
    (level, index) =>
      (level.includes('#') && (level !== '#' || index !== levels.length - 1)) || (level.includes('+') && level !== '+'),
  );
  if (wrong) {
    throw invalid('topic', `Topic "${text}": + must fill a whole level and # must be the whole last level.`);
  }
  return text;
}

/** A checkbox: true, or "true" from a flow file written by hand. */
function isOn(value: unknown): boolean {
  return value === true || value === 'true';
}

/** A topic to publish to: no wildcards and no shared-subscription prefix (MQTT 5 section 4.7). */
function publishTopic(value: unknown): string {
  const text = requiredText(
    value,
    'Publish topic',
    'enter the topic accepted events go to, e.g. finance/expense/submitted',
  );
  if (/[+#]/.test(text) || text.startsWith('$')) {
    throw invalid(
      'publishTopic',
      `Publish topic "${text}" must be a plain topic without + or # and not start with $; the consumers subscribe to $share/<group>/${text.replace(/^\$share\/[^/]*\//, '')}.`,
    );
  }
  return text;
}

function invalid(field: string, message: string): FinanceError {
  return new FinanceError('CONFIG_INVALID', `${message} Fix it in the finance-event-in node.`, { details: { field } });
}
