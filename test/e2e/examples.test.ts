/**
 * The example flows under examples/ (Import > Examples in the Node-RED editor).
 *
 * 1. Their shape, for every file including the pipelines: valid flow JSON whose first node (after the tab) is a
 *    comment that explains it, only core and this pack's node types, positions and tabs on every flow node,
 *    ids unique across all files (`npm start` deploys the pipelines together), wires and config references
 *    that resolve, no two examples on the same HTTP path, and every flow node type of the pack in at least
 *    one example (Flow Library rule N02).
 * 2. That each per-node example works right after import: one real Node-RED process; each example alone is
 *    deployed in turn, exercised through the admin API's inject endpoint (POST /inject/<id>, the editor's
 *    inject button), and its effect checked. To see what reaches the example's debug nodes without changing
 *    the example, the test adds one observer per debug node: a change node and a core http request that post
 *    the message's finance fields to a collector in this test. The runtime log must show no error.
 *    (examples/pipelines/ has its own end-to-end test: expense-pipeline.test.ts.)
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import { deployFlows, startNodeRed, stopAll, waitFor, type RunningProcess } from '../support/processes';

const ROOT = path.resolve(__dirname, '..', '..');
const EXAMPLES_DIR = path.join(ROOT, 'examples');
const PIPELINES = 'pipelines';
/** Where the examples expect Node-RED (the default port); the test's Node-RED runs elsewhere. */
const EXAMPLE_EDITOR_URL = 'http://127.0.0.1:1880';

type FlowNode = { id: string; type: string; z?: string; x?: unknown; y?: unknown; wires?: string[][] } & Record<
  string,
  any
>;

// ---- the examples and the node types they may use ---------------------------------------------------

function filesUnder(dir: string, relative = ''): string[] {
  return fs
    .readdirSync(path.join(dir, relative), { withFileTypes: true })
    .flatMap((entry) => {
      const name = path.join(relative, entry.name);
      if (entry.isDirectory()) return filesUnder(dir, name);
      return entry.name.endsWith('.json') ? [name] : [];
    })
    .sort();
}

const ALL_EXAMPLES = filesUnder(EXAMPLES_DIR);
const NODE_EXAMPLES = ALL_EXAMPLES.filter((file) => !file.startsWith(`${PIPELINES}${path.sep}`));
const PIPELINE_EXAMPLES = ALL_EXAMPLES.filter((file) => file.startsWith(`${PIPELINES}${path.sep}`));

function readExample(file: string): FlowNode[] {
  return JSON.parse(fs.readFileSync(path.join(EXAMPLES_DIR, file), 'utf8')) as FlowNode[];
}

