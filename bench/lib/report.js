/**
 * The targets of the "Benchmarks" issue, checked against a run's results, and the table printed at the end.
 * A target is met, missed, or not measured (its scenario did not run or failed).
 */
'use strict';

const get = (results, dotted) =>
  dotted.split('.').reduce((value, key) => (value == null ? undefined : value[key]), results);

/** [name, measured value, comparison, target value] */
const TARGETS = [
  ['pipeline >= 2x the core-node flow', 'pipeline.vsCoreFlow', '>=', 2],
  ['pipeline >= 0.7x the bare client', 'pipeline.vsBareClient', '>=', 0.7],
  ['intake >= 3,000 events/s', 'intake.eventsPerSec', '>=', 3000],
  ['mapping >= 20x the JSONata change node', 'mapping.vsJsonata', '>=', 20],
  ['burst peak RSS <= 300 MB', 'burst.peakRssMb', '<=', 300],
  ['burst drain >= 0.95 of the limit', 'burst.drainRateVsLimit', '>=', 0.95],
  ['recovery <= 5 s', 'recovery.seconds', '<=', 5],
  ['recovery: zero lost', 'recovery.lost', '<=', 0],
  ['recovery: zero duplicated', 'recovery.duplicated', '<=', 0],
];

function targetsOf(results) {
  return TARGETS.map(([name, field, comparison, target]) => {
    const value = get(results, field);
    const measured = typeof value === 'number';
    const met = measured && (comparison === '>=' ? value >= target : value <= target);
    return {
      target: name,
      field,
      value: measured ? value : null,
      status: measured ? (met ? 'met' : 'missed') : 'not measured',
    };
  });
}

function fmt(value, unit = '') {
  if (value === null || value === undefined) return '-';
  if (typeof value !== 'number') return String(value);
  const text = Math.abs(value) >= 100 ? Math.round(value).toLocaleString('en-US') : String(Number(value.toFixed(2)));
  return `${text}${unit}`;
}

function table(rows) {
  const widths = rows[0].map((_, column) => Math.max(...rows.map((row) => String(row[column]).length)));
  return rows.map((row) => row.map((cell, column) => String(cell).padEnd(widths[column])).join('  ')).join('\n');
}

