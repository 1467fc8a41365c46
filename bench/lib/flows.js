/**
 * The flows the benchmarks deploy. The pack's pipeline is the shipped `Expense approval sync` example
 * (flows/deployable-flows.js, the only copy of it) with three settings changed, each said where it is made;
 * the baselines are written here with core nodes only.
 */
'use strict';
const path = require('node:path');
const { deployableFlows, DEMO_WEBHOOK_SECRET } = require('../../flows/deployable-flows');
const { SOURCE_SYSTEM } = require('./events');

const examples = path.join(__dirname, '..', '..', 'examples', 'pipelines');

/** Where each flow listens (below Node-RED's flow root). */
const PATHS = {
  pack: '/finance/expenses',
  core: '/bench/core/expenses',
  intake: '/bench/intake/expenses',
  echo: '/bench/core/echo',
  mappingPack: '/bench/mapping/finance-map',
  mappingJsonata: '/bench/mapping/jsonata',
  mappingNoop: '/bench/mapping/noop',
};

/**
 * The example pipeline, changed only where a benchmark must:
 * - the approval matrix approves every report automatically (no person is needed; under a budget that is not
 *   exceeded and without policy exceptions, which the benchmark events never have);
 * - write-backs go to `sourceUrl`, a second sandbox that stands in for the expense platform, so the ERP's
 *   rate limit (burst scenario) counts only ERP calls;
 * - with `rateLimit`, the ERP connection is told the ERP's limit, as an operator would configure it.
 */
function packPipeline({ erpUrl, sourceUrl, rateLimit }) {
  const { flows, credentials } = deployableFlows(examples, { sandboxUrl: erpUrl, only: ['Expense approval sync'] });
  const byId = new Map(flows.map((node) => [node.id, node]));
  const approval = byId.get('exp-approval');
  approval.matrix = { ...approval.matrix, autoApproveBelow: { EUR: '100000000.00' } };
  byId.get('exp-source').apiBaseUrl = sourceUrl;
  if (rateLimit) {
    const erp = byId.get('exp-erp');
    erp.rateLimitRequests = String(rateLimit);
    erp.rateLimitWindowSeconds = '1';
  }
  return { flows, credentials };
}

/** A function node's code: `lines` joined, so the flow file reads like the code it runs. */
const code = (...lines) => lines.join('\n');

/** Core `http request` with keep-alive that takes method, URL, headers and body from the message. */
function httpRequest(id, z, next) {
  return {
    id,
    type: 'http request',
    z,
    name: '',
    method: 'use',
    ret: 'obj',
    paytoqs: 'ignore',
    url: '',
    tls: '',
    persist: true,
    proxy: '',
    insecureHTTPParser: false,
    authType: '',
    senderr: false,
    headers: [],
    x: 0,
    y: 0,
    wires: [[next]],
  };
}

/**
 * The same work with core nodes: `http in` -> `function` -> `http request` (budget availability) ->
 * `function` -> `http request` (the posting) -> `function` -> `http request` (the write-back to the source) ->
 * `function` -> `http response`. It answers after the write-back, so an answered request is a completed
 * event. Like a hand-written flow, it does not verify the signature, validate the document, store the event
 * or keep a ledger; a refused ERP call fails the request.
 */
