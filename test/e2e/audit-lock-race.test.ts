/**
 * Two processes opening one audit directory at the same moment: exactly one may write, whether the directory
 * has no lock yet or a stale one (its process gone). Two writers would each continue the chain from the same
 * record and break it. Real processes, because the race is between them (against dist/, like all e2e tests).
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const TRAIL_MODULE = path.resolve(__dirname, '../../dist/lib/audit/trail.js');
const TRIALS = 15;

/** Waits until `startAt` (so both start together), opens the trail, holds it a moment; prints the outcome. */
const CHILD = `
const { AuditTrail } = require(${JSON.stringify(TRAIL_MODULE)});
const [dir, startAt] = process.argv.slice(1);
while (Date.now() < Number(startAt)) {}
try {
  const trail = new AuditTrail({ dir, sync: false });
  setTimeout(() => trail.close().then(() => console.log('LOCKED')), 300);
} catch (err) {
  console.log(err.code === 'STORE_UNAVAILABLE' && /already being written/.test(err.message) ? 'REFUSED' : String(err));
}
`;

function openAt(dir: string, startAt: number): Promise<string> {
  return new Promise((resolve) => {
    let out = '';
    const child = spawn(process.execPath, ['-e', CHILD, dir, String(startAt)], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', () => resolve(out.trim()));
  });
}

/** A pid no process has (beyond Linux's pid_max), for a stale lock. */
const GONE_PID = 4_194_400;

describe('audit trail lock, two processes at once', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'finance-audit-lock-race-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  it.each([
    ['no lock', false],
    ['a stale lock', true],
  ])(
    'admits exactly one writer to a directory with %s',
    async (_name, stale) => {
      const outcomes: string[] = [];
      for (let trial = 0; trial < TRIALS; trial++) {
        const dir = path.join(root, `${stale ? 'stale' : 'none'}-${trial}`);
        fs.mkdirSync(dir);
        if (stale) fs.writeFileSync(path.join(dir, 'audit.lock'), `${GONE_PID}\n`);
        const startAt = Date.now() + 400;
        const both = await Promise.all([openAt(dir, startAt), openAt(dir, startAt)]);
        outcomes.push(both.sort().join(' + '));
      }
      expect(outcomes).toEqual(Array(TRIALS).fill('LOCKED + REFUSED'));
    },
    60_000,
  );
});