/** Every node type the editor files under `dir` register, with its palette category when it leads the definition. */
function registeredTypes(dir: string): Map<string, string | undefined> {
  const types = new Map<string, string | undefined>();
  const htmlFiles = (folder: string): string[] =>
    fs.readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) return htmlFiles(full);
      return entry.name.endsWith('.html') ? [full] : [];
    });
  for (const file of htmlFiles(dir)) {
    const html = fs.readFileSync(file, 'utf8');
    for (const match of html.matchAll(
      /registerType\(\s*['"]([^'"]+)['"]\s*,\s*\{\s*(?:category:\s*['"]([^'"]+)['"])?/g,
    )) {
      types.set(match[1], match[2]);
    }
  }
  return types;
}

const CORE_TYPES = registeredTypes(path.join(path.dirname(require.resolve('@node-red/nodes/package.json')), 'core'));
const PACK_TYPES = registeredTypes(path.join(ROOT, 'nodes'));
/** Flow items the editor itself knows (no node module registers them). */
const EDITOR_TYPES = new Set(['tab', 'group', 'junction']);
const isConfigType = (type: string) => (CORE_TYPES.get(type) ?? PACK_TYPES.get(type)) === 'config';

const PACKAGE = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as {
  'node-red': { nodes: Record<string, string> };
};
const PACK_FLOW_TYPES = Object.keys(PACKAGE['node-red'].nodes).filter((type) => !isConfigType(type));

/** The HTTP paths an example serves: core http in routes and finance-event-in webhooks. */
function httpPaths(nodes: FlowNode[]): string[] {
  return nodes.flatMap((node) => {
    if (node.type === 'http in') return [`${String(node.method).toUpperCase()} ${node.url}`];
    if (node.type === 'finance-event-in' && node.mode === 'http') return [`POST ${node.path}`];
    return [];
  });
}

describe('the example flows', () => {
  const examples = ALL_EXAMPLES.map((file) => ({ file, nodes: readExample(file) }));

  it('are found: one per node and the pipelines', () => {
    expect(NODE_EXAMPLES.length).toBeGreaterThan(0);
    expect(ALL_EXAMPLES.some((file) => file.startsWith(`${PIPELINES}${path.sep}`))).toBe(true);
  });

  it.each(ALL_EXAMPLES)('%s is a flow that starts with a comment saying what it shows', (file) => {
    const nodes = readExample(file);
    expect(Array.isArray(nodes)).toBe(true);
    for (const node of nodes) {
      expect({ node: node.id, id: typeof node.id, type: typeof node.type }).toEqual({
        node: node.id,
        id: 'string',
        type: 'string',
      });
    }
    const tabs = new Set(nodes.filter((node) => node.type === 'tab').map((node) => node.id));
    const first = nodes.find((node) => node.type !== 'tab');
    expect(first?.type).toBe('comment');
    expect(tabs.has(first?.z ?? '')).toBe(true);
    expect(String(first?.name).length).toBeGreaterThan(0);
    expect(String(first?.info).length).toBeGreaterThan(200);
  });

  it.each(ALL_EXAMPLES)('%s uses only core nodes and this pack, each flow node placed on a tab of its own', (file) => {
    const nodes = readExample(file);
    const ids = new Set(nodes.map((node) => node.id));
    const tabs = new Set(nodes.filter((node) => node.type === 'tab').map((node) => node.id));
    expect(tabs.size).toBeGreaterThan(0);
    for (const node of nodes) {
      const known = EDITOR_TYPES.has(node.type) || CORE_TYPES.has(node.type) || PACK_TYPES.has(node.type);
      expect({ node: node.id, type: node.type, known }).toEqual({ node: node.id, type: node.type, known: true });
      expect(node.type).not.toBe('unknown');
      if (node.type === 'tab' || isConfigType(node.type)) continue;
      expect({ node: node.id, onTab: tabs.has(node.z ?? ''), x: typeof node.x, y: typeof node.y }).toEqual({
        node: node.id,
        onTab: true,
        x: 'number',
        y: 'number',
      });
      for (const target of (node.wires ?? []).flat()) {
        expect({ node: node.id, wiredTo: target, exists: ids.has(target) }).toEqual({
          node: node.id,
          wiredTo: target,
          exists: true,
        });
      }
    }
  });

  it.each(ALL_EXAMPLES)('%s refers only to config nodes it contains', (file) => {
    const nodes = readExample(file);
    const byId = new Map(nodes.map((node) => [node.id, node]));
    const references: Array<[property: string, type: string]> = [
      ['erp', 'finance-erp'],
      ['store', 'finance-store'],
      ['source', 'finance-source'],
    ];
    for (const node of nodes.filter((each) => PACK_TYPES.has(each.type) && !isConfigType(each.type))) {
      for (const [property, type] of references) {
        const id = node[property];
        if (typeof id !== 'string' || id === '') continue;
        expect({ node: node.id, property, refersTo: byId.get(id)?.type }).toEqual({
          node: node.id,
          property,
          refersTo: type,
        });
      }
    }
  });

  it('have ids that are unique across all example files', () => {
    const seen = new Map<string, string>();
    const clashes: string[] = [];
    for (const { file, nodes } of examples) {
      for (const node of nodes) {
        if (seen.has(node.id)) clashes.push(`${node.id} in ${seen.get(node.id)} and ${file}`);
        seen.set(node.id, file);
      }
    }
    expect(clashes).toEqual([]);
  });

  it('do not serve the same HTTP path twice, so they can be imported together', () => {
    const all = examples.flatMap(({ file, nodes }) => httpPaths(nodes).map((route) => ({ route, file })));
    const routes = all.map(({ route }) => route);
    expect(all.filter(({ route }, index) => routes.indexOf(route) !== index)).toEqual([]);
  });

  it.each(PIPELINE_EXAMPLES)(
    '%s keeps what the ERP or the source refuses to post or to be told in its dead-letter queue',
    (file) => {
      const nodes = readExample(file);
      const typeOf = new Map(nodes.map((node) => [node.id, node.type]));
      const refusing = nodes.filter((node) => node.type === 'finance-post' || node.type === 'finance-writeback');
      expect(refusing.length).toBeGreaterThan(0);
      for (const node of refusing) {
        const refusedTo = (node.wires?.[1] ?? []).map((id) => typeOf.get(id));
        expect({ node: node.id, refusedTo }).toEqual({
          node: node.id,
          refusedTo: expect.arrayContaining(['finance-dead-letter']),
        });
      }
    },
  );

  it('show every flow node of the pack in at least one example (Flow Library rule N02)', () => {
    const used = new Set(examples.flatMap(({ nodes }) => nodes.map((node) => node.type)));
    expect(PACK_FLOW_TYPES.length).toBeGreaterThan(0);
    expect(PACK_FLOW_TYPES.filter((type) => !used.has(type))).toEqual([]);
  });

  it.each(NODE_EXAMPLES)('%s is named after a node it shows and needs no other system', (file) => {
    const nodes = readExample(file);
    const named = path.basename(file, '.json').split(' - ')[0];
    expect(PACK_FLOW_TYPES).toContain(named);
    expect(nodes.map((node) => node.type)).toContain(named);
    for (const erp of nodes.filter((node) => node.type === 'finance-erp')) expect(erp.embeddedSandbox).toBe(true);
    for (const store of nodes.filter((node) => node.type === 'finance-store')) expect(store.path).toBe('');
  });

  it.each(NODE_EXAMPLES)('%s shows every output of its pack nodes in a debug node or passes it on', (file) => {
    const nodes = readExample(file);
    for (const node of nodes.filter((each) => PACK_TYPES.has(each.type) && !isConfigType(each.type))) {
      (node.wires ?? []).forEach((targets, output) => {
        expect({ node: node.id, output, wired: targets.length > 0 }).toEqual({ node: node.id, output, wired: true });
      });
    }
  });
});

// ---- running each per-node example -------------------------------------------------------------------

/** What an observer reports: which debug node the message was going to, and the message's finance fields. */
interface Observation {
  debug: string;
  [field: string]: any;
}

const OBSERVED_FIELDS = [
  'payload',
  'topic',
  'statusCode',
  'finance',
  'problem',
  'errors',
  'budget',
  'approval',
  'approvalRequest',
  'erp',
  'writeback',
  'purchaseOrder',
  'error',
  'retry',
  'replay',
  'masterData',
  'notFound',
];

interface Collector {
  url: string;
  seen: Observation[];
  close: () => Promise<void>;
}

function startCollector(): Promise<Collector> {
  const seen: Observation[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push(JSON.parse(body) as Observation);
      res.end('ok');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      resolve({
        url: `http://127.0.0.1:${port}/observed`,
        seen,
        close: () => new Promise((done) => server.close(() => done())),
      });
    }),
  );
}

