/**
 * Starts what a benchmark needs on loopback (sandbox ERPs over the built dist/lib/sandbox, Node-RED processes
 * with the pack linked into a temporary user directory, plain Node.js scripts) and stops it again. The same ideas as test/support/processes.ts,
 * without Jest. Every child started here is killed when the bench process exits, however it exits.
 */
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const { withHeapLimit } = require('../../flows/heap-limit');

const root = path.resolve(__dirname, '..', '..');
/** USER_HZ, the unit of /proc/<pid>/stat times: 100 on every Linux architecture Node.js supports. */
const CLOCK_TICKS_PER_SECOND = 100;
const started = new Set();
const userDirs = new Set();
/** Node-RED processes started with --cpu-prof: stopped with SIGINT so they write their profile. */
const profiled = new Set();
let profileDir;

/** From now on, Node-RED processes write a CPU profile into `dir` when they stop (undefined: no profiles). */
function profileInto(dir) {
  profileDir = dir;
}

process.on('exit', () => {
  for (const child of started) child.kill('SIGKILL');
  for (const dir of userDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns something other than undefined. */
async function waitFor(what, probe, { timeoutMs = 30_000, intervalMs = 100 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  while (Date.now() < deadline) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    await sleep(intervalMs);
  }
  throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError.message}` : ''}`);
}

function track(child, port) {
  started.add(child);
  let output = '';
  const keep = (chunk) => {
    // The tail is enough to explain a failure; a long run must not grow this without bound.
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    child,
    pid: child.pid,
    port,
    url: `http://127.0.0.1:${port}`,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      started.delete(child);
    },
  };
}

/**
 * The sandbox ERP (bench/lib/sandbox-server.js over the built dist/lib/sandbox) on a free loopback port.
 * `stats()` asks it for its counters over IPC; `faults()` sets its fault injection (rate limit, latency).
 */
async function startSandbox({ roomyBudgets = false } = {}) {
  const child = spawn(
    process.execPath,
    [path.join(__dirname, 'sandbox-server.js'), ...(roomyBudgets ? ['--roomy-budgets'] : [])],
    { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  let errors = '';
  child.stderr.on('data', (chunk) => (errors += chunk.toString()));
  const url = await new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk) => {
      seen += chunk.toString();
      const match = /listening (http:\/\/\S+)/.exec(seen);
      if (match) {
        child.stdout.off('data', onData);
        resolve(match[1]);
      }
    };
    child.stdout.on('data', onData);
    child.once('exit', (code) => reject(new Error(`the sandbox exited early (${code}): ${seen}${errors}`)));
  });
  const running = track(child, Number(new URL(url).port));
  let nextId = 0;
  const pending = new Map();
  child.on('message', (message) => {
    pending.get(message.id)?.resolve(message.stats);
    pending.delete(message.id);
  });
  child.once('exit', () => {
    for (const { reject } of pending.values()) reject(new Error('the sandbox stopped'));
    pending.clear();
  });
  return {
    ...running,
    url,
    /** Counters and counts of documents and write-backs; options in sandbox-server.js (stats). */
    stats: (options = {}) =>
      new Promise((resolve, reject) => {
        if (!child.connected) return reject(new Error('the sandbox is not running'));
        nextId += 1;
        pending.set(nextId, { resolve, reject });
        child.send({ type: 'stats', id: nextId, ...options }, (err) => err && reject(err));
      }),
    async faults(settings) {
      const response = await fetch(`${url}/_sandbox/faults`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(settings),
      });
      if (!response.ok)
        throw new Error(`setting the sandbox faults failed: ${response.status} ${await response.text()}`);
      await response.arrayBuffer();
    },
  };
}

/** A fresh Node-RED user directory with the pack linked in, like `npm start` makes. */
function makeUserDir({ benchNodes = false } = {}) {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-sync-bench-'));
  userDirs.add(userDir);
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const link = path.join(userDir, 'node_modules', ...pkg.name.split('/'));
  fs.mkdirSync(path.dirname(link), { recursive: true });
  fs.symlinkSync(root, link, 'dir');
  fs.writeFileSync(path.join(userDir, 'flows.json'), '[]');
  // Node-RED loads the node types it finds in <userDir>/nodes: the benchmark's own harness nodes.
  if (benchNodes) fs.symlinkSync(path.join(__dirname, '..', 'nodes'), path.join(userDir, 'nodes'), 'dir');
  return userDir;
}

async function postFlows(editorUrl, flows, credentials) {
  const response = await fetch(`${editorUrl}/flows`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'Node-RED-API-Version': 'v2', 'Node-RED-Deployment-Type': 'full' },
    body: JSON.stringify({ flows, credentials }),
  });
  if (!response.ok) throw new Error(`deploying the flows failed: ${response.status} ${await response.text()}`);
  await response.arrayBuffer();
}

/** True when Node-RED's credential store holds every credential that was deployed. */
async function credentialsStored(editorUrl, flows, credentials) {
  for (const [id, values] of Object.entries(credentials)) {
    const node = flows.find((candidate) => candidate.id === id);
    const response = await fetch(`${editorUrl}/credentials/${node.type}/${id}`);
    const stored = await response.json();
    if (Object.keys(values).some((key) => stored[`has_${key}`] !== true && stored[key] !== values[key])) return false;
  }
  return true;
}