function corePipeline({ erpUrl, sourceUrl }) {
  const z = 'bench-core-tab';
  const company = `${erpUrl}/api/v1/companies/FS-DEMO`;
  const check = (expected) =>
    code(
      `if (msg.statusCode !== ${expected}) {`,
      `  node.error('ERP answered ' + msg.statusCode + ': ' + JSON.stringify(msg.payload), msg);`,
      '  return null;',
      '}',
    );
  return [
    { id: z, type: 'tab', label: 'Bench: core-node pipeline', disabled: false, info: '' },
    {
      id: 'bench-core-in',
      type: 'http in',
      z,
      name: '',
      url: PATHS.core,
      method: 'post',
      upload: false,
      swaggerDoc: '',
      x: 0,
      y: 0,
      wires: [['bench-core-budget']],
    },
    {
      id: 'bench-core-budget',
      type: 'function',
      z,
      name: 'Budget request',
      func: code(
        "const event = typeof msg.payload === 'string' ? JSON.parse(msg.payload) : msg.payload;",
        'const report = event.data;',
        'const line = report.lines[0];',
        'msg.report = report;',
        "msg.correlationId = msg.req.headers['x-correlation-id'];",
        "msg.method = 'POST';",
        `msg.url = ${JSON.stringify(`${company}/budget-availability`)};`,
        "msg.headers = { 'content-type': 'application/json', 'x-correlation-id': msg.correlationId };",
        'msg.payload = {',
        '  costCenter: line.dimensions.costCenter,',
        '  glAccount: line.dimensions.glAccount,',
        '  period: line.date.slice(0, 7),',
        '  amount: report.total,',
        '};',
        'return msg;',
      ),
      outputs: 1,
      timeout: 0,
      noerr: 0,
      initialize: '',
      finalize: '',
      libs: [],
      x: 0,
      y: 0,
      wires: [['bench-core-budget-call']],
    },
    httpRequest('bench-core-budget-call', z, 'bench-core-posting'),
    {
      id: 'bench-core-posting',
      type: 'function',
      z,
      name: 'Posting',
      func: code(
        check(200),
        "if (msg.payload.status !== 'within') { node.error('over budget', msg); return null; }",
        'const report = msg.report;',
        `msg.url = ${JSON.stringify(`${company}/postings`)};`,
        "msg.headers = { 'content-type': 'application/json', 'x-correlation-id': msg.correlationId };",
        'msg.payload = {',
        "  kind: 'journal',",
        `  externalReference: ${JSON.stringify(`${SOURCE_SYSTEM}:`)} + report.reportId,`,
        '  employeeId: report.employeeId,',
        '  postingDate: report.submittedAt.slice(0, 10),',
        '  currency: report.total.currency,',
        '  lines: report.lines.map((line) => ({',
        '    lineId: line.lineId, amount: line.amount, dimensions: line.dimensions, description: line.description,',
        '  })),',
        '};',
        'return msg;',
      ),
      outputs: 1,
      timeout: 0,
      noerr: 0,
      initialize: '',
      finalize: '',
      libs: [],
      x: 0,
      y: 0,
      wires: [['bench-core-posting-call']],
    },
    httpRequest('bench-core-posting-call', z, 'bench-core-writeback'),
    {
      id: 'bench-core-writeback',
      type: 'function',
      z,
      name: 'Write-back',
      func: code(
        check(201),
        'const posting = msg.payload;',
        'msg.posting = posting;',
        `msg.url = ${JSON.stringify(`${sourceUrl}/api/v1/writebacks`)};`,
        "msg.headers = { 'content-type': 'application/json', 'x-correlation-id': msg.correlationId };",
        'msg.payload = {',
        `  system: ${JSON.stringify(SOURCE_SYSTEM)},`,
        '  documentId: msg.report.reportId,',
        "  status: 'posted',",
        "  erpRef: { system: 'sandbox', dialect: 'sandbox', documentType: 'journal', documentId: posting.id, number: posting.number },",
        '  correlationId: msg.correlationId,',
        '};',
        'return msg;',
      ),
      outputs: 1,
      timeout: 0,
      noerr: 0,
      initialize: '',
      finalize: '',
      libs: [],
      x: 0,
      y: 0,
      wires: [['bench-core-writeback-call']],
    },
    httpRequest('bench-core-writeback-call', z, 'bench-core-answer'),
    {
      id: 'bench-core-answer',
      type: 'function',
      z,
      name: 'Answer',
      func: code(
        check(200),
        // The last http request left the ERP's response headers on msg.headers; they must not be echoed.
        'msg.headers = {};',
        'msg.statusCode = 200;',
        'msg.payload = { posted: msg.posting.number };',
        'return msg;',
      ),
      outputs: 1,
      timeout: 0,
      noerr: 0,
      initialize: '',
      finalize: '',
      libs: [],
      x: 0,
      y: 0,
      wires: [['bench-core-out']],
    },
    { id: 'bench-core-out', type: 'http response', z, name: '', statusCode: '', headers: {}, x: 0, y: 0, wires: [] },
  ];
}

/**
 * The pack's intake on its own (finance-event-in with the example's settings, nothing wired behind it), once on
 * Node-RED's web server and once on a port of its own (`ownPort`), and the core `http in` -> `http response`
 * echo they are compared with.
 */