/**
 * The example as it is deployed here: pointed at this Node-RED instead of port 1880, and with one observer per
 * debug node, wired from every output that feeds that debug node. The observer keeps only the finance fields
 * and drops what would steer its http request (url, method, headers...).
 */
function deployable(nodes: FlowNode[], editorUrl: string, collectorUrl: string): FlowNode[] {
  const flows = JSON.parse(JSON.stringify(nodes).split(EXAMPLE_EDITOR_URL).join(editorUrl)) as FlowNode[];
  const debugs = flows.filter((node) => node.type === 'debug');
  const observer = (id: string) => `test-observe-${id}`;
  for (const node of flows) {
    for (const targets of node.wires ?? []) {
      for (const debug of debugs) if (targets.includes(debug.id)) targets.push(observer(debug.id));
    }
  }
  const fields = OBSERVED_FIELDS.map((field) => `"${field}": ${field}`).join(', ');
  const observers = debugs.map((debug, index) => ({
    id: observer(debug.id),
    type: 'change',
    z: debug.z,
    x: 1400,
    y: 40 + index * 40,
    name: '',
    rules: [
      { t: 'set', p: 'payload', pt: 'msg', to: `{"debug": "${debug.id}", ${fields}}`, tot: 'jsonata' },
      ...['headers', 'url', 'method', 'cookies', 'requestTimeout', 'rejectUnauthorized', 'followRedirects'].map(
        (p) => ({
          t: 'delete',
          p,
          pt: 'msg',
        }),
      ),
    ],
    wires: [[`test-report-${debug.z}`]],
  }));
  const tabs = [...new Set(debugs.map((debug) => debug.z))];
  const reporters = tabs.map((tab) => ({
    id: `test-report-${tab}`,
    type: 'http request',
    z: tab,
    x: 1600,
    y: 40,
    name: '',
    method: 'POST',
    ret: 'txt',
    url: collectorUrl,
    wires: [[]],
  }));
  return [...flows, ...observers, ...reporters];
}

