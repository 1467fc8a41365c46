/**
 * A CPU profile of the pack, by what the time was spent for: each sample is counted for the innermost pack
 * function on its stack (so Node's HTTP client under the ERP client counts as "ERP and source API calls"), or,
 * with no pack function on the stack, for Node-RED, garbage collection or Node.js itself. Start-up (module
 * loading and compiling) and idle time are left out.
 *
 *   node bench/lib/profile-areas.js <file.cpuprofile>
 */
'use strict';
const fs = require('node:fs');

/** Pack files (below dist/) -> area; the first match wins. */
const PACK_AREAS = [
  [/^lib\/erp\/|^nodes\/finance-erp\//, 'ERP and source API calls (client, transport, Node HTTP under them)'],
  [/^nodes\/finance-event-in\/http-endpoint|^lib\/intake\/(raw-body|own-listener)/, 'webhook HTTP (receive, answer)'],
  [/^lib\/reliability\/store|^nodes\/finance-store\//, 'durable store (LMDB, MessagePack)'],
  [/^lib\/(audit|observe|metrics)\/|^nodes\/shared\/observe|^lib\/reliability\/redact/, 'audit trail and metrics'],
  [/^lib\/(model|mapping)\/|^lib\/sources\/(profiles|shape|amounts)|^nodes\/finance-map\//, 'validation and mapping'],
  [/^lib\/sources\/signatures/, 'signature check'],
  [/^lib\/intake\/|^nodes\/finance-event-in\//, 'intake (duplicates, commit, emit)'],
  [
    /^lib\/(budget|approval|posting|writeback|masterdata)\/|^nodes\/finance-(budget|approval|post|writeback|master)/,
    'budget, approval, posting, write-back logic',
  ],
  [/^nodes\/shared\/|^lib\/reliability\//, 'node plumbing (input, retries, idempotency ledger)'],
];

function areaOfPackFile(file) {
  return PACK_AREAS.find(([pattern]) => pattern.test(file))?.[1] ?? 'other pack code';
}

/** Where a sample with no pack function on its stack goes, from its innermost frame. */
function areaOfLeaf(frame) {
  if (frame.functionName === '(garbage collector)') return 'garbage collection';
  if (/@node-red\/|\/node-red\//.test(frame.url)) return 'Node-RED runtime (routing, hooks)';
  if (/node_modules\/(express|body-parser|router)\//.test(frame.url)) return 'webhook HTTP (receive, answer)';
  return 'Node.js with no pack function on the stack (socket writes, HTTP parsing, streams, timers)';
}

/** Each area's share of the profile's busy time (0 to 1), largest first. */
function areaShares(profile) {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const areas = new Map();
  let total = 0;
  profile.samples.forEach((leafId, index) => {
    const time = profile.timeDeltas[index] ?? 0;
    const leaf = nodes.get(leafId).callFrame;
    if (leaf.functionName === '(idle)') return;
    let area;
    for (let id = leafId; id !== undefined; id = parent.get(id)) {
      const { functionName, url } = nodes.get(id).callFrame;
      if (functionName === 'Module._compile' || functionName === 'compileForInternalLoader') return;
      const packFile = /\/dist\/(.*)$/.exec(url);
      if (area === undefined && packFile && !url.includes('node_modules')) area = areaOfPackFile(packFile[1]);
    }
    area ??= areaOfLeaf(leaf);
    total += time;
    areas.set(area, (areas.get(area) ?? 0) + time);
  });
  return [...areas].sort((a, b) => b[1] - a[1]).map(([area, time]) => ({ area, share: time / total }));
}

function byArea(profile) {
  return areaShares(profile)
    .map(({ area, share }) => `${(100 * share).toFixed(1).padStart(5)} %  ${area}`)
    .join('\n');
}

if (require.main === module) {
  const [file] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/lib/profile-areas.js <file.cpuprofile>');
    process.exit(2);
  }
  console.log(byArea(JSON.parse(fs.readFileSync(file, 'utf8'))));
}

module.exports = { areaShares, byArea };
