/**
 * `finance-purchase-order`: creates, updates and cancels a purchase order in the ERP from versioned
 * requisition (or purchase-order) events, once and in order; the logic is lib/purchasing. Output 1 carries
 * the synced PO (msg.erp, msg.purchaseOrder, payload.erpRef) or, when the ERP's budget control refused the
 * write (SAP availability control), msg.budget with status exceeded and no msg.erp, so a write-back after it
 * writes budget_exceeded as after finance-budget-check; output 2 the refused events (msg.error, and
 * msg.errors for validation failures). A failure that may pass (503, timeout, circuit open) is parked in the
 * store and tried again with the ERP connection's retry policy (nodes/shared/retrying.ts); the last failure,
 * or one retrying cannot fix, ends in done(err).
 */
import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { releaseReservations } from '../../lib/budget/reservations';
import type { ErpDialect } from '../../lib/erp/dialect';
import { FinanceError } from '../../lib/errors';
import { masterDataCacheOption, masterDataListerFor } from '../../lib/masterdata';
import { LedgerWriter } from '../../lib/posting/idempotent-write';
import { finishInboxEvent } from '../../lib/posting/inbox-outcome';
import { refusalReport } from '../../lib/posting/refusal';
import {
  KeyedQueue,
  MasterDataCache,
  PURCHASE_ORDER_CHECKED_TOPIC,
  purchaseOrderSettings,
  readMasterData,
  recordPurchaseOrderCheck,
  syncPurchaseOrder,
  VersionBook,
  type PurchaseOrderDialogSettings,
  type PurchaseOrderSettings,
} from '../../lib/purchasing';
import type { FinanceStore } from '../../lib/reliability/store';
import { useConfigNodes, type FinanceErpNode, type FinanceStoreNode } from '../shared/config-nodes';
import { asFinanceError } from '../shared/node-input';
import { onInputWithRetry, showCircuitState } from '../shared/retrying';
import { showStatus } from '../shared/status';

interface FinancePurchaseOrderDef extends NodeDef, PurchaseOrderDialogSettings {
  erp?: string;
  store?: string;
  /** The finance-master-data cache to validate with (empty: the ERP). */
  masterDataCache?: string;
}

/** The fields this node reads from and adds to a message. */
interface PurchaseOrderMessage extends NodeMessageInFlow {
  finance?: { correlationId?: unknown; source?: unknown; id?: unknown; version?: unknown; time?: unknown };
  erp?: unknown;
  budget?: unknown;
  purchaseOrder?: unknown;
  error?: unknown;
  errors?: unknown;
  /** Set by finance-dead-letter on a replayed message. */
  replay?: unknown;
}

/** A refusal from cached master data this old reloads it once before the message is refused. */
const MASTER_DATA_RECHECK_MS = 60_000;

