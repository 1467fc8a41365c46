/**
 * 1. pipeline: the `Expense approval sync` example vs the core-node flow vs a bare Node.js process, each
 * making the same calls per event (budget availability and the posting on the ERP, the write-back to the
 * source), against the same two sandboxes, with the same load.
 *
 * What is measured, for each variant alike:
 * - events/s: events completed (written back to the source sandbox) per second at steady state, between the
 *   10 % and 90 % marks of a batch of `events` sent by autocannon over `connections` connections as fast as
 *   the variant answers. The core flow and the bare client answer after the write-back (closed loop); the pack
 *   answers 202 once the event is stored, so autocannon sends its batch sooner and the pack works it off.
 * - latency: time from an event's due time to its write-back arriving at the source sandbox (p50/p99), with
 *   all variants under the same open-loop load spread evenly over time (`pacedRate`, half the slowest
 *   variant's events/s; sendPaced in lib/load.js says why autocannon's rate limit is not used), so queueing
 *   in the batch phase does not count and waiting for a connection does.
 * - CPU ms per event: CPU time the variant's process (Node-RED, or the bare client) used during its batch,
 *   divided by the events; it depends less on what else runs on the host than the rates do, so the ratios
 *   are also given by CPU (`vs...ByCpu`: the baseline's CPU per event / the pack's).
 * The variants run in turn, `rounds` times with the order rotated (the host is shared and its load varies);
 * the figures are the medians over the rounds, and each ratio is the median of the ratios within the rounds
 * (measure.js, medianRatio).
 */
'use strict';
const { startSandbox, startNodeRed, startNodeScript, waitFor, cpuTimeMs } = require('../lib/processes');
const { expenseEvents, runTag, SOURCE_SYSTEM } = require('../lib/events');
const { PATHS, packPipeline, corePipeline } = require('../lib/flows');
const { sendEvents, sendPaced } = require('../lib/load');
const {
  recorder,
  steadyRate,
  endToEndLatencies,
  summary,
  waitUntil,
  median,
  medianRatio,
  round,
} = require('../lib/measure');

const VARIANTS = ['pack', 'core', 'bare'];
const OK_STATUS = { pack: 202, core: 200, bare: 200 };

async function startBareClient(erpUrl, sourceUrl) {
  const bare = startNodeScript(require.resolve('../lib/bare-client.js'), [erpUrl, sourceUrl, SOURCE_SYSTEM]);
  const url = await waitFor('the bare client', async () => {
    if (bare.child.exitCode !== null) throw new Error(`the bare client exited: ${bare.output()}`);
    return /listening (\S+)/.exec(bare.output())?.[1];
  });
  return { ...bare, url };
}

/** Sends a batch and waits until every accepted event is written back; returns what was measured. */
async function runBatch({ variant, target, pid, source, count, connections, overallRate, timeoutS, fail }) {
  const events = expenseEvents(count, { tag: `${runTag()}${variant[0]}` });
  const before = await source.stats();
  const cpuBefore = cpuTimeMs(pid);
  const completed = recorder(async () => (await source.stats()).writebacks - before.writebacks);
  const load = {
    url: target,
    path: PATHS[variant] ?? '/',
    events,
    connections,
    okStatuses: [OK_STATUS[variant]],
  };
  const sent = overallRate ? await sendPaced({ ...load, rate: overallRate }) : await sendEvents(load);
  const refused = count - sent.accepted.length;
  if (refused > 0)
    fail(
      `${variant}: ${refused} of ${count} events were not answered ${OK_STATUS[variant]} (${JSON.stringify(sent.statuses)}, ${sent.errors} errors)`,
    );
  const finished = await waitUntil(
    async () => (await source.stats()).writebacks - before.writebacks,
    sent.accepted.length,
    Date.now() + timeoutS * 1000,
  );
  const points = await completed.stop();
  const cpuMs = cpuTimeMs(pid) - cpuBefore;
  if (finished === null) {
    const done = points[points.length - 1][1];
    fail(`${variant}: only ${done} of ${sent.accepted.length} accepted events were written back within ${timeoutS} s`);
  }
  const arrivals = (await source.stats({ arrivalsFrom: before.writebacks })).arrivals;
  return {
    eventsPerSec: steadyRate(points, 0, sent.accepted.length),
    answer: sent.latency,
    endToEnd: summary(endToEndLatencies(arrivals)),
    seconds: finished === null ? null : (finished - sent.startedAt) / 1000,
    cpuMsPerEvent: cpuMs / sent.accepted.length,
  };
}

