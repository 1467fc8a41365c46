#!/usr/bin/env node
/**
 * `npm run bench`: measures the pack against core Node-RED and plain Node.js on this machine, prints a table
 * and writes bench/results/latest.json. `npm run bench -- --quick` is the short run CI uses (about three
 * minutes); `--only pipeline,mapping` runs some scenarios; `--profile` makes every Node-RED process write a CPU
 * profile into bench/results/profiles/<scenario>/ and prints a summary of each. Everything runs on loopback: two sandbox ERPs
 * (the ERP and, for write-backs, the expense platform), Node-RED processes with the pack linked in, a bare
 * Node.js client, and autocannon in this process.
 *
 * Exits 1 on a functional error only (an event refused, lost or duplicated, mappings that disagree, a scenario
 * that could not run); a missed performance target is reported, not failed, because timings depend on the
 * machine and on what else runs on it. Run `npm run build` first (npm run bench does).
 */
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

// The scenarios load the built pack; without it they could only fail with a module-not-found stack.
if (!fs.existsSync(path.join(__dirname, '..', 'dist', 'lib', 'sandbox', 'server.js'))) {
  console.error('bench: dist/ is missing or incomplete. Build the pack first: npm run build (npm run bench does).');
  process.exit(1);
}

const { profileInto, stopAll } = require('./lib/processes');
const { summarize } = require('./lib/profile-summary');
const { withHeapLimit } = require('../flows/heap-limit');
const { printReport, targetsOf } = require('./lib/report');
const { pipeline } = require('./scenarios/pipeline');
const { intake } = require('./scenarios/intake');
const { mapping } = require('./scenarios/mapping');
const { burst } = require('./scenarios/burst');
const { recovery } = require('./scenarios/recovery');

const SCENARIOS = { pipeline, intake, mapping, burst, recovery };

const FULL = {
  pipeline: { events: 3000, connections: 16, rounds: 3, warmup: 300, pacedSeconds: 10 },
  intake: { events: 20000, connections: 32, rounds: 3, warmup: 2000 },
  mapping: { seconds: 2, window: 16, rounds: 15, warmupSeconds: 3 },
  burst: { events: 100000, connections: 32, drainSeconds: 60 },
  recovery: { events: 10000, connections: 32, deadlineSeconds: 900 },
};

// Deadlines (recovery.deadlineSeconds, the pipeline's batch timeout) are generous on purpose: a run ends as soon
// as the work is done, and a slow machine must not turn a timing into a functional error.
const QUICK = {
  pipeline: { events: 1000, connections: 16, rounds: 1, warmup: 100, pacedSeconds: 5 },
  intake: { events: 5000, connections: 32, rounds: 1, warmup: 500 },
  mapping: { seconds: 1, window: 16, rounds: 5, warmupSeconds: 1 },
  burst: { events: 5000, connections: 32, drainSeconds: 15 },
  recovery: { events: 1000, connections: 32, deadlineSeconds: 300 },
};

function option(name) {
  const index = process.argv.indexOf(`--${name}`);
  return index > 0 ? process.argv[index + 1] : undefined;
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    memoryMb: Math.round(os.totalmem() / 2 ** 20),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    loadAverageAtStart: os.loadavg().map((load) => Number(load.toFixed(2))),
  };
}

function printProfiles(dir) {
  const files = fs.existsSync(dir) ? fs.readdirSync(dir).filter((file) => file.endsWith('.cpuprofile')) : [];
  for (const file of files) {
    console.log(`\n   CPU profile ${path.relative(process.cwd(), path.join(dir, file))}`);
    const text = summarize(JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')), 15);
    console.log(text.replace(/^/gm, '   '));
  }
}

async function main() {
  const quick = process.argv.includes('--quick');
  const profile = process.argv.includes('--profile');
  const only = option('only')?.split(',');
  const unknown = (only ?? []).filter((name) => !SCENARIOS[name]);
  if (unknown.length > 0)
    throw new Error(`unknown scenario ${unknown.join(', ')}; choose from ${Object.keys(SCENARIOS).join(', ')}`);
  const config = quick ? QUICK : FULL;
  const results = {
    timestamp: new Date().toISOString(),
    mode: quick ? 'quick' : 'full',
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    machine: machine(),
    node: process.version,
    nodeRed: require('node-red/package.json').version,
    // The NODE_OPTIONS every Node-RED of the run got (flows/heap-limit.js: the heap limit `npm start` sets).
    nodeRedNodeOptions: withHeapLimit(),
    autocannon: require('autocannon/package.json').version,
  };
  const functionalErrors = [];
  for (const [name, scenario] of Object.entries(SCENARIOS)) {
    if (only && !only.includes(name)) continue;
    const started = Date.now();
    console.log(`== ${name}`);
    const profileDir = path.join(__dirname, 'results', 'profiles', name);
    if (profile) {
      fs.rmSync(profileDir, { recursive: true, force: true });
      profileInto(profileDir);
    }
    const fail = (message) => {
      console.log(`   FUNCTIONAL ERROR: ${message}`);
      functionalErrors.push(message);
    };
    try {
      results[name] = await scenario(config, fail);
      results[name].durationSeconds = Math.round((Date.now() - started) / 1000);
    } catch (err) {
      fail(`${name} could not run: ${err.stack ?? err.message}`);
      results[name] = { error: err.message };
    } finally {
      await stopAll();
    }
    if (profile) printProfiles(profileDir);
    console.log(`   done in ${Math.round((Date.now() - started) / 1000)} s`);
  }
  results.machine.loadAverageAtEnd = os.loadavg().map((load) => Number(load.toFixed(2)));
  results.targets = targetsOf(results);
  results.functionalErrors = functionalErrors;
  const file = path.join(__dirname, 'results', 'latest.json');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  printReport(results);
  console.log(`\nwritten to ${path.relative(process.cwd(), file)}`);
  if (functionalErrors.length > 0) {
    console.error(`\n${functionalErrors.length} functional error(s):\n- ${functionalErrors.join('\n- ')}`);
    process.exitCode = 1;
  }
}

main()
  .catch(async (err) => {
    console.error(`bench: ${err.stack ?? err.message}`);
    await stopAll();
    process.exitCode = 1;
  })
  // A scenario that failed half-way may leave a poller or a socket behind; they must not keep the run alive.
  .finally(() => process.stdout.write('', () => process.exit()));
