#!/usr/bin/env node
/**
 * `npm run bench:profile`: the pipeline example alone (no core flow beside it in the same Node-RED) under a CPU
 * profile, and where its CPU goes by area (bench/lib/profile-areas.js). `npm run bench -- --profile` profiles the
 * scenarios as they run, with the core flow in the same process; this one shows the pack by itself.
 *
 *   npm run bench:profile [-- --events 5000]
 *
 * Sends 300 events to warm up, then `--events` as fast as the pipeline answers, waits until every one is written
 * back, stops Node-RED (which writes the profile into bench/results/profiles/pipeline-alone/) and prints the CPU
 * per event, the areas and the functions with the most time of their own. Run `npm run build` first.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { startSandbox, startNodeRed, stopAll, profileInto } = require('./lib/processes');
const { packPipeline } = require('./lib/flows');
const { byArea } = require('./lib/profile-areas');
const { summarize } = require('./lib/profile-summary');
const { runBatch } = require('./scenarios/pipeline');

const WARMUP = 300;
const TIMEOUT_S = 15 * 60;

function eventsOption() {
  const index = process.argv.indexOf('--events');
  const events = index > 0 ? Number(process.argv[index + 1]) : 5000;
  if (!Number.isInteger(events) || events < 1) throw new Error('--events must be a whole number of 1 or more');
  return events;
}

async function main() {
  const events = eventsOption();
  const dir = path.join(__dirname, 'results', 'profiles', 'pipeline-alone');
  fs.rmSync(dir, { recursive: true, force: true });
  profileInto(dir);
  const erp = await startSandbox({ roomyBudgets: true });
  const source = await startSandbox();
  const { flows, credentials } = packPipeline({ erpUrl: erp.url, sourceUrl: source.url });
  const nodeRed = await startNodeRed({ flows, credentials });
  const batch = (count) =>
    runBatch({
      variant: 'pack',
      target: nodeRed.url,
      pid: nodeRed.pid,
      source,
      count,
      connections: 16,
      timeoutS: TIMEOUT_S,
      fail: (message) => {
        throw new Error(message);
      },
    });
  await batch(WARMUP);
  const run = await batch(events);
  await stopAll();
  const [file] = fs.readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'));
  const profile = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  console.log(
    `${events} events: ${run.eventsPerSec.toFixed(0)}/s, ${run.cpuMsPerEvent.toFixed(2)} ms of CPU per event (profiled)`,
  );
  console.log(`profile: ${path.relative(process.cwd(), path.join(dir, file))}\n\nby area:\n${byArea(profile)}\n`);
  console.log(summarize(profile, 15));
}

main().catch(async (err) => {
  console.error(`bench:profile: ${err.message}`);
  await stopAll();
  process.exitCode = 1;
});