async function pipeline(config, fail) {
  const erp = await startSandbox({ roomyBudgets: true });
  const source = await startSandbox();
  const pack = packPipeline({ erpUrl: erp.url, sourceUrl: source.url });
  const nodeRed = await startNodeRed({
    flows: [...pack.flows, ...corePipeline({ erpUrl: erp.url, sourceUrl: source.url })],
    credentials: pack.credentials,
  });
  const bare = await startBareClient(erp.url, source.url);
  const targets = { pack: nodeRed.url, core: nodeRed.url, bare: bare.url };
  const pids = { pack: nodeRed.pid, core: nodeRed.pid, bare: bare.pid };
  const { events, connections, rounds, warmup, pacedSeconds } = config.pipeline;
  // Generous (5 events/s): a run on a busy machine must not report a slow pipeline as lost events; a healthy
  // batch ends as soon as its last write-back arrives.
  const timeoutS = 60 + events / 5;
  const batch = (variant, count, extra = {}) =>
    runBatch({
      variant,
      target: targets[variant],
      pid: pids[variant],
      source,
      count,
      connections,
      timeoutS,
      fail,
      ...extra,
    });

  for (const variant of VARIANTS) await batch(variant, warmup);
  const measured = Object.fromEntries(VARIANTS.map((variant) => [variant, []]));
  for (let roundIndex = 0; roundIndex < rounds; roundIndex += 1) {
    const order = VARIANTS.map((_, i) => VARIANTS[(i + roundIndex) % VARIANTS.length]);
    for (const variant of order) measured[variant].push(await batch(variant, events));
  }
  const rates = (variant) => measured[variant].map((run) => run.eventsPerSec);
  const cpus = (variant) => measured[variant].map((run) => run.cpuMsPerEvent);
  const rate = (variant) => median(rates(variant));
  const cpu = (variant) => median(cpus(variant));

  // Latency at equal load: half the slowest variant's rate, so no variant queues.
  const pacedRate = Math.max(10, Math.floor(Math.min(...VARIANTS.map(rate)) / 2));
  const paced = {};
  for (const variant of VARIANTS) {
    paced[variant] = await batch(variant, pacedRate * pacedSeconds, { overallRate: pacedRate });
  }

  const final = await source.stats({ duplicates: true });
  const erpFinal = await erp.stats({ duplicates: true });
  if (final.duplicateWritebacks > 0 || erpFinal.duplicatePostings > 0) {
    fail(
      `pipeline: ${erpFinal.duplicatePostings} duplicated postings, ${final.duplicateWritebacks} duplicated write-backs`,
    );
  }

  const result = {
    eventsPerSec: round(rate('pack')),
    coreFlowEventsPerSec: round(rate('core')),
    bareClientEventsPerSec: round(rate('bare')),
    vsCoreFlow: round(medianRatio(rates('pack'), rates('core')), 2),
    vsBareClient: round(medianRatio(rates('pack'), rates('bare')), 2),
    p50Ms: paced.pack.endToEnd.p50,
    p99Ms: paced.pack.endToEnd.p99,
    coreFlowP50Ms: paced.core.endToEnd.p50,
    coreFlowP99Ms: paced.core.endToEnd.p99,
    bareClientP50Ms: paced.bare.endToEnd.p50,
    bareClientP99Ms: paced.bare.endToEnd.p99,
    pacedRate,
    cpuMsPerEvent: round(cpu('pack'), 2),
    coreFlowCpuMsPerEvent: round(cpu('core'), 2),
    bareClientCpuMsPerEvent: round(cpu('bare'), 2),
    vsCoreFlowByCpu: round(medianRatio(cpus('core'), cpus('pack')), 2),
    vsBareClientByCpu: round(medianRatio(cpus('bare'), cpus('pack')), 2),
    webhookAnswerP99Ms: median(measured.pack.map((run) => run.answer.p99)),
    rounds: measured,
    paced,
    erpCallsPerEvent: round((erpFinal.counters.requests - 0) / final.writebacks, 2),
    settings: { events, connections, rounds, warmup, pacedSeconds },
  };
  return result;
}

module.exports = { pipeline, runBatch, startBareClient };
