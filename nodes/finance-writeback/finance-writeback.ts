/**
 * `finance-writeback`: tells the source system the outcome of a document (posted with the ERP's references,
 * or its approval state), once, and ends the event's journey in the store. Targets: a generic webhook on the
 * source's API, the Concur report PATCH, Coupa custom fields, or an MQTT status event (lib/writeback). A failure that may pass is
 * parked in the store and tried again with the retry policy of this node's dialog (nodes/shared/retrying.ts):
 * the remote system is the source, not an ERP connection, so the policy cannot come from a finance-erp node.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { upgradeConfig } from '../../lib/config/migrations';
import { retryPolicyFromDialog, type RetryDialogSettings } from '../../lib/config/retry-settings';
import { FinanceError } from '../../lib/errors';
import { LedgerWriter } from '../../lib/posting/idempotent-write';
import { finishInboxEvent } from '../../lib/posting/inbox-outcome';
import { refusalReport } from '../../lib/posting/refusal';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from '../../lib/reliability/retry-policy';
import type { FinanceStore } from '../../lib/reliability/store';
import { createConcurTarget } from '../../lib/writeback/concur-target';
import { createCoupaTarget } from '../../lib/writeback/coupa-target';
import { LatestVersionGuard } from '../../lib/writeback/latest-version';
import { MqttWritebackTarget } from '../../lib/writeback/mqtt-target';
import { endsJourney } from '../../lib/writeback/outcome';
import {
  writebackDestination,
  writebackSettings,
  type WritebackDialogSettings,
  type WritebackSettings,
} from '../../lib/writeback/settings';
import type { WritebackTarget } from '../../lib/writeback/target';
import { createWebhookTarget } from '../../lib/writeback/webhook-target';
import { performWriteback } from '../../lib/writeback/writeback';
import { useConfigNodes, type FinanceSourceNode, type FinanceStoreNode } from '../shared/config-nodes';
import { onInputWithRetry } from '../shared/retrying';
import { showStatus } from '../shared/status';

interface FinanceWritebackDef extends NodeDef, WritebackDialogSettings, RetryDialogSettings {
  source?: string;
  store?: string;
}

interface MqttCredentials {
  username?: string;
  password?: string;
}

interface WritebackMessage extends NodeMessageInFlow {
  erp?: unknown;
  approval?: unknown;
  purchaseOrder?: unknown;
  budget?: unknown;
  finance?: { correlationId?: unknown; source?: unknown; id?: unknown };
  writeback?: unknown;
  error?: unknown;
}

export = function register(RED: NodeAPI): void {
  function FinanceWriteback(this: Node<MqttCredentials>, def: FinanceWritebackDef) {
    def = upgradeConfig(def); // a node saved by an older version of the pack (lib/config/migrations.ts)
    RED.nodes.createNode(this, def);
    const sourceNode = def.source ? (RED.nodes.getNode(def.source) as FinanceSourceNode | null) : null;
    const storeNode = def.store ? (RED.nodes.getNode(def.store) as FinanceStoreNode | null) : null;
    useConfigNodes(this, storeNode, sourceNode);
    let settings: WritebackSettings | undefined;
    let settingsError: FinanceError | undefined;
    // A wrong retry setting fails every message (below), so the default policy is never applied silently.
    let retryPolicy: RetryPolicy = DEFAULT_RETRY_POLICY;
    try {
      const checked = writebackSettings(def);
      if (checked.target === 'concur') checkPropertyPath(RED, checked.userIdProperty);
      retryPolicy = retryPolicyFromDialog(def);
      settings = checked;
    } catch (err) {
      settingsError = err as FinanceError;
      this.error(settingsError.message);
    }

    // The MQTT target owns a broker connection for the life of this node; the HTTP targets use the source's.
    let mqtt: MqttWritebackTarget | undefined;
    // mqtt.js reports the same refused connection on every reconnect attempt: log each distinct problem once.
    let lastBrokerError: string | undefined;
    if (settings?.target === 'mqtt') {
      try {
        mqtt = new MqttWritebackTarget({
          brokerUrl: settings.brokerUrl,
          topicTemplate: settings.topicTemplate,
          username: this.credentials?.username || undefined,
          password: this.credentials?.password || undefined,
          onState: (state, error) => {
            if (state === 'connected')
              showStatus(this, { fill: 'green', shape: 'dot', text: 'node-red:common.status.connected' });
            else if (state === 'connecting')
              showStatus(this, { fill: 'yellow', shape: 'ring', text: 'node-red:common.status.connecting' });
            else showStatus(this, { fill: 'red', shape: 'ring', text: 'node-red:common.status.disconnected' });
            if (state === 'connected') lastBrokerError = undefined;
            if (error && error.message !== lastBrokerError) {
              lastBrokerError = error.message;
              this.warn(RED._('finance-writeback.errors.broker', { error: error.message }));
            }
          },
        });
      } catch (err) {
        settingsError = err as FinanceError;
        settings = undefined;
        this.error(settingsError.message);
      }
    }

    const targetFor = (current: WritebackSettings): WritebackTarget => {
      if (current.target === 'mqtt') return mqtt as MqttWritebackTarget;
      if (!sourceNode) throw missingConfig('source system', 'finance-source');
      const api = sourceNode.api();
      if (!api) {
        throw new FinanceError(
          'CONFIG_INVALID',
          `The source "${sourceNode.name || sourceNode.id}" has no API base URL, so there is nowhere to write back to: set it in the finance-source configuration.`,
        );
      }
      if (current.target === 'coupa') {
        return createCoupaTarget(api, { numberField: current.numberField, statusField: current.statusField });
      }
      return current.target === 'webhook'
        ? createWebhookTarget(api, current.path)
        : createConcurTarget(api, { numberField: current.numberField, statusField: current.statusField });
    };

    let writer: { store: FinanceStore; writer: LedgerWriter; latest: LatestVersionGuard } | undefined;
    /**
     * One ledger writer and version guard per store instance (the store node reopens it after a redeploy).
     * After a write without an answer the writer gives the source as long again as its API timeout to settle;
     * an MQTT status event is simply sent again (a repeat of the same status). The guard's per-document lease
     * must outlast one write: the source API's timeout, or the MQTT target's wait for the PUBACK.
     */
    const writerFor = (store: FinanceStore) => {
      if (writer?.store !== store) {
        const sourceTimeoutMs = sourceNode?.api()?.timeoutMs;
        const writeTimeoutMs = mqtt ? mqtt.publishTimeoutMs : sourceTimeoutMs;
        writer = {
          store,
          writer: new LedgerWriter(store, { ownerPrefix: this.id, settleAfterMs: sourceTimeoutMs ?? 0 }),
          latest: new LatestVersionGuard(store, {
            holderPrefix: this.id,
            warn: (text) => this.warn(text),
            ...(writeTimeoutMs === undefined ? {} : { writeTimeoutMs }),
          }),
        };
      }
      return writer;
    };

    onInputWithRetry(
      this,
      {
        ...(storeNode && { store: () => storeNode.store() }),
        policy: retryPolicy,
        busyText: RED._('finance-writeback.status.writing'),
      },
      async (incoming, send) => {
        const msg = incoming as WritebackMessage;
        if (!settings) throw settingsError;
        if (!storeNode) throw missingConfig('store', 'finance-store');
        const store = storeNode.store();
        const target = targetFor(settings);
        const userId =
          settings.target === 'concur' ? RED.util.getMessageProperty(msg, settings.userIdProperty) : undefined;
        const perStore = writerFor(store);
        // Keys the ledger and the version guard per destination: two write-back nodes telling two systems
        // (two webhooks on two sources) must not take one another's write-backs for their own.
        const destination = writebackDestination(settings, def.source || undefined);
        // Every target is kept in version order when the document has a version, and within a version (or
        // without one) in the order of the statuses' lifecycle (performWriteback): a later version supersedes an
        // earlier one, so a parked retry of version 1 must not land after version 2's status, and a parked
        // `approved` not after the `posted` of its version, whether it goes to Coupa, Concur, a webhook or MQTT.
        const result = await performWriteback(
          perStore.writer,
          target,
          {
            message: msg,
            destination,
            correlationId: msg._msgid,
            ...(typeof userId === 'string' ? { userId } : {}),
            now: new Date(),
          },
          perStore.latest,
        );
        if (result.outcome === 'refused') {
          msg.error = refusalReport(result.error, this);
          await finishInboxEvent(store, msg.finance, {
            status: 'refused',
            detail: { code: result.error.code, message: result.error.message, writeback: settings.target },
          });
          send([null, msg]);
          return { fill: 'yellow', shape: 'dot', text: RED._('finance-writeback.status.refused') };
        }
        if (endsJourney(result.writeback.status)) {
          await finishInboxEvent(store, msg.finance, {
            status: result.writeback.status,
            detail: { writeback: result.writeback },
          });
        }
        msg.writeback = result.writeback;
        send([msg, null]);
        return { fill: 'green', shape: 'dot', text: result.writeback.status };
      },
    );

    this.on('close', (_removed: boolean, done: () => void) => {
      (mqtt ? mqtt.close() : Promise.resolve()).then(done, done);
    });
  }

  // Node-RED's typings cannot express a node with credentials of its own type; the constructor is typed above.
  RED.nodes.registerType('finance-writeback', FinanceWriteback as never, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
};

/** A malformed msg property path is a setting to fix, found at deploy rather than as a failure per message. */
function checkPropertyPath(RED: NodeAPI, property: string): void {
  try {
    RED.util.normalisePropertyExpression(property);
  } catch {
    throw new FinanceError(
      'CONFIG_INVALID',
      `User id "msg.${property}" is not a message property path such as payload.employeeId; fix it in the node's dialog.`,
      { details: { field: 'userIdProperty' } },
    );
  }
}

function missingConfig(what: string, type: string): FinanceError {
  return new FinanceError(
    'CONFIG_INVALID',
    `No ${what} is selected (or it was deleted): choose a ${type} configuration in the node's dialog.`,
  );
}
