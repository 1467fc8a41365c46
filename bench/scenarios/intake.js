/**
 * 2. intake: signed webhook -> signature verified, document validated, de-duplicated, committed durably,
 * 202 (finance-event-in with the example's settings and nothing behind it) vs a core `http in` ->
 * `http response` echo of the same requests. The pack's endpoint is measured twice: on a port of its own
 * (the headline figure, `eventsPerSec`) and on Node-RED's web server, where Express and Node-RED's
 * middleware run first (`nodeRedServerEventsPerSec`), as the core echo does. events/s = answered events /
 * wall time of a batch sent by autocannon over `connections` connections; p99 = autocannon's answer latency;
 * CPU ms per event = CPU time of the Node-RED process during the batch / events. Medians over `rounds`.
 */
'use strict';
const { startNodeRed, cpuTimeMs, freePort } = require('../lib/processes');
const { expenseEvents, runTag } = require('../lib/events');
const { PATHS, intakeFlows } = require('../lib/flows');
const { sendEvents } = require('../lib/load');
const { median, medianRatio, round } = require('../lib/measure');

const VARIANTS = {
  own: { path: PATHS.intake, ok: 202 },
  nodeRed: { path: PATHS.intake, ok: 202 },
  echo: { path: PATHS.echo, ok: 200 },
};

async function intake(config, fail) {
  const ownPort = await freePort();
  const { flows, credentials } = intakeFlows({ ownPort });
  const nodeRed = await startNodeRed({ flows, credentials });
  const urls = { own: `http://127.0.0.1:${ownPort}`, nodeRed: nodeRed.url, echo: nodeRed.url };
  const { events, connections, rounds, warmup } = config.intake;
  const batch = async (variant, count) => {
    const { path, ok } = VARIANTS[variant];
    const cpuBefore = cpuTimeMs(nodeRed.pid);
    const sent = await sendEvents({
      url: urls[variant],
      path,
      events: expenseEvents(count, { tag: `${runTag()}i${variant[0]}` }),
      connections,
      okStatuses: [ok],
    });
    const refused = count - sent.accepted.length;
    if (refused > 0)
      fail(`intake ${variant}: ${refused} of ${count} events not answered ${ok} (${JSON.stringify(sent.statuses)})`);
    const cpuMsPerEvent = (cpuTimeMs(nodeRed.pid) - cpuBefore) / sent.accepted.length;
    return { eventsPerSec: sent.accepted.length / sent.durationS, latency: sent.latency, cpuMsPerEvent };
  };
  const names = Object.keys(VARIANTS);
  for (const variant of names) await batch(variant, warmup);
  const measured = Object.fromEntries(names.map((variant) => [variant, []]));
  for (let roundIndex = 0; roundIndex < rounds; roundIndex += 1) {
    // The order rotates: the host is shared and its load varies.
    const order = names.map((_, i) => names[(i + roundIndex) % names.length]);
    for (const variant of order) measured[variant].push(await batch(variant, events));
  }
  const rates = (variant) => measured[variant].map((run) => run.eventsPerSec);
  const cpus = (variant) => measured[variant].map((run) => run.cpuMsPerEvent);
  const rate = (variant) => median(rates(variant));
  const cpu = (variant) => median(cpus(variant));
  const p99 = (variant) => median(measured[variant].map((run) => run.latency.p99));
  return {
    eventsPerSec: round(rate('own')),
    coreEchoEventsPerSec: round(rate('echo')),
    vsCoreEcho: round(medianRatio(rates('own'), rates('echo')), 2),
    nodeRedServerEventsPerSec: round(rate('nodeRed')),
    nodeRedServerVsCoreEcho: round(medianRatio(rates('nodeRed'), rates('echo')), 2),
    p99Ms: p99('own'),
    nodeRedServerP99Ms: p99('nodeRed'),
    coreEchoP99Ms: p99('echo'),
    cpuMsPerEvent: round(cpu('own'), 3),
    nodeRedServerCpuMsPerEvent: round(cpu('nodeRed'), 3),
    coreEchoCpuMsPerEvent: round(cpu('echo'), 3),
    vsCoreEchoByCpu: round(medianRatio(cpus('echo'), cpus('own')), 2),
    eventsPerCpuSecond: round(1000 / cpu('own')),
    rounds: measured,
    settings: { events, connections, rounds, warmup, ownPort: 'free loopback port' },
  };
}

module.exports = { intake };
