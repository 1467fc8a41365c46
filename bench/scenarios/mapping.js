/**
 * 3. mapping: finance-map with the built-in `concur` profile (maps, normalises the state, validates against the
 * canonical schema and the money rules) vs a core `change` node with a JSONata expression that produces the
 * same canonical document (bench/lib/concur-jsonata.js; no validation). Measured in-process in one Node-RED:
 * a driver keeps `window` messages in flight through the node for `seconds`; messages/s = mapped messages /
 * time. Both variants map the same 100 sample Concur reports and share the driver and counter, which cost
 * the same for both; the same harness around a change node that maps nothing gives the most any mapping node
 * can show (the ceiling of the ratio). Before measuring, the two mappings must agree on every sample, here and
 * inside Node-RED. The Node-RED process's CPU time around each run gives the CPU per message of each variant, which
 * a shared machine disturbs less than the rates; pack minus no-op is what finance-map itself costs.
 *
 * Many short rounds, each running the three variants back to back (in turn-about order), and the ratios taken
 * per round, then their median: the machines this runs on change speed for tens of seconds at a time (the no-op
 * harness alone was seen at 3.4 and 5.6 us per message in one process, minutes apart), so variants measured in
 * long runs minutes apart compared one machine state with another (11x and 23x in consecutive runs of one tree).
 */
'use strict';
const path = require('node:path');
const { isDeepStrictEqual } = require('node:util');
const { startNodeRed, makeUserDir, cpuTimeMs } = require('../lib/processes');
const { PATHS, mappingFlows } = require('../lib/flows');
const { concurExpression } = require('../lib/concur-jsonata');
const { median, medianRatio, round } = require('../lib/measure');

const dist = path.join(__dirname, '..', '..', 'dist', 'lib');
const { sampleEvent, sampleProfileOptions } = require(path.join(dist, 'sources', 'sampleEvents.js'));
const { getProfile } = require(path.join(dist, 'sources', 'profiles'));
const { mapWithProfile } = require(path.join(dist, 'mapping'));

const SAMPLES = 100;

function concurOptions() {
  const all = sampleProfileOptions();
  const { costCenterField, projectField, employeeIdField, glAccountByExpenseType, company } = all;
  return { costCenterField, projectField, employeeIdField, glAccountByExpenseType, company };
}

/** The sample reports as finance-map reads them: the report with its expenses in `expenses`. */
function concurSamples() {
  return Array.from({ length: SAMPLES }, (_, index) => {
    const { fetched } = sampleEvent({ profile: 'concur', seed: index + 1, secret: 'unused' });
    return { ...fetched.document, expenses: fetched.lines };
  });
}

/** The JSONata result as plain JSON (JSONata marks its sequences with extra properties). */
const plain = (value) => JSON.parse(JSON.stringify(value));

async function checkSameDocuments(samples, options, expression, fail) {
  const jsonata = require(require.resolve('@node-red/util/lib/jsonata', { paths: [require.resolve('node-red')] }));
  const compiled = jsonata(expression);
  const profile = getProfile('concur', options);
  let differ = 0;
  for (const payload of samples) {
    const byProfile = mapWithProfile(profile, payload, payload.expenses, { docType: 'ExpenseReport' });
    const byJsonata = plain(await compiled.evaluate({ payload }));
    if (!byProfile.valid || !isDeepStrictEqual(byProfile.document, byJsonata)) differ += 1;
  }
  if (differ > 0)
    fail(`mapping: the JSONata expression and the concur profile disagree on ${differ} of ${samples.length} samples`);
}

async function mapping(config, fail) {
  const options = concurOptions();
  const expression = concurExpression(options);
  const samples = concurSamples();
  await checkSameDocuments(samples, options, expression, fail);
  const nodeRed = await startNodeRed({
    userDir: makeUserDir({ benchNodes: true }),
    flows: mappingFlows({ profileOptions: options, expression }),
  });
  const { seconds, window, rounds, warmupSeconds } = config.mapping;
  const paths = { pack: PATHS.mappingPack, jsonata: PATHS.mappingJsonata, noop: PATHS.mappingNoop };
  const run = async (variant, runSeconds) => {
    const cpuBefore = cpuTimeMs(nodeRed.pid);
    const response = await fetch(`${nodeRed.url}${paths[variant]}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ samples, seconds: runSeconds, window }),
    });
    if (!response.ok) throw new Error(`mapping ${variant}: ${response.status} ${await response.text()}`);
    const answer = await response.json();
    if (answer.invalid > 0) fail(`mapping ${variant}: ${answer.invalid} of ${answer.count} documents were invalid`);
    return { ...answer, cpuUsPerMessage: ((cpuTimeMs(nodeRed.pid) - cpuBefore) * 1000) / answer.count };
  };
  const firsts = {};
  for (const variant of ['pack', 'jsonata', 'noop']) firsts[variant] = (await run(variant, warmupSeconds)).first;
  if (!isDeepStrictEqual(firsts.pack, firsts.jsonata))
    fail('mapping: finance-map and the change node produced different documents in Node-RED');
  const variants = ['pack', 'jsonata', 'noop'];
  const measured = { pack: [], jsonata: [], noop: [] };
  for (let roundIndex = 0; roundIndex < rounds; roundIndex += 1) {
    const order = variants.map((_, i) => variants[(i + roundIndex) % variants.length]);
    for (const variant of order) {
      const { count, seconds: took, cpuUsPerMessage } = await run(variant, seconds);
      measured[variant].push({ opsPerSec: count / took, count, cpuUsPerMessage: round(cpuUsPerMessage, 1) });
    }
  }
  const rates = (variant) => measured[variant].map((entry) => entry.opsPerSec);
  const cpus = (variant) => measured[variant].map((entry) => entry.cpuUsPerMessage);
  const perRound = rates('pack').map((pack, index) => pack / rates('jsonata')[index]);
  return {
    opsPerSec: round(median(rates('pack'))),
    jsonataOpsPerSec: round(median(rates('jsonata'))),
    vsJsonata: round(median(perRound), 2),
    // How far one round's ratio can lie from the median.
    vsJsonataRange: [round(Math.min(...perRound), 2), round(Math.max(...perRound), 2)],
    harnessCeilingOpsPerSec: round(median(rates('noop'))),
    ceilingVsJsonata: round(medianRatio(rates('noop'), rates('jsonata')), 2),
    cpuUsPerMessage: round(median(cpus('pack')), 1),
    jsonataCpuUsPerMessage: round(median(cpus('jsonata')), 1),
    harnessCpuUsPerMessage: round(median(cpus('noop')), 1),
    vsJsonataByCpu: round(medianRatio(cpus('jsonata'), cpus('pack')), 2),
    ceilingVsJsonataByCpu: round(medianRatio(cpus('jsonata'), cpus('noop')), 2),
    rounds: measured,
    settings: { seconds, window, rounds, samples: SAMPLES },
  };
}

module.exports = { mapping };
