/**
 * `finance-approval`: routes expense reports to approvers by the approval matrix, takes their decisions as
 * messages, escalates stages that pass their SLA, and emits approved / rejected / escalated / requests.
 * Pending approvals, SLA timers and the employee directory live in the finance store (lib/approval), so a
 * restart loses nothing; this file only reads the dialog, wires the workflow and sends what it returns.
 */
import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import {
  ApprovalWorkflow,
  DirectoryCache,
  approvalSettings,
  isDecisionMessage,
  parseDecision,
  readDirectory,
  type ApprovalDialogSettings,
  type DirectorySnapshot,
  type DocumentMessage,
  type Emission,
  type PendingSummary,
  type Port,
} from '../../lib/approval';
import { releaseReservations } from '../../lib/budget/reservations';
import { FinanceError } from '../../lib/errors';
import { masterDataCacheOption, masterDataListerFor } from '../../lib/masterdata';
import type { FinanceStore } from '../../lib/reliability/store';
import { SingleRunner, runnerTtlMs } from '../../lib/reliability/single-runner';
import { useConfigNodes, type FinanceErpNode, type FinanceStoreNode } from '../shared/config-nodes';
import {
  asFinanceError,
  onInput,
  rememberTranslations,
  statusText,
  type Send,
  type Status,
} from '../shared/node-input';
import { observedSend } from '../shared/observe';
import { onInputWithRetry } from '../shared/retrying';
import { showStatus } from '../shared/status';

interface FinanceApprovalDef extends NodeDef, ApprovalDialogSettings {
  store?: string;
  erp?: string;
  /** The finance-master-data cache to read the directory from (empty: the ERP). */
  masterDataCache?: string;
}

/** What the admin endpoint and the tests reach on a deployed node. */
interface FinanceApprovalNode extends Node {
  /** The approvals waiting for a person, in document order. */
  pendingApprovals(limit: number): Promise<PendingSummary[]>;
  /** Runs one SLA check now (the node also runs it every "Check SLAs every" seconds). */
  checkSla(): Promise<void>;
}

const OUTPUT_INDEX: Record<Port, number> = { approved: 0, rejected: 1, escalated: 2, request: 3 };
/** A failed directory load is retried after this long (or the refresh interval, if shorter). */
const DIRECTORY_RETRY_MS = 60_000;

