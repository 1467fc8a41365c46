/**
 * `finance-event-in`: intake of a source's events. Verifies the signature on the raw bytes, validates,
 * de-duplicates on source + id, commits to the store and only then acknowledges (HTTP 202, MQTT PUBACK) and
 * emits. Events arrive on the node's own webhook endpoint, as messages from upstream nodes, or on its own
 * MQTT subscription. Output 1: accepted events; output 2: rejected ones, with msg.problem.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { FinanceError } from '../../lib/errors';
import type { TlsOptions } from '../../lib/erp/client';
import { httpAnswer } from '../../lib/intake/answer';
import { eventInSettings, type EventInDialogSettings, type EventInSettings } from '../../lib/intake/event-in-settings';
import { Intake, refusal, type IntakeAccepted, type IntakeRejected, type IntakeResult } from '../../lib/intake/intake';
import { eventFromMessage } from '../../lib/intake/message-event';
import { MqttIntake, type MqttIntakeState } from '../../lib/intake/mqtt-intake';
import type { FinanceSourceNode, FinanceStoreNode } from '../shared/config-nodes';
import { asFinanceError, onInput, statusText, type Send, type Status } from '../shared/node-input';
import { openEndpoint, writeAnswer } from './http-endpoint';

interface FinanceEventInDef extends NodeDef, EventInDialogSettings {
  source?: string;
  store?: string;
  tls?: string;
}

interface MqttCredentials {
  username?: string;
  password?: string;
}

interface TlsConfigNode extends Node {
  addTLSOptions(options: Record<string, unknown>): void;
}

/** The parts of an upstream core `http in` message this node touches. */
interface InputMessage extends NodeMessageInFlow {
  statusCode?: number;
  problem?: unknown;
  finance?: unknown;
  res?: { _res?: ServerResponse };
}

