/**
 * `finance-post`: posts an approved expense report to the ERP as a journal or a payable, once, however often
 * the message arrives (ledger + lookup by external reference, lib/posting). Output 1 carries the posted
 * document with msg.erp; output 2 the refused ones with msg.error. A failure that may pass (503, timeout,
 * circuit open) is parked in the store and tried again with the ERP connection's retry policy
 * (nodes/shared/retrying.ts); the last failure, or one retrying cannot fix, ends in done(err).
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { releaseReservations } from '../../lib/budget/reservations';
import { FinanceError } from '../../lib/errors';
import { LedgerWriter } from '../../lib/posting/idempotent-write';
import { finishInboxEvent } from '../../lib/posting/inbox-outcome';
import { postExpenseReport, type PostExpenseSettings } from '../../lib/posting/post-expense';
import { PostingTurns } from '../../lib/posting/posting-turns';
import { refusalReport } from '../../lib/posting/refusal';
import { postSettings, type PostDialogSettings } from '../../lib/posting/settings';
import type { FinanceStore } from '../../lib/reliability/store';
import { useConfigNodes, type FinanceErpNode, type FinanceStoreNode } from '../shared/config-nodes';
import { onInputWithRetry, showCircuitState } from '../shared/retrying';

interface FinancePostDef extends NodeDef, PostDialogSettings {
  erp?: string;
  store?: string;
}

/** The fields this node reads from and adds to a message. */
interface PostMessage extends NodeMessageInFlow {
  approval?: unknown;
  finance?: { correlationId?: unknown; source?: unknown; id?: unknown };
  erp?: unknown;
  error?: unknown;
}

export = function register(RED: NodeAPI): void {
  function FinancePost(this: Node, def: FinancePostDef) {
    RED.nodes.createNode(this, def);
    const erpNode = def.erp ? (RED.nodes.getNode(def.erp) as FinanceErpNode | null) : null;
    const storeNode = def.store ? (RED.nodes.getNode(def.store) as FinanceStoreNode | null) : null;
    useConfigNodes(this, storeNode, erpNode);
    let settings: PostExpenseSettings | undefined;
    let settingsError: FinanceError | undefined;
    try {
      settings = postSettings(def);
    } catch (err) {
      settingsError = err as FinanceError;
      this.error(settingsError.message);
    }
    let writer: { store: FinanceStore; writer: LedgerWriter; turns: PostingTurns } | undefined;

    /**
     * One ledger writer and one set of posting turns per store instance (the store node reopens it after a
     * redeploy); after a write without an answer the writer gives the ERP as long again as the connection's
     * timeout to settle.
     */
    const writerFor = (store: FinanceStore, settleAfterMs: number) => {
      if (writer?.store !== store) {
        writer = {
          store,
          writer: new LedgerWriter(store, { ownerPrefix: this.id, settleAfterMs }),
          turns: new PostingTurns(store, (text) => this.warn(text)),
        };
      }
      return writer;
    };

    if (erpNode) showCircuitState(this, erpNode);
    onInputWithRetry(
      this,
      {
        ...(storeNode && { store: () => storeNode.store() }),
        ...(erpNode && { policy: erpNode.retryPolicy }),
        busyText: RED._('finance-post.status.posting'),
      },
      async (incoming, send) => {
        const msg = incoming as PostMessage;
        if (!settings) throw settingsError;
        if (!erpNode) throw missingConfig('ERP connection', 'finance-erp');
        if (!storeNode) throw missingConfig('store', 'finance-store');
        const store = storeNode.store();
        const { dialect, client } = await erpNode.connection();
        const { writer: ledger, turns } = writerFor(store, client.timeoutMs);
        const result = await postExpenseReport(
          ledger,
          dialect,
          {
            document: msg.payload,
            approval: msg.approval,
            correlationId: correlationIdOf(msg),
            now: new Date(),
          },
          settings,
          turns,
        );
        if (result.outcome === 'refused') {
          msg.error = refusalReport(result.error, this);
          await finishInboxEvent(store, msg.finance, {
            status: 'refused',
            detail: { code: result.error.code, message: result.error.message },
          });
          await releaseReservations(store, msg.payload, (text) => this.warn(text)); // refused for good
          send([null, msg]);
          return { fill: 'yellow', shape: 'dot', text: RED._('finance-post.status.refused') };
        }
        msg.erp = result.erp;
        (msg.payload as { erpRef?: unknown }).erpRef = result.erpRef;
        // The ERP counts the posted report now: finance-budget-check's reservation for it is no longer needed.
        await releaseReservations(store, msg.payload, (text) => this.warn(text));
        send([msg, null]);
        return { fill: 'green', shape: 'dot', text: result.erp.number ?? RED._('finance-post.status.posted') };
      },
    );
  }

  RED.nodes.registerType('finance-post', FinancePost);
};

function correlationIdOf(msg: PostMessage): string {
  const fromEnvelope = msg.finance?.correlationId;
  return typeof fromEnvelope === 'string' && fromEnvelope !== '' ? fromEnvelope : msg._msgid;
}

function missingConfig(what: string, type: string): FinanceError {
  return new FinanceError(
    'CONFIG_INVALID',
    `No ${what} is selected (or it was deleted): choose a ${type} configuration in the node's dialog.`,
  );
}
