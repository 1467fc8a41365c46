/**
 * The finance-audit node in a real Node-RED runtime: a redeploy loses nothing the other nodes report, a
 * verification answers from the trail, and a directory written by another process is refused.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LOCK_FILE_NAME } from '../../lib/audit/lock';
import { observations } from '../../lib/observe/hub';
import type { Observation } from '../../lib/observe/observation';
import { helper, tempDir } from '../support/node-red';
import financeAudit = require('../../nodes/finance-audit/finance-audit');

function erpCall(n: number): Observation {
  return {
    kind: 'erp-call',
    at: new Date().toISOString(),
    node: { type: 'finance-erp', id: 'e1' },
    correlationId: `c-${n}`,
  } as Observation;
}

function auditFlow(dir: string, name = 'trail') {
  return [
    { id: 'tab', type: 'tab' },
    { id: 'audit-node', z: 'tab', type: 'finance-audit', name, directory: dir, recordNodes: true, wires: [['out']] },
    { id: 'out', z: 'tab', type: 'helper' },
  ];
}

function recorded(dir: string): Array<Record<string, unknown>> {
  return fs
    .readFileSync(path.join(dir, 'audit-000001.jsonl'), 'utf8')
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** Sends `msg` to the audit node and resolves with what it sends on. */
function roundTrip(msg: object): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    helper.getNode('out').once('input', resolve);
    helper.getNode('audit-node').receive(msg);
  });
}

/** Processes that stand for another Node-RED holding a lock; killed after each test, even a failed one. */
const sleepers: ChildProcess[] = [];
function spawnSleeper(): ChildProcess {
  const sleeper = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  sleepers.push(sleeper);
  return sleeper;
}

describe('finance-audit node', () => {
  const temp = tempDir('audit-node');
  afterEach(async () => {
    for (const sleeper of sleepers.splice(0)) sleeper.kill();
    await helper.unload();
  });
  afterAll(() => temp.remove());

  it('keeps what other nodes report while it is redeployed', async () => {
    const dir = path.join(temp.dir, 'redeploy');
    await helper.load(financeAudit, auditFlow(dir));
    observations.publish(erpCall(1));
    // A redeploy stops the old node before the new one starts; here the gap is made as wide as a deploy can.
    await helper.setFlows([{ id: 'tab', type: 'tab' }], 'full');
    observations.publish(erpCall(2));
    await helper.setFlows(auditFlow(dir, 'trail v2'), 'full');
    observations.publish(erpCall(3));
    await helper.unload();
    expect(recorded(dir).map((record) => record.correlationId)).toEqual(['c-1', 'c-2', 'c-3']);
  });

  it('verifies the trail on a "verify" message', async () => {
    const dir = path.join(temp.dir, 'verify');
    await helper.load(financeAudit, auditFlow(dir));
    await roundTrip({ topic: 'manual-approval', audit: { approver: 'A' } });
    const verified = await roundTrip({ topic: 'verify' });
    expect(verified.payload).toMatchObject({ ok: true, records: 1, lastSeq: 1 });
  });

  it('refuses a directory another running process writes, naming that process', async () => {
    const dir = path.join(temp.dir, 'locked');
    fs.mkdirSync(dir);
    const other = spawnSleeper();
    fs.writeFileSync(path.join(dir, LOCK_FILE_NAME), `${other.pid}\n`);
    await helper.load(financeAudit, auditFlow(dir));
    const audit = helper.getNode('audit-node');
    const error = await new Promise<Error>((resolve) => {
      audit.on('call:error', (call: { args: unknown[] }) => resolve(call.args[0] as Error));
      audit.receive({ topic: 'note' });
    });
    expect(String(error)).toMatch(new RegExp(`already being written by process ${other.pid}`));
  });
});
