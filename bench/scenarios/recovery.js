/**
 * 5. recovery: the example pipeline accepts `events` events while the ERP answers slowly (so they are pending:
 * stored and acknowledged, not written back), then Node-RED is killed with SIGKILL, the ERP is made fast
 * again and Node-RED is started on the same user directory (flows, credentials and store). Measured: seconds
 * from the restart (the new process being spawned) until every accepted event is written back to the source,
 * and until 99 % are,
 * and, at that point or at `deadlineSeconds` after the restart, accepted events not written back (`lost`: a
 * recovery slower than the deadline counts as loss here, the deadline is in the results) and events posted or
 * written back more than once (`duplicated`).
 *
 * The last events to finish are those whose ERP write was in flight when the process was killed (up to the
 * ERP connection's concurrency, 16 in the example). The ledger cannot tell whether such a write reached the
 * ERP, so the restarted process looks it up by reference before writing again, and only once the killed
 * process's heartbeat in the store has lapsed (lib/posting/attempt-liveness.ts: 10 s after its last renewal
 * plus twice the longest request timeout of its clients, at least 30 s; 70 s with the example's 30 s timeout): a
 * request sent just before the kill may still be inside the ERP (here it is: the ERP answers in 5 s), and a
 * lookup before it lands would write the document twice. So `seconds` includes the rest of that heartbeat
 * whenever a write was in flight, and `secondsTo99Percent` shows the rest of the recovery.
 */
'use strict';
const { startSandbox, startNodeRed } = require('../lib/processes');
const { expenseEvents, runTag } = require('../lib/events');
const { PATHS, packPipeline } = require('../lib/flows');
const { sendEvents } = require('../lib/load');
const { recorder, steadyRate, timeToReach, waitUntil, round } = require('../lib/measure');

/** ERP latency while the events arrive: with the example's 16 connections, about 3 ERP calls a second. */
const SLOW_ERP_MS = 5000;

async function recovery(config, fail) {
  const { events: count, connections, deadlineSeconds } = config.recovery;
  const erp = await startSandbox({ roomyBudgets: true });
  const source = await startSandbox();
  const { flows, credentials } = packPipeline({ erpUrl: erp.url, sourceUrl: source.url });
  const first = await startNodeRed({ flows, credentials });
  await erp.faults({ latencyMs: SLOW_ERP_MS });
  const events = expenseEvents(count, { tag: `${runTag()}r` });
  const sent = await sendEvents({ url: first.url, path: PATHS.pack, events, connections, okStatuses: [202] });
  if (sent.accepted.length < count)
    fail(`recovery: only ${sent.accepted.length} of ${count} events were accepted (${JSON.stringify(sent.statuses)})`);
  const accepted = new Set(sent.accepted.map((index) => events[index].reportId));
  const doneBeforeKill = (await source.stats()).writebacks;

  await first.stop('SIGKILL');
  await erp.faults({});
  const restartedAt = Date.now();
  const progress = recorder(async () => (await source.stats()).writebacks - doneBeforeKill);
  const second = await startNodeRed({ userDir: first.userDir });
  const answeringAfterS = (Date.now() - restartedAt) / 1000;
  const finished = await waitUntil(
    async () => (await source.stats()).writebacks,
    accepted.size,
    restartedAt + deadlineSeconds * 1000,
    50,
  );
  const points = await progress.stop();
  const pending = accepted.size - doneBeforeKill;
  const ninetyNine = timeToReach(points, 0.99 * pending);
  const final = await source.stats({ duplicates: true });
  const erpFinal = await erp.stats({ duplicates: true });
  const writtenBack = new Set(final.writtenBack);
  const lost = [...accepted].filter((reportId) => !writtenBack.has(reportId)).length;
  const duplicated = final.duplicateWritebacks + erpFinal.duplicatePostings;
  if (lost > 0)
    fail(
      `recovery: ${lost} of ${accepted.size} accepted events were not written back within ${deadlineSeconds} s of the restart`,
    );
  if (duplicated > 0)
    fail(
      `recovery: ${erpFinal.duplicatePostings} postings and ${final.duplicateWritebacks} write-backs were duplicated`,
    );
  await second.stop();
  return {
    seconds: finished === null ? null : round((finished - restartedAt) / 1000, 2),
    nodeRedAnsweringAfterSeconds: round(answeringAfterS, 2),
    // The bulk apart from the tail: the events whose ERP write was in flight at the kill finish last, because
    // their lookup waits until the killed process's heartbeat lapses (see the scenario's comment).
    secondsTo99Percent: ninetyNine === null ? null : round((ninetyNine - restartedAt) / 1000, 2),
    eventsPerSecond: round(steadyRate(points, 0, pending)),
    pendingAtKill: pending,
    accepted: accepted.size,
    writtenBackByDeadline: accepted.size - lost,
    lost,
    duplicated,
    duplicateWritesPrevented: erpFinal.counters.duplicateWritesPrevented + final.counters.duplicateWritesPrevented,
    settings: { events: count, connections, deadlineSeconds, slowErpMs: SLOW_ERP_MS },
  };
}

module.exports = { recovery };
