/**
 * `finance-metrics`: the pack's operational figures per system and per process (lib/metrics), counted from
 * what every node reports (nodes/shared/observe.ts), plus dead letters open (from the store) and committed vs
 * actual spend per cost center (from the ERP). Serves them as Prometheus text (admin-protected or public) and
 * sends a snapshot for dashboards on every input message.
 */
import { randomUUID } from 'node:crypto';
import type { Node, NodeAPI, NodeDef } from 'node-red';
import { metricsSettings, type MetricsDialogSettings } from '../../lib/config/observability-settings';
import { PROMETHEUS_CONTENT_TYPE, toPrometheus } from '../../lib/metrics/prometheus';
import { MAX_COST_CENTER_LABELS, MAX_LABEL_LENGTH, MAX_SYSTEM_LABELS } from '../../lib/metrics/labels';
import { metrics } from '../../lib/metrics/registry';
import { cachedDeadLetterCount, collectSnapshot, ReadCache, spendFigures } from '../../lib/metrics/scrape';
import { useConfigNodes, type FinanceErpNode, type FinanceStoreNode } from '../shared/config-nodes';
import { asFinanceError, onInput, statusText } from '../shared/node-input';
import { openMetricsEndpoint } from './endpoint';
import { showStatus } from '../shared/status';

interface FinanceMetricsDef extends NodeDef, MetricsDialogSettings {
  store?: string;
  erp?: string;
}

const SYSTEMS_FOLDED_WARNING =
  `More than ${MAX_SYSTEM_LABELS} systems (event sources) were seen: the metrics count the later ones as ` +
  `system="other", and cut system names to ${MAX_LABEL_LENGTH} characters. Sources are what senders write; ` +
  `check which ones send events if you expected fewer.`;

const COST_CENTERS_FOLDED_WARNING =
  `More than ${MAX_COST_CENTER_LABELS} cost centers have spend figures: the later ones are added up as ` +
  `cost_center="other", and cost center names are cut to ${MAX_LABEL_LENGTH} characters. The ERP's own figures ` +
  `per cost center are unchanged; only the metrics fold them.`;

/** Calls `warn` the first time the registry has folded systems or cost centers into "other": the log says it once each. */
function warnOnceWhenFolded(warn: (text: string) => void): () => void {
  const warned = { systems: false, costCenters: false };
  return () => {
    if (!warned.systems && metrics.systemsFolded) {
      warned.systems = true;
      warn(SYSTEMS_FOLDED_WARNING);
    }
    if (!warned.costCenters && metrics.costCentersFolded) {
      warned.costCenters = true;
      warn(COST_CENTERS_FOLDED_WARNING);
    }
  };
}

export = function register(RED: NodeAPI): void {
  function FinanceMetrics(this: Node, def: FinanceMetricsDef) {
    RED.nodes.createNode(this, def);
    start(this, def);
  }

  /** Everything after createNode: the node is a parameter so the closures below can use it. */
  function start(node: Node, def: FinanceMetricsDef): void {
    let collect: () => ReturnType<typeof collectSnapshot>;
    let closeEndpoint: () => void = () => undefined;
    try {
      const settings = metricsSettings(def);
      const storeNode = def.store ? (RED.nodes.getNode(def.store) as FinanceStoreNode | null) : null;
      const erpNode = def.erp ? (RED.nodes.getNode(def.erp) as FinanceErpNode | null) : null;
      useConfigNodes(node, storeNode, erpNode);
      const spend = erpNode
        ? new ReadCache(async () => {
            const connection = await erpNode.connection();
            return spendFigures(connection.client.name, connection.dialect, { correlationId: randomUUID() });
          }, settings.spendMaxAgeMs)
        : undefined;
      const deadLetters = storeNode ? cachedDeadLetterCount(() => storeNode.store(), metrics.systemLabel) : undefined;
      const warnIfFolded = warnOnceWhenFolded((text) => node.warn(text));
      collect = async () => {
        const snapshot = await collectSnapshot({
          registry: metrics,
          deadLetters,
          spend: spend ? () => spend.get() : undefined,
        });
        warnIfFolded();
        return snapshot;
      };
      if (settings.access !== 'none') {
        closeEndpoint = openMetricsEndpoint(RED, settings.access, settings.path, PROMETHEUS_CONTENT_TYPE, async () =>
          toPrometheus(await collect()),
        );
      }
      showStatus(node, {
        fill: 'grey',
        shape: 'dot',
        text: statusText(settings.access === 'none' ? 'snapshot only' : settings.access),
      });
    } catch (err) {
      const failure = asFinanceError(err);
      node.error(`finance-metrics is not usable: ${failure.message}`);
      showStatus(node, { fill: 'red', shape: 'ring', text: statusText(failure.code) });
      onInput(node, async () => {
        throw failure;
      });
      return;
    }

    onInput(node, async (msg, send) => {
      const snapshot = await collect();
      msg.payload = snapshot;
      send(msg);
      return snapshot.problems.length === 0
        ? { fill: 'green', shape: 'dot', text: 'snapshot' }
        : { fill: 'yellow', shape: 'ring', text: `${snapshot.problems.length} problem(s)` };
    });

    node.on('close', () => closeEndpoint());
  }

  RED.nodes.registerType('finance-metrics', FinanceMetrics);
};
