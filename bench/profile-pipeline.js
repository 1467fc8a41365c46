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
const { startSandbox, startNodeRed, cpuTimeMs, stopAll, profileInto } = require('./lib/processes');
const { expenseEvents, runTag } = require('./lib/events');
const { PATHS, packPipeline } = require('./lib/flows');
const { sendEvents } = require('./lib/load');
const { waitUntil } = require('./lib/measure');
const { byArea } = require('./lib/profile-areas');
const { summarize } = require('./lib/profile-summary');

const WARMUP = 300;
const DEADLINE_MS = 15 * 60 * 1000;

function eventsOption() {
  const index = process.argv.indexOf('--events');
  const events = index > 0 ? Number(process.argv[index + 1]) : 5000;
  if (!Number.isInteger(events) || events < 1) throw new Error('--events must be a whole number of 1 or more');
  return events;
}

async function sendBatch(nodeRed, source, count, tag) {
  const written = async () => (await source.stats()).writebacks;
  const before = await written();
  const cpuBefore = cpuTimeMs(nodeRed.pid);
  const startedAt = Date.now();
  const events = expenseEvents(count, { tag: `${runTag()}${tag}` });
  const sent = await sendEvents({ url: nodeRed.url, path: PATHS.pack, events, connections: 16, okStatuses: [202] });
  if (sent.accepted.length !== count) throw new Error(`only ${sent.accepted.length} of ${count} events were accepted`);
  const done = await waitUntil(async () => (await written()) - before, count, Date.now() + DEADLINE_MS);
  if (done === null) throw new Error(`not every event was written back within ${DEADLINE_MS / 60000} minutes`);
  return { perSecond: (count * 1000) / (Date.now() - startedAt), cpuMs: (cpuTimeMs(nodeRed.pid) - cpuBefore) / count };
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
  await sendBatch(nodeRed, source, WARMUP, 'w');
  const run = await sendBatch(nodeRed, source, events, 'p');
  await stopAll();
  const [file] = fs.readdirSync(dir).filter((name) => name.endsWith('.cpuprofile'));
  const profile = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8'));
  console.log(
    `${events} events: ${run.perSecond.toFixed(0)}/s, ${run.cpuMs.toFixed(2)} ms of CPU per event (profiled)`,
  );
  console.log(`profile: ${path.relative(process.cwd(), path.join(dir, file))}\n\nby area:\n${byArea(profile)}\n`);
  console.log(summarize(profile, 15));
}

main().catch(async (err) => {
  console.error(`bench:profile: ${err.message}`);
  await stopAll();
  process.exitCode = 1;
});
