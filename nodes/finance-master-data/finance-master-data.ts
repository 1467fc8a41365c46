/**
 * `finance-master-data`: in sync mode, copies master data from the system that owns each kind (the ERP or a
 * source) into the finance store, full and delta, on a schedule and on demand, and emits one message per change
 * (optionally also published as retained MQTT messages); in enrich mode, adds the records a document refers to.
 * The logic is lib/masterdata; this file reads the dialog, runs the schedule and sends what the library returns.
 */
import * as os from 'node:os';
import type { Node, NodeAPI, NodeDef, NodeMessage, NodeMessageInFlow } from 'node-red';
import { FinanceError } from '../../lib/errors';
import {
  MasterDataCache,
  RetainedPublisher,
  SyncRunner,
  enrich,
  erpElseSourceLister,
  masterDataSettings,
  sourceLister,
  syncRequestOf,
  type MasterDataChange,
  type MasterDataDialogSettings,
  type MasterDataLister,
  type MasterDataSettings,
  type Owner,
  type SyncSummary,
} from '../../lib/masterdata';
import type { FinanceStore } from '../../lib/reliability/store';
import {
  useConfigNodes,
  type FinanceErpNode,
  type FinanceSourceNode,
  type FinanceStoreNode,
} from '../shared/config-nodes';
import { asFinanceError, attachFailure, onInput, statusText, type Status } from '../shared/node-input';
import { showStatus } from '../shared/status';

interface FinanceMasterDataDef extends NodeDef, MasterDataDialogSettings {
  store?: string;
  erp?: string;
  source?: string;
}

interface Credentials {
  username?: string;
  password?: string;
}

/** Stops an owner whose cursors never end. */
const MAX_PAGES = 10_000;
/** How long the scheduled sync's lease outlives one interval, so a slow sync keeps it until the next tick. */
const LEASE_MARGIN_MS = 60_000;