function intakeFlows({ ownPort }) {
  const z = 'bench-intake-tab';
  const webhook = (id, extra) => ({
    id,
    type: 'finance-event-in',
    z,
    name: 'Bench webhook',
    source: 'bench-intake-source',
    store: 'bench-intake-store',
    mode: 'http',
    path: PATHS.intake,
    maxBytes: '1048576',
    leaseSeconds: '300',
    broker: 'mqtt://127.0.0.1:1883',
    topic: '',
    clientId: '',
    tls: '',
    x: 0,
    y: 0,
    wires: [[], []],
    ...extra,
  });
  const flows = [
    { id: z, type: 'tab', label: 'Bench: intake', disabled: false, info: '' },
    {
      id: 'bench-intake-store',
      type: 'finance-store',
      name: 'Bench intake',
      path: '',
      maxInboxEntries: '1000000',
      dedupRetentionDays: '7',
    },
    {
      id: 'bench-intake-source',
      type: 'finance-source',
      name: 'Bench source',
      profile: 'cloudevents',
      signatureScheme: 'generic',
      toleranceSeconds: '300',
      apiBaseUrl: '',
      apiAuthType: 'none',
    },
    webhook('bench-intake-in', {}),
    // The same endpoint on a port of its own (lib/intake/own-listener.ts): no Express, no Node-RED middleware.
    webhook('bench-intake-own-in', { listenPort: String(ownPort), listenHost: '127.0.0.1' }),
    {
      id: 'bench-echo-in',
      type: 'http in',
      z,
      name: '',
      url: PATHS.echo,
      method: 'post',
      upload: false,
      swaggerDoc: '',
      x: 0,
      y: 0,
      wires: [['bench-echo-out']],
    },
    { id: 'bench-echo-out', type: 'http response', z, name: '', statusCode: '', headers: {}, x: 0, y: 0, wires: [] },
  ];
  return { flows, credentials: { 'bench-intake-source': { secret: DEMO_WEBHOOK_SECRET } } };
}

/**
 * One mapping harness per variant (finance-map, the JSONata change node, and a change node that maps nothing,
 * which shows what the harness itself costs), all in one Node-RED: POST { samples, seconds, window } to its
 * path starts it. The driver and counter is bench/nodes/bench-mapping-loop.js, which the user directory must
 * hold (makeUserDir({ benchNodes: true })): it keeps `window` messages in flight, each a Concur report (msg.payload,
 * with its expenses in msg.payload.expenses) that goes through the mapping node and back, and sends the next
 * one until the time is up, then answers with the count and the first mapped document (to prove both variants
 * produce the same one). The loop costs the same for every variant.
 */
function mappingFlows({ profileOptions, expression }) {
  const z = 'bench-mapping-tab';
  const flows = [{ id: z, type: 'tab', label: 'Bench: mapping', disabled: false, info: '' }];
  const variants = [
    {
      key: 'pack',
      path: PATHS.mappingPack,
      node: {
        type: 'finance-map',
        name: 'Concur to canonical',
        mapping: 'concur',
        expression: '',
        profileOptions: JSON.stringify(profileOptions),
        linesProperty: 'payload.expenses',
        docType: 'ExpenseReport',
        stateSystem: '',
        store: '',
      },
      outputs: 2,
    },
    {
      // The harness alone: a change node that sets msg.topic. Its rate is the most any mapping node can show.
      key: 'noop',
      path: PATHS.mappingNoop,
      node: {
        type: 'change',
        name: 'No mapping (harness ceiling)',
        rules: [{ t: 'set', p: 'topic', pt: 'msg', to: 'mapped', tot: 'str' }],
        action: '',
        property: '',
        from: '',
        to: '',
        reg: false,
      },
      outputs: 1,
    },
    {
      key: 'jsonata',
      path: PATHS.mappingJsonata,
      node: {
        type: 'change',
        name: 'Concur to canonical (JSONata)',
        rules: [{ t: 'set', p: 'payload', pt: 'msg', to: expression, tot: 'jsonata' }],
        action: '',
        property: '',
        from: '',
        to: '',
        reg: false,
      },
      outputs: 1,
    },
  ];
  for (const variant of variants) {
    const id = (part) => `bench-map-${variant.key}-${part}`;
    flows.push(
      {
        id: id('in'),
        type: 'http in',
        z,
        name: '',
        url: variant.path,
        method: 'post',
        upload: false,
        swaggerDoc: '',
        x: 0,
        y: 0,
        wires: [[id('loop')]],
      },
      {
        id: id('loop'),
        type: 'bench-mapping-loop',
        z,
        name: 'Driver and counter',
        x: 0,
        y: 0,
        wires: [[id('map')], [id('out')]],
      },
      {
        id: id('map'),
        z,
        x: 0,
        y: 0,
        ...variant.node,
        wires: variant.outputs === 2 ? [[id('loop')], [id('loop')]] : [[id('loop')]],
      },
      { id: id('out'), type: 'http response', z, name: '', statusCode: '', headers: {}, x: 0, y: 0, wires: [] },
    );
  }
  return flows;
}

module.exports = { PATHS, packPipeline, corePipeline, intakeFlows, mappingFlows };
