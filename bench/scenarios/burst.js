/**
 * 4. burst: `events` signed events sent as fast as autocannon can (over `connections` connections) to the
 * example pipeline whose ERP (the sandbox) allows 200 requests/s, answering 429 beyond that, and whose ERP
 * connection is configured with that limit. Measured: how fast the events were accepted, the peak resident
 * memory of the Node-RED process (VmHWM: its high-water mark since it started, burst and drain included; also
 * split, from samples, into its own memory (RssAnon) and the mapped pages of the store's file (RssFile)), and
 * during `drainSeconds` after the last event was accepted, the ERP requests served per second as a fraction
 * of the limit, and the 429s the ERP answered over the whole scenario.
 */
'use strict';
const { startSandbox, startNodeRed, memoryOf, sleep } = require('../lib/processes');
const { expenseEvents, runTag } = require('../lib/events');
const { PATHS, packPipeline } = require('../lib/flows');
const { sendEvents } = require('../lib/load');
const { recorder, round } = require('../lib/measure');

const RATE_LIMIT = 200;

async function burst(config, fail) {
  const { events: count, connections, drainSeconds } = config.burst;
  const erp = await startSandbox({ roomyBudgets: true });
  const source = await startSandbox();
  await erp.faults({ rateLimitPerSecond: RATE_LIMIT });
  const { flows, credentials } = packPipeline({ erpUrl: erp.url, sourceUrl: source.url, rateLimit: RATE_LIMIT });
  const nodeRed = await startNodeRed({ flows, credentials });
  const startRssMb = memoryOf(nodeRed.pid)?.rssMb;
  // Sampled as well as read at the end, so a process that dies of the burst still leaves its figure.
  const memory = recorder(() => memoryOf(nodeRed.pid)?.peakRssMb ?? 0, 500);
  // The same samples split: the process's own memory, and the mapped pages of the store's file.
  const anonMemory = recorder(() => memoryOf(nodeRed.pid)?.anonRssMb ?? 0, 500);
  const fileMemory = recorder(() => memoryOf(nodeRed.pid)?.fileRssMb ?? 0, 500);
  const events = expenseEvents(count, { tag: `${runTag()}u` });

  const sent = await sendEvents({
    url: nodeRed.url,
    path: PATHS.pack,
    events,
    connections,
    okStatuses: [202],
    timeoutS: 60,
  });
  const refused = count - sent.accepted.length;
  if (refused > 0)
    fail(
      `burst: ${refused} of ${count} events were not accepted (${JSON.stringify(sent.statuses)}, ${sent.errors} errors)`,
    );

  const before = await erp.stats();
  const writtenBefore = (await source.stats()).writebacks;
  const drainStarted = Date.now();
  await sleep(drainSeconds * 1000);
  const after = await erp.stats();
  const writtenAfter = (await source.stats()).writebacks;
  const drainS = (Date.now() - drainStarted) / 1000;
  if (nodeRed.child.exitCode !== null || nodeRed.child.signalCode !== null) {
    fail(
      `burst: Node-RED stopped during the burst (${nodeRed.child.signalCode ?? nodeRed.child.exitCode}):\n${nodeRed.output().slice(-2000)}`,
    );
  }
  const peakRssMb = Math.max(...(await memory.stop()).map(([, value]) => value));
  const peakAnonRssMb = Math.max(...(await anonMemory.stop()).map(([, value]) => value));
  const peakFileRssMb = Math.max(...(await fileMemory.stop()).map(([, value]) => value));
  const limited = after.counters.rateLimited - before.counters.rateLimited;
  const served = after.counters.requests - before.counters.requests - limited;
  const drainRate = served / drainS;
  return {
    eventsAccepted: sent.accepted.length,
    acceptedPerSec: round(sent.accepted.length / sent.durationS),
    acceptP99Ms: sent.latency.p99,
    peakRssMb: round(peakRssMb),
    peakAnonRssMb: round(peakAnonRssMb),
    peakFileRssMb: round(peakFileRssMb),
    idleRssMb: round(startRssMb ?? null),
    drainRequestsPerSec: round(drainRate, 1),
    drainRateVsLimit: round(drainRate / RATE_LIMIT, 3),
    drainEventsPerSec: round((writtenAfter - writtenBefore) / drainS, 1),
    rateLimited429: after.counters.rateLimited,
    rateLimited429DuringDrain: limited,
    completedByEnd: writtenAfter,
    settings: { events: count, connections, drainSeconds, rateLimit: RATE_LIMIT },
  };
}

module.exports = { burst };