/**
 * A tab that answers GET /bench/ready with `nonce`: it answers once the deployment that carries it has
 * started, since Node-RED answers a deployment before its nodes have registered their HTTP routes.
 */
function readyProbe(nonce) {
  const z = 'bench-ready-tab';
  return [
    { id: z, type: 'tab', label: 'Bench: ready', disabled: false, info: '' },
    {
      id: 'bench-ready-in',
      type: 'http in',
      z,
      name: '',
      url: '/bench/ready',
      method: 'get',
      upload: false,
      swaggerDoc: '',
      x: 0,
      y: 0,
      wires: [['bench-ready-set']],
    },
    {
      id: 'bench-ready-set',
      type: 'change',
      z,
      name: '',
      rules: [{ t: 'set', p: 'payload', pt: 'msg', to: nonce, tot: 'str' }],
      x: 0,
      y: 0,
      wires: [['bench-ready-out']],
    },
    { id: 'bench-ready-out', type: 'http response', z, name: '', statusCode: '', headers: {}, x: 0, y: 0, wires: [] },
  ];
}

/** Waits until GET /bench/ready answers (with `nonce`, when given): the deployed flows have started. */
async function waitUntilReady(editorUrl, nonce) {
  await waitFor(
    'the deployed flows to start',
    async () => {
      const response = await fetch(`${editorUrl}/bench/ready`);
      const text = await response.text();
      return response.ok && (nonce === undefined || text === nonce) ? true : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 50 },
  );
}

/**
 * Deploys flows and their credentials through the admin API (a full deployment), as the editor does, and
 * waits until they have started. A deployment that lands while Node-RED is still loading its first flows
 * can lose its credentials, so they are checked and the deployment repeated until they are stored.
 */
async function deployFlows(editorUrl, flows, credentials = {}) {
  for (let attempt = 1; ; attempt += 1) {
    const nonce = `ready-${Date.now()}-${attempt}`;
    await postFlows(editorUrl, [...flows, ...readyProbe(nonce)], credentials);
    await waitUntilReady(editorUrl, nonce);
    if (await credentialsStored(editorUrl, flows, credentials)) return;
    if (attempt === 5) throw new Error('Node-RED did not keep the deployed credentials');
    await sleep(500);
  }
}

/**
 * Node-RED (`node-red/red.js` with flows/settings.js) on a free port. `userDir` reuses a directory (a
 * restart keeps its flows, credentials and store); `flows` are deployed once it answers.
 */
async function startNodeRed({ userDir = makeUserDir(), flows, credentials } = {}) {
  const port = await freePort();
  const nodeArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : [];
  const child = spawn(
    process.execPath,
    [
      ...nodeArgs,
      require.resolve('node-red/red.js'),
      '--userDir',
      userDir,
      '--settings',
      path.join(root, 'flows/settings.js'),
    ],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      // The heap limit `npm start` runs Node-RED with (flows/heap-limit.js), for every variant alike.
      env: { ...process.env, NODE_OPTIONS: withHeapLimit(), PORT: String(port), NODE_RED_LOG_LEVEL: 'warn' },
    },
  );
  const running = track(child, port);
  if (profileDir) profiled.add(child);
  await waitFor(
    'Node-RED to start',
    async () => {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new Error(`Node-RED exited early:\n${running.output()}`);
      // Node-RED listens before it has loaded its flows; a deployment before that is overwritten by the
      // load, so wait until the flows answer with a revision.
      const response = await fetch(`${running.url}/flows`, { headers: { 'Node-RED-API-Version': 'v2' } });
      const body = response.ok ? await response.json() : undefined;
      return typeof body?.rev === 'string' ? true : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 50 },
  );
  // A restart keeps the last deployment, ready probe included.
  if (flows) await deployFlows(running.url, flows, credentials);
  else await waitUntilReady(running.url);
  return { ...running, userDir };
}

/** A plain Node.js child (the bare-client baseline); it reports on stdout when it is ready. */
function startNodeScript(script, args = [], env = {}) {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  return track(child, undefined);
}

/** Peak and current resident set size of a process in MB, from /proc (Linux); undefined elsewhere. */
function memoryOf(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status)?.[1]);
    // RssAnon is the process's own memory (heap, buffers); RssFile counts pages of mapped files, here mostly the
    // store's LMDB map: page cache the kernel can drop, which grows with what is stored, not with what is in flight.
    return {
      peakRssMb: kb('VmHWM') / 1024,
      rssMb: kb('VmRSS') / 1024,
      anonRssMb: kb('RssAnon') / 1024,
      fileRssMb: kb('RssFile') / 1024,
    };
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used so far, in ms, from /proc (Linux); undefined elsewhere. */
function cpuTimeMs(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may contain spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

async function stopAll() {
  // Profiled Node-RED processes first, gently: the profile is written when the process exits normally.
  await Promise.all(
    [...profiled].map(
      (child) =>
        new Promise((resolve) => {
          profiled.delete(child);
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
          child.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          child.kill('SIGINT');
        }),
    ),
  );
  await Promise.all(
    [...started].map(
      (child) =>
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', resolve);
          child.kill('SIGKILL');
        }),
    ),
  );
  started.clear();
}

module.exports = {
  root,
  freePort,
  sleep,
  waitFor,
  startSandbox,
  startNodeRed,
  startNodeScript,
  makeUserDir,
  deployFlows,
  memoryOf,
  cpuTimeMs,
  profileInto,
  stopAll,
};
