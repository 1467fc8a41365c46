/**
 * Makes one deployment from the example pipelines, each on its own tab, with every finance-erp connection
 * pointed at a running sandbox instead of starting an embedded one, and the demo credentials that an example
 * cannot carry (Node-RED never exports credentials). Used by `npm start` and the end-to-end tests, so the
 * examples are the only copy of the pipelines.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

/** A published demo value, not a secret: the sample-event script and the README use it. */
const DEMO_WEBHOOK_SECRET = 'finance-sync-demo-secret';

/** Where the examples expect the sandbox ERP: the port `npm start` and `npx finance-sandbox` use. */
const EXAMPLE_SANDBOX_URL = 'http://127.0.0.1:8089';

/** Credentials per node type for the demo deployment. */
const DEMO_CREDENTIALS = {
  'finance-source': { secret: DEMO_WEBHOOK_SECRET },
};

function isOnExampleSandbox(url) {
  return typeof url === 'string' && (url === EXAMPLE_SANDBOX_URL || url.startsWith(`${EXAMPLE_SANDBOX_URL}/`));
}

function deployableFlows(examplesDir, { sandboxUrl, only } = {}) {
  const files = fs
    .readdirSync(examplesDir)
    .filter((file) => file.endsWith('.json'))
    .filter((file) => !only || only.includes(path.basename(file, '.json')))
    .sort();
  const flows = [];
  const credentials = {};
  for (const file of files) {
    const nodes = JSON.parse(fs.readFileSync(path.join(examplesDir, file), 'utf8'));
    for (const node of nodes) {
      if (node.type === 'finance-erp' && sandboxUrl) {
        node.embeddedSandbox = false;
        node.baseUrl = sandboxUrl;
      }
      // The examples write back to the sandbox on its default port; follow it when it runs elsewhere.
      // (the procurement example's Coupa simulator lives below it, at /coupa).
      if (node.type === 'finance-source' && sandboxUrl && isOnExampleSandbox(node.apiBaseUrl)) {
        node.apiBaseUrl = sandboxUrl + node.apiBaseUrl.slice(EXAMPLE_SANDBOX_URL.length);
      }
      if (DEMO_CREDENTIALS[node.type]) credentials[node.id] = { ...DEMO_CREDENTIALS[node.type] };
      flows.push(node);
    }
  }
  return { flows, credentials };
}

module.exports = { deployableFlows, DEMO_WEBHOOK_SECRET };
