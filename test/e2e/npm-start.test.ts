/**
 * `npm start` as a person runs it (minus the build, which `npm test` did): the sandbox answers, the editor
 * serves the pack's palette, the example pipelines are deployed, and SIGTERM stops everything.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, waitFor } from '../support/processes';

const root = path.resolve(__dirname, '..', '..');

/** The environments of the processes whose parent is `pid` (Linux /proc). */
function childEnvironments(pid: number): string[][] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        if (parent !== pid) return [];
        return [fs.readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').filter(Boolean)];
      } catch {
        return []; // the process ended while we looked
      }
    });
}

describe('npm start', () => {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-sync-start-'));
  afterAll(() => fs.rmSync(userDir, { recursive: true, force: true }));

  it('brings up the sandbox and the editor with the finance sync palette, and stops on SIGTERM', async () => {
    const port = await freePort();
    const sandboxPort = await freePort();
    const child = spawn(process.execPath, [path.join(root, 'flows/start.js')], {
      env: { ...process.env, PORT: String(port), SANDBOX_PORT: String(sandboxPort), NODE_RED_USER_DIR: userDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const state = await waitFor('the sandbox state', async () => {
        const response = await fetch(`http://127.0.0.1:${sandboxPort}/_sandbox/state`);
        return response.ok ? ((await response.json()) as Record<string, unknown>) : undefined;
      });
      expect(state).toHaveProperty('counters');

      const nodeSets = await waitFor(
        'the editor',
        async () => {
          const response = await fetch(`http://127.0.0.1:${port}/nodes`, { headers: { accept: 'application/json' } });
          return response.ok ? ((await response.json()) as Array<{ module: string; types: string[] }>) : undefined;
        },
        { timeoutMs: 60_000 },
      );
      const types = nodeSets
        .filter((set) => set.module === '@finance-sync/node-red-finance-sync')
        .flatMap((s) => s.types);
      expect(types).toEqual(expect.arrayContaining(['finance-erp', 'finance-store']));

      const editorHtml = await (
        await fetch(`http://127.0.0.1:${port}/nodes`, { headers: { accept: 'text/html' } })
      ).text();
      expect(editorHtml).toContain("RED.nodes.registerType('finance-erp'");

      // Node-RED runs with the heap limit of flows/heap-limit.js, so a burst does not grow it to gigabytes.
      const nodeRed = childEnvironments(child.pid!).find((environment) =>
        environment.some((entry) => entry.startsWith('FINANCE_SANDBOX_URL=')),
      );
      expect(nodeRed?.find((entry) => entry.startsWith('NODE_OPTIONS='))).toMatch(/--max-old-space-size=256$/);

      const flows = JSON.parse(fs.readFileSync(path.join(userDir, 'flows.json'), 'utf8')) as Array<{ type: string }>;
      expect(Array.isArray(flows)).toBe(true);
      await waitFor('the start banner', async () => (output.includes('try:') ? true : undefined));
      expect(output).toContain(`editor:      http://127.0.0.1:${port}/`);
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- npm start printed:\n${output}`, { cause: err });
    } finally {
      child.kill('SIGTERM');
    }
    await exited;
    await expect(fetch(`http://127.0.0.1:${sandboxPort}/_sandbox/state`)).rejects.toThrow();
    await expect(fetch(`http://127.0.0.1:${port}/`)).rejects.toThrow();
  }, 120_000);
});
