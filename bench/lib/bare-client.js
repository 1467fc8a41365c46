#!/usr/bin/env node
/**
 * The ceiling without Node-RED: a bare Node.js HTTP server that does, per event, what the core-node flow
 * does (budget availability and the posting on the ERP, then the write-back to the source) with the pack's
 * HTTP client: the transport ErpClient sends every ERP and source call with (dist/lib/erp/http-transport.js,
 * node:http with one keep-alive agent per system, no redirects). It answers after the write-back. No signature
 * check, validation, store or ledger.
 *
 *   node bench/lib/bare-client.js <erpUrl> <sourceUrl> <sourceSystem>     (prints `listening <url>`)
 */
'use strict';
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');
const { ExchangeCancel, exchange } = require(
  path.join(__dirname, '..', '..', 'dist', 'lib', 'erp', 'http-transport.js'),
);

const [erpUrl, sourceUrl, sourceSystem] = process.argv.slice(2);
const MAX_SOCKETS = 16;
const TIMEOUT_MS = 10_000;

/** POSTs JSON below `baseUrl`; resolves with the answer's body, rejects on anything but 2xx. */
function client(baseUrl) {
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: MAX_SOCKETS, maxFreeSockets: MAX_SOCKETS });
  const httpsAgent = new https.Agent({ keepAlive: true });
  return {
    async post(requestPath, body, { headers }) {
      const cancel = new ExchangeCancel();
      const timer = setTimeout(
        () => cancel.cancel(new Error(`${requestPath}: no answer within ${TIMEOUT_MS} ms`)),
        TIMEOUT_MS,
      );
      try {
        const answer = await exchange({
          method: 'POST',
          baseUrl,
          path: requestPath,
          body,
          headers: { accept: 'application/json', ...headers },
          cancel,
          httpAgent,
          httpsAgent,
        });
        if (answer.status < 200 || answer.status > 299) {
          throw new Error(`${requestPath} answered ${answer.status}: ${JSON.stringify(answer.data)}`);
        }
        return answer;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

const erp = client(`${erpUrl}/api/v1/companies/FS-DEMO`);
const source = client(sourceUrl);

async function handle(rawBody, correlationId) {
  const report = JSON.parse(rawBody).data;
  const line = report.lines[0];
  const headers = { 'x-correlation-id': correlationId };
  const budget = await erp.post(
    '/budget-availability',
    {
      costCenter: line.dimensions.costCenter,
      glAccount: line.dimensions.glAccount,
      period: line.date.slice(0, 7),
      amount: report.total,
    },
    { headers },
  );
  if (budget.data.status !== 'within') throw new Error(`over budget: ${JSON.stringify(budget.data)}`);
  const posting = await erp.post(
    '/postings',
    {
      kind: 'journal',
      externalReference: `${sourceSystem}:${report.reportId}`,
      employeeId: report.employeeId,
      postingDate: report.submittedAt.slice(0, 10),
      currency: report.total.currency,
      lines: report.lines.map((l) => ({
        lineId: l.lineId,
        amount: l.amount,
        dimensions: l.dimensions,
        description: l.description,
      })),
    },
    { headers },
  );
  await source.post(
    '/api/v1/writebacks',
    {
      system: sourceSystem,
      documentId: report.reportId,
      status: 'posted',
      erpRef: {
        system: 'sandbox',
        dialect: 'sandbox',
        documentType: 'journal',
        documentId: posting.data.id,
        number: posting.data.number,
      },
      correlationId,
    },
    { headers },
  );
  return posting.data.number;
}

const server = http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (chunk) => chunks.push(chunk));
  req.on('end', () => {
    handle(Buffer.concat(chunks).toString('utf8'), req.headers['x-correlation-id']).then(
      (number) => {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ posted: number }));
      },
      (err) => {
        res.writeHead(502, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: err.message }));
      },
    );
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, '127.0.0.1', () => console.log(`listening http://127.0.0.1:${server.address().port}`));