interface Run {
  /** Presses an inject node's button. */
  inject(id: string): Promise<void>;
  /** The first observation at debug node `debug` that `matches`, waiting for it. */
  seen(debug: string, matches?: (observed: Observation) => boolean): Promise<Observation>;
  /** Every observation at debug node `debug` so far. */
  all(debug: string): Observation[];
  /** GET on the Node-RED admin or flow HTTP server, as JSON. */
  get(pathAndQuery: string): Promise<any>;
}

type Scenario = (run: Run) => Promise<void>;

const reportOf = (observed: Observation) => observed.payload?.reportId as string | undefined;

const SCENARIOS: Record<string, Scenario> = {
  'finance-event-in - webhook and messages.json': async (run) => {
    await run.inject('evin-post-new');
    const answer = await run.seen('evin-answer', (o) => o.statusCode === 202);
    expect(answer.payload).toMatchObject({ status: 'accepted', id: expect.stringMatching(/^evt-ER-EVIN-\d+$/) });
    const accepted = await run.seen('evin-accepted', (o) => o.finance?.id === answer.payload.id);
    expect(accepted.finance).toMatchObject({ source: 'urn:finance-sync:examples', docType: 'ExpenseReport' });
    expect(accepted.payload).toMatchObject({
      docType: 'ExpenseReport',
      employeeId: 'E1015',
      total: { amount: '86.40' },
    });

    await run.inject('evin-post-fixed');
    await run.seen('evin-answer', (o) => o.statusCode === 202 && o.payload.id === 'evt-ER-EVIN-FIXED-1');
    await run.inject('evin-post-fixed');
    const duplicate = await run.seen('evin-answer', (o) => o.statusCode === 200);
    expect(duplicate.payload).toMatchObject({ status: 'duplicate', id: 'evt-ER-EVIN-FIXED-1' });

    await run.inject('evin-post-float');
    const refused = await run.seen('evin-answer', (o) => o.statusCode === 400);
    expect(refused.payload).toMatchObject({
      code: 'SCHEMA_INVALID',
      errors: [expect.objectContaining({ path: '/data/total/amount' })],
    });
    const rejected = await run.seen('evin-rejected');
    expect(rejected.problem).toMatchObject({ status: 400, code: expect.any(String) });

    await run.inject('evin-hand-new');
    const handed = await run.seen('evin-input-accepted');
    expect(handed).toMatchObject({ statusCode: 202, finance: { docType: 'ExpenseReport' } });
    await run.inject('evin-hand-invalid');
    const invalid = await run.seen('evin-input-rejected');
    expect(invalid.statusCode).toBe(400);
    expect(JSON.stringify(invalid.problem)).toContain('employeeId');
  },

  'finance-map - JSONata and profiles.json': async (run) => {
    await run.inject('map-legacy');
    const legacy = await run.seen('map-jsonata-valid');
    expect(legacy.payload).toMatchObject({
      reportId: 'EXP-77',
      state: 'pending_approval',
      total: { amount: '59.75', currency: 'EUR' },
      lines: [{ amount: { amount: '42.50' } }, { amount: { amount: '17.25' } }],
    });
    await run.inject('map-legacy-bad');
    const noEmployee = await run.seen('map-jsonata-invalid');
    expect(noEmployee.errors).toEqual([expect.objectContaining({ path: '/employeeId', rule: 'required' })]);

    await run.inject('map-ramp-in');
    const ramp = await run.seen('map-ramp-valid');
    expect(ramp.payload).toMatchObject({
      employeeId: 'E1012',
      state: 'approved',
      total: { amount: '86.40', currency: 'EUR' },
      lines: [{ dimensions: { costCenter: 'CC-200', glAccount: '6000' } }],
    });

    await run.inject('map-concur-in');
    const concur = await run.seen('map-concur-valid');
    expect(concur.payload).toMatchObject({
      employeeId: 'E1011',
      state: 'pending_approval',
      total: { amount: '365.90' },
    });
    expect(concur.payload.lines.map((line: any) => line.dimensions)).toEqual([
      { costCenter: 'CC-200', glAccount: '6020' },
      { costCenter: 'CC-200', glAccount: '6000' },
    ]);

    await run.inject('map-ce-in');
    expect(reportOf(await run.seen('map-cloudevents-valid'))).toBe('ER-MAP-1');
    await run.inject('map-ce-bad');
    const broken = await run.seen('map-cloudevents-invalid');
    expect(broken.errors.map((error: any) => error.path).sort()).toEqual(['/lines/0/amount/amount', '/lines/0/date']);
    expect(run.all('map-errors')).toEqual([]);
  },

  'finance-budget-check.json': async (run) => {
    const expectations: Array<[inject: string, debug: string]> = [
      ['bud-within', 'bud-debug-within'],
      ['bud-warning', 'bud-debug-warning'],
      ['bud-exceeded', 'bud-debug-exceeded'],
    ];
    for (const [inject, debug] of expectations) {
      await run.inject(inject);
      await run.seen(debug);
    }
    expect(run.all('bud-debug-warning')[0].budget).toMatchObject({
      status: 'warning',
      requested: { amount: '1100.00' },
    });
    expect(run.all('bud-debug-exceeded')[0].budget).toMatchObject({
      status: 'exceeded',
      available: { amount: '300.00' },
    });

    await run.inject('bud-nobudget');
    const noBudget = await run.seen('bud-debug-exceeded', (o) => o.payload.employeeId === 'E1023');
    expect(noBudget.budget.erpMessages).toEqual([expect.objectContaining({ code: 'NO_BUDGET' })]);

    await run.inject('bud-project');
    const project = await run.seen('bud-debug-within', (o) => o.payload.employeeId === 'E1016');
    expect(project.budget.checks).toHaveLength(2);
    expect(run.all('bud-errors')).toEqual([]);
  },

  'finance-approval - decisions.json': async (run) => {
    await run.inject('apr-taxi');
    const taxi = await run.seen('apr-debug-approved');
    expect(taxi.approval).toMatchObject({ state: 'approved', chain: [] });

    await run.inject('apr-dinner');
    const request = await run.seen('apr-debug-requests');
    expect(request.approvalRequest).toMatchObject({ approver: 'E1016', reportId: expect.stringMatching(/^ER-APR-/) });
    await run.inject('apr-intruder');
    const refused = await run.seen('apr-errors');
    expect(refused.error.message).toContain('E1009');
    await run.inject('apr-approve');
    const dinner = await run.seen('apr-debug-approved', (o) => reportOf(o) === request.approvalRequest.reportId);
    expect(dinner.approval.chain).toEqual([expect.objectContaining({ approver: 'E1016', decidedBy: 'E1016' })]);

    await run.inject('apr-over-budget');
    const first = await run.seen(
      'apr-debug-requests',
      (o) => o.approvalRequest.reportId !== request.approvalRequest.reportId,
    );
    const reportId = first.approvalRequest.reportId;
    expect(first.approvalRequest.approver).toBe('E1016');
    await run.inject('apr-approve');
    const second = await run.seen(
      'apr-debug-requests',
      (o) => o.approvalRequest.reportId === reportId && o.approvalRequest.approver === 'E1003',
    );
    expect(second.approvalRequest.reportId).toBe(reportId);
    await run.inject('apr-approve');
    const overBudget = await run.seen('apr-debug-approved', (o) => reportOf(o) === reportId);
    expect(overBudget.approval.chain.map((stage: any) => stage.decidedBy)).toEqual(['E1016', 'E1003']);

    await run.inject('apr-dinner');
    const third = await run.seen(
      'apr-debug-requests',
      (o) => ![request, first].some((r) => r.approvalRequest.reportId === o.approvalRequest.reportId),
    );
    await run.inject('apr-reject');
    const rejected = await run.seen('apr-debug-rejected');
    expect(rejected).toMatchObject({
      payload: { reportId: third.approvalRequest.reportId },
      approval: { state: 'rejected' },
    });
    const pending = await run.get('/finance-approval/apr-approval/pending');
    expect(pending.items).toEqual([]);
  },

  'finance-purchase-order.json': async (run) => {
    await run.inject('po-v1');
    const created = await run.seen('po-synced');
    expect(created.purchaseOrder).toMatchObject({ action: 'created', versionApplied: 1 });
    expect(created.erp.number).toMatch(/^PO-/);

    await run.inject('po-v2');
    const updated = await run.seen('po-synced', (o) => o.purchaseOrder.versionApplied === 2);
    expect(updated.purchaseOrder.action).toBe('updated');
    expect(updated.erp.number).toBe(created.erp.number);

    await run.inject('po-v1-late');
    const stale = await run.seen('po-refused');
    expect(stale.error.code).toBe('STALE_VERSION');

    await run.inject('po-v3');
    const cancelled = await run.seen('po-synced', (o) => o.purchaseOrder.versionApplied === 3);
    expect(cancelled.purchaseOrder.action).toBe('cancelled');

    await run.inject('po-blocked');
    const blocked = await run.seen('po-refused', (o) => o !== stale);
    expect(JSON.stringify(blocked.errors)).toContain('SUP-1009');
    expect(run.all('po-failed')).toEqual([]);
  },

  'finance-master-data.json': async (run) => {
    await run.inject('md-full');
    const full = await run.seen('md-summary');
    expect(full.payload).toMatchObject({ mode: 'full', failures: [] });
    const created = full.payload.kinds.reduce((sum: number, kind: any) => sum + kind.created, 0);
    expect(created).toBe(67); // the sandbox seed: 25 employees, 10 suppliers, 6 cost centers, 4 projects, 12 GL accounts, 10 tax codes
    await waitFor('every change message', async () => run.all('md-changes').length === 67 || undefined);
    expect(run.all('md-changes')[0]).toMatchObject({ topic: 'employees/E1001', payload: { change: 'created' } });

    await run.inject('md-delta');
    const delta = await run.seen('md-summary', (o) => o.payload.mode === 'delta');
    expect(delta.payload.kinds.map((kind: any) => kind.created + kind.updated + kind.removed)).toEqual([
      0, 0, 0, 0, 0, 0,
    ]);

    await run.inject('md-enrich-report');
    const enriched = await run.seen('md-enriched');
    expect(enriched.masterData.employee.managerChain.map((manager: any) => manager.id)).toEqual([
      'E1013',
      'E1004',
      'E1001',
    ]);
    expect(enriched.masterData.projects['PRJ-1907'].status).toBe('closed');
    await run.inject('md-enrich-unknown');
    const missing = await run.seen('md-not-found');
    expect(missing.notFound).toEqual([
      expect.objectContaining({ kind: 'suppliers', id: 'SUP-9999', path: '/supplierId' }),
    ]);
    expect(run.all('md-failed')).toEqual([]);
  },

  'finance-post.json': async (run) => {
    await run.inject('pst-twice');
    const first = await run.seen('pst-journal-posted');
    const second = await run.seen('pst-journal-posted', (o) => o !== first && reportOf(o) === reportOf(first));
    const byStatus = [first, second].sort((a, b) => (a.erp.httpStatus ? -1 : b.erp.httpStatus ? 1 : 0));
    expect(byStatus[0].erp).toMatchObject({
      documentType: 'journal',
      number: expect.stringMatching(/^JNL-/),
      httpStatus: 201,
    });
    expect(byStatus[1].erp.number).toBe(byStatus[0].erp.number);
    expect(byStatus[1].erp.httpStatus).toBeUndefined();

    await run.inject('pst-blocked');
    const blocked = await run.seen('pst-journal-refused');
    expect(blocked.error).toMatchObject({ code: 'ERP_REJECTED', httpStatus: 422 });
    await run.inject('pst-pending');
    await run.seen('pst-journal-refused', (o) => o.error.code === 'NOT_APPROVED');

    await run.inject('pst-payable-in');
    const payable = await run.seen('pst-payable-posted');
    expect(payable.erp).toMatchObject({ documentType: 'payable', number: expect.stringMatching(/^PAY-/) });
    expect(run.all('pst-errors')).toEqual([]);
  },

  'finance-writeback.json': async (run) => {
    await run.inject('wbk-posted');
    const posted = await run.seen('wbk-received', (o) => o.payload.status === 'posted');
    expect(posted.payload).toMatchObject({ system: 'demo-expenses', erpRef: { number: 'JNL-000042' } });
    const done = await run.seen('wbk-done');
    expect(done.writeback).toMatchObject({ target: 'webhook', status: 'posted', sent: true });

    await run.inject('wbk-rejected');
    await run.seen('wbk-received', (o) => o.payload.status === 'rejected');
    await run.inject('wbk-locked');
    const locked = await run.seen('wbk-refused');
    expect(locked.error).toMatchObject({ httpStatus: 422 });

    const fixed = (o: Observation) => o.payload.documentId === 'ER-WBK-FIXED-1';
    await run.inject('wbk-fixed');
    await run.seen('wbk-received', fixed);
    await run.seen('wbk-done', (o) => reportOf(o) === 'ER-WBK-FIXED-1');
    await run.inject('wbk-fixed');
    await waitFor('the repeated write-back', async () =>
      run.all('wbk-done').filter((o) => reportOf(o) === 'ER-WBK-FIXED-1').length === 2 ? true : undefined,
    );
    expect(run.all('wbk-received').filter(fixed)).toHaveLength(1);
    expect(run.all('wbk-errors')).toEqual([]);
  },

  'finance-retry.json': async (run) => {
    await run.inject('rty-call-flaky');
    const answer = await run.seen('rty-answer');
    expect(answer).toMatchObject({ statusCode: 200, payload: { status: 'ok', call: 3 } });
    // The first pass carries no msg.retry; each re-emission counts its attempt.
    expect(run.all('rty-attempts').map((o) => o.retry?.attempt ?? 1)).toEqual([1, 2, 3]);

    await run.inject('rty-call-broken');
    const gaveUp = await run.seen('rty-gave-up');
    expect(gaveUp.retry.attempt).toBe(1);
    expect(gaveUp.error.message).toContain('HTTP 400');
  },

  'finance-audit.json': async (run) => {
    await run.inject('aud-post-ok');
    await run.seen('aud-posted');
    await run.inject('aud-post-blocked');
    await run.seen('aud-refused');
    await run.inject('aud-note');
    await run.seen('aud-result', (o) => o.topic === 'manual-override');
    await run.inject('aud-verify');
    const verified = await run.seen('aud-result', (o) => o.topic === 'verify');
    // The post, its ERP calls, the refusal and the note at least; earlier examples may have added more.
    expect(verified.payload).toMatchObject({ ok: true, lastHash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(verified.payload.records).toBeGreaterThanOrEqual(5);
    expect(run.all('aud-errors')).toEqual([]);
  },

  'finance-metrics.json': async (run) => {
    await run.inject('met-post-ok');
    await run.seen('met-posted');
    await run.inject('met-post-blocked');
    await run.seen('met-refused');
    await run.inject('met-snapshot');
    const kpis = await run.seen('met-kpi-debug');
    const row = kpis.payload.kpis.find((r: any) => r.system === 'demo-metrics' && r.process === 'expense');
    expect(row).toMatchObject({ refused: 1, completed: 1, firstPassPostingRate: 0.5 });
    expect(kpis.payload.erp).toEqual(
      expect.arrayContaining([expect.objectContaining({ erp: 'Embedded sandbox ERP', circuit: 'closed' })]),
    );
    // The embedded sandbox of this example holds one posting: 64.80 EUR on CC-500.
    expect(kpis.payload.spend).toEqual([{ costCenter: 'CC-500', committed: '0.00 EUR', actual: '64.80 EUR' }]);
    expect(kpis.payload.problems).toEqual([]);
    expect(run.all('met-errors')).toEqual([]);
  },

  'finance-dead-letter.json': async (run) => {
    await run.inject('dlq-send');
    const failure = await run.seen('dlq-failed');
    expect(failure.error.message).toContain('422');
    const open = await waitFor('the dead letter', async () => {
      const page = await run.get('/finance-dead-letter/dlq-dead-letters/letters?status=open');
      return page.letters.length > 0 ? page : undefined;
    });
    expect(open.letters).toEqual([
      expect.objectContaining({
        status: 'open',
        error: expect.objectContaining({ code: 'ERP_REJECTED', nodeId: 'dlq-check' }),
      }),
    ]);

    await run.inject('dlq-list');
    expect((await run.seen('dlq-results')).payload.letters).toHaveLength(1);
    await run.inject('dlq-fix');
    await run.seen('dlq-table-debug');
    await run.inject('dlq-replay');
    const checked = await run.seen('dlq-checked');
    expect(checked.payload.lines[0].dimensions.costCenter).toBe('CC-300');
    expect(checked.budget.status).toBe('within');
    expect(checked.replay).toMatchObject({ deadLetterId: open.letters[0].id });

    await run.inject('dlq-stats');
    const stats = await run.seen('dlq-results', (o) => o.topic === 'stats');
    expect(stats.payload).toMatchObject({ open: 0, replayed: 1 });
    await run.inject('dlq-purge');
    const purged = await run.seen('dlq-results', (o) => o.topic === 'purge');
    expect(purged.payload.purged).toBe(1);
  },
};

describe('each per-node example, deployed alone in a real Node-RED', () => {
  let nodeRed: RunningProcess & { userDir: string };
  let collector: Collector;

  beforeAll(async () => {
    collector = await startCollector();
    nodeRed = await startNodeRed({});
  }, 90_000);

  afterAll(async () => {
    await stopAll();
    await collector?.close();
    if (nodeRed) fs.rmSync(nodeRed.userDir, { recursive: true, force: true });
  });

  it('has a scenario for every example', () => {
    expect(NODE_EXAMPLES.filter((file) => !SCENARIOS[file])).toEqual([]);
  });

  it.each(NODE_EXAMPLES)(
    '%s deploys, works and logs no error',
    async (file) => {
      collector.seen.length = 0;
      const logFrom = nodeRed.output().length;
      await deployFlows(nodeRed.url, deployable(readExample(file), nodeRed.url, collector.url), {}, nodeRed);
      const run: Run = {
        async inject(id) {
          // A deploy answers before the flows have started: 404 means the inject node is not running yet.
          const status = await waitFor(`inject node ${id} to run`, async () => {
            const response = await fetch(`${nodeRed.url}/inject/${encodeURIComponent(id)}`, { method: 'POST' });
            return response.status === 404 ? undefined : response.status;
          });
          expect({ inject: id, status }).toEqual({ inject: id, status: 200 });
        },
        seen: (debug, matches = () => true) =>
          waitFor(
            `a message at debug node ${debug}`,
            async () => collector.seen.find((observed) => observed.debug === debug && matches(observed)),
            { timeoutMs: 20_000, intervalMs: 50 },
          ),
        all: (debug) => collector.seen.filter((observed) => observed.debug === debug),
        async get(pathAndQuery) {
          const response = await fetch(`${nodeRed.url}${pathAndQuery}`);
          expect({ get: pathAndQuery, status: response.status }).toEqual({ get: pathAndQuery, status: 200 });
          return response.json();
        },
      };
      try {
        await SCENARIOS[file](run);
      } catch (err) {
        const seen = JSON.stringify(collector.seen, null, 1).slice(0, 4000);
        throw new Error(
          `${(err as Error).message}\n--- observed:\n${seen}\n--- Node-RED log:\n${nodeRed.output().slice(logFrom)}`,
          {
            cause: err,
          },
        );
      }
      const errors = nodeRed
        .output()
        .slice(logFrom)
        .split('\n')
        .filter((line) => line.includes('[error]'));
      expect(errors).toEqual([]);
    },
    60_000,
  );
});
