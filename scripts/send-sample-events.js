#!/usr/bin/env node
/**
 * Sends signed sample expense reports (CloudEvents with a canonical ExpenseReport, generic HMAC signature) to
 * the running demo, and prints what the intake answered.
 *
 *   node scripts/send-sample-events.js                 # 5 events to http://127.0.0.1:1880/finance/expenses
 *   node scripts/send-sample-events.js --count 50 --seed 7 --url http://127.0.0.1:1880/finance/expenses
 *
 * A seed picks the reports and their event ids; they are submitted now. So the same --seed a second time sends
 * other events (a later submittedAt) under ids already used, which the intake refuses with 409 EVENT_ID_REUSED:
 * pick another seed (without --seed one comes from the clock).
 *
 * The secret defaults to the demo secret that `npm start` deploys (FINANCE_WEBHOOK_SECRET to change it).
 * Run `npm run build` first (npm start does).
 */
'use strict';
const path = require('node:path');
const { sampleEvent } = require(path.join(__dirname, '..', 'dist', 'lib', 'sources', 'sampleEvents.js'));
const { DEMO_WEBHOOK_SECRET } = require(path.join(__dirname, '..', 'flows', 'deployable-flows.js'));

function option(name, fallback) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 && process.argv[index + 1] ? process.argv[index + 1] : fallback;
}

async function main() {
  const url = option('url', `http://127.0.0.1:${process.env.PORT || 1880}/finance/expenses`);
  const count = Number(option('count', '5'));
  const seed = Number(option('seed', String(Date.now() % 100000)));
  const secret = process.env.FINANCE_WEBHOOK_SECRET || DEMO_WEBHOOK_SECRET;
  for (let i = 0; i < count; i += 1) {
    const event = sampleEvent({ profile: 'cloudevents', scheme: 'generic', seed: seed + i, secret });
    const response = await fetch(url, { method: 'POST', headers: event.headers, body: event.rawBody });
    const answer = await response.text();
    const report = event.expected;
    console.log(
      `${response.status} ${report.reportId} ${report.employeeId} ${report.total.amount} ${report.total.currency} -> ${answer}`,
    );
  }
}

main().catch((err) => {
  console.error(`Could not send the events: ${err.message}. Is \`npm start\` running?`);
  process.exit(1);
});
