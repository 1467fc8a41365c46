/**
 * `finance-audit`: the append-only, hash-chained audit trail of this Node-RED (lib/audit). Deployed anywhere,
 * unwired, it records every outcome of every finance node (what they report through nodes/shared/observe.ts):
 * the step, correlation id, source ids, approver actions, ERP requests and response codes, the mapping used,
 * ERP document references and times. Messages sent to it are recorded as notes (step = msg.topic); a message
 * with topic "verify" verifies the trail and sends the result.
 */
import * as os from 'node:os';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { auditSettings, type AuditDialogSettings, type AuditSettings } from '../../lib/config/observability-settings';
import { recordOfMessage } from '../../lib/audit/record';
import { startRecording, type Recorder } from '../../lib/audit/recorder';
import { openAuditTrail, type AuditTrail } from '../../lib/audit/trail';
import { verifyTrailAsync } from '../../lib/audit/verify';
import { asFinanceError, onInput, statusText, type Status } from '../shared/node-input';
import { showStatus } from '../shared/status';

interface FinanceAuditDef extends NodeDef, AuditDialogSettings {}

export = function register(RED: NodeAPI): void {
  function FinanceAudit(this: Node, def: FinanceAuditDef) {
    RED.nodes.createNode(this, def);
    start(this, def);
  }

  /** Everything after createNode: the node is a parameter so the closures below can use it. */
  function start(node: Node, def: FinanceAuditDef): void {
    const userDir: string = (RED.settings as unknown as { userDir?: string }).userDir ?? os.homedir();
    let trail: AuditTrail;
    let release: () => Promise<void>;
    let lastProblem = '';
    const reportFailure = (error: Error) => {
      // A full disk fails every record: say so once per different reason, not per record.
      if (error.message !== lastProblem) node.error(`Audit records could not be written: ${error.message}`);
      lastProblem = error.message;
      showStatus(node, { fill: 'red', shape: 'ring', text: statusText(asFinanceError(error).code) });
    };
    try {
      const settings = auditSettings(def, userDir);
      const opened = openTrail(settings, reportFailure);
      trail = opened.trail;
      // The trail's own records (trail-repaired, records-dropped) have no caller to tell when they fail.
      const stopHearing = trail.onFailure(reportFailure);
      release = () => {
        stopHearing();
        return opened.release();
      };
      node.log(`finance audit trail in ${settings.dir}`);
      showStatus(node, {
        fill: 'grey',
        shape: 'dot',
        text: statusText(settings.recordNodes ? 'recording' : 'notes only'),
      });
    } catch (err) {
      const failure = asFinanceError(err);
      node.error(`finance-audit is not usable: ${failure.message}`);
      showStatus(node, { fill: 'red', shape: 'ring', text: statusText(failure.code) });
      onInput(node, async () => {
        throw failure;
      });
      return;
    }

    onInput(node, async (msg, send): Promise<Status> => {
      if (msg.topic === 'verify') {
        // Verified asynchronously, so the runtime keeps working on a big trail; only as far as the trail is
        // written when it starts, so records written meanwhile are never read half done.
        const result = await verifyTrailAsync(trail.dir, { extent: trail.writtenExtent() });
        msg.payload = result;
        send(msg);
        return result.ok
          ? { fill: 'green', shape: 'dot', text: `verified ${result.records}` }
          : { fill: 'red', shape: 'ring', text: `bad record ${result.firstBad?.seq ?? '?'}` };
      }
      const position = await trail.append(
        recordOfMessage(msg, { type: node.type, id: node.id, ...(node.name ? { name: node.name } : {}) }),
      );
      (msg as { auditRecord?: unknown }).auditRecord = position;
      send(msg);
      return { fill: 'green', shape: 'dot', text: `record ${position.seq}` };
    });

    node.on('close', (_removed: boolean, done: () => void) => {
      release().then(
        () => done(),
        () => done(),
      );
    });
  }

  /** A recorder of every node's outcomes, or (notes only) just the trail for the messages sent to the node. */
  function openTrail(
    settings: AuditSettings,
    onFailure: (error: Error) => void,
  ): { trail: AuditTrail; release: () => Promise<void> } {
    const options = { dir: settings.dir, maxFileBytes: settings.maxFileBytes };
    if (!settings.recordNodes) return openAuditTrail(options);
    const recorder: Recorder = startRecording(options, onFailure);
    return { trail: recorder.trail, release: () => recorder.release() };
  }

  RED.nodes.registerType('finance-audit', FinanceAudit);
};