export = function register(RED: NodeAPI): void {
  // An optional runtime setting for tests and simulations: `financeApprovalClock: () => epochMs` in
  // settings.js moves the SLA clock; without it the system clock is used.
  const configuredClock = (RED.settings as unknown as { financeApprovalClock?: () => number }).financeApprovalClock;
  const clock = (): Date => new Date(typeof configuredClock === 'function' ? configuredClock() : Date.now());

  function FinanceApproval(this: FinanceApprovalNode, def: FinanceApprovalDef) {
    RED.nodes.createNode(this, def);
    const translate = rememberTranslations(RED._);
    const status = (fill: Status['fill'], shape: Status['shape'], key: string, approver?: string): Status => ({
      fill,
      shape,
      text: translate(`finance-approval.status.${key}`, { approver: approver ?? '' }),
    });

    let workflow: ApprovalWorkflow;
    let slaCheckMs: number;
    let store: FinanceStore;
    let erp: FinanceErpNode;
    try {
      const settings = approvalSettings(def);
      slaCheckMs = settings.slaCheckMs;
      store = configNode<FinanceStoreNode>(def.store, 'finance-store', 'a finance store').store();
      erp = configNode<FinanceErpNode>(
        def.erp,
        'finance-erp',
        'an ERP connection (it supplies the employee directory)',
      );
      useConfigNodes(this, RED.nodes.getNode(def.store as string) as FinanceStoreNode, erp);
      const namespace = `finance-approval/${this.id}`;
      const cacheName = masterDataCacheOption(def.masterDataCache);
      const directory = new DirectoryCache({
        load: async () =>
          readDirectory(
            masterDataListerFor(store, cacheName, (await erp.connection()).dialect),
            { correlationId: randomUUID() },
            { now: clock },
          ),
        keeper: snapshotKeeper(store, `${namespace}/directory`),
        refreshMs: settings.directoryRefreshMs,
        retryMs: Math.min(settings.directoryRefreshMs, DIRECTORY_RETRY_MS),
        // Beyond this age routing fails with ERP_UNAVAILABLE, handled (parked, retried, reported) like any failure.
        maxAgeMs: settings.directoryMaxAgeMs,
        clock: () => clock().getTime(),
        onError: (err) => this.warn(`Employee directory: ${(err as Error).message} (routing uses the last snapshot).`),
      });
      const slaRunner = new SingleRunner({
        store: () => store,
        name: `${namespace}/sla`,
        ttlMs: runnerTtlMs(settings.slaCheckMs),
        onError: (err) => this.warn(`SLA check skipped, the store did not answer: ${asFinanceError(err).message}`),
      });
      workflow = new ApprovalWorkflow({
        store,
        namespace,
        matrix: settings.matrix,
        delegations: settings.delegations,
        directory: () => directory.directory(),
        clock,
        // A waiting event is held past its SLA due time until the next SLA check has surely escalated it.
        holdMarginMs: settings.slaCheckMs,
        warn: (text) => this.warn(text),
        // Hosts sharing a store share the timers: one of them checks them, another takes over when it dies.
        mayRunSla: () => slaRunner.mayRun(),
        writebackFollows: settings.writebackFollows,
      });
      // Load the directory now, so the first report does not wait for it.
      directory.directory().catch((err: Error) => this.warn(`Employee directory not loaded yet: ${err.message}`));
    } catch (err) {
      const error = asFinanceError(err);
      this.error(error.message);
      showStatus(this, { fill: 'red', shape: 'ring', text: statusText(error.code) });
      onInput(this, async () => {
        throw error;
      });
      return;
    }

    // Escalations and requests sent again leave outside any input, so they go through the shared hook here:
    // the audit trail and the metrics record them like any other outcome.
    const slaSend = observedSend(this, (out) => this.send(out));
    const sendSlaEmissions = async (groups: Emission[][]): Promise<void> => {
      for (const emissions of groups) {
        slaSend.send(outputs(emissions.map((emission) => [emission.port, emission.message])));
        const escalated = emissions.find((emission) => emission.port === 'escalated');
        if (escalated) {
          showStatus(
            this,
            statusWithShortText(status('yellow', 'dot', 'escalated', escalated.message.approval.approver)),
          );
        }
      }
      await workflow.requestsSent(groups.flat());
    };
    workflow.startSla(slaCheckMs, sendSlaEmissions, (err) => {
      const error = asFinanceError(err);
      this.error(`SLA check failed: ${error.message}`);
      showStatus(this, { fill: 'red', shape: 'ring', text: statusText(error.code) });
    });
    this.checkSla = async () => sendSlaEmissions(await workflow.checkSla());
    this.pendingApprovals = (limit) => workflow.pending(limit);

    // A rejected or returned report will not be written as it is: what finance-budget-check reserved for it is
    // freed now rather than at the hold time (a returned report is checked and reserves again when it comes back).
    const releaseIfRejected = async (emissions: readonly Emission[]): Promise<void> => {
      for (const emission of emissions) {
        if (emission.port !== 'rejected') continue;
        await releaseReservations(store, emission.message.payload, (text) => this.warn(text));
      }
    };

    // A document whose routing could not read the employee directory (the ERP did not answer) is parked and
    // tried again with the connection's retry policy; a decision is not: it may have to answer an HTTP request.
    onInputWithRetry(
      this,
      {
        store,
        policy: erp.retryPolicy,
        parkable: (msg) => !isDecisionMessage(msg),
        busyText: RED._('finance-approval.status.working'),
      },
      async (msg: NodeMessageInFlow, send: Send) => {
        if (isDecisionMessage(msg)) {
          const result = await workflow.decide(parseDecision(msg.payload, clock()));
          // The decision message itself is not emitted (it may carry an HTTP response object); a Complete
          // node after this one can answer the approver's app with the record it now holds.
          (msg as NodeMessageInFlow & { approval?: unknown }).approval = result.record;
          if (result.duplicate) return status('grey', 'dot', 'duplicate');
          send(outputs(result.emissions.map((emission) => [emission.port, emission.message])));
          await workflow.requestsSent(result.emissions);
          await releaseIfRejected(result.emissions);
          if (result.outcome === 'advanced') return status('blue', 'ring', 'waiting', result.record.approver);
          return status(result.outcome === 'approved' ? 'green' : 'yellow', 'dot', result.outcome);
        }
        const result = await workflow.start(documentMessage(msg));
        if (result.status === 'already-pending') return status('grey', 'dot', 'alreadyPending');
        // The document message is reused: the workflow's result is added to it, never replacing the payload.
        send(outputs(result.emissions.map((emission) => [emission.port, Object.assign(msg, emission.message)])));
        await workflow.requestsSent(result.emissions);
        await releaseIfRejected(result.emissions);
        if (result.status === 'replayed') return status('grey', 'dot', 'duplicate');
        if (result.status === 'auto-approved') return status('green', 'dot', 'autoApproved');
        return status('blue', 'ring', 'waiting', result.record.approver);
      },
    );
    this.on('close', () => workflow.stopSla());
  }

  function configNode<T extends Node>(id: string | undefined, type: string, what: string): T {
    const found = id ? (RED.nodes.getNode(id) as T | null) : null;
    if (!found || found.type !== type) {
      throw new FinanceError('CONFIG_INVALID', `Choose ${what} (a ${type} node) in the finance-approval dialog.`, {
        details: { field: type === 'finance-store' ? 'store' : 'erp' },
      });
    }
    return found;
  }

  RED.httpAdmin.get('/finance-approval/:id/pending', RED.auth.needsPermission('finance-approval.read'), (req, res) => {
    const id = String(req.params.id);
    const node = RED.nodes.getNode(id) as FinanceApprovalNode | null;
    if (!node || node.type !== 'finance-approval' || typeof node.pendingApprovals !== 'function') {
      res.status(404).json({ code: 'APPROVAL_NOT_FOUND', message: `No deployed finance-approval node ${id}.` });
      return;
    }
    const limit = Number(req.query.limit ?? 100);
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      res.status(400).json({ code: 'SCHEMA_INVALID', message: 'limit must be a whole number from 1 to 1000.' });
      return;
    }
    node.pendingApprovals(limit).then(
      (items) => res.json({ items }),
      (err: unknown) => {
        const error = asFinanceError(err);
        res.status(503).json({ code: error.code, message: error.message });
      },
    );
  });

  // Node-RED's typings cannot express a node that adds members of its own; the constructor adds them.
  RED.nodes.registerType('finance-approval', FinanceApproval as never);
};