function printReport(results) {
  const r = (field, unit) => fmt(get(results, field), unit);
  const rows = [['scenario', 'measure', 'pack', 'baseline', 'ratio']];
  if (results.pipeline && !results.pipeline.error) {
    rows.push([
      'pipeline',
      'events/s (pack vs core flow)',
      r('pipeline.eventsPerSec'),
      r('pipeline.coreFlowEventsPerSec'),
      r('pipeline.vsCoreFlow', 'x'),
    ]);
    rows.push([
      '',
      'events/s (pack vs bare client)',
      r('pipeline.eventsPerSec'),
      r('pipeline.bareClientEventsPerSec'),
      r('pipeline.vsBareClient', 'x'),
    ]);
    rows.push([
      '',
      `send->write-back p50 at ${r('pipeline.pacedRate')}/s (core, bare)`,
      r('pipeline.p50Ms', ' ms'),
      `${r('pipeline.coreFlowP50Ms', ' ms')}, ${r('pipeline.bareClientP50Ms', ' ms')}`,
      '',
    ]);
    rows.push([
      '',
      'send->write-back p99 (core, bare)',
      r('pipeline.p99Ms', ' ms'),
      `${r('pipeline.coreFlowP99Ms', ' ms')}, ${r('pipeline.bareClientP99Ms', ' ms')}`,
      '',
    ]);
    rows.push([
      '',
      'CPU ms per event (vs core flow)',
      r('pipeline.cpuMsPerEvent'),
      r('pipeline.coreFlowCpuMsPerEvent'),
      r('pipeline.vsCoreFlowByCpu', 'x'),
    ]);
    rows.push([
      '',
      'CPU ms per event (vs bare client)',
      r('pipeline.cpuMsPerEvent'),
      r('pipeline.bareClientCpuMsPerEvent'),
      r('pipeline.vsBareClientByCpu', 'x'),
    ]);
  }
  if (results.intake && !results.intake.error) {
    rows.push([
      'intake',
      'events/s, own port (vs core echo)',
      r('intake.eventsPerSec'),
      r('intake.coreEchoEventsPerSec'),
      r('intake.vsCoreEcho', 'x'),
    ]);
    rows.push([
      '',
      "events/s on Node-RED's server (vs core echo)",
      r('intake.nodeRedServerEventsPerSec'),
      r('intake.coreEchoEventsPerSec'),
      r('intake.nodeRedServerVsCoreEcho', 'x'),
    ]);
    rows.push(['', 'answer p99, own port', r('intake.p99Ms', ' ms'), r('intake.coreEchoP99Ms', ' ms'), '']);
    rows.push(['', "answer p99, Node-RED's server", r('intake.nodeRedServerP99Ms', ' ms'), '', '']);
    rows.push([
      '',
      'CPU ms per event, own port',
      r('intake.cpuMsPerEvent'),
      r('intake.coreEchoCpuMsPerEvent'),
      r('intake.vsCoreEchoByCpu', 'x'),
    ]);
    rows.push(['', "CPU ms per event, Node-RED's server", r('intake.nodeRedServerCpuMsPerEvent'), '', '']);
    rows.push(['', 'events per CPU second (one core)', r('intake.eventsPerCpuSecond'), '', '']);
  }
  if (results.mapping && !results.mapping.error) {
    rows.push([
      'mapping',
      'messages/s (vs JSONata change)',
      r('mapping.opsPerSec'),
      r('mapping.jsonataOpsPerSec'),
      r('mapping.vsJsonata', 'x'),
    ]);
    const [lowest, highest] = results.mapping.vsJsonataRange ?? [];
    rows.push(['', 'ratio per round: lowest / highest', '', '', `${lowest}x / ${highest}x`]);
    rows.push([
      '',
      'harness ceiling: no-op change node',
      r('mapping.harnessCeilingOpsPerSec'),
      r('mapping.jsonataOpsPerSec'),
      r('mapping.ceilingVsJsonata', 'x'),
    ]);
    rows.push([
      '',
      'CPU us per message (vs JSONata)',
      r('mapping.cpuUsPerMessage'),
      r('mapping.jsonataCpuUsPerMessage'),
      r('mapping.vsJsonataByCpu', 'x'),
    ]);
    rows.push([
      '',
      'harness alone: CPU us per message',
      r('mapping.harnessCpuUsPerMessage'),
      r('mapping.jsonataCpuUsPerMessage'),
      r('mapping.ceilingVsJsonataByCpu', 'x'),
    ]);
  }
  if (results.burst && !results.burst.error) {
    rows.push(['burst', `${r('burst.eventsAccepted')} events accepted/s`, r('burst.acceptedPerSec'), '', '']);
    rows.push(['', 'peak RSS', r('burst.peakRssMb', ' MB'), '', '']);
    rows.push([
      '',
      'of which own (anon) / store file pages',
      `${r('burst.peakAnonRssMb', ' MB')} / ${r('burst.peakFileRssMb', ' MB')}`,
      '',
      '',
    ]);
    rows.push([
      '',
      'drain: ERP requests/s (vs limit 200)',
      r('burst.drainRequestsPerSec'),
      '200',
      r('burst.drainRateVsLimit', 'x'),
    ]);
    rows.push(['', '429s answered by the ERP', r('burst.rateLimited429'), '', '']);
  }
  if (results.recovery && !results.recovery.error) {
    rows.push([
      'recovery',
      `${r('recovery.pendingAtKill')} pending at kill -9: s to all done`,
      r('recovery.seconds', ' s'),
      '',
      '',
    ]);
    rows.push(['', 's to 99 % done (before the in-flight tail)', r('recovery.secondsTo99Percent', ' s'), '', '']);
    rows.push(['', 'events/s while recovering', r('recovery.eventsPerSecond'), '', '']);
    rows.push(['', 'lost / duplicated', `${r('recovery.lost')} / ${r('recovery.duplicated')}`, '', '']);
  }
  console.log(
    `\n${results.mode} run, ${results.timestamp}, Node ${results.node}, Node-RED ${results.nodeRed} ` +
      `(NODE_OPTIONS ${results.nodeRedNodeOptions || 'none'}), ` +
      `${results.machine.cpus} x ${results.machine.cpu}, load ${results.machine.loadAverageAtStart.join(' ')} -> ${results.machine.loadAverageAtEnd.join(' ')}\n`,
  );
  console.log(table(rows));
  console.log('\ntargets');
  console.log(
    table(
      results.targets.map((t) => [
        t.status === 'met' ? 'met   ' : t.status === 'missed' ? 'MISSED' : 'n/a   ',
        t.target,
        fmt(t.value),
      ]),
    ),
  );
}

module.exports = { targetsOf, printReport };
