#!/usr/bin/env node
/**
 * What a V8 CPU profile (.cpuprofile, from `npm run bench -- --profile`) spent its time on, in text: the
 * functions with the most time of their own, and the files and packages with the most time inclusive of what
 * they called. Open the same file in Chrome DevTools (Performance) for the flame chart.
 *
 *   node bench/lib/profile-summary.js bench/results/profiles/pipeline/CPU.*.cpuprofile [top]
 */
'use strict';
const fs = require('node:fs');

/** node_modules/<package>, or the file below the project root. */
function placeOf(url) {
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules) return modules[1];
  return url.replace(/^file:\/\//, '').replace(`${process.cwd()}/`, '');
}

function summarize(profile, top) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfTime = new Map();
  profile.samples.forEach((id, index) => selfTime.set(id, (selfTime.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0)));
  let total = 0;
  const byFunction = new Map();
  const inclusive = new Map();
  for (const [id, time] of selfTime) {
    total += time;
    const { functionName, url, lineNumber } = nodes.get(id).callFrame;
    const name = url ? `${functionName || '(anonymous)'} ${placeOf(url)}:${lineNumber + 1}` : functionName;
    byFunction.set(name, (byFunction.get(name) ?? 0) + time);
    const seen = new Set();
    for (let current = id; current !== undefined; current = parent.get(current)) {
      const frame = nodes.get(current).callFrame;
      // Node's own scheduling (timers, microtask queues) sits at the root of nearly everything.
      if (!frame.url || frame.url.startsWith('node:internal/')) continue;
      const place = placeOf(frame.url);
      if (seen.has(place)) continue;
      seen.add(place);
      inclusive.set(place, (inclusive.get(place) ?? 0) + time);
    }
  }
  const list = (map) =>
    [...map]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, time]) => `${((100 * time) / total).toFixed(1).padStart(5)} %  ${name}`)
      .join('\n');
  return (
    `${(total / 1000).toFixed(0)} ms sampled\n\nown time, by function:\n${list(byFunction)}\n\n` +
    `inclusive time, by file or package (Node's own timers and queues left out):\n${list(inclusive)}`
  );
}

if (require.main === module) {
  const [file, top = '25'] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/lib/profile-summary.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  console.log(summarize(JSON.parse(fs.readFileSync(file, 'utf8')), Number(top)));
}

module.exports = { summarize };