/** One message per output (approved, rejected, escalated, request); null where nothing leaves. */
function outputs(emissions: Array<[Port, object]>): Array<NodeMessage | null> {
  const ports: Array<NodeMessage | null> = [null, null, null, null];
  for (const [port, message] of emissions) ports[OUTPUT_INDEX[port]] = message as NodeMessage;
  return ports;
}

function documentMessage(msg: NodeMessageInFlow): DocumentMessage {
  const { payload, finance, budget } = msg as NodeMessageInFlow & { finance?: unknown; budget?: unknown };
  if (
    typeof payload !== 'object' ||
    payload === null ||
    (payload as { docType?: unknown }).docType !== 'ExpenseReport'
  ) {
    throw new FinanceError(
      'SCHEMA_INVALID',
      'msg.payload must be a canonical ExpenseReport (docType "ExpenseReport") to start an approval; ' +
        'to send a decision, set msg.topic to "decision" or send a canonical ApprovalEvent.',
      { details: { field: 'payload.docType' } },
    );
  }
  return {
    payload: payload as DocumentMessage['payload'],
    ...(isObject(finance) && { finance }),
    // A budget result of the wrong shape is reported by the workflow, not dropped: it may mean over budget.
    ...(budget !== undefined && { budget: budget as Record<string, unknown> }),
  };
}

function snapshotKeeper(store: FinanceStore, namespace: string) {
  return {
    save: (snapshot: DirectorySnapshot) => store.kvPut(namespace, 'snapshot', snapshot),
    restore: async () => (await store.kvGet(namespace, 'snapshot')) as DirectorySnapshot | undefined,
  };
}

function statusWithShortText(value: Status): Status {
  return { ...value, text: statusText(value.text) };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
