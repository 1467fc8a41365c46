/**
 * Makes one flow file from the example pipelines, each on its own tab, with every finance-erp connection
 * pointed at a running sandbox instead of starting an embedded one. Used by `npm start` and the end-to-end
 * tests, so the examples are the only copy of the pipelines.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');

function deployableFlows(examplesDir, { sandboxUrl, only } = {}) {
  const files = fs
    .readdirSync(examplesDir)
    .filter((file) => file.endsWith('.json'))
    .filter((file) => !only || only.includes(path.basename(file, '.json')))
    .sort();
  const flows = [];
  for (const file of files) {
    const nodes = JSON.parse(fs.readFileSync(path.join(examplesDir, file), 'utf8'));
    for (const node of nodes) {
      if (node.type === 'finance-erp' && sandboxUrl) {
        node.embeddedSandbox = false;
        node.baseUrl = sandboxUrl;
      }
      flows.push(node);
    }
  }
  return flows;
}

module.exports = { deployableFlows };
