/**
 * `finance-budget-check`: asks the ERP whether the document's money is available and sends the message to
 * within, exceeded or warning with the answer in msg.budget. An ERP without a funds check call (SAP: its
 * availability control checks at the write) gives status `deferred`, sent on output 1 with the document,
 * because the ERP decides when the document is written there; msg.budget.status says which it was. How lines are grouped into budget keys, summed
 * and judged lives in lib/budget; this node reads its settings, asks the connection and sends. With a store,
 * a call that fails for a passing reason (503, timeout, circuit open) is parked there and tried again with the
 * connection's retry policy (nodes/shared/retrying.ts); without one it is reported at once. The store is also
 * where finance-purchase-order records the purchase orders it applied: an ERP that cannot find one by its
 * reference is asked by the recorded id, so a revision's own purchase order can be netted (lib/budget/commitment.ts).
 * With "Reserve what passes" the store also keeps what each passing document holds on its budgets until its ERP
 * write (lib/budget/reservations.ts): checks of other documents count it as used.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import { upgradeConfig } from '../../lib/config/migrations';
import {
  BudgetReservations,
  budgetDocumentOf,
  budgetSettings,
  checkAndReserve,
  checkDocumentBudget,
  checkedAtCreation,
  openCommitmentOf,
  type BudgetDialogSettings,
  type BudgetOutcome,
  type BudgetSettings,
} from '../../lib/budget';
import { FinanceError } from '../../lib/errors';
import type { BudgetStatus } from '../../lib/model/types';
import { VersionBook } from '../../lib/purchasing/versions';
import { useConfigNodes, type FinanceErpNode, type FinanceStoreNode } from '../shared/config-nodes';
import { asFinanceError, rememberTranslations, type Status } from '../shared/node-input';
import { onInputWithRetry, showCircuitState } from '../shared/retrying';
import { showStatus } from '../shared/status';

interface FinanceBudgetCheckDef extends NodeDef, BudgetDialogSettings {
  erp?: string;
  /** Optional: where failed calls wait for their retry; required to reserve what passes. */
  store?: string;
}

interface FinanceMessage extends NodeMessageInFlow {
  finance?: { correlationId?: unknown; [key: string]: unknown };
  budget?: BudgetOutcome;
}

/** Output position per status: 1 within (or deferred to the ERP's check at the write), 2 exceeded, 3 warning. */
const OUTPUT: Readonly<Record<BudgetStatus, number>> = { within: 0, deferred: 0, exceeded: 1, warning: 2 };

const STATUS_LOOK: Readonly<Record<BudgetStatus, Pick<Status, 'fill' | 'shape'>>> = {
  within: { fill: 'green', shape: 'dot' },
  warning: { fill: 'yellow', shape: 'dot' },
  exceeded: { fill: 'yellow', shape: 'dot' },
  deferred: { fill: 'blue', shape: 'ring' },
};

export = function register(RED: NodeAPI): void {
  function FinanceBudgetCheck(this: Node, def: FinanceBudgetCheckDef) {
    def = upgradeConfig(def); // a node saved by an older version of the pack (lib/config/migrations.ts)
    RED.nodes.createNode(this, def);
    const translate = rememberTranslations(RED._);
    let settings: BudgetSettings | undefined;
    let erpNode: FinanceErpNode | undefined;
    let configError: FinanceError | undefined;
    const storeNode = def.store ? (RED.nodes.getNode(def.store) as FinanceStoreNode | null) : null;
    try {
      settings = budgetSettings(def);
      const found = def.erp ? (RED.nodes.getNode(def.erp) as FinanceErpNode | null) : null;
      useConfigNodes(this, storeNode, found);
      if (found === null) {
        throw new FinanceError('CONFIG_INVALID', "No ERP connection is selected; choose one in the node's dialog.");
      }
      if (def.store && storeNode === null) {
        throw new FinanceError(
          'CONFIG_INVALID',
          "The selected store was deleted; choose a finance-store in the node's dialog, or none.",
        );
      }
      if (settings.reserveFunds && !def.store) {
        throw new FinanceError(
          'CONFIG_INVALID',
          '"Reserve what passes" keeps its reservations in a store: select the finance-store that ' +
            "finance-purchase-order or finance-post uses in the node's dialog, or untick it.",
          { details: { field: 'store' } },
        );
      }
      erpNode = found;
      showCircuitState(this, erpNode);
    } catch (err) {
      configError = asFinanceError(err);
      this.error(configError.message);
      showStatus(this, { fill: 'red', shape: 'ring', text: configError.code });
    }

    onInputWithRetry(
      this,
      {
        ...(storeNode && { store: () => storeNode.store() }),
        ...(erpNode && { policy: erpNode.retryPolicy }),
        busyText: RED._('finance-budget-check.status.checking'),
      },
      async (incoming, send) => {
        if (configError !== undefined || settings === undefined || erpNode === undefined) throw configError;
        const msg = incoming as FinanceMessage;
        const document = budgetDocumentOf(msg.payload);
        const { dialect } = await erpNode.connection();
        const correlationId = typeof msg.finance?.correlationId === 'string' ? msg.finance.correlationId : msg._msgid;
        // An ERP that checks at the write needs no commitment: it is asked nothing before.
        const lookup =
          settings.netOwnCommitment && !checkedAtCreation(dialect)
            ? await openCommitmentOf(
                dialect,
                document,
                { correlationId },
                storeNode ? new VersionBook(storeNode.store()) : undefined,
              )
            : undefined;
        const checkOptions = {
          ...settings,
          correlationId,
          committed: lookup?.commitment,
          commitmentMessages: lookup?.erpMessages,
        };
        msg.budget =
          settings.reserveFunds && storeNode
            ? await checkAndReserve(
                dialect,
                document,
                checkOptions,
                new BudgetReservations(storeNode.store(), {
                  holdMs: settings.reserveHoldMs,
                  warn: (text) => this.warn(text),
                }),
                settings.reserveHoldMs,
              )
            : await checkDocumentBudget(dialect, document, checkOptions);
        const outputs: Array<FinanceMessage | null> = [null, null, null];
        outputs[OUTPUT[msg.budget.status]] = msg;
        send(outputs);
        return {
          ...STATUS_LOOK[msg.budget.status],
          text: translate(`finance-budget-check.status.${msg.budget.status}`),
        };
      },
    );
  }

  RED.nodes.registerType('finance-budget-check', FinanceBudgetCheck);
};