export = function register(RED: NodeAPI): void {
  function FinanceEventIn(this: Node<MqttCredentials>, def: FinanceEventInDef) {
    RED.nodes.createNode(this, def);
    start(this, def);
  }

  /** Everything after createNode: the node is a parameter so the helpers below can close over it. */
  function start(node: Node<MqttCredentials>, def: FinanceEventInDef): void {
    const counts = { accepted: 0, duplicate: 0 };
    let settings: EventInSettings;
    let intake: Intake;
    let store: FinanceStoreNode;
    let source: FinanceSourceNode;
    try {
      settings = eventInSettings(def, node.id);
      source = configNode<FinanceSourceNode>(def.source, 'Source');
      store = configNode<FinanceStoreNode>(def.store, 'Store');
      intake = new Intake({
        store: () => store.store(),
        profile: source.profile,
        signatureScheme: source.signatureScheme,
        secrets: source.webhookSecrets(),
        maxBytes: settings.maxBytes,
        toleranceSeconds: source.toleranceSeconds,
      });
    } catch (err) {
      const failure = asFinanceError(err);
      node.error(`finance-event-in is not usable: ${failure.message}`);
      node.status({ fill: 'red', shape: 'ring', text: statusText(failure.code) });
      // Messages still get an answer: done(err) with the reason, so a Catch node sees the misconfiguration.
      onInput(node, async () => {
        throw failure;
      });
      return;
    }

    function configNode<T>(id: string | undefined, label: string): T {
      const found = id ? RED.nodes.getNode(id) : null;
      if (!found) {
        throw new FinanceError('CONFIG_INVALID', `${label} is not set: choose a finance-${label.toLowerCase()} node.`, {
          details: { field: label.toLowerCase() },
        });
      }
      return found as unknown as T;
    }

    function show(status: Status): void {
      node.status({ ...status, text: statusText(status.text) });
    }

    /** The status after an outcome, or undefined when it needs none (a failure reports itself). */
    function statusAfter(result: IntakeResult): Status | undefined {
      switch (result.outcome) {
        case 'accepted':
          counts.accepted += 1;
          return { fill: 'green', shape: 'dot', text: `accepted ${counts.accepted}` };
        case 'duplicate':
          counts.duplicate += 1;
          return { fill: 'green', shape: 'dot', text: `dup ${counts.duplicate}` };
        case 'rejected':
          return { fill: 'red', shape: 'ring', text: result.error.code };
        case 'failed':
          return undefined;
      }
    }

    /**
     * Leases the inbox entry to this node before emitting, so a later recovery pass re-emits the event only
     * when the lease runs out without an outcome. msg.finance.attempt counts the deliveries.
     */
    async function emitAccepted(result: IntakeAccepted, msg: NodeMessage & Record<string, unknown>, send: Send) {
      let attempt = result.envelope.attempt;
      try {
        const lease = await store.store().lease(result.key, node.id, settings.leaseMs);
        if (lease.leased) attempt = lease.entry.attempts;
      } catch (err) {
        // The event is committed; emitting it now beats waiting for a recovery pass.
        node.warn(`The accepted event ${result.envelope.id} could not be leased: ${(err as Error).message}`);
      }
      msg.payload = result.payload;
      msg.finance = { ...result.envelope, attempt };
      send([msg, null]);
    }

    function rejectedMessage(result: IntakeRejected, rawBody: Buffer | undefined): NodeMessage {
      return {
        _msgid: RED.util.generateId(),
        ...(rawBody === undefined ? {} : { payload: rawBody.toString('utf8') }),
        problem: result.problem,
        statusCode: result.httpStatus,
      } as NodeMessage;
    }

    /** Webhook, MQTT: the node starts the message itself. */
    function emitOwn(result: IntakeResult, rawBody: Buffer | undefined, extra: Record<string, unknown> = {}): void {
      const send: Send = (msg) => node.send(msg);
      if (result.outcome === 'accepted') {
        emitAccepted(result, { _msgid: RED.util.generateId() }, send).catch((err: Error) => node.error(err.message));
      } else if (result.outcome === 'rejected') {
        node.send([null, { ...rejectedMessage(result, rawBody), ...extra }]);
      } else if (result.outcome === 'failed') {
        // A full inbox is backpressure doing its job (the sender retries); anything else needs a person.
        const report = result.error.code === 'STORE_FULL' ? node.warn.bind(node) : node.error.bind(node);
        report(`An event could not be stored (${result.error.code}): ${result.error.message}`);
        show({ fill: 'red', shape: 'ring', text: result.error.code });
      }
      const status = statusAfter(result);
      if (status) show(status);
    }

    if (settings.mode === 'http') {
      const maxBytes = settings.maxBytes;
      const handler = (request: IncomingMessage, response: ServerResponse, body: Promise<Buffer>): void => {
        body
          .then(
            async (rawBody) => {
              const result = await intake.receive({ rawBody, headers: request.headers });
              writeAnswer(response, httpAnswer(result));
              emitOwn(result, rawBody);
            },
            (err: unknown) => {
              // A sender that went away mid-body gets no answer; anything the intake knows gets its problem.
              if (!(err instanceof FinanceError)) return;
              const result = refusal(err);
              writeAnswer(response, httpAnswer(result), err.details?.drained === false);
              emitOwn(result, undefined);
            },
          )
          .catch((err: Error) => node.error(err.message));
      };
      if ((RED.settings as { httpNodeRoot?: unknown }).httpNodeRoot === false) {
        node.warn(
          'httpNodeRoot is false in the Node-RED settings, so flow HTTP endpoints are off: this endpoint cannot be reached.',
        );
      }
      const close = openEndpoint(RED, settings.path!, maxBytes, handler);
      node.on('close', (_removed: boolean, done: () => void) => {
        close();
        node.status({});
        done();
      });
    } else if (settings.mode === 'mqtt') {
      const credentials = node.credentials ?? {};
      const subscription = new MqttIntake({
        ...settings.mqtt!,
        username: credentials.username,
        password: credentials.password,
        tls: tlsOptions(def.tls),
        intake,
        onResult: (result, message) => emitOwn(result, message.rawBody, { topic: message.topic }),
        onState: (state) => showMqttState(state),
      });
      subscription.start();
      node.on('close', (removed: boolean, done: () => void) => {
        subscription.close(removed).then(() => {
          node.status({});
          done();
        });
      });
    } else {
      onInput(node, async (incoming, send) => {
        const msg = incoming as InputMessage;
        const result = await intake.receive(eventFromMessage(msg, source.signatureScheme));
        msg.statusCode = result.httpStatus;
        switch (result.outcome) {
          case 'accepted':
            await emitAccepted(result, msg, send);
            break;
          case 'duplicate':
            // Nothing leaves the node, so an upstream http in request would hang: it gets its answer here.
            if (msg.res?._res) writeAnswer(msg.res._res, httpAnswer(result));
            break;
          case 'rejected':
            msg.problem = result.problem;
            send([null, msg]);
            break;
          case 'failed':
            // Technical: done(err) with STORE_FULL / STORE_UNAVAILABLE, so a Catch or retry node can act.
            msg.problem = result.problem;
            throw result.error;
        }
        return statusAfter(result);
      });
    }

    function showMqttState(state: MqttIntakeState): void {
      switch (state.state) {
        case 'connecting':
          return show({ fill: 'yellow', shape: 'ring', text: 'connecting' });
        case 'connected':
          return show({ fill: 'green', shape: 'dot', text: 'connected' });
        case 'disconnected':
          return show({ fill: 'red', shape: 'ring', text: 'disconnected' });
        case 'retrying':
          node.warn(`MQTT: not acknowledged yet, retrying in ${state.delayMs} ms: ${state.error.message}`);
          return show({ fill: 'yellow', shape: 'ring', text: state.error.code });
        case 'error': {
          node.error(`MQTT: ${state.error.message}`);
          const code = (state.error as { code?: unknown }).code;
          return show({ fill: 'red', shape: 'ring', text: typeof code === 'string' ? code : 'error' });
        }
      }
    }

    function tlsOptions(id: string | undefined): TlsOptions | undefined {
      const tlsNode = id ? (RED.nodes.getNode(id) as TlsConfigNode | null) : null;
      if (!tlsNode) return undefined;
      const options: Record<string, unknown> = {};
      tlsNode.addTLSOptions(options);
      return options as TlsOptions;
    }
  }

  // Node-RED's typings cannot express a node that adds members of its own; the constructor adds them.
  RED.nodes.registerType('finance-event-in', FinanceEventIn as never, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
    },
  });
};
