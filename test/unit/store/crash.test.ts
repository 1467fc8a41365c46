/**
 * Nothing acknowledged is lost on `kill -9` (DESIGN principle 2).
 *
 * A child Node process accepts events in a loop and prints each key only after accept() resolved (its
 * acknowledgement), and finishes some of them the same way. The parent kills it with SIGKILL mid-stream,
 * reopens the store and checks every printed key. Three rounds share one store, so later rounds also run on
 * a store that has already been through a crash.
 *
 * The child loads the real lib/reliability/store.ts, not a copy: its script registers a `.ts` loader that
 * runs TypeScript's transpileModule (typescript is already a dev dependency), so no build step is needed.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openStore } from '../../../lib/reliability/store';
import { storeSandbox } from './store-fixture';

const CHILD_SCRIPT = `
const fs = require('fs');
const [typescriptPath, storeModule, directory, prefix] = process.argv.slice(2);
const ts = require(typescriptPath);
require.extensions['.ts'] = (module, filename) => {
  const { outputText } = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
    fileName: filename,
  });
  module._compile(outputText, filename);
};
const { openStore } = require(storeModule);
const store = openStore({ path: directory });
let next = 0;
async function worker() {
  for (;;) {
    const n = next++;
    const key = prefix + n;
    await store.accept({ key, envelope: { id: key }, payload: { n, text: 'x'.repeat(n % 700) } });
    process.stdout.write('accepted ' + key + '\\n');
    if (n % 3 === 0) {
      await store.finish(key, { status: 'posted', detail: { n } });
      process.stdout.write('finished ' + key + '\\n');
    }
  }
}
for (let i = 0; i < 16; i++) worker().catch((err) => { console.error(err); process.exit(1); });
`;

/** Acknowledged keys after which the child is killed: enough to be mid-stream in several write batches. */
const KILL_AFTER = 300;

interface ChildReport {
  accepted: string[];
  finished: string[];
}

function runAndKill(script: string, directory: string, prefix: string): Promise<ChildReport> {
  const storeModule = path.resolve(__dirname, '../../../lib/reliability/store.ts');
  const child = spawn(process.execPath, [script, require.resolve('typescript'), storeModule, directory, prefix], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const report: ChildReport = { accepted: [], finished: [] };
  let pending = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  child.stdout.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      const [what, key] = line.split(' ');
      (what === 'accepted' ? report.accepted : report.finished).push(key);
    }
    if (report.accepted.length >= KILL_AFTER) child.kill('SIGKILL');
  });
  return new Promise((resolve, reject) => {
    // 'close' comes after stdout has ended, so every line the child wrote before it died has been read.
    child.on('close', (_code, signal) => {
      if (signal === 'SIGKILL') resolve(report);
      else reject(new Error(`the child stopped by itself before it was killed:\n${stderr}`));
    });
  });
}

describe('crash safety', () => {
  const sandbox = storeSandbox('crash');
  afterAll(() => sandbox.cleanup());

  it('every key acknowledged before a kill -9 is in the store after reopening, three times over', async () => {
    const script = path.join(sandbox.root, 'crash-child.js');
    fs.writeFileSync(script, CHILD_SCRIPT);
    const directory = sandbox.newPath();
    const acknowledged: string[] = [];
    const finished: string[] = [];

    for (let round = 1; round <= 3; round++) {
      const report = await runAndKill(script, directory, `round${round}-`);
      expect(report.accepted.length).toBeGreaterThanOrEqual(KILL_AFTER);
      acknowledged.push(...report.accepted);
      finished.push(...report.finished);

      const store = openStore({ path: directory });
      try {
        const missing: string[] = [];
        for (const key of acknowledged) if (!(await store.get(key))) missing.push(key);
        expect(missing).toEqual([]);
        for (const key of finished) expect(await store.get(key)).toMatchObject({ state: 'final' });

        // The indexes and the open counter changed in the same transactions as the entries.
        const open = await store.listOpen({ limit: 100_000 });
        expect(open.every((entry) => entry.state === 'open')).toBe(true);
        expect(await store.countOpen()).toBe(open.length);
      } finally {
        await store.close();
      }
    }
  });
});