export = function register(RED: NodeAPI): void {
  function FinanceMasterData(this: Node<Credentials>, def: FinanceMasterDataDef) {
    RED.nodes.createNode(this, def);
    const text = (key: string, values: Record<string, unknown> = {}) =>
      statusText(RED._(`finance-master-data.status.${key}`, values as Record<string, string>));

    let settings: MasterDataSettings;
    let storeNode: FinanceStoreNode;
    let listerFor: (owner: Exclude<Owner, 'none'>) => () => Promise<MasterDataLister>;
    try {
      settings = masterDataSettings(def);
      storeNode = configNode<FinanceStoreNode>(
        def.store,
        'finance-store',
        'a finance store (it holds the cache)',
        'store',
      );
      // "The ERP, else the source" needs both connections.
      const uses = (owner: 'erp' | 'source') =>
        settings.mode === 'sync' &&
        settings.owners.some((entry) => entry.owner === owner || entry.owner === 'erp-or-source');
      const erpNode = uses('erp')
        ? configNode<FinanceErpNode>(def.erp, 'finance-erp', 'an ERP connection (it owns master data)', 'erp')
        : undefined;
      const sourceNode = uses('source')
        ? configNode<FinanceSourceNode>(def.source, 'finance-source', 'a source (it owns master data)', 'source')
        : undefined;
      useConfigNodes(this, storeNode, erpNode, sourceNode);
      const sourcePath = settings.sourcePath;
      const erpLister = async () => (await (erpNode as FinanceErpNode).connection()).dialect;
      const sourceListerOfNode = async () => {
        const source = sourceNode as FinanceSourceNode;
        const api = source.api();
        if (!api) {
          throw new FinanceError(
            'CONFIG_INVALID',
            `The source "${source.name || source.id}" has no API base URL, so its master data cannot be ` +
              'read; set one in the finance-source node, or let the ERP own these kinds.',
          );
        }
        return sourceLister(api, sourcePath, source.name || source.profileName);
      };
      listerFor = (owner) => {
        if (owner === 'erp') return erpLister;
        if (owner === 'source') return sourceListerOfNode;
        return async () => erpElseSourceLister(await erpLister(), sourceListerOfNode);
      };
    } catch (err) {
      const error = asFinanceError(err);
      this.error(error.message);
      showStatus(this, { fill: 'red', shape: 'ring', text: statusText(error.code) });
      onInput(this, async () => {
        throw error;
      });
      return;
    }

    /** The cache (and runner) of the store in use: the store node opens a new store after a redeploy. */
    let perStore: { store: FinanceStore; cache: MasterDataCache; runner?: SyncRunner } | undefined;
    const current = () => {
      const store = storeNode.store();
      if (perStore?.store !== store) perStore = { store, cache: new MasterDataCache(store, settings.cache) };
      return perStore;
    };

    if (settings.mode === 'enrich') {
      onInput(
        this,
        async (msg, send) => {
          const { masterData, notFound } = await enrich(current().cache, msg.payload);
          const enriched = msg as NodeMessageInFlow & { masterData?: unknown; notFound?: unknown };
          enriched.masterData = masterData;
          if (notFound.length > 0) {
            enriched.notFound = notFound;
            send([null, enriched]);
            return { fill: 'yellow', shape: 'dot', text: text('notFound', { count: notFound.length }) };
          }
          send([enriched, null]);
          return { fill: 'green', shape: 'dot', text: text('enriched') };
        },
        { busyText: text('enriching') },
      );
      return;
    }

    const credentials = this.credentials ?? {};
    const publisher = settings.publish
      ? new RetainedPublisher({
          ...settings.publish,
          ...(credentials.username && { username: credentials.username }),
          ...(credentials.password && { password: credentials.password }),
          onState: (state, error) => {
            if (state === 'disconnected' && error) this.warn(`MQTT: ${error.message}`);
          },
        })
      : undefined;
    const onChange = async (change: MasterDataChange) => {
      this.send([changeMessage(change), null]);
      await publisher?.publish(change);
    };
    const runner = () => {
      const entry = current();
      entry.runner ??= new SyncRunner({
        store: entry.store,
        cache: entry.cache,
        owners: settings.owners.map(({ kind, owner }) => ({ kind, owner, lister: listerFor(owner) })),
        pageSize: settings.pageSize,
        overlapMs: settings.overlapMs,
        maxPages: MAX_PAGES,
        fullAfterMs: settings.fullAfterMs,
        ...(settings.freshForMs !== undefined && { freshForMs: settings.freshForMs }),
        onChange,
      });
      return entry.runner;
    };
    const summaryStatus = (summary: SyncSummary): Status => {
      if (summary.failures.length > 0) {
        return { fill: 'red', shape: 'ring', text: statusText(summary.failures[0].code) };
      }
      const changes = summary.kinds.reduce((sum, kind) => sum + kind.created + kind.updated + kind.removed, 0);
      return { fill: 'green', shape: 'dot', text: text(changes === 0 ? 'inSync' : 'changes', { count: changes }) };
    };

    // On demand: any message asks for a sync (delta unless it says full); the summary leaves on output 2.
    onInput(
      this,
      async (msg, send) => {
        const request = syncRequestOf(msg as NodeMessageInFlow & { sync?: unknown; kinds?: unknown });
        const summary = await runner().run(request.mode, request.kinds);
        if (summary.failures.length > 0) throw syncFailure(summary);
        msg.payload = summary;
        send([null, msg]);
        return summaryStatus(summary);
      },
      { busyText: text('syncing') },
    );

    // On a schedule: only the holder of the cache's lease in the store syncs (see the help: several hosts).
    const holder = `${os.hostname()}/${this.id}`;
    let timer: NodeJS.Timeout | undefined;
    let closed = false;
    const tick = async () => {
      try {
        const summary = await runner().runIfHolder(holder, settings.intervalMs * 2 + LEASE_MARGIN_MS, 'delta');
        if (closed) return;
        if (summary === undefined) {
          showStatus(this, { fill: 'grey', shape: 'ring', text: text('standby') });
          return;
        }
        const msg: NodeMessage = { topic: 'sync', payload: summary };
        showStatus(this, summaryStatus(summary));
        if (summary.failures.length > 0) {
          const error = syncFailure(summary);
          attachFailure(msg, error);
          this.error(error, msg);
          return;
        }
        this.send([null, msg]);
      } catch (err) {
        if (closed) return;
        const error = asFinanceError(err);
        showStatus(this, { fill: 'red', shape: 'ring', text: statusText(error.code) });
        this.error(error.message);
      }
    };
    const schedule = (delayMs: number) => {
      if (closed || settings.intervalMs === 0) return;
      timer = setTimeout(() => {
        tick().finally(() => schedule(settings.intervalMs));
      }, delayMs);
    };
    if (settings.intervalMs > 0) {
      // The first scheduled sync runs at start (after the flows have started), or after one interval.
      schedule(settings.syncOnStart ? 1000 : settings.intervalMs);
      showStatus(this, { fill: 'grey', shape: 'ring', text: text('scheduled') });
    }

    this.on('close', (_removed: boolean, done: () => void) => {
      closed = true;
      if (timer) clearTimeout(timer);
      (publisher ? publisher.close() : Promise.resolve()).then(done, done);
    });
  }

  function configNode<T extends Node>(id: string | undefined, type: string, what: string, field: string): T {
    const found = id ? (RED.nodes.getNode(id) as T | null) : null;
    if (!found || found.type !== type) {
      throw new FinanceError('CONFIG_INVALID', `Choose ${what} (a ${type} node) in the finance-master-data dialog.`, {
        details: { field },
      });
    }
    return found;
  }

  // Node-RED's typings cannot express credentials typed by the node; the constructor reads them as optional text.
  RED.nodes.registerType('finance-master-data', FinanceMasterData as never, {
    credentials: { username: { type: 'text' }, password: { type: 'password' } },
  });
};

/** One change message: msg.topic `<kind>/<id>`, msg.payload the change with before and after. */
function changeMessage(change: MasterDataChange): NodeMessage {
  return { topic: `${change.kind}/${change.id}`, payload: change };
}

function syncFailure(summary: SyncSummary): FinanceError {
  const first = summary.failures[0];
  const failed = summary.failures.map((failure) => failure.kind).join(', ');
  return new FinanceError(
    first.code as FinanceError['code'],
    `Master data sync of ${failed} failed: ${first.message} The other kinds were synced; the next sync tries again.`,
    { retryable: true, details: { summary } },
  );
}