export = function register(RED: NodeAPI): void {
  function FinancePurchaseOrder(this: Node, def: FinancePurchaseOrderDef) {
    RED.nodes.createNode(this, def);
    const erpNode = def.erp ? (RED.nodes.getNode(def.erp) as FinanceErpNode | null) : null;
    const storeNode = def.store ? (RED.nodes.getNode(def.store) as FinanceStoreNode | null) : null;
    useConfigNodes(this, storeNode, erpNode);
    let settings: PurchaseOrderSettings | undefined;
    let cacheName: string | undefined;
    let configError: FinanceError | undefined;
    try {
      settings = purchaseOrderSettings(def);
      // The cache is used only to validate master data; its row is hidden otherwise.
      if (settings.validateMasterData) cacheName = masterDataCacheOption(def.masterDataCache);
      if (!erpNode) throw missingConfig('ERP connection', 'finance-erp');
      if (!storeNode) throw missingConfig('store', 'finance-store');
    } catch (err) {
      configError = asFinanceError(err);
      this.error(configError.message);
      showStatus(this, { fill: 'red', shape: 'ring', text: configError.code });
    }

    // One queue for all messages of this node: the events of one purchase order are applied one at a time.
    const queue = new KeyedQueue();
    let perStore: { store: FinanceStore; writer: LedgerWriter; versions: VersionBook } | undefined;
    /**
     * The ledger writer and version records of the store in use (the store node reopens it after a redeploy); the
     * writer gives the ERP as long again as the connection's timeout to settle after a write without an answer.
     */
    const forStore = (store: FinanceStore, settleAfterMs: number) => {
      if (perStore?.store !== store) {
        perStore = {
          store,
          writer: new LedgerWriter(store, { ownerPrefix: this.id, settleAfterMs }),
          versions: new VersionBook(store),
        };
      }
      return perStore;
    };
    let masterData: { dialect: ErpDialect; cache: MasterDataCache } | undefined;
    const masterDataOf = (dialect: ErpDialect, refreshMs: number, maxAgeMs: number): MasterDataCache => {
      if (masterData?.dialect !== dialect) {
        const cache = new MasterDataCache({
          read: () =>
            readMasterData(masterDataListerFor((storeNode as FinanceStoreNode).store(), cacheName, dialect), {
              correlationId: randomUUID(),
            }),
          refreshMs,
          retryMs: Math.min(refreshMs, MASTER_DATA_RECHECK_MS),
          recheckAfterMs: MASTER_DATA_RECHECK_MS,
          // Beyond this age validation fails with ERP_UNAVAILABLE, parked and retried like any other failure.
          maxAgeMs,
          onError: (error) =>
            this.warn(
              `the ERP's master data could not be refreshed; using the copy loaded earlier (${asFinanceError(error).message})`,
            ),
        });
        masterData = { dialect, cache };
      }
      return masterData.cache;
    };

    if (erpNode) showCircuitState(this, erpNode);
    onInputWithRetry(
      this,
      {
        ...(storeNode && { store: () => storeNode.store() }),
        ...(erpNode && { policy: erpNode.retryPolicy }),
        busyText: RED._('finance-purchase-order.status.syncing'),
      },
      async (incoming, send) => {
        if (configError !== undefined || !settings || !erpNode || !storeNode) throw configError;
        const msg = incoming as PurchaseOrderMessage;
        const store = storeNode.store();
        const { dialect, client } = await erpNode.connection();
        const { writer, versions } = forStore(store, client.timeoutMs);
        if (msg.topic === PURCHASE_ORDER_CHECKED_TOPIC) {
          // A person's answer to ERP_OUTCOME_UNKNOWN: recorded for the replay of the dead letter; nothing is sent on.
          const reference = (msg.payload as { externalReference?: unknown } | null)?.externalReference;
          const checked = await queue.run(typeof reference === 'string' ? reference : '', () =>
            recordPurchaseOrderCheck(versions.unsettled, msg.payload, new Date()),
          );
          this.log(
            `purchase order check recorded for "${checked.externalReference}": ${checked.number === null ? 'none in the ERP' : `number ${checked.number}`}; replay its dead letter now`,
          );
          return { fill: 'green', shape: 'ring', text: RED._('finance-purchase-order.status.checked') };
        }
        const result = await syncPurchaseOrder(
          {
            dialect,
            writer,
            versions,
            queue,
            ...(settings.validateMasterData && {
              masterData: masterDataOf(dialect, settings.masterDataRefreshMs, settings.masterDataMaxAgeMs),
            }),
          },
          {
            document: msg.payload,
            envelope: msg.finance,
            correlationId: correlationIdOf(msg),
            now: new Date(),
            replayed: msg.replay !== undefined,
          },
        );
        if (result.outcome === 'refused') {
          msg.error = refusalReport(result.error, this);
          if (result.errors) msg.errors = result.errors;
          await finishInboxEvent(store, msg.finance, {
            status: 'refused',
            detail: { code: result.error.code, message: result.error.message },
          });
          await releaseReservations(store, msg.payload, (text) => this.warn(text)); // refused for good
          send([null, msg]);
          return { fill: 'yellow', shape: 'dot', text: result.error.code };
        }
        if (result.outcome === 'budget_exceeded') {
          delete msg.erp;
          msg.budget = result.budget;
          msg.error = refusalReport(result.error, this);
          if (!settings.writebackFollows) {
            await finishInboxEvent(store, msg.finance, {
              status: 'budget_exceeded',
              detail: { code: result.error.code, message: result.error.message },
            });
          }
          await releaseReservations(store, msg.payload, (text) => this.warn(text)); // refused for good
          send([msg, null]);
          return { fill: 'yellow', shape: 'dot', text: 'budget_exceeded' };
        }
        msg.erp = result.erp;
        if (result.budget) msg.budget = result.budget; // the ERP's budget warnings at the write
        msg.purchaseOrder = result.purchaseOrder;
        (msg.payload as { erpRef?: unknown }).erpRef = result.erpRef;
        // With a write-back after this node, the write-back is the last step and finishes the event.
        if (!settings.writebackFollows) {
          await finishInboxEvent(store, msg.finance, {
            status: 'synced',
            detail: {
              documentId: result.erp.documentId,
              number: result.erp.number,
              action: result.purchaseOrder.action,
              version: result.purchaseOrder.versionApplied,
            },
          });
        }
        // The ERP counts the purchase order now: finance-budget-check's reservation for it is no longer needed.
        await releaseReservations(store, msg.payload, (text) => this.warn(text));
        send([msg, null]);
        // The action is shown as the word msg.purchaseOrder.action carries, like an error code: not translated.
        return {
          fill: 'green',
          shape: 'dot',
          text: `${result.erp.number ?? result.erp.documentId} ${result.purchaseOrder.action}`,
        };
      },
    );
  }

  RED.nodes.registerType('finance-purchase-order', FinancePurchaseOrder);
};

function correlationIdOf(msg: PurchaseOrderMessage): string {
  const fromEnvelope = msg.finance?.correlationId;
  return typeof fromEnvelope === 'string' && fromEnvelope !== '' ? fromEnvelope : msg._msgid;
}

function missingConfig(what: string, type: string): FinanceError {
  return new FinanceError(
    'CONFIG_INVALID',
    `No ${what} is selected (or it was deleted): choose a ${type} configuration in the node's dialog.`,
  );
}
