/**
 * `finance-budget-check`: asks the ERP whether the document's money is available and sends the message to
 * within, exceeded or warning with the answer in msg.budget. How lines are grouped into budget keys, summed
 * and judged lives in lib/budget; this node reads its settings, asks the connection and sends.
 */
import type { Node, NodeAPI, NodeDef, NodeMessageInFlow } from 'node-red';
import {
  budgetDocumentOf,
  budgetSettings,
  checkDocumentBudget,
  type BudgetDialogSettings,
  type BudgetOutcome,
  type BudgetSettings,
} from '../../lib/budget';
import { FinanceError } from '../../lib/errors';
import type { BudgetStatus } from '../../lib/model/types';
import type { FinanceErpNode } from '../shared/config-nodes';
import { asFinanceError, onInput, type Status } from '../shared/node-input';

interface FinanceBudgetCheckDef extends NodeDef, BudgetDialogSettings {
  erp?: string;
}

interface FinanceMessage extends NodeMessageInFlow {
  finance?: { correlationId?: unknown; [key: string]: unknown };
  budget?: BudgetOutcome;
}

/** Output position per status: 1 within, 2 exceeded, 3 warning. */
const OUTPUT: Readonly<Record<BudgetStatus, number>> = { within: 0, exceeded: 1, warning: 2 };

const STATUS_LOOK: Readonly<Record<BudgetStatus, Pick<Status, 'fill' | 'shape'>>> = {
  within: { fill: 'green', shape: 'dot' },
  warning: { fill: 'yellow', shape: 'dot' },
  exceeded: { fill: 'yellow', shape: 'dot' },
};

export = function register(RED: NodeAPI): void {
  function FinanceBudgetCheck(this: Node, def: FinanceBudgetCheckDef) {
    RED.nodes.createNode(this, def);
    let settings: BudgetSettings | undefined;
    let erpNode: FinanceErpNode | undefined;
    let configError: FinanceError | undefined;
    try {
      settings = budgetSettings(def);
      const found = def.erp ? (RED.nodes.getNode(def.erp) as FinanceErpNode | null) : null;
      if (found === null) {
        throw new FinanceError('CONFIG_INVALID', "No ERP connection is selected; choose one in the node's dialog.");
      }
      erpNode = found;
    } catch (err) {
      configError = asFinanceError(err);
      this.error(configError.message);
      this.status({ fill: 'red', shape: 'ring', text: configError.code });
    }

    onInput(
      this,
      async (incoming, send) => {
        if (configError !== undefined || settings === undefined || erpNode === undefined) throw configError;
        const msg = incoming as FinanceMessage;
        const document = budgetDocumentOf(msg.payload);
        const { dialect } = await erpNode.connection();
        const correlationId = typeof msg.finance?.correlationId === 'string' ? msg.finance.correlationId : msg._msgid;
        msg.budget = await checkDocumentBudget(dialect, document, { ...settings, correlationId });
        const outputs: Array<FinanceMessage | null> = [null, null, null];
        outputs[OUTPUT[msg.budget.status]] = msg;
        send(outputs);
        return { ...STATUS_LOOK[msg.budget.status], text: RED._(`finance-budget-check.status.${msg.budget.status}`) };
      },
      { busyText: RED._('finance-budget-check.status.checking') },
    );
  }

  RED.nodes.registerType('finance-budget-check', FinanceBudgetCheck);
};
