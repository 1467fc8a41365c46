#!/usr/bin/env node
/**
 * Builds the pack: compiles lib/ and nodes/ to CommonJS in dist/, then copies each node's editor files
 * (<type>.html, locales/, icons/) next to its compiled .js, where Node-RED looks for them.
 */
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

const root = path.resolve(__dirname, '..');
const dist = path.join(root, 'dist');

fs.rmSync(dist, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', path.join(root, 'tsconfig.build.json')], {
  stdio: 'inherit',
  cwd: root,
});

const nodesDir = path.join(root, 'nodes');
for (const type of fs.readdirSync(nodesDir)) {
  const source = path.join(nodesDir, type);
  if (!fs.statSync(source).isDirectory()) continue;
  const target = path.join(dist, 'nodes', type);
  fs.mkdirSync(target, { recursive: true });
  for (const entry of fs.readdirSync(source)) {
    if (entry.endsWith('.ts')) continue;
    fs.cpSync(path.join(source, entry), path.join(target, entry), { recursive: true });
  }
}

for (const cli of [path.join(dist, 'lib', 'sandbox', 'cli.js'), path.join(dist, 'lib', 'audit', 'cli.js')]) {
  if (fs.existsSync(cli)) fs.chmodSync(cli, 0o755);
}
console.log('built dist/');
