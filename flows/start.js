#!/usr/bin/env node
/**
 * `npm start`: runs the pack on a local Node-RED with the example pipelines and the sandbox ERP.
 *
 *   sandbox ERP  http://127.0.0.1:$SANDBOX_PORT (default 8089)
 *   Node-RED     http://127.0.0.1:$PORT         (default 1880), user directory .node-red/
 *
 * The pack is linked into the user directory (no copy), so `npm run build` and a restart pick up changes. On
 * the first start the pipelines from examples/pipelines/ are deployed through the admin API (which is how
 * their demo credentials reach Node-RED's credential store), pointed at the sandbox above; after that the
 * editor's own deploys are kept. `npm start -- --reset-flows` deploys the examples again.
 * Ctrl-C or SIGTERM stops both processes.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { deployableFlows } = require('./deployable-flows');
const { withHeapLimit } = require('./heap-limit');

const root = path.resolve(__dirname, '..');
const userDir = path.resolve(process.env.NODE_RED_USER_DIR || path.join(root, '.node-red'));
const sandboxPort = Number(process.env.SANDBOX_PORT || 8089);
const port = Number(process.env.PORT || 1880);
const resetFlows = process.argv.includes('--reset-flows');
const sandboxUrl = `http://127.0.0.1:${sandboxPort}`;

function linkPack() {
  const pkg = require(path.join(root, 'package.json'));
  const link = path.join(userDir, 'node_modules', ...pkg.name.split('/'));
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.rmSync(link, { recursive: true, force: true });
  fs.symlinkSync(root, link, 'dir');
}

/** True when the examples must be deployed: a new user directory, or --reset-flows. */
function needsExamples() {
  const flowFile = path.join(userDir, 'flows.json');
  if (fs.existsSync(flowFile) && !resetFlows) return false;
  fs.writeFileSync(flowFile, '[]');
  return true;
}

async function deployExamples() {
  const editor = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      const response = await fetch(`${editor}/flows`, { headers: { 'Node-RED-API-Version': 'v2' } });
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error('Node-RED did not start within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const deployment = deployableFlows(path.join(root, 'examples', 'pipelines'), { sandboxUrl });
  const response = await fetch(`${editor}/flows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' },
    body: JSON.stringify(deployment),
  });
  if (!response.ok)
    throw new Error(`deploying the example pipelines failed: ${response.status} ${await response.text()}`);
}

const children = [];
let stopping = false;
/** How long the children get to close (Node-RED runs every node's close handler, 15 s at most). */
const STOP_WAIT_MS = 20_000;

function stopAll(code) {
  if (stopping) return;
  stopping = true;
  const running = children.filter((child) => child.exitCode === null && child.signalCode === null);
  // Exit once both have closed, so nothing is left listening; kill whatever still hangs after the wait.
  let left = running.length;
  for (const child of running) {
    child.once('exit', () => {
      left -= 1;
      if (left === 0) process.exit(code);
    });
    child.kill('SIGTERM');
  }
  if (left === 0) setTimeout(() => process.exit(code), 0);
  setTimeout(() => {
    for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    process.exit(code);
  }, STOP_WAIT_MS).unref();
}

function run(name, args, env) {
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...env }, stdio: 'inherit' });
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`${name} stopped (${signal || code}); stopping the demo.`);
      stopAll(code || 1);
    }
  });
  children.push(child);
  return child;
}

fs.mkdirSync(userDir, { recursive: true });
linkPack();
const fresh = needsExamples();
run('sandbox ERP', [path.join(root, 'dist', 'lib', 'sandbox', 'cli.js'), '--port', String(sandboxPort)]);
run(
  'Node-RED',
  [require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', path.join(__dirname, 'settings.js')],
  {
    NODE_OPTIONS: withHeapLimit(),
    PORT: String(port),
    FINANCE_SANDBOX_URL: sandboxUrl,
  },
);
(fresh ? deployExamples() : Promise.resolve()).then(
  () =>
    console.log(
      `\nfinance-sync demo\n  editor:      http://127.0.0.1:${port}/\n  sandbox ERP: ${sandboxUrl}/_sandbox/state\n` +
        `  flows:       ${fresh ? 'deployed from examples/pipelines' : 'kept from the last run (npm start -- --reset-flows deploys the examples again)'}\n` +
        `  try:         node scripts/send-sample-events.js --count 5\n`,
    ),
  (err) => {
    console.error(err.message);
    stopAll(1);
  },
);
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
