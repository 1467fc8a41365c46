#!/usr/bin/env node
/**
 * `npm start`: runs the pack on a local Node-RED with the example pipelines and the sandbox ERP.
 *
 *   sandbox ERP  http://127.0.0.1:$SANDBOX_PORT (default 8089)
 *   Node-RED     http://127.0.0.1:$PORT         (default 1880), user directory .node-red/
 *
 * The pack is linked into the user directory (no copy), so `npm run build` and a restart pick up changes. The
 * flow file is made from examples/pipelines/ on the first start, pointed at the sandbox above; after that the
 * editor's own deploys are kept. `npm start -- --reset-flows` makes it again from the examples.
 * Ctrl-C or SIGTERM stops both processes.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { deployableFlows } = require('./deployable-flows');

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

function writeFlows() {
  const flowFile = path.join(userDir, 'flows.json');
  if (fs.existsSync(flowFile) && !resetFlows) return false;
  const flows = deployableFlows(path.join(root, 'examples', 'pipelines'), { sandboxUrl });
  fs.writeFileSync(flowFile, JSON.stringify(flows, null, 2));
  return true;
}

const children = [];
let stopping = false;
function stopAll(code) {
  if (stopping) return;
  stopping = true;
  for (const child of children) if (child.exitCode === null) child.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500).unref();
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
const fresh = writeFlows();
run('sandbox ERP', [path.join(root, 'dist', 'lib', 'sandbox', 'cli.js'), '--port', String(sandboxPort)]);
run('Node-RED', [require.resolve('node-red/red.js'), '--userDir', userDir, '--settings', path.join(__dirname, 'settings.js')], {
  PORT: String(port),
  FINANCE_SANDBOX_URL: sandboxUrl,
});
console.log(
  `\nfinance-sync demo\n  editor:      http://127.0.0.1:${port}/\n  sandbox ERP: ${sandboxUrl}/_sandbox/state\n` +
    `  flows:       ${fresh ? 'deployed from examples/pipelines' : 'kept from the last run (npm start -- --reset-flows to redeploy the examples)'}\n`,
);
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
