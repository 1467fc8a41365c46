#!/usr/bin/env node
/**
 * The sandbox ERP for the benchmarks: the built sandbox (dist/lib/sandbox/server.js) on a free loopback port,
 * with two differences from `finance-sandbox` that a benchmark needs:
 *
 * - `--roomy-budgets` multiplies every seeded budget by a million. The seed's budgets are deliberately tight
 *   (a demo shows over-budget reports), so after a few hundred events every report would wait for the
 *   finance controller; the pipeline benchmark measures the automatic path, so the ERP must answer "within".
 * - It answers `{ type: 'stats' }` on its IPC channel with counts computed in-process, because
 *   GET /_sandbox/state returns every document and would itself be the bottleneck at 100,000 events.
 *
 * It prints `listening <url>` on stdout once it listens.
 */
'use strict';
const path = require('node:path');
const { startSandbox } = require(path.join(__dirname, '..', '..', 'dist', 'lib', 'sandbox', 'server.js'));

function roomy(budgets) {
  for (const line of budgets)
    line.amount = { ...line.amount, amount: line.amount.amount.replace(/^(\d+)/, '$1000000') };
}

/**
 * What the benchmarks read, cheap enough to ask ten times a second at 100,000 documents: the counters and
 * how many documents and write-backs arrived. `duplicates` adds how many documents or write-backs were more
 * than one for the same event (a scan); `arrivalsFrom` adds [correlationId, arrival ms] of every write-back
 * from that index on, for latencies.
 */
function stats(state, { duplicates = false, arrivalsFrom } = {}) {
  let postings = 0;
  for (const company of state.companies.values()) postings += company.postings.size;
  const result = { counters: { ...state.counters }, postings, writebacks: state.writebacks.length };
  if (duplicates) {
    const references = new Set();
    for (const company of state.companies.values()) {
      for (const posting of company.postings.values()) references.add(posting.externalReference);
    }
    const writebacks = new Set(state.writebacks.map((writeback) => `${writeback.documentId}|${writeback.status}`));
    result.duplicatePostings = postings - references.size;
    result.duplicateWritebacks = state.writebacks.length - writebacks.size;
    result.writtenBack = [...new Set(state.writebacks.map((writeback) => writeback.documentId))];
  }
  if (arrivalsFrom !== undefined) {
    result.arrivals = state.writebacks
      .slice(arrivalsFrom)
      .map((writeback) => [writeback.correlationId ?? '', Date.parse(writeback.receivedAt)]);
  }
  return result;
}

async function main() {
  const handle = await startSandbox({ port: 0, host: '127.0.0.1' });
  if (process.argv.includes('--roomy-budgets')) {
    for (const company of handle.state.companies.values()) roomy(company.budgets);
  }
  process.on('message', (request) => {
    if (request?.type === 'stats') process.send({ id: request.id, stats: stats(handle.state, request) });
  });
  process.on('disconnect', () => handle.close().finally(() => process.exit(0)));
  console.log(`listening ${handle.url}`);
}

main().catch((err) => {
  console.error(`bench sandbox: ${err.message}`);
  process.exit(1);
});
