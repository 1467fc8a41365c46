/**
 * `finance-event-in`: intake of a source's events. Verifies the signature on the raw bytes, validates,
 * de-duplicates on source + id, commits to the store (leased to this node) and only then acknowledges (HTTP 202,
 * MQTT PUBACK) and emits. Events arrive on the node's own webhook endpoint, as messages from upstream nodes, on
 * its own MQTT subscription, or by polling the source's API (Coupa: exported=false, then mark exported). Output 1: accepted events, and unfinished ones emitted again by recovery when
 * their lease ran out (lib/intake/recovery.ts); output 2: rejected ones, with msg.problem.
 *
 * Closing (redeploy, stop): the webhook answers 503 with Retry-After to new events while the requests in
 * progress finish (bounded by CLOSE_WAIT_MS), and after that until the next deploy opens the path again (only a
 * deleted node frees its path and port); what is committed but not finished downstream is recovered later.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { upgradeConfig } from '../../lib/config/migrations';
import { FinanceError } from '../../lib/errors';
import type { TlsOptions } from '../../lib/erp/client';
import { httpAnswer } from '../../lib/intake/answer';
import {
  checkOwnPortSigning,
  eventInSettings,
  type EventInDialogSettings,
  type EventInSettings,
} from '../../lib/intake/event-in-settings';
import {
  Intake,
  closingRefusal,
  refusal,
  type ClaimResult,
  type IntakeAccepted,
  type IntakeFailed,
  type IntakeRejected,
  type IntakeResult,
} from '../../lib/intake/intake';
import { startCoupaPolling, type CoupaPolling } from '../../lib/intake/coupa-polling';
import { eventFromMessage } from '../../lib/intake/message-event';
import { MqttIntake, type MqttIntakeState } from '../../lib/intake/mqtt-intake';
import { InFlightWindow } from '../../lib/intake/in-flight';
import { EventPublisher } from '../../lib/intake/event-publisher';
import { instanceId } from '../../lib/intake/instance';
import {
  InboxRecovery,
  leaseOwnerFor,
  processIdFor,
  recoveryVerdict,
  type RecoveryPass,
} from '../../lib/intake/recovery';
import type { InboxEntry } from '../../lib/reliability/store';
import { useConfigNodes, type FinanceSourceNode, type FinanceStoreNode } from '../shared/config-nodes';
import { asFinanceError, onInput, statusText, type Send, type Status } from '../shared/node-input';
import { reportIntake } from '../shared/observe';
import { forgetDormantEndpoints, openEndpoint, writeAnswer } from './http-endpoint';
import { forgetDormantOwnEndpoints, openOwnEndpoint, type EndpointHandler } from '../../lib/intake/own-listener';
import { clearStatus, showStatus } from '../shared/status';

interface FinanceEventInDef extends NodeDef, EventInDialogSettings {
  source?: string;
  store?: string;
  tls?: string;
}

/** How long a closing webhook waits for the requests in progress (Node-RED gives a close 15 s in all). */
const CLOSE_WAIT_MS = 5_000;

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
    def = upgradeConfig(def); // a node saved by an older version of the pack (lib/config/migrations.ts)
    RED.nodes.createNode(this, def);
    start(this, def);
  }

  /** Everything after createNode: the node is a parameter so the helpers below can close over it. */
  function start(node: Node<MqttCredentials>, def: FinanceEventInDef): void {
    const counts = { accepted: 0, duplicate: 0 };
    // Leases and client ids name this instance (host and user directory): several instances may share a store
    // and a broker. Leases name this process too, so a restarted process can tell the leases a killed one left.
    const userDir = (RED.settings as { userDir?: unknown }).userDir;
    const instanceDir = typeof userDir === 'string' ? userDir : undefined;
    const owner = leaseOwnerFor(node.id, processIdFor(instanceDir));
    let publisher: EventPublisher | undefined;
    let settings: EventInSettings;
    let intake: Intake;
    let store: FinanceStoreNode;
    let source: FinanceSourceNode;
    let recovery: InboxRecovery;
    try {
      settings = eventInSettings(def, node.id, instanceId(instanceDir));
      source = configNode<FinanceSourceNode>(def.source, 'Source');
      checkOwnPortSigning(settings, source.signatureScheme);
      store = configNode<FinanceStoreNode>(def.store, 'Store');
      useConfigNodes(node, store, source);
      recovery = new InboxRecovery({
        store: () => store.store(),
        owner,
        leaseMs: settings.leaseMs,
        intervalMs: settings.recoveryIntervalMs,
        // Publish mode hands events to other hosts, whose finishing this process never hears of: no window here,
        // the consumers bound their own.
        ...(settings.publish ? {} : { window: new InFlightWindow() }),
        ownedBy: () => (intakesOnStore(def.store) === 1 ? undefined : node.id),
        verdict: (entry) =>
          recoveryVerdict(entry, owner, {
            isDeployedIntake: (nodeId) => RED.nodes.getNode(nodeId)?.type === 'finance-event-in',
            onlyIntakeOnStore: () => intakesOnStore(def.store) === 1,
          }),
        emit: emitRecovered,
        onPass: reportPass,
        onError: (err) => reportOnce(`Unfinished events could not be recovered: ${asFinanceError(err).message}`),
      });
      intake = new Intake({
        store: () => store.store(),
        profile: source.profile,
        signatureScheme: source.signatureScheme,
        // Polled documents come over the source's authenticated API unsigned (lib/intake/coupa-polling.ts).
        secrets: settings.mode === 'poll' ? [] : source.webhookSecrets(),
        maxBytes: settings.maxBytes,
        toleranceSeconds: source.toleranceSeconds,
        lease: { owner, ms: settings.leaseMs },
        ...(settings.publish ? {} : { admission: recovery }),
      });
      if (settings.publish) {
        const credentials = node.credentials ?? {};
        publisher = new EventPublisher({
          ...settings.publish,
          nodeId: node.id,
          username: credentials.username,
          password: credentials.password,
          tls: tlsOptions(def.tls),
          onState: (state, error) => {
            if (error) reportOnce(`MQTT (publishing): ${error.message}`);
            if (state !== 'connected') show({ fill: 'yellow', shape: 'ring', text: `broker ${state}` });
          },
        });
        node.on('close', (_removed: boolean, done: () => void) => {
          publisher?.close().then(done, done);
        });
      }
    } catch (err) {
      const failure = asFinanceError(err);
      node.error(`finance-event-in is not usable: ${failure.message}`);
      showStatus(node, { fill: 'red', shape: 'ring', text: statusText(failure.code) });
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
      showStatus(node, { ...status, text: statusText(status.text) });
    }

    /** The status after an outcome, or undefined when it needs none (a failure reports itself). */
    function statusAfter(result: IntakeResult): Status | undefined {
      reportIntake(node, result, source.profileName);
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
     * The commit leased the event to this node (its first delivery), so recovery emits it again only when the
     * lease runs out before its journey ended. An event committed waiting is emitted by recovery instead.
     */
    function emitAccepted(result: IntakeAccepted, msg: NodeMessage & Record<string, unknown>, send: Send): void {
      if (result.waiting) return;
      if (publisher) return publish(result.envelope as unknown as Record<string, unknown>);
      msg.payload = result.payload;
      msg.finance = { ...result.envelope };
      send([msg, null]);
    }

    /** A waiting event handed out, or an unfinished one emitted again: attempt = its deliveries so far. */
    function emitRecovered(entry: InboxEntry): void {
      if (publisher) {
        publish(entry.envelope);
        reportIntake(node, { outcome: 'redelivered', envelope: entry.envelope }, source.profileName);
        return;
      }
      const msg = {
        _msgid: RED.util.generateId(),
        payload: entry.payload,
        finance: { ...entry.envelope, attempt: entry.attempts },
      };
      node.send([msg as NodeMessage, null]);
      reportIntake(node, { outcome: 'redelivered', envelope: entry.envelope }, source.profileName);
    }

    /**
     * Publish mode: the event is committed and leased to this node; a publish that fails is published again by
     * recovery when that lease runs out (lib/intake/event-publisher.ts), so a failure is only reported.
     */
    function publish(envelope: Record<string, unknown>): void {
      publisher?.publish(envelope).then(
        () => undefined,
        (err: Error) =>
          reportOnce(`An accepted event could not be published yet (recovery publishes it again): ${err.message}`),
      );
    }

    /** MQTT mode with claim: a message that named an entry a publishing intake committed. */
    function claimed(result: Exclude<ClaimResult, IntakeFailed>): void {
      if (result.outcome === 'claimed') {
        counts.accepted += 1;
        if (!result.waiting) emitRecovered(result.entry);
        show({ fill: 'green', shape: 'dot', text: `accepted ${counts.accepted}` });
      } else if (result.outcome === 'taken') {
        counts.duplicate += 1;
        show({ fill: 'green', shape: 'dot', text: `dup ${counts.duplicate}` });
      } else {
        reportOnce(
          "A published event is not in this node's store: the publishing finance-event-in and this one must use the " +
            'same (shared) finance-store. Its publisher keeps it and publishes it again.',
        );
        show({ fill: 'red', shape: 'ring', text: 'NOT_IN_STORE' });
      }
    }

    let lastReport = '';
    /** Recovery runs every few seconds: the same problem is logged once, not on every pass. */
    function reportOnce(text: string): void {
      if (text !== lastReport) node.warn(text);
      lastReport = text;
    }

    function reportPass(pass: RecoveryPass): void {
      const again = pass.emitted.filter((entry) => entry.attempts > 1).length;
      if (again > 0) {
        node.warn(
          `Emitted ${again} unfinished event(s) again: their lease ran out, or the process that had them ended, before they finished.`,
        );
      }
      if (pass.orphans > 0) {
        reportOnce(
          `${pass.orphans} unfinished event(s) in the store belong to no deployed finance-event-in node, and several ` +
            'share this store, so none emits them again; deploy their intake node again, or give each intake its own store.',
        );
      }
    }

    // The first pass, right now, finds what the last run left unfinished (a crash, a kill -9, a redeploy).
    recovery.start();
    node.on('close', (_removed: boolean, done: () => void) => {
      recovery.stop().then(done, done);
    });

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
        emitAccepted(result, { _msgid: RED.util.generateId() }, send);
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

    /** Closes the webhook endpoint: `removed` (the node was deleted) frees its path, else it answers 503. */
    type CloseEndpoint = (removed: boolean) => Promise<void>;

    function listenOnNodeRed(path: string, maxBytes: number, handler: EndpointHandler): CloseEndpoint {
      if ((RED.settings as { httpNodeRoot?: unknown }).httpNodeRoot === false) {
        node.warn(
          'httpNodeRoot is false in the Node-RED settings, so flow HTTP endpoints are off: this endpoint cannot be reached.',
        );
      }
      const close = openEndpoint(RED, node.id, path, maxBytes, handler);
      return async (removed) => close(removed);
    }

    /** The node's own server; a port that cannot be used is the node's error until the next deploy. */
    function listenOnOwnPort(
      server: { host: string; port: number },
      path: string,
      maxBytes: number,
      handler: EndpointHandler,
    ): CloseEndpoint {
      const opened = openOwnEndpoint({ ...server, path, maxBytes, handler, owner: node.id }).catch(
        (err: FinanceError) => {
          node.error(err.message);
          show({ fill: 'red', shape: 'ring', text: `port ${server.port} unusable` });
          return async () => undefined;
        },
      );
      return async (removed) => (await opened)(removed);
    }

    // Paths this node left answering 503 when it closed and no longer serves (another mode or port; a new path
    // on the same server is handled by the open itself).
    if (settings.mode !== 'http' || settings.ownServer) forgetDormantEndpoints(node.id);
    if (settings.mode !== 'http' || !settings.ownServer) void forgetDormantOwnEndpoints(node.id);

    if (settings.mode === 'http') {
      const maxBytes = settings.maxBytes;
      let closing = false;
      const inProgress = new Set<Promise<void>>();
      const handler = (request: IncomingMessage, response: ServerResponse, body: Promise<Buffer>): void => {
        if (closing) {
          // Nothing is read or stored any more: the sender tries again when the next deploy listens.
          writeAnswer(response, httpAnswer(closingRefusal()), true);
          return;
        }
        const handled: Promise<void> = body
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
          .catch((err: Error) => node.error(err.message))
          .finally(() => inProgress.delete(handled));
        inProgress.add(handled);
      };
      const closeEndpoint = settings.ownServer
        ? listenOnOwnPort(settings.ownServer, settings.path!, maxBytes, handler)
        : listenOnNodeRed(settings.path!, maxBytes, handler);
      node.on('close', (removed: boolean, done: () => void) => {
        // New events get 503 + Retry-After; those being received get their answer (202 only once committed).
        // After the route is gone its path keeps answering 503 until the next deploy takes it over (http-endpoint.ts,
        // own-listener.ts): only a deleted node (`removed`) frees its path and port.
        closing = true;
        settleWithin([...inProgress], CLOSE_WAIT_MS)
          .then(() => closeEndpoint(removed === true))
          .then(() => {
            clearStatus(node);
            done();
          });
      });
    } else if (settings.mode === 'mqtt') {
      const credentials = node.credentials ?? {};
      const subscription = new MqttIntake({
        ...settings.mqtt!,
        username: credentials.username,
        password: credentials.password,
        tls: tlsOptions(def.tls),
        intake,
        store: () => store.store(),
        onResult: (result, message) => emitOwn(result, message.rawBody, { topic: message.topic }),
        onClaim: (result) => claimed(result),
        onState: (state) => showMqttState(state),
      });
      subscription.start();
      // The session is kept even when the node is deleted: Node-RED says `removed` for a disabled node too.
      node.on('close', (_removed: boolean, done: () => void) => {
        subscription.close().then(() => {
          clearStatus(node);
          done();
        });
      });
    } else if (settings.mode === 'poll') {
      startPolling(settings);
    } else {
      onInput(node, async (incoming, send) => {
        const msg = incoming as InputMessage;
        const result = await intake.receive(eventFromMessage(msg, source.signatureScheme));
        msg.statusCode = result.httpStatus;
        switch (result.outcome) {
          case 'accepted':
            // Waiting for a slot: nothing leaves the node now, so an upstream http in request gets its answer here.
            if (result.waiting && msg.res?._res) writeAnswer(msg.res._res, httpAnswer(result));
            emitAccepted(result, msg, send);
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

    /** Mode "poll": rounds of the source's poller (lib/intake/coupa-polling.ts); its state is in the store. */
    function startPolling(current: EventInSettings): void {
      const poll = current.poll!;
      let polling: CoupaPolling | undefined;
      try {
        polling = startCoupaPolling({
          http: source.api(),
          profile: source.profile,
          resource: poll.resource,
          store: () => store.store(),
          key: node.id,
          intervalMs: poll.intervalMs,
          pageSize: poll.pageSize,
          ...(poll.updatedAfter === undefined ? {} : { updatedAfter: poll.updatedAfter }),
          maxBytes: current.maxBytes,
          // The owner and the in-flight window of the node's other transports: recovery knows these leases as
          // this process's, and a backlog in Coupa waits in the store instead of entering the flow at once.
          lease: { owner, ms: current.leaseMs },
          admission: recovery,
          onResult: (result, rawBody) => emitOwn(result, rawBody),
          onRound: (report) => {
            // Coupa answered export marks 200 without keeping them: said once (the words are the same every round).
            const notKept = report.leftBehind.find((left) => left.error.details?.reason === 'export_mark_not_kept');
            if (report.interrupted) {
              reportOnce(`Polling ${report.resource} stopped early, tried again later: ${report.interrupted.message}`);
              show({ fill: 'yellow', shape: 'ring', text: report.interrupted.code });
            } else if (notKept) {
              reportOnce(`Polling ${report.resource}: ${notKept.error.message}`);
              show({ fill: 'yellow', shape: 'ring', text: 'mark not kept' });
            } else if (report.fetched === 0) show({ fill: 'grey', shape: 'dot', text: 'polled' });
          },
          // On a store several hosts share, one of them polls at a time (lib/intake/polling.ts).
          onSkip: () => show({ fill: 'grey', shape: 'ring', text: 'standby' }),
          onError: (err) => {
            const failure = asFinanceError(err);
            reportOnce(`Polling failed, tried again next round: ${failure.message}`);
            show({ fill: 'red', shape: 'ring', text: failure.code });
          },
        });
      } catch (err) {
        const failure = asFinanceError(err);
        node.error(`finance-event-in cannot poll: ${failure.message}`);
        show({ fill: 'red', shape: 'ring', text: failure.code });
      }
      node.on('close', (_removed: boolean, done: () => void) => {
        (polling ? polling.stop() : Promise.resolve()).then(() => {
          clearStatus(node);
          done();
        }, done);
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

  /** The deployed finance-event-in nodes that use the store config node `storeId`. */
  function intakesOnStore(storeId: string | undefined): number {
    let count = 0;
    RED.nodes.eachNode((config) => {
      const uses = config.type === 'finance-event-in' && (config as { store?: string }).store === storeId;
      if (uses && RED.nodes.getNode(config.id)) count += 1;
    });
    return count;
  }

  // Node-RED's typings cannot express a node that adds members of its own; the constructor adds them.
  RED.nodes.registerType('finance-event-in', FinanceEventIn as never, {
    credentials: {
      username: { type: 'text' },
      password: { type: 'password' },
    },
  });
};

/** Resolves when all `promises` have settled, or after `ms`, whichever comes first. */
function settleWithin(promises: Array<Promise<unknown>>, ms: number): Promise<void> {
  if (promises.length === 0) return Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const givingUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  return Promise.race([Promise.allSettled(promises).then(() => undefined), givingUp]).finally(() =>
    clearTimeout(timer),
  );
}
