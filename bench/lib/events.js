/**
 * Webhook bodies for the benchmarks, signed when they are sent (`headersAt`) so their signature timestamps
 * are fresh however long a burst takes (the intake allows 5 minutes of age). Each event is a `sampleEvent` (CloudEvents, generic HMAC,
 * demo secret) reshaped to cost exactly what the baselines do: ONE expense line charged to a cost center and
 * GL account that has a budget in the sandbox ERP, no project, dated today. Then every event makes the pack
 * ask the ERP once for the budget and post once, the two ERP calls the core flow and the bare client make.
 * Ids are unique per run and scenario, so de-duplication never short-circuits an event.
 */
'use strict';
const path = require('node:path');

const dist = path.join(__dirname, '..', '..', 'dist', 'lib');
const { sampleEvent } = require(path.join(dist, 'sources', 'sampleEvents.js'));
const { signPayload } = require(path.join(dist, 'sources', 'signatures.js'));
const { DEMO_WEBHOOK_SECRET } = require(path.join(__dirname, '..', '..', 'flows', 'deployable-flows.js'));

/** Cost center / GL account pairs with a monthly budget in the sandbox seed (lib/sandbox/seed.ts). */
const BUDGETED = [
  ['CC-100', '6300'],
  ['CC-100', '6200'],
  ['CC-100', '6000'],
  ['CC-200', '6000'],
  ['CC-200', '6010'],
  ['CC-200', '6020'],
  ['CC-300', '6400'],
  ['CC-300', '6010'],
  ['CC-300', '6000'],
  ['CC-400', '6200'],
  ['CC-400', '6500'],
  ['CC-600', '6500'],
  ['CC-600', '6000'],
];

/** The source system and document id the pack writes back for an event, and the baselines too. */
const SOURCE_SYSTEM = 'cloudevents:urn:finance-sync:samples';

/** A tag that makes this run's ids unique, also against a store kept from an earlier run. */
function runTag() {
  return Date.now().toString(36);
}

/**
 * `count` events, ids `ER-<tag>-<index>`. Each has `rawBody` (Buffer), `headersAt(ms)` (content type and the
 * signature for that send time), `reportId`, and `report` (the canonical document it carries).
 */
function expenseEvents(count, { tag, secret = DEMO_WEBHOOK_SECRET, now = Date.now() } = {}) {
  const today = new Date(now).toISOString().slice(0, 10);
  const events = new Array(count);
  for (let index = 0; index < count; index += 1) {
    const sample = sampleEvent({ profile: 'cloudevents', scheme: 'none', seed: index + 1, now: () => now });
    const body = sample.body;
    const report = body.data;
    const reportId = `ER-${tag}-${index}`;
    const [costCenter, glAccount] = BUDGETED[index % BUDGETED.length];
    const line = {
      ...report.lines[0],
      lineId: `${reportId}-1`,
      date: today,
      dimensions: { costCenter, glAccount },
    };
    report.reportId = reportId;
    report.sourceRef = { ...report.sourceRef, id: reportId };
    report.lines = [line];
    report.total = { ...line.amount };
    body.id = `evt-${reportId}`;
    body.subject = reportId;
    const rawBody = Buffer.from(JSON.stringify(body), 'utf8');
    events[index] = {
      reportId,
      report,
      rawBody,
      headersAt: (sentAt) => ({
        'content-type': 'application/cloudevents+json',
        ...signPayload('generic', rawBody, secret, { timestamp: Math.floor(sentAt / 1000) }),
      }),
    };
  }
  return events;
}

module.exports = { expenseEvents, runTag, SOURCE_SYSTEM, DEMO_WEBHOOK_SECRET };
