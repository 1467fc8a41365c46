/**
 * 2. intake: signed webhook -> signature verified, document validated, de-duplicated, committed durably,
 * 202 (finance-event-in with the example's settings and nothing behind it) vs a core `http in` ->
 * `http response` echo of the same requests. events/s = answered events / wall time of a batch sent by
 * autocannon over `connections` connections; p99 = autocannon's answer latency; CPU ms per event = CPU time
 * of the Node-RED process during the batch / events. Medians over `rounds`.
 */
'use strict';
const { startNodeRed, cpuTimeMs } = require('../lib/processes');
const { expenseEvents, runTag } = require('../lib/events');
const { PATHS, intakeFlows } = require('../lib/flows');
const { sendEvents } = require('../lib/load');
const { median, round } = require('../lib/measure');

const VARIANTS = { pack: { path: PATHS.intake, ok: 202 }, echo: { path: PATHS.echo, ok: 200 } };

async function intake(config, fail) {
  const { flows, credentials } = intakeFlows();
  const nodeRed = await startNodeRed({ flows, credentials });
  const { events, connections, rounds, warmup } = config.intake;
  const batch = async (variant, count) => {
    const { path, ok } = VARIANTS[variant];
    const cpuBefore = cpuTimeMs(nodeRed.pid);
    const sent = await sendEvents({
      url: nodeRed.url,
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
  for (const variant of Object.keys(VARIANTS)) await batch(variant, warmup);
  const measured = { pack: [], echo: [] };
  for (let roundIndex = 0; roundIndex < rounds; roundIndex += 1) {
    const order = roundIndex % 2 === 0 ? ['pack', 'echo'] : ['echo', 'pack'];
    for (const variant of order) measured[variant].push(await batch(variant, events));
  }
  const rate = (variant) => median(measured[variant].map((run) => run.eventsPerSec));
  const cpu = (variant) => median(measured[variant].map((run) => run.cpuMsPerEvent));
  const p99 = (variant) => median(measured[variant].map((run) => run.latency.p99));
  return {
    eventsPerSec: round(rate('pack')),
    coreEchoEventsPerSec: round(rate('echo')),
    vsCoreEcho: round(rate('pack') / rate('echo'), 2),
    p99Ms: p99('pack'),
    coreEchoP99Ms: p99('echo'),
    cpuMsPerEvent: round(cpu('pack'), 3),
    coreEchoCpuMsPerEvent: round(cpu('echo'), 3),
    vsCoreEchoByCpu: round(cpu('echo') / cpu('pack'), 2),
    eventsPerCpuSecond: round(1000 / cpu('pack')),
    rounds: measured,
    settings: { events, connections, rounds, warmup },
  };
}

module.exports = { intake };
